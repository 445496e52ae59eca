"""``mugkit serve PATH``: every experiment under PATH, to participants, until stopped.

Start-up collects the experiments, runs the pre-flight (:mod:`mugkit.preflight`: where each game
step runs and why, confounded comparisons, the cheap checks; a study that fails them is refused
with exit status 1 unless ``--no-preflight``), checks the data folder ``--data`` (a damaged, deleted or
replaced database is refused: :mod:`mugkit.web.storage.folder`), opens its database, takes the
study seed (``--seed``, or the one stored there, or a new one drawn and stored), marks games a
previous run left unfinished as interrupted, and prints the links, where the data go and the admin
link, and for each browser-runtime step the experiment's files its participants download, with
their sizes.

SIGTERM or SIGINT (Ctrl-C) shuts down cleanly: every game running on the server ends with the
outcome ``interrupted`` and its players are moved on to their next step, every acknowledged write
is committed, and the process exits 0 — within :data:`SHUTDOWN_SECONDS` for the games. Games in
participants' browsers go on there (their rows are stored once the server is back). A second
signal stops at once (the data acknowledged so far are safe either way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
from typing import Any, Awaitable, Callable, Iterator

from . import ice
from .gameloop import GRACE_SECONDS
from .limits import LimitError, Limits, RepeatFilter

__all__ = ["main", "run"]

log = logging.getLogger("mugkit.serve")

DATABASE = "mugkit.sqlite"
#: Bits of a drawn study seed.
SEED_BITS = 128
#: A study seed of this many bits or fewer can be searched for: the server warns.
GUESSABLE_BITS = 64

#: Seconds a shutdown waits for the games to end and their players to move on.
SHUTDOWN_SECONDS = 10.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mugkit serve", description="serve the experiments under PATH to participants")
    p.add_argument("paths", nargs="+", metavar="PATH", help="experiment files or folders")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--data", default="data", help="folder of the database (default data/)")
    p.add_argument("--seed", type=int, default=None,
                   help="the study seed, a secret key (default: 128 random bits drawn at the first start and kept "
                        "in the data folder). A small --seed is for reproducible tests: it can be guessed")
    p.add_argument("--grace", type=float, default=GRACE_SECONDS, metavar="SECONDS",
                   help=f"how long a game waits for a player whose connection dropped (default {GRACE_SECONDS:g})")
    p.add_argument("--pyodide-packages", default=None, metavar="URL|DIR",
                   help="where browsers load Pyodide's own packages (numpy …) from: a URL, or a folder this server "
                        "serves (offline labs). Default: Pyodide's official distribution of the pinned version")
    p.add_argument("--assets", default=None, metavar="DIR",
                   help="take the browser runtime's pinned files (Pyodide, onnxruntime-web) from DIR only, as `mugkit "
                        "assets fetch --into DIR` filled it (labs without internet). Default: $MUGKIT_ASSETS, else "
                        "node_modules or the user's cache, downloading them there once")
    p.add_argument("--allow-origin", action="append", default=[], metavar="URL",
                   help="also let pages of this origin (e.g. https://lab.example.org) open the live connection; "
                        "repeat for several (default: only pages of this server)")
    p.add_argument("--peer-relay", choices=("auto", "force"), default="auto",
                   help="browser games with several humans: 'auto' (default) relays a peer's packets through this "
                        "server only when a direct data channel does not open; 'force' always relays them")
    p.add_argument("--limit", action="append", default=[], metavar="NAME=VALUE",
                   help="change one of the limits on what a client may send, e.g. connections_per_address=300 "
                        "(repeat for several; docs/security/limits.md lists them)")
    p.add_argument("--no-preflight", dest="preflight", action="store_false",
                   help="start without the pre-flight checks (every step built, every page rendered, a few frames "
                        "of every game played); a study that fails them is otherwise refused")
    p.add_argument("--redis", default=None, metavar="URL",
                   help="keep the state the study's processes share in Redis (redis://host:port/db); default: in memory")
    ice.add_arguments(p)
    return p


async def study_seed(storage, wanted: int | None) -> int:
    """The seed of this data folder: the stored one; ``wanted`` when nothing is stored yet.

    Raises:
        SystemExit: ``wanted`` differs from the stored seed (one data folder, one seed).
    """
    stored = await storage.get_meta("study_seed")
    if stored is not None:
        if wanted is not None and int(stored) != wanted:
            raise SystemExit(f"mugkit serve: this data folder ran with --seed {stored}; serve it with that seed, "
                             f"or give another --data folder for seed {wanted}")
        return int(stored)
    seed = wanted if wanted is not None else secrets.randbits(SEED_BITS)
    await storage.set_meta("study_seed", seed)
    return seed


def _short_seed_warning(seed: int) -> str | None:
    """A warning for a study seed an attacker could search (a ``--seed`` from a test, or a data
    folder from before seeds were 128 bits): from one game's seed they could find it and predict
    other participants' games."""
    if seed.bit_length() > GUESSABLE_BITS:  # a drawn seed is this short one time in 2**64
        return None
    return (f"warning: the study seed has {seed.bit_length()} bits, so it can be guessed and participants' game "
            f"seeds predicted; fine for tests, but for a real study start with a fresh --data folder and no --seed")


