"""``mugkit serve PATH``: every experiment under PATH, to participants, until stopped.

Start-up collects the experiments, runs the pre-flight (:mod:`mugkit.preflight`: where each game
step runs and why, confounded comparisons, the cheap checks; a study that fails them is refused
with exit status 1 unless ``--no-preflight``), checks the data folder ``--data`` (a damaged, deleted or
replaced database is refused: :mod:`mugkit.web.storage.folder`), opens its database (SQLite in the
data folder, or the PostgreSQL database ``--database URL``: docs/postgres.md), takes the
study seed (``--seed``, or the one stored there, or a new one drawn and stored), marks games a
previous run left unfinished as interrupted, and prints the links, where the data go and the admin
link, and for each browser-runtime step the experiment's files its participants download, with
their sizes.

SIGTERM or SIGINT (Ctrl-C) shuts down cleanly: every game running on the server ends with the
outcome ``interrupted`` and its players are moved on to their next step, every acknowledged write
is committed, and the process exits 0 — within :data:`SHUTDOWN_SECONDS` for the games. Games in
participants' browsers go on there (their rows are stored once the server is back). A second
signal stops at once (the data acknowledged so far are safe either way).

``--workers N`` runs N server processes on this machine (:mod:`mugkit.web.workers`): the parent does
the start-up above once, then N workers accept on **one inherited listening socket**, not one
``SO_REUSEPORT`` socket each: a dead worker's queued connections are not reset with its socket, a
restarted worker accepts again at once without reshuffling the kernel's hash, and the port is bound
once, before anything starts. Any worker may take any connection: the live connection is
websocket-only (no long-polling request has to find its session's process), the page loads and
files are the same in every worker, and ``/admin`` and ``/admin/stats.json`` gather every
process's figures from the shared state — no sticky routing. They share their state in Redis (``--redis URL``, else a
private ``redis-server``) and their database: the SQLite file of ``--data``, which several
processes may write (WAL mode; its lock serializes their group commits, and measured with the
load test it holds: docs/scale.md), or ``--database URL``. The same flags with ``--redis URL``
on several machines form one study, with one admin token (``--admin-token`` or
``MUGKIT_ADMIN_TOKEN``).
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
from .logs import LOG_FORMATS, configure_logging, log_format

__all__ = ["main", "run", "load_plugins"]

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
    p.add_argument("--database", default=None, metavar="URL",
                   help="keep the data in this PostgreSQL database (postgresql://user@host:port/dbname) instead of "
                        "SQLite in --data; several servers of one study may share it (docs/postgres.md)")
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
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="server processes on this machine, accepting on the same port (default 1); with N > 1 they "
                        "share their state in Redis (--redis, else a private redis-server)")
    p.add_argument("--redis", default=None, metavar="URL",
                   help="the Redis the study's processes share (redis://host:6379/0, unix:///path); several machines "
                        "with the same --redis and database form one study")
    p.add_argument("--admin-token", action="append", default=[], metavar="[NAME=]TOKEN",
                   help="an admin token, the same on every machine of the study (default: $MUGKIT_ADMIN_TOKEN, "
                        "else one drawn at start). NAME=TOKEN names its admin, whose actions on the admin page are "
                        "recorded under that name (a plain TOKEN is 'admin'); repeat for several admins")
    p.add_argument("--log-format", default=None, choices=LOG_FORMATS,
                   help="'text' (default: $MUGKIT_LOG_FORMAT, else text) or 'json': one JSON object a line, with "
                        "the participant and game ids (docs/monitoring.md)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE[:NAME]",
                   help="load a plugin: a module (or NAME in it: an object, or a class made with no arguments) with "
                        "@mk.hookimpl functions, called on the server's events; repeat for several. Installed "
                        "packages' 'mugkit' entry points are loaded too (docs/plugins.md)")
    ice.add_arguments(p)
    return p


def load_plugins(specs: list[str]) -> Any:
    """The server's :class:`~mugkit.web.plugins.Plugins`: installed packages' ``mugkit`` entry
    points, then each ``--plugin`` spec in order. A module in the folder mugkit runs from is found
    (as ``python -m`` finds it); a class is made with no arguments.

    Raises:
        ValueError: a plugin cannot be loaded; the message names it and says what to fix.
    """
    from .plugins import Plugins, load_plugin

    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        plugins = Plugins(entry_points=True)
    except Exception as exc:  # an installed package's plugin: its import failed
        raise ValueError(f"an installed package's plugin (entry point group 'mugkit') failed to load: "
                         f"{type(exc).__name__}: {exc}; fix or uninstall that package") from None
    for spec in specs:
        if not spec or spec.startswith(":") or spec.endswith(":") or spec.count(":") > 1:
            raise ValueError(f"--plugin {spec!r}: give a module, or module:name (e.g. --plugin labtools.notify or "
                             f"--plugin labtools.notify:Notifier)")
        plugin = load_plugin(spec)
        if isinstance(plugin, type):
            try:
                plugin = plugin()
            except Exception as exc:
                raise ValueError(f"--plugin {spec}: the class {plugin.__name__} could not be made with no arguments "
                                 f"({type(exc).__name__}: {exc}); give an object made from it instead") from None
        try:
            plugins.register(plugin, name=spec)
        except ValueError as exc:
            raise ValueError(f"--plugin {spec}: {exc}") from None
        if not plugins.manager.get_hookcallers(plugin):
            unmarked = sorted(n for n in dir(plugin) if n.startswith("mugkit_"))
            raise ValueError(f"--plugin {spec}: it has no @mk.hookimpl function, so it would never be called"
                             + (f" (mark {', '.join(unmarked)} with @mk.hookimpl)" if unmarked else
                                " (name its functions like the hooks: docs/plugins.md)"))
    return plugins


async def study_seed(storage, wanted: int | None) -> int:
    """The seed of this data folder: the stored one; ``wanted`` when nothing is stored yet.

    Raises:
        SystemExit: ``wanted`` differs from the stored seed (one data folder, one seed).
    """
    stored = await storage.get_meta("study_seed")
    if stored is None:  # meta_once: several processes of one study starting at once agree on one seed
        stored = await storage.meta_once("study_seed", wanted if wanted is not None else secrets.randbits(SEED_BITS))
    if wanted is not None and int(stored) != wanted:
        raise SystemExit(f"mugkit serve: this data folder ran with --seed {stored}; serve it with that seed, "
                         f"or give another --data folder for seed {wanted}")
    return int(stored)


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
              peer_relay: str = "auto", admin_token: Any = None, redis: str | None = None,
              worker_fd: int | None = None, database: str | None = None, log_config_off: bool = False,
              plugins: Any = None) -> None:
    """Serves until cancelled, or until SIGTERM or SIGINT stop it cleanly (see the module docstring).
    With ``preflight`` the study is checked first (:mod:`mugkit.preflight`): a study that fails
    is refused (SystemExit 1). ``worker_fd``: this is one of several workers
    (:mod:`mugkit.web.workers`), accepting on that inherited socket; its parent did the checks,
    claimed the data folder and prints the links. ``redis``: the processes' shared state.
    ``admin_token``: a token, or :class:`~mugkit.web.admin_live.AdminTokens` (None: one drawn).
    ``log_config_off``: leave uvicorn's loggers to the root logger (JSON logs).
    ``plugins``: the server's :class:`~mugkit.web.plugins.Plugins` (:func:`load_plugins`)."""
    from .pause import StoragePause
    from .server import socket_layer, socket_server
    from .study import Study

    worker = worker_fd is not None
    experiments, bundles = _prepare(paths, host, port, preflight, check_port=not worker)
    if not worker:
        storage, folder, seed = await _open_data(data, seed, database)
    else:
        storage, folder, seed = await _open_worker_data(data, seed, database)
    browser = bundles.games(storage, pyodide_packages) if bundles is not None else None
    if browser is not None:
        browser.peer_relay = peer_relay  # the `relay` of the peer block of game views (browser/peers.py)
    limits = limits or Limits()
    state, cluster, channel = await _shared_or_release(storage, folder, redis, worker)
    sio = socket_server(limits, allow_origins, redis_url=redis, channel=channel)
    study = Study(experiments, storage, seed, **socket_layer(sio, cluster), grace=grace, browser=browser,
                  state=state, cluster=cluster, plugins=plugins)
    app, token = _asgi_app(study, admin_token, sio, limits, allow_origins)
    await _start_study(study, cluster, browser, state, experiments, grace)
    if not worker:  # a worker's parent prints these once
        _announce(experiments, host, port, data, study.seed, token, database)
        if bundles is not None:
            _print_shipped(bundles)
    server = _uvicorn_server(app, host, port, limits, log_config_off, on_signal=study.close)
    watcher = asyncio.get_running_loop().create_task(StoragePause(study).run())
    try:
        await _serve(server, ready, worker_fd)
    finally:
        watcher.cancel()
        await _shut_down(study, browser, cluster, state, storage)
    if folder is not None:
        folder.release()
    from .storage import describe

    log.info("stopped; the data are in %s", describe(data, database))


