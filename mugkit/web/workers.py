"""``mugkit serve --workers N``: the parent process and its N worker processes.

The parent does the start-up once (the pre-flight, the data folder's checks and marker, the
study seed, the games a stop cut), then listens on the port itself and starts N workers that all
accept connections from that one **inherited listening socket** (``uvicorn``'s
``serve(sockets=[...])``). Why not ``SO_REUSEPORT`` (one socket per worker, the kernel hashing
connections between them):

- a worker that dies takes its socket's queue of connections not yet accepted with it
  (``SO_REUSEPORT`` resets them); with one shared queue they wait for another worker;
- a restarted worker accepts again at once, on the same socket, without rebinding or reshuffling
  the kernel's hash;
- the port is bound once, by the parent, before anything starts: a port in use is refused with a
  clear message, and ``--port 0`` gets one port for all the workers;
- it behaves the same on Linux and macOS (where ``SO_REUSEPORT`` does not balance).

Any worker may take any connection: the live connection is websocket-only (no long-polling
requests that would have to reach the process holding their session: no sticky routing), the
pages and files are the same in every worker, and ``/admin`` gathers every process's figures
from the shared state (``state.processes()``). The processes share their state in Redis
(``--redis URL``; with N > 1 and no ``--redis``, the parent starts a private ``redis-server`` on a
unix socket in the data folder, without persistence) and their database (SQLite in the data
folder, in WAL mode, which serializes the writers of several processes with its lock; or
``--database URL``).

The parent restarts a worker that dies (and logs it), forwards SIGTERM and SIGINT to the workers
for a clean shutdown (each ends its games as a single server does), and exits 0 after a clean
stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["supervise", "PrivateRedis", "listening_socket", "stop_with_parent", "WORKER_FD_ENV"]

log = logging.getLogger("mugkit.serve")

#: The environment variable that tells a worker which inherited file descriptor to accept on.
WORKER_FD_ENV = "MUGKIT_WORKER_FD"
#: The environment variable naming the pipe a worker writes one byte to once it accepts connections.
READY_FD_ENV = "MUGKIT_WORKER_READY_FD"
#: A worker that dies within this many seconds of its start, this many times in a row, is not
#: restarted again (its start itself fails: the parent stops and says so).
QUICK_DEATH_SECONDS, QUICK_DEATHS = 10.0, 3
#: Seconds a worker may take to stop after SIGTERM before it is killed.
STOP_SECONDS = 30.0


def listening_socket(host: str, port: int) -> socket.socket:
    """The socket every worker accepts on, bound and listening, inheritable.

    Raises:
        SystemExit: the port is taken.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SystemExit(f"mugkit serve: cannot listen on {host}:{port} ({exc.strerror}); is another server "
                         f"running there? Give another --port") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def stop_with_parent() -> None:
    """A worker is sent SIGTERM (a clean stop) when its parent dies, killed or not (Linux's
    ``PR_SET_PDEATHSIG``; elsewhere nothing): a worker never serves on without its parent."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the call
        os.kill(os.getpid(), signal.SIGTERM)


class PrivateRedis:
    """A ``redis-server`` of this run only: a unix socket in the data folder (or a short temporary
    folder when that path is too long for a socket), no persistence, stopped with the parent."""

    def __init__(self, data: str):
        self.data = data
        self.process: subprocess.Popen | None = None
        self.url: str | None = None
        self._tmp: str | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self, timeout: float = 10.0) -> str:
        path = os.path.join(os.path.abspath(self.data), "redis.sock")
        if len(path) > 100:  # unix socket paths are limited to 108 bytes
            self._tmp = tempfile.mkdtemp(prefix="mugkit-redis-")
            path = os.path.join(self._tmp, "redis.sock")
        if os.path.exists(path):
            os.remove(path)  # a leftover of a killed run
        self.process = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", path, "--unixsocketperm", "700", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            # It dies with the parent, even a parent killed before it could stop it (no leftover server).
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, preexec_fn=stop_with_parent)
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.process.poll() is not None or time.monotonic() > deadline:
                error = self.process.stderr.read().decode(errors="replace") if self.process.poll() is not None else ""
                self.stop()
                raise SystemExit(f"mugkit serve: the private redis-server did not start ({error.strip()[-300:]}); "
                                 f"give a Redis with --redis URL")
            time.sleep(0.05)
        self.url = f"unix://{path}"
        return self.url

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)


class _Worker:
    def __init__(self, number: int):
        self.number = number
        self.process: asyncio.subprocess.Process | None = None
        self.started = 0.0
        self.quick_deaths = 0


async def supervise(argv: list[str], sock: socket.socket, redis_url: str, token: str, workers: int,
                    stop: asyncio.Event, on_ready: Any = None) -> int:
    """Runs ``workers`` worker processes (``mugkit serve`` with ``argv`` and the inherited ``sock``)
    until ``stop`` is set (SIGTERM or SIGINT), restarting any that dies; returns the exit status
    (0: a clean stop). ``on_ready()`` is called once every worker first started accepts
    connections (or died trying: it is restarted)."""
    loop = asyncio.get_running_loop()
    if stop.is_set():  # stopped during the start-up: no worker to start
        return 0
    env = {**os.environ, WORKER_FD_ENV: str(sock.fileno()), "MUGKIT_ADMIN_TOKEN": token}
    command = [sys.executable, "-m", "mugkit.cli", "serve", *argv, "--redis", redis_url]
    pool = [_Worker(i + 1) for i in range(workers)]

    async def start(worker: _Worker) -> int:
        """Starts ``worker``; returns the read end of the pipe it says it is ready on."""
        readable, writable = os.pipe()
        # Its own session: a Ctrl-C in the terminal reaches the parent only, which stops the
        # workers once (a second signal would make a worker stop at once, without ending its games).
        try:
            worker.process = await asyncio.create_subprocess_exec(
                *command, env={**env, READY_FD_ENV: str(writable)}, pass_fds=(sock.fileno(), writable),
                start_new_session=True)
        finally:
            os.close(writable)
        worker.started = time.monotonic()
        log.info("worker %d started (pid %d)", worker.number, worker.process.pid)
        return readable

    pipes = [await start(worker) for worker in pool]
    announce = loop.create_task(_when_ready(pipes, on_ready))
    failed = False
    while not stop.is_set():
        waits = {loop.create_task(w.process.wait()): w for w in pool}
        stopping = loop.create_task(stop.wait())
        done, _ = await asyncio.wait({*waits, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for task in waits:
            task.cancel()
        if stop.is_set():
            break
        for task in done:
            worker = waits.get(task)
            if worker is None or worker.process.returncode is None:
                continue
            quick = time.monotonic() - worker.started < QUICK_DEATH_SECONDS
            worker.quick_deaths = worker.quick_deaths + 1 if quick else 0
            log.error("worker %d (pid %d) died (exit status %s)%s", worker.number, worker.process.pid,
                      worker.process.returncode, "; restarting it" if worker.quick_deaths < QUICK_DEATHS else "")
            if worker.quick_deaths >= QUICK_DEATHS:
                log.error("worker %d failed %d times in a row right after starting: stopping (its output above "
                          "says why)", worker.number, QUICK_DEATHS)
                failed = True
                stop.set()
                break
            os.close(await start(worker))  # a restarted worker: nobody waits for it
    announce.cancel()
    log.info("stopping the workers")
    clean = await _stop_all(pool)
    return 1 if failed else (0 if clean else 1)


async def _when_ready(pipes: list[int], on_ready: Any) -> None:
    """Calls ``on_ready()`` once a byte (ready) or the end (died) came through every pipe."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.gather(*(loop.run_in_executor(None, os.read, fd, 1) for fd in pipes))
    finally:
        for fd in pipes:
            os.close(fd)
    if on_ready is not None:
        on_ready()


