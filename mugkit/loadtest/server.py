"""The server a load test runs against: its own ``mugkit serve`` process, or one already running.

:func:`start_server` starts a real ``mugkit serve`` subprocess (the same command a researcher runs)
on a free loopback port with a fresh data folder, and waits until it prints its admin link.
:func:`fetch_stats` reads ``/admin/stats.json`` (tick lateness, CPU, memory) and
:func:`proc_usage` a process's CPU time and resident memory from ``/proc`` (for a server it started).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field

__all__ = ["Server", "start_server", "free_port", "fetch_stats", "proc_usage", "ServerError"]

DATABASE = "mugkit.sqlite"


class ServerError(RuntimeError):
    """The server could not be started or reached; the message has its output."""


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A server the bots talk to.

    Attributes:
        url: base URL (``http://127.0.0.1:PORT``).
        token: the admin token (None when unknown: no server figures).
        database: path of its SQLite file, or its PostgreSQL database's URL (None when unknown: no
            data audit).
        process: the ``mugkit serve`` process when the load test started it.
        output: its output lines so far.
    """

    url: str
    token: str | None
    database: str | None
    process: subprocess.Popen | None = None
    output: list = field(default_factory=list)

    @property
    def pid(self) -> int | None:
        """The server process's id when this load test started it."""
        return self.process.pid if self.process is not None else None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stops a server this load test started (``sig``, then SIGKILL after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def start_server(paths: list[str], data: str, *, seed: int | None = 1, grace: float | None = None,
                 timeout: float = 90.0, port: int | None = None, extra: list[str] = (),
                 cwd: str | None = None, database: str | None = None) -> Server:
    """Starts ``mugkit serve PATHS`` on a loopback port (a free one unless given) with its data in
    ``data`` (or in the PostgreSQL ``database``, a URL); ``extra`` are more ``mugkit serve``
    options. ``seed`` None: no ``--seed`` (the server draws a secret one, or keeps the one stored in ``data``).

    Raises:
        ServerError: it exited or printed no admin link within ``timeout`` seconds (its output is
            in the message).
    """
    port = port or free_port()
    command = [sys.executable, "-m", "mugkit.cli", "serve", *paths, "--host", "127.0.0.1", "--port", str(port),
               "--data", data] + (["--seed", str(seed)] if seed is not None else []) \
        + (["--grace", str(grace)] if grace else []) + (["--database", database] if database else []) + list(extra)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    token = None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=10)
            raise ServerError("mugkit serve exited:\n" + "".join(lines))
        lines.append(line)
        if m := re.search(r"admin: http://\S+/admin\?token=(\S+)", line):
            token = m.group(1)
            break
    if token is None:
        process.kill()
        raise ServerError(f"mugkit serve printed no admin link within {timeout:g} s:\n" + "".join(lines))
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    _wait_for_port(port)
    return Server(f"http://127.0.0.1:{port}", token, database or os.path.join(data, DATABASE), process, lines)


def _wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServerError(f"nothing listens on port {port}")


def fetch_stats(url: str, token: str, timeout: float = 10.0) -> dict:
    """``/admin/stats.json`` of the server at ``url``."""
    request = urllib.request.Request(f"{url}/admin/stats.json", headers={"x-mugkit-token": token})
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read())


def proc_usage(pid: int) -> tuple[float, float] | None:
    """(CPU seconds, resident MB) of process ``pid`` from ``/proc``, or None where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    # fields[11], fields[12] are utime and stime (the 14th and 15th fields of the whole line).
    return (int(fields[11]) + int(fields[12])) / ticks, rss_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