async def _shared_or_release(storage: Any, folder: Any, redis: str | None, worker: bool) -> tuple[Any, Any, str]:
    """:func:`_shared`; when it refuses the start, the storage is closed and the data folder
    released first, so the refusal leaves the folder usable."""
    try:
        return await _shared(storage, redis, worker)
    except SystemExit:
        await storage.close()
        if folder is not None:
            folder.release()
        raise


def _asgi_app(study: Any, admin_token: Any, sio: Any, limits: Limits, allow_origins: list[str]) -> tuple[Any, str]:
    """The ASGI app serving ``study``, and the admin token of the printed link: ``admin_token``
    (a token, or :class:`~mugkit.web.admin_live.AdminTokens`), else one drawn."""
    from .admin_live import AdminTokens
    from .server import create_app

    tokens = admin_token if isinstance(admin_token, AdminTokens) else AdminTokens(
        {admin_token or secrets.token_urlsafe(18): "admin"})
    app, _, _ = create_app(study, tokens, sio, limits, allow_origins)
    return app, tokens.first


async def _start_study(study: Any, cluster: Any, browser: Any, state: Any, experiments: dict, grace: float) -> None:
    """Starts the study, then this process in the cluster (if any), then the browser games a
    previous run left open or unverified."""
    await study.start()
    if cluster is not None:
        from .admin import process_info

        cluster.info = lambda: process_info(study)
        await cluster.start()
    if browser is not None and await state.first("browser_games_started"):
        await browser.start(experiments, grace)  # games a stop left open or unverified: once per study run