def tell_parent_ready(ready: asyncio.Event) -> None:
    """In a worker: once ``ready`` is set (it accepts connections), one byte to the parent."""
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return

    async def tell() -> None:
        await ready.wait()
        try:
            os.write(int(fd), b"1")
        finally:
            os.close(int(fd))

    asyncio.get_running_loop().create_task(tell())


async def _stop_all(pool: list[_Worker]) -> bool:
    """SIGTERM to every worker (each ends its games and commits), then waits; a worker still
    running after :data:`STOP_SECONDS` is killed. True when every worker stopped cleanly."""
    running = [w for w in pool if w.process is not None and w.process.returncode is None]
    for worker in running:
        try:
            worker.process.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    clean = True
    for worker in running:
        try:
            code = await asyncio.wait_for(worker.process.wait(), STOP_SECONDS)
        except asyncio.TimeoutError:
            log.error("worker %d did not stop within %g s: killed", worker.number, STOP_SECONDS)
            worker.process.kill()
            code = await worker.process.wait()
        # A worker stopped by this SIGTERM before it served (still starting) acknowledged nothing.
        clean = clean and code in (0, -signal.SIGTERM)
    return clean


def describe(workers: int, redis_url: str, private: bool) -> Any:
    """The lines the parent prints about its workers."""
    where = "a private redis-server (no persistence)" if private else redis_url
    return [f"workers: {workers} processes accepting on one socket; shared state in {where}"]
