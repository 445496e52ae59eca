"""A real TURN server for tests: Debian's coturn (``/usr/bin/turnserver``, installed by ``./dev test``)
on 127.0.0.1 with throwaway configuration, speaking the TURN REST API (``use-auth-secret``) that
:mod:`mugkit.web.ice` makes credentials for.

``coturn`` (a pytest fixture) gives a started :class:`Coturn` and stops it after the test module.
"""

import os
import secrets
import socket
import struct
import subprocess
import tempfile
import time

import pytest

TURNSERVER = "/usr/bin/turnserver"
REALM = "mugkit.test"
#: Seconds coturn gets to answer a STUN binding request after it was started.
START_SECONDS = 20.0


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (coturn listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def stun_answers(port: int, timeout: float = 0.5) -> bool:
    """Whether a STUN server answers a binding request on 127.0.0.1:``port`` (UDP)."""
    transaction = os.urandom(12)
    request = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + transaction  # binding request, no attributes
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(request, ("127.0.0.1", port))
            answer = s.recv(2048)
        except OSError:  # timeout, or ICMP port unreachable while it starts
            return False
    return len(answer) >= 20 and answer[:2] == b"\x01\x01" and answer[8:20] == transaction


class Coturn:
    """``turnserver`` on 127.0.0.1:``port`` (UDP and TCP, no TLS), relaying on 127.0.0.1 only.

    Attributes:
        secret: its ``static-auth-secret``.
        port: its listening port.
        url: ``turn:127.0.0.1:<port>?transport=udp``.
        log_path: its log file (allocations, and 401s for refused credentials).
    """

    def __init__(self) -> None:
        self.secret = secrets.token_urlsafe(24)
        self.port = free_port()
        self.url = f"turn:127.0.0.1:{self.port}?transport=udp"
        self.folder = tempfile.mkdtemp(prefix="mugkit-coturn-")
        self.log_path = os.path.join(self.folder, "turn.log")
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        relay_low = 20000 + (self.port % 20000)  # a relay port range of its own, away from others'
        return [TURNSERVER, "-n",  # -n: no configuration file, only these flags
                "--listening-ip=127.0.0.1", f"--listening-port={self.port}", "--relay-ip=127.0.0.1",
                f"--min-port={relay_low}", f"--max-port={relay_low + 200}",
                "--use-auth-secret", f"--static-auth-secret={self.secret}", f"--realm={REALM}",
                "--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli", "--no-stdout-log",
                f"--log-file={self.log_path}", "--simple-log", "--verbose",
                f"--userdb={os.path.join(self.folder, 'turndb')}", f"--pidfile={os.path.join(self.folder, 'pid')}"]

    def start(self) -> "Coturn":
        """Starts it and waits until it answers STUN.

        Raises:
            RuntimeError: it exited, or did not answer within :data:`START_SECONDS` (with its log).
        """
        with open(os.path.join(self.folder, "stderr.txt"), "wb") as errors:  # not a pipe: nobody reads it
            self.process = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=errors, cwd=self.folder)
        deadline = time.monotonic() + START_SECONDS
        while not stun_answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not start on 127.0.0.1:{self.port}:\n{self.log()}")
        return self

    def log(self) -> str:
        """Its log so far ('' before it wrote one)."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        """Stops it (safe to call twice)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> "Coturn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="module")
def coturn():
    """A started :class:`Coturn`, stopped after the module; skipped without Debian's coturn."""
    if not os.path.exists(TURNSERVER):
        pytest.skip("Debian's coturn is not installed (./dev test installs it)")
    with Coturn() as server:
        yield server