def _print_shipped(bundles: Any) -> None:
    """Prints, for each browser-runtime step, the files its participants download."""
    from .browser.boot import shipped_report

    for line in shipped_report(bundles.bundles):
        print(line, flush=True)


def _uvicorn_server(app: Any, host: str, port: int, limits: Limits, log_config_off: bool,
                    on_signal: Callable[[], Awaitable]) -> Any:
    """The uvicorn server of ``app``, with the limits on connections, stopped our way
    (:func:`_stoppable_server`)."""
    import uvicorn

    from .limits.connections import protocols

    http, ws, _ = protocols(limits)   # connection caps and the header deadline (limits/connections.py)
    logs = {"log_config": None} if log_config_off else {}
    return _stoppable_server(uvicorn.Config(app, host=host, port=port, log_level="warning", http=http, ws=ws,
                                            lifespan="on", timeout_keep_alive=limits.keep_alive,
                                            ws_max_size=limits.message_bytes, **logs), on_signal=on_signal)


async def _serve(server: Any, ready: asyncio.Event | None, worker_fd: int | None) -> None:
    """Runs ``server`` until it stops: on ``host:port``, or for a worker on its inherited socket.
    ``ready`` is set once it accepts; a worker also tells its parent then."""
    if worker_fd is not None:  # its parent prints the links once every worker accepts
        from .workers import tell_parent_ready

        ready = ready or asyncio.Event()
        tell_parent_ready(ready)
    if ready is not None:
        asyncio.get_running_loop().create_task(_when_started(server, ready))
    if worker_fd is None:
        await server.serve()
    else:
        import socket as sockets

        await server.serve(sockets=[sockets.socket(fileno=worker_fd)])