async def run(paths: list[str], host: str, port: int, data: str, seed: int | None, grace: float = GRACE_SECONDS,
              ready: asyncio.Event | None = None, pyodide_packages: str | None = None,
              limits: Limits | None = None, allow_origins: list[str] = (), preflight: bool = True,
              peer_relay: str = "auto", redis: str | None = None) -> None:
    """Serves until cancelled, or until SIGTERM or SIGINT stop it cleanly (see the module docstring).
    With ``preflight`` the study is checked first (:mod:`mugkit.preflight`): a study that fails
    is refused (SystemExit 1)."""
    import uvicorn

    from .limits.connections import protocols

    from ..collect import collect
    from .pause import StoragePause
    from .server import create_app, socket_layer, socket_server
    from .shared import SharedStateError, open_state
    from .study import Study

    from ..collect import CollectError
    from ..steps import StepError

    for path in paths:  # a path that is not there is a usage error (2), not a broken study (1)
        if not os.path.exists(path.split("::")[0]):
            raise SystemExit(f"mugkit serve: {path}: no such file or folder")
    try:
        experiments = {e.name: e for e in collect(paths)}
    except (CollectError, StepError) as exc:  # a broken study, as `mugkit check` exits 1 for it
        print(f"mugkit serve: refusing to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except FileNotFoundError as exc:
        raise SystemExit(f"mugkit serve: {exc}") from None
    _check_reserved(experiments)
    _check_port(host, port)
    if not experiments:
        raise SystemExit(f"mugkit serve: no experiments under {' '.join(paths)} (a module that imports mugkit and "
                         f"has @mk.scene or @mk.survey functions)")
    from .browser.boot import prepare_browser_runtime

    # The pre-flight first: a study it refuses downloads no browser runtime (it needs none).
    _preflight(paths, experiments, checks=preflight)
    try:
        bundles = prepare_browser_runtime(experiments)
    except Exception as exc:  # a missing Pyodide, a package that cannot go to the browser: say what to do
        raise SystemExit(f"mugkit serve: {exc}") from None
    storage, folder, seed = await _open_data(data, seed)
    browser = bundles.games(storage, pyodide_packages) if bundles is not None else None
    if browser is not None:
        browser.peer_relay = peer_relay  # the `relay` of the peer block of game views (browser/peers.py)
    limits = limits or Limits()
    sio = socket_server(limits, allow_origins)
    try:  # a bad --redis URL, or no Redis there: said plainly before anything starts
        state = open_state(redis, await storage.get_meta("study_id"))
        await state.processes()
    except (ValueError, SharedStateError) as exc:
        await storage.close()
        folder.release()
        raise SystemExit(f"mugkit serve: refusing to start: {exc}") from None
    study = Study(experiments, storage, seed, **socket_layer(sio), grace=grace, browser=browser, state=state)
    token = secrets.token_urlsafe(18)
    app, _, _ = create_app(study, token, sio, limits, allow_origins)
    await study.start()
    if browser is not None:
        await browser.start(experiments, grace)  # games a stop left open or unverified
    _announce(experiments, host, port, data, study.seed, token)
    if bundles is not None:
        from .browser.boot import shipped_report

        for line in shipped_report(bundles.bundles):
            print(line, flush=True)
    http, ws, _ = protocols(limits)   # connection caps and the header deadline (limits/connections.py)
    server = _stoppable_server(uvicorn.Config(app, host=host, port=port, log_level="warning", http=http, ws=ws,
                                              lifespan="on", timeout_keep_alive=limits.keep_alive,
                                              ws_max_size=limits.message_bytes), on_signal=study.close)
    watcher = asyncio.get_running_loop().create_task(StoragePause(study).run())
    try:
        if ready is not None:
            asyncio.get_running_loop().create_task(_when_started(server, ready))
        await server.serve()
    finally:
        watcher.cancel()
        try:  # again: a game may have started while the server was stopping
            await asyncio.wait_for(study.close(), SHUTDOWN_SECONDS)
        except asyncio.TimeoutError:
            log.error("games could not be ended within %g s (is the disk full?); a game on the server without "
                      "an outcome is marked interrupted at the next start", SHUTDOWN_SECONDS)
        if browser is not None:
            await browser.close()
        await storage.close()  # every acknowledged write committed
        await state.close()
    folder.release()
    log.info("stopped; the data are in %s", os.path.abspath(data))


async def _open_data(data: str, seed: int | None) -> tuple[Any, Any, int]:
    """The data folder checked, its storage started and tied to it: ``(storage, folder, seed)``.

    Raises:
        SystemExit: the folder is refused, or ``seed`` differs from its stored seed.
    """
    from .storage import SQLiteStorage
    from .storage.folder import DataFolder, DataFolderError

    os.makedirs(data, exist_ok=True)
    folder = DataFolder(data)
    try:
        folder.check()  # before the database is opened: opening would create or "repair" it
    except DataFolderError as exc:
        raise SystemExit(f"mugkit serve: refusing to start: {exc}") from None
    storage = SQLiteStorage.in_folder(data)
    await storage.start()
    try:
        seed = await study_seed(storage, seed)
        await folder.claim(storage, seed)
    except (SystemExit, DataFolderError) as exc:
        await storage.close()
        raise SystemExit(f"mugkit serve: refusing to start: {exc}" if isinstance(exc, DataFolderError)
                         else exc.code) from None
    return storage, folder, seed


def _stoppable_server(config: Any, on_signal: Callable[[], Awaitable]) -> Any:
    """uvicorn's server, stopped our way: on SIGTERM or SIGINT ``on_signal`` (the study's close:
    games end with an outcome and their players are moved on, while their connections are still
    open) runs first, and only then does uvicorn stop. uvicorn's own handling would close the
    connections first and then re-raise the signal, killing the process before the study could
    close (exit -15). (A factory: uvicorn is imported only when serving.)"""
    import uvicorn

    class Server(uvicorn.Server):
        def __init__(self) -> None:
            super().__init__(config)
            self._on_signal, self._stopping = on_signal, None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            loop = asyncio.get_running_loop()
            try:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, self._signalled, sig)
            except (RuntimeError, ValueError):  # not the main thread: whoever runs us stops us
                yield
                return
            try:
                yield
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

        def _signalled(self, sig: int) -> None:
            if self._stopping is not None:  # a second signal: stop now
                self.should_exit = self.force_exit = True
                return
            log.info("%s: ending the running games, then stopping", signal.Signals(sig).name)
            self._stopping = asyncio.get_running_loop().create_task(self._stop())

        async def _stop(self) -> None:
            try:
                await asyncio.wait_for(self._on_signal(), SHUTDOWN_SECONDS)
            except asyncio.TimeoutError:
                log.warning("the games did not all end within %g s; stopping anyway", SHUTDOWN_SECONDS)
            finally:
                self.should_exit = True

    return Server()


