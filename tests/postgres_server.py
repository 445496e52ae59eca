"""A throwaway PostgreSQL server for the tests (and the storage benchmark): Debian's PostgreSQL
binaries (``/usr/lib/postgresql/<version>/bin``; ``./dev test`` installs them), a fresh data
folder, listening on 127.0.0.1 on a free port with ``trust`` authentication, stopped and deleted
afterwards. As root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` user (PostgreSQL refuses
to run as root).

Typical use (tests/conftest.py makes this the session fixture ``postgres_url``)::

    with PostgresServer() as server:
        url = server.new_database()      # postgresql://postgres@127.0.0.1:PORT/t_1a2b3c…
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid

__all__ = ["PostgresServer", "binaries", "MISSING"]

#: Why the server cannot be started here (for pytest.skip), when the binaries are missing.
MISSING = ("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/<version>/bin/initdb); "
           "./dev test installs them (apt-get install postgresql)")


def binaries() -> str | None:
    """The folder of the newest installed PostgreSQL's ``initdb`` and ``pg_ctl``, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A PostgreSQL server of its own. ``fsync=False`` (the tests' default) skips flushing to
    disk: the tests kill mugkit's processes, never this server, and run faster; the benchmark
    keeps it on."""

    def __init__(self, *, fsync: bool = False, max_connections: int = 300):
        self.bin = binaries()
        if self.bin is None:
            raise RuntimeError(MISSING)
        self.fsync, self.max_connections = fsync, max_connections
        self.dir = tempfile.mkdtemp(prefix="mugkit-postgres-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = " ".join(shlex.quote(a) for a in args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["su", "postgres", "-s", "/bin/sh", "-c", command]
        else:
            command = ["/bin/sh", "-c", command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = os.path.join(self.dir, "server.log")
            tail = open(log).read()[-2000:] if os.path.exists(log) else ""
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}{tail}")

    def start(self) -> "PostgresServer":
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(f"{self.bin}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        self.start_server()
        return self

    def start_server(self) -> None:
        """Starts the server (again, after :meth:`stop_server`) on the same port and data."""
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.dir} "
                   f"-c max_connections={self.max_connections} -c fsync={'on' if self.fsync else 'off'}")
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-o", options,
                  "-w", "-t", "60", "start")

    def stop_server(self) -> None:
        """Stops the server the way an administrator's restart does (``fast``: connections cut,
        transactions in progress rolled back)."""
        self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop_server()
        self.start_server()

    def new_database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name

    def pids(self) -> list[int]:
        """The server's processes now: the postmaster and its children (backends, writers …)."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                main = int(f.readline())
        except (OSError, ValueError):
            return []
        out = [main]
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == main:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
        return out

    def stop(self) -> None:
        try:
            self._run(f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass  # never started, or gone already
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