async def _shut_down(study: Any, browser: Any, cluster: Any, state: Any, storage: Any) -> None:
    """The shut-down after the server stopped: the study's games ended, then the browser games,
    the cluster, the metrics, the shared state and last the storage (every acknowledged write
    committed)."""
    try:  # again: a game may have started while the server was stopping
        await asyncio.wait_for(study.close(), SHUTDOWN_SECONDS)
    except asyncio.TimeoutError:
        log.error("games could not be ended within %g s (is the disk full?); a game on the server without "
                  "an outcome is marked interrupted at the next start", SHUTDOWN_SECONDS)
    if browser is not None:
        await browser.close()
    if cluster is not None:
        await cluster.close()
    study.metrics.close()
    await state.close()
    await storage.close()  # every acknowledged write committed


def _prepare(paths: list[str], host: str, port: int, preflight: bool, check_port: bool = True) -> tuple[dict, Any]:
    """The experiments under ``paths``, checked (names, the port unless ``check_port`` is False,
    the pre-flight), and their browser runtime: ``(experiments, bundles)``. A worker process
    (``check_port`` False) skips what its parent did: the port, and the pre-flight."""
    from ..collect import CollectError, collect
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
    if check_port:
        _check_port(host, port)
    if not experiments:
        raise SystemExit(f"mugkit serve: no experiments under {' '.join(paths)} (a module that imports mugkit and "
                         f"has @mk.scene or @mk.survey functions)")
    from .browser.boot import prepare_browser_runtime

    # The pre-flight first: a study it refuses downloads no browser runtime (it needs none).
    if check_port:  # a worker's parent ran it
        _preflight(paths, experiments, checks=preflight)
    try:
        bundles = prepare_browser_runtime(experiments)
    except Exception as exc:  # a missing Pyodide, a package that cannot go to the browser: say what to do
        raise SystemExit(f"mugkit serve: {exc}") from None
    return experiments, bundles


async def _shared(storage: Any, redis: str | None, worker: bool) -> tuple[Any, Any, str]:
    """The shared state, this process in the cluster (None: the only process), and the
    socket.io channel: all under the study's id, so two studies may share one Redis."""
    from .cluster import Cluster

    study_id = await storage.get_meta("study_id") or "study"
    state = await _open_state(redis, study_id)
    cluster = Cluster(state) if (redis or worker) else None
    return state, cluster, f"mugkit:{study_id}:socketio"


async def _open_state(redis: str | None, study_id: str) -> Any:
    """:func:`~mugkit.web.shared.open_state`, tried once: a bad ``--redis`` URL, or no Redis
    answering there, stops the start with the URL and why (SystemExit)."""
    from .shared import SharedStateError, open_state

    try:
        state = open_state(redis, study_id)
        await state.processes()
    except (ValueError, SharedStateError) as exc:
        raise SystemExit(f"mugkit serve: refusing to start: {exc}") from None
    return state


async def _open_worker_data(data: str, seed: int | None, database: str | None) -> tuple[Any, None, int]:
    """A worker's storage (SQLite in the data folder, or ``database``): the one its parent checked
    and claimed (and releases)."""
    from .storage import open_storage

    storage = open_storage(data, database)
    await storage.start()
    return storage, None, await study_seed(storage, seed)


async def _open_data(data: str, seed: int | None, database: str | None = None) -> tuple[Any, Any, int]:
    """The data folder checked, its storage (SQLite in it, or the PostgreSQL ``database``)
    started and tied to it: ``(storage, folder, seed)``.

    Raises:
        SystemExit: the folder or the database is refused, or ``seed`` differs from the stored seed.
    """
    from .storage import StorageError, open_storage
    from .storage.folder import DataFolder, DataFolderError

    os.makedirs(data, exist_ok=True)
    folder = DataFolder(data, database)
    try:
        folder.check()  # before the database is opened: opening would create or "repair" it
    except DataFolderError as exc:
        raise SystemExit(f"mugkit serve: refusing to start: {exc}") from None
    try:
        storage = open_storage(data, database)
        await storage.start()
    except (ValueError, StorageError) as exc:  # not a PostgreSQL URL; unreachable; another schema
        raise SystemExit(f"mugkit serve: refusing to start: {exc}") from None
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