#: Experiment names that are the server's own paths (``/admin``, ``/static/``, ``/runtime/``).
RESERVED_NAMES = ("admin", "static", "runtime")


def _check_reserved(experiments: dict) -> None:
    """An experiment named like one of the server's own paths would share it: its participants'
    page under the admin page's path (and its token cookie), its link without the slash opening
    the admin page."""
    clash = sorted(name for name in experiments if name in RESERVED_NAMES)
    if clash:
        raise SystemExit(f"mugkit serve: the experiment name(s) {', '.join(clash)} are the server's own paths "
                         f"(/{', /'.join(RESERVED_NAMES)}): rename the module (e.g. {clash[0]}_study.py)")


def _check_port(host: str, port: int) -> None:
    """Fails early, before the links are printed, when the port is taken."""
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise SystemExit(f"mugkit serve: cannot listen on {host}:{port} ({exc.strerror}); is another server "
                             f"running there? Give another --port") from None


async def _when_started(server, ready: asyncio.Event) -> None:
    while not server.started:
        await asyncio.sleep(0.05)
    ready.set()


def _announce(experiments: dict, host: str, port: int, data: str, seed: int, token: str) -> None:
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    base = f"http://{shown}:{port}"
    lines = [f"mugkit serving {len(experiments)} experiment(s), study seed {seed}"]
    lines += [w] if (w := _short_seed_warning(seed)) else []
    lines += [f"  {base}/{name}/" for name in sorted(experiments)]
    lines += [f"data: {os.path.abspath(os.path.join(data, DATABASE))}", f"admin: {base}/admin?token={token}"]
    for line in lines:
        print(line, flush=True)


def _preflight(paths: list[str], experiments: dict, checks: bool) -> None:
    """:func:`mugkit.preflight.preflight`; a study it refuses stops the start (SystemExit 1)."""
    from ..preflight import preflight

    if not preflight(paths, experiments, checks=checks):
        raise SystemExit(1)


def main(argv: list[str]) -> int:
    """The ``mugkit serve`` command."""
    args = _parser().parse_args(argv)
    from .browser.assets_cli import use_folder

    use_folder(args.assets)
    if not args.grace > 0:
        print("mugkit serve: --grace must be a positive number of seconds", file=sys.stderr)
        return 2
    try:
        limits = Limits().with_options(args.limit)
        ice.configure(ice.settings_from_args(args))
    except (LimitError, ice.IceConfigError) as exc:
        print(f"mugkit serve: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sanic").setLevel(logging.WARNING)  # its banner says nothing a researcher needs
    for name in ("uvicorn.error", "engineio.server", "socketio.server", "sanic.error"):
        # a flood of bad requests must not become a flood of log lines
        logging.getLogger(name).addFilter(RepeatFilter(limits.log_interval))
    try:
        asyncio.run(run(args.paths, args.host, args.port, args.data, args.seed, args.grace,
                        pyodide_packages=args.pyodide_packages, limits=limits, allow_origins=args.allow_origin,
                        preflight=args.preflight, peer_relay=args.peer_relay, redis=args.redis))
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        raise
    return 0