def _announce(experiments: dict, host: str, port: int, data: str, seed: int, token: str,
              database: str | None = None) -> None:
    from .storage import describe

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    base = f"http://{shown}:{port}"
    lines = [f"mugkit serving {len(experiments)} experiment(s), study seed {seed}"]
    lines += [w] if (w := _short_seed_warning(seed)) else []
    lines += [f"  {base}/{name}/" for name in sorted(experiments)]
    lines += [f"data: {describe(data, database)}", f"admin: {base}/admin?token={token}"]
    for line in lines:
        print(line, flush=True)


def _preflight(paths: list[str], experiments: dict, checks: bool) -> None:
    """:func:`mugkit.preflight.preflight`; a study it refuses stops the start (SystemExit 1)."""
    from ..preflight import preflight

    if not preflight(paths, experiments, checks=checks):
        raise SystemExit(1)


async def _parent_start(args: argparse.Namespace) -> tuple[dict, Any, int, str, Any]:
    """What a parent of several workers does once before they start: the checks, the data folder
    (claimed by the parent, which keeps its marker), the seed and resume secret, the shared state
    (a private redis-server when none is given), and the games a stop cut (those without a live
    owner: on several machines, the others' games go on). ``(experiments, storage, folder, seed,
    redis URL, private redis or None)``: the parent keeps its storage open for the run, so the
    database's write-ahead log is there as long as the folder is marked in use."""
    from .takeover import interrupt_unowned
    from .workers import PrivateRedis

    experiments, _ = _prepare(args.paths, args.host, args.port, args.preflight)
    private = None
    redis = args.redis
    if redis is None:
        if not PrivateRedis.available():
            raise SystemExit("mugkit serve: --workers needs a Redis the processes share: give --redis URL, or install "
                             "redis-server (apt install redis-server) and the server starts a private one")
        private = PrivateRedis(args.data)
    storage, folder, seed = await _open_data(args.data, args.seed, args.database)
    try:
        if await storage.get_meta("resume_secret") is None:  # once, not a different one per worker
            await storage.set_meta("resume_secret", secrets.token_hex(32))
        if private is not None:
            redis = private.start()
        state = await _open_state(redis, folder.study_id)
        try:
            # Not the games of live processes (other machines of the study), nor orphaned ones
            # (a process died: the workers' sweep takes them over; mugkit/web/takeover.py).
            cut = await interrupt_unowned(storage, state)
        finally:
            await state.close()
        if cut:
            log.warning("%d game(s) on the server were cut by the restart and are marked interrupted", len(cut))
    except BaseException:
        if private is not None:
            private.stop()
        await storage.close()
        folder.release()
        raise
    return experiments, storage, folder, seed, redis, private


async def _parent(args: argparse.Namespace, argv: list[str]) -> int:
    """``mugkit serve --workers N`` (or ``--redis``): start-up once, then the workers
    (:mod:`mugkit.web.workers`) until SIGTERM or SIGINT, which are caught from the start (a
    signal during the start-up stops the run before any worker starts, and cleanly)."""
    from .workers import describe, listening_socket, supervise

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    experiments, storage, folder, seed, redis, private = await _parent_start(args)
    code = 1
    try:
        sock = listening_socket(args.host, args.port)
        tokens = _admin_tokens(args)
        token = tokens.first if tokens is not None else secrets.token_urlsafe(18)

        def announce() -> None:  # once the workers accept: the links printed work at once
            _announce(experiments, args.host, sock.getsockname()[1], args.data, seed, token, args.database)
            for line in describe(args.workers, redis, private is not None):
                print(line, flush=True)

        code = await supervise(argv, sock, redis, token, args.workers, stop, on_ready=announce)
    finally:
        if private is not None:
            private.stop()
        await storage.close()
    # Every worker has stopped (or was killed), and this process, the database's last user, closed
    # it cleanly: its log is checkpointed into the database, so the folder is no longer in use.
    folder.release()
    from .storage import describe as where

    log.info("stopped; the data are in %s", where(args.data, args.database))
    return code


def _admin_tokens(args: argparse.Namespace) -> Any:
    """The admin tokens of ``--admin-token`` (else ``$MUGKIT_ADMIN_TOKEN``), or None (one is drawn).

    Raises:
        ValueError: a bad ``--admin-token`` (the message says what to fix).
    """
    from .admin_live import AdminTokens

    specs = list(args.admin_token) or ([os.environ["MUGKIT_ADMIN_TOKEN"]] if os.environ.get("MUGKIT_ADMIN_TOKEN") else [])
    return AdminTokens.parse(specs) if specs else None


class _UsageError(Exception):
    """A bad option: :func:`main` prints it after ``mugkit serve:`` and exits 2."""


def main(argv: list[str]) -> int:
    """The ``mugkit serve`` command."""
    args = _parser().parse_args(argv)
    worker_fd = _worker_fd()
    try:
        limits, fmt, tokens = _options(args)
    except _UsageError as exc:
        print(f"mugkit serve: {exc}", file=sys.stderr)
        return 2
    _configure_logs(fmt, limits, process_ids=worker_fd is not None or bool(args.redis))
    try:
        plugins = load_plugins(args.plugin)  # every process loads them: a worker's events are its own
    except ValueError as exc:
        print(f"mugkit serve: {exc}", file=sys.stderr)
        return 2
    names = [name for name, _ in plugins.manager.list_name_plugin()]
    if names and worker_fd is None:
        log.info("plugins: %s", ", ".join(names))
    return _serve_command(args, argv, worker_fd, limits, tokens, plugins, json_logs=fmt == "json")


def _worker_fd() -> str | None:
    """The inherited listening socket's descriptor when this process is one of several workers
    (:mod:`mugkit.web.workers`), else None. A worker stops with its parent."""
    from .workers import WORKER_FD_ENV

    worker_fd = os.environ.pop(WORKER_FD_ENV, None)  # not for the processes this one starts
    if worker_fd is not None:
        from .workers import stop_with_parent

        stop_with_parent()
    return worker_fd


def _options(args: argparse.Namespace) -> tuple[Limits, str, Any]:
    """The options checked, and ``(limits, log format, admin tokens or None)``; ``--assets`` and
    the ICE servers are applied on the way.

    Raises:
        _UsageError: a bad option (the message says what to fix).
    """
    if args.workers < 1:
        raise _UsageError("--workers must be 1 or more")
    from .browser.assets_cli import use_folder

    use_folder(args.assets)
    if not args.grace > 0:
        raise _UsageError("--grace must be a positive number of seconds")
    try:
        limits = Limits().with_options(args.limit)
        ice.configure(ice.settings_from_args(args))
    except (LimitError, ice.IceConfigError) as exc:
        raise _UsageError(str(exc)) from None
    try:
        fmt = log_format(args.log_format)
        tokens = _admin_tokens(args)
    except ValueError as exc:
        raise _UsageError(str(exc)) from None
    return limits, fmt, tokens


def _configure_logs(fmt: str, limits: Limits, process_ids: bool) -> None:
    """The logs in format ``fmt`` (``process_ids``: each line names its process, one of several),
    without the libraries' noise."""
    from .cluster import PROCESS_ID

    configure_logging(fmt, process=PROCESS_ID if process_ids else None)
    logging.getLogger("sanic").setLevel(logging.WARNING)  # its banner says nothing a researcher needs
    for name in ("uvicorn.error", "engineio.server", "socketio.server", "sanic.error"):
        # a flood of bad requests must not become a flood of log lines
        logging.getLogger(name).addFilter(RepeatFilter(limits.log_interval))


def _serve_command(args: argparse.Namespace, argv: list[str], worker_fd: str | None, limits: Limits, tokens: Any,
                   plugins: Any, json_logs: bool) -> int:
    """Serves until stopped, as the parent of several workers (``--workers N`` or ``--redis``) or
    as the one server process; the command's exit status (2: a start refused with a message)."""
    try:
        if worker_fd is None and (args.workers > 1 or args.redis):
            return asyncio.run(_parent(args, argv))
        asyncio.run(run(args.paths, args.host, args.port, args.data, args.seed, args.grace,
                        pyodide_packages=args.pyodide_packages, limits=limits, allow_origins=args.allow_origin,
                        preflight=args.preflight, peer_relay=args.peer_relay, admin_token=tokens, redis=args.redis,
                        worker_fd=int(worker_fd) if worker_fd is not None else None, database=args.database,
                        log_config_off=json_logs, plugins=plugins))
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        raise
    return 0
