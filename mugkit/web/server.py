"""The web server: Sanic serves pages and files, python-socketio the live connection.

Why ASGI — ``socketio.ASGIApp`` wrapping the Sanic app, served by uvicorn — rather than
python-socketio's Sanic mode: its maintainers recommend the ASGI integration and no longer fix
Sanic-mode bugs; ASGI keeps the same app runnable under any ASGI server, and the Redis client
manager (several server processes, a later step) plugs into either. Only the websocket transport
is used (no long-polling): no sticky sessions are needed across workers, and clients disconnect
cleanly.

Routes: ``/`` (the researcher's index of experiments), ``/<experiment>/`` (the participant's page;
the client then connects over socket.io), ``/static/…`` (the client and its vendored assets),
``/<experiment>/files/…`` (images, sounds and sprite atlases next to the experiment: asset types
only, never hidden paths, data, databases, backups or symlinks out of the folder —
:mod:`mugkit.web.browser.public_files`), ``/admin`` (behind a token). Every response carries the security
headers of :mod:`mugkit.web.headers`.

The admin token leaves the URL at once: ``/admin?token=…`` (the link printed at start) sets an
``HttpOnly``, ``SameSite=Strict`` cookie for ``/admin`` and sends the browser on to ``/admin``;
later requests carry the cookie, or scripts send the ``X-Mugkit-Token`` header.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import mimetypes
import os
import secrets
import time
from typing import Any, Awaitable, Callable

import socketio
from sanic import Sanic, response

from .admin_live import AdminTokens
from .limits.arrivals import ArrivalLimit, TooManyArrivals
from .logs import GAME, PARTICIPANT
from .flow import Arrival
from .headers import add_security_headers
from .limits import Limits
from .browser.public_files import public_path
from .limits.sockets import BINARY_EVENTS, LimitedSocketServer, OriginGuard, client_address, origin_check
from .socket_manager import RedisDirectManager
from .screening import socket_pinger
from .study import Participant, Study

__all__ = ["create_app", "socket_server", "socket_layer", "STATIC_DIR", "MAX_MESSAGE_BYTES", "ADMIN_COOKIE"]

log = logging.getLogger("mugkit.server")

WEB_DIR = os.path.dirname(os.path.abspath(__file__))
STATIC_DIR = os.path.join(WEB_DIR, "static")
TEMPLATE = os.path.join(WEB_DIR, "templates", "page.html")
#: Largest client message handled (bigger ones are answered with an error). engine.io itself closes
#: a connection whose message passes ``max_http_buffer_size`` (1 MB) before mugkit sees it.
MAX_MESSAGE_BYTES = 16 * 1024
#: The cookie that carries the admin token after the first visit (Path=/admin).
ADMIN_COOKIE = "mugkit_admin"
#: Files an experiment may serve from its folder (never its Python source or data), when
#: :func:`~mugkit.web.browser.public_files.public_path` lets them out.
ASSET_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".json", ".mp3", ".wav", ".ogg", ".css")

mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/wasm", ".wasm")


class _TextPacket(socketio.packet.Packet):
    """mugkit's messages are JSON but for the bytes a browser game's peers pass through the server
    (``relay``, ``package``: mugkit/web/browser/peers.py): this skips python-socketio's walk
    through every other outgoing message looking for bytes (a tenth of the server's time with many
    games running)."""

    uses_binary_events = False

    def __init__(self, packet_type=socketio.packet.EVENT, data=None, *args, **kwargs):
        if packet_type == socketio.packet.EVENT and isinstance(data, list) and data and isinstance(data[0], str) \
                and data[0] in BINARY_EVENTS:
            self.uses_binary_events = True  # this packet only
        super().__init__(packet_type, data, *args, **kwargs)


def _inside(root: str, relative: str) -> str | None:
    """The real path of ``relative`` under ``root``, or None when it escapes ``root`` (``..``,
    absolute paths, symlinks pointing out)."""
    root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, relative))
    return path if path.startswith(root + os.sep) and os.path.isfile(path) else None


def socket_server(limits: Limits = Limits(), allow_origins: list[str] = (), redis_url: str | None = None,
                  channel: str = "mugkit:socketio") -> LimitedSocketServer:
    """The socket.io server (websockets only; see the module's docstring), with the limits on
    what one connection may send and the Origin check (mugkit/web/limits/sockets.py).

    Args:
        limits: what one client may send (mugkit/web/limits/settings.py).
        allow_origins: pages of other origins that may open the socket (``--allow-origin``); pages
            of this server always may.
        redis_url: with several server processes, the Redis that carries emits to rooms between
            them (``socketio.AsyncRedisManager``, with the cheaper local emit of
            :mod:`mugkit.web.socket_manager`), so a frame reaches a player on any process.
        channel: its pub/sub channel (one per study: two studies may share a Redis).
    """
    manager = RedisDirectManager(redis_url, channel=channel) if redis_url else None
    return LimitedSocketServer(limits, async_mode="asgi", transports=["websocket"], client_manager=manager,
                               cors_allowed_origins=origin_check(list(allow_origins)), serializer=_TextPacket,
                               max_http_buffer_size=limits.message_bytes, logger=False, engineio_logger=False)


def socket_layer(sio: socketio.AsyncServer, cluster: Any = None) -> dict:
    """What a :class:`~mugkit.web.study.Study` is given of the socket layer: ``emit``, ``join``
    (a participant's sockets into a room) and ``evict`` (a participant's windows closed).

    With several processes (``cluster``: mugkit/web/cluster.py) a participant's sockets may be on
    any of them, and python-socketio's ``get_participants`` sees only this process's: ``join``
    and ``evict`` are told to every process, and each acts on the sockets it holds."""
    async def join_here(pid: str, room: str) -> None:
        for sid, _ in list(sio.manager.get_participants("/", f"p:{pid}")):
            await sio.enter_room(sid, room)

    async def evict_here(pid: str) -> None:
        for sid, _ in list(sio.manager.get_participants("/", f"p:{pid}")):
            await sio.disconnect(sid)  # its disconnect handler still runs: the socket counts stay right

    async def evict(pid: str) -> None:
        await sio.emit("view", {"kind": "ended", "title": "This study continues elsewhere", "html":
                                "<p>You went on with this study in another browser or on another device, so this "
                                "window has stopped. You can close it.</p>", "code": None}, room=f"p:{pid}")
        await evict_here(pid)  # here at once: the new window's socket may be seated here next
        if cluster is not None:
            await cluster.tell_all("evict", {"pid": pid, "from": cluster.id})

    if cluster is None:
        return {"emit": sio.emit, "join": join_here, "evict": evict}

    async def join(pid: str, room: str) -> None:
        await join_here(pid, room)
        message = {"pid": pid, "room": room, "from": cluster.id}
        # The game's first frames follow at once: every process known alive answers once it has put
        # the participant's sockets there in the room (else a player on another process missed
        # them). The broadcast also reaches a process started since the last heartbeat.
        others = [process for process in cluster.alive_ids if process != cluster.id]
        await asyncio.gather(*(cluster.request(process, "join", message, timeout=2.0) for process in others),
                             return_exceptions=True)
        await cluster.tell_all("join", message)

    async def on_join(message: dict) -> None:
        if message.get("from") != cluster.id:
            await join_here(message["pid"], message["room"])

    async def on_evict(message: dict) -> None:
        if message.get("from") != cluster.id:
            await evict_here(message["pid"])

    cluster.on("join", on_join)
    cluster.on("evict", on_evict)
    return {"emit": sio.emit, "join": join, "evict": evict}


def create_app(study: Study, admin_token: "str | AdminTokens", sio: socketio.AsyncServer | None = None,
               limits: Limits = Limits(), allow_origins: list[str] = ()) -> tuple[Any, socketio.AsyncServer, Sanic]:
    """The ASGI app (socket.io around Sanic), the socket.io server and the Sanic app. ``sio`` is
    the socket.io server the study was given (:func:`socket_layer`); a new one by default.
    ``limits`` and ``allow_origins`` as for :func:`socket_server` (give ``sio`` the same).
    ``admin_token``: the admin token, or several named ones (:class:`~mugkit.web.admin_live.AdminTokens`)."""
    from .metrics import install_metrics

    tokens = admin_token if isinstance(admin_token, AdminTokens) else AdminTokens({admin_token: "admin"})
    sio = sio or socket_server(limits, allow_origins)
    if getattr(study, "metrics", None) is None:
        install_metrics(study)  # /metrics: exclusions and errors counted from now
    if study.browser is not None:
        study.browser.frames_per_episode = limits.frames_per_episode
        study.browser.game_bytes = limits.game_bytes
        study.browser.game_events = limits.game_events
        study.browser.peer_ready_seconds = limits.peer_ready_seconds
        study.browser.hidden_seconds = limits.hidden_seconds
    app = Sanic(f"mugkit_{secrets.token_hex(4)}", configure_logging=False)
    _http_routes(app, study, tokens)
    add_security_headers(app, getattr(study.browser, "packages_url", None))
    _socket_events(sio, study, limits)
    asgi = socketio.ASGIApp(sio, other_asgi_app=app, socketio_path="socket.io")
    return OriginGuard(asgi, origin_check(list(allow_origins)), limits.log_interval), sio, app


# -- HTTP ------------------------------------------------------------------------------------

def _http_routes(app: Sanic, study: Study, tokens: AdminTokens) -> None:
    """The HTTP routes: the participants' pages and files first, then the admin's."""
    _participant_routes(app, study)
    _admin_http_routes(app, study, tokens)


def _participant_routes(app: Sanic, study: Study) -> None:
    """The index of experiments, the client's static files, the browser runtime's files, an
    experiment's asset files and its participants' page."""
    @app.get("/")
    async def index(request):
        return response.html(_index_html(study))

    @app.get("/static/<path:path>")
    async def static(request, path: str):
        found = _inside(STATIC_DIR, path)
        if found is None:
            return response.text("not found", status=404)
        return await response.file(found, mime_type=mimetypes.guess_type(found)[0] or "application/octet-stream")

    _runtime_routes(app, study)

    @app.get("/<experiment:str>/files/<path:path>")
    async def files(request, experiment: str, path: str):
        exp = study.experiments.get(experiment)
        # The same rules as the browser step's wheel (browser/public_files.py), and only asset types.
        found = public_path(os.path.dirname(exp.path), path) if exp is not None else None
        if found is None or not path.lower().endswith(ASSET_TYPES) or not found.lower().endswith(ASSET_TYPES):
            return response.text("not found", status=404)
        return await response.file(found)

    @app.get("/<experiment:str>/", strict_slashes=True)
    async def participant_page(request, experiment: str):
        if experiment not in study.experiments:
            return response.html(_message_html("Study not found", "This study link is not valid."), status=404)
        return response.html(_page_html(experiment, _title(study.experiments[experiment])))

    @app.get("/<experiment:str>", strict_slashes=True)
    async def without_slash(request, experiment: str):
        if experiment not in study.experiments:
            return response.text("not found", status=404)
        query = request.query_string
        return response.redirect(f"/{experiment}/" + (f"?{query}" if query else ""))


def _admin_http_routes(app: Sanic, study: Study, tokens: AdminTokens) -> None:
    """The admin page (its printed link traded for a cookie), its figures and data tables, and
    its live actions (:func:`~mugkit.web.admin_live.admin_routes`): all behind an admin token."""
    from .admin import admin_stats_all, admin_table
    from .admin_live import admin_routes, page_html

    def authorized(request: Any) -> tuple[str, bool] | None:
        return _authorized(request, tokens)

    @app.get("/admin")
    async def admin(request):
        given = request.args.get("token")
        if given is not None:  # the printed link: trade the token in the URL for a cookie
            if tokens.who(given) is None:
                return response.text("forbidden: open the admin link printed when the server started", status=403)
            return _admin_cookie(response.html(_ADMIN_REDIRECT), given, request.scheme == "https")
        found = authorized(request)
        if found is None:
            return response.text("forbidden: open the admin link printed when the server started", status=403)
        given = request.cookies.get(ADMIN_COOKIE, "") or _header_token(request)
        return response.html(page_html(tokens.csrf(given)))

    @app.get("/admin/stats.json")
    async def admin_stats(request):
        if authorized(request) is None:
            return response.json({"error": "forbidden"}, status=403)
        return response.json(await admin_stats_all(study))

    @app.get("/admin/data/<table:str>")
    async def admin_data(request, table: str):
        if authorized(request) is None:
            return response.text("forbidden", status=403)
        return await admin_table(study, table)

    admin_routes(app, study, tokens, authorized)


def _acked(sio: socketio.AsyncServer, participant: Any, name: str,
           handle: Callable[[str, Participant, Any], Awaitable[dict]], bounded: bool = True) -> None:
    """Registers the participant's message ``name``, answered with ``handle(sid, p, data)``'s
    ack; refused when the connection has no participant, or (``bounded``) when it is larger
    than MAX_MESSAGE_BYTES."""
    async def handler(sid, data=None):  # a coroutine function: python-socketio awaits only those
        p = await participant(sid)
        if p is None:
            return {"ok": False, "error": "no participant on this connection: reload the page"}
        if bounded and _too_big(data):
            return {"ok": False, "error": f"message larger than {MAX_MESSAGE_BYTES} bytes"}
        return await handle(sid, p, data)

    sio.on(name, handler)


def _browser_events(sio: socketio.AsyncServer, study: Study, participant: Any) -> None:
    """The browser runtime's messages (protocol.py): rows, resume, loaded, load_failed, game_over."""
    def handle_of(kind: str) -> Callable[[str, Participant, Any], Awaitable[dict]]:
        async def handle(sid: str, p: Participant, data: Any) -> dict:
            if study.browser is None:
                return {"ok": False, "error": "this server runs no games in the browser"}
            return await study.browser_message(p, kind, data)
        return handle

    for kind in ("rows", "resume", "loaded", "load_failed", "game_over"):
        # a rows batch has its own, larger bound
        _acked(sio, participant, kind, handle_of(kind), bounded=kind != "rows")
    _peer_events(sio, study, participant)


def _monitor_events(sio: socketio.AsyncServer, study: Study, participant: Any) -> None:
    """A monitored game's page reports (mugkit/web/monitor.py): ``presence``, ``monitor_pong``."""
    for kind in ("presence", "monitor_pong"):
        _acked(sio, participant, kind, lambda sid, p, data, kind=kind: study.monitor_message(p, kind, data))


#: Messages of browser games with several humans (protocol.py; mugkit/web/browser/peers.py).
PEER_EVENTS = ("signal", "relay", "peer_ready", "peer_status", "peer_event", "rejoin", "package")


def _peer_events(sio: socketio.AsyncServer, study: Study, participant: Any) -> None:
    """The peers' messages: all acknowledged but ``relay`` (a datagram: a bad one gets an
    ``error`` message, at most one a second per connection)."""
    errors: dict[str, float] = {}

    async def refuse(sid: str, message: str) -> None:
        now = time.monotonic()
        if now - errors.get(sid, 0.0) >= 1.0:
            if len(errors) > 10_000:
                errors.clear()
            errors[sid] = now
            await sio.emit("error", {"message": f"relay: {message}"}, to=sid)

    async def peer_message(kind: str, sid: str, data: Any) -> dict | None:
        p = await participant(sid)
        if p is None:
            return {"ok": False, "error": "no participant on this connection: reload the page"}
        if study.lobby is None or study.lobby.peers is None:
            return {"ok": False, "error": "this server runs no games in the browser"}
        size = 0
        if kind not in ("relay", "package"):  # those carry bytes, bounded by the socket limits
            if _too_big(data):
                return {"ok": False, "error": f"message larger than {MAX_MESSAGE_BYTES} bytes"}
            size = len(json.dumps(data.get("data"))) if isinstance(data, dict) else 0
        return await study.lobby.peer_message(p, kind, data, size, page=sid,
                                              page_open=lambda page: sio.manager.is_connected(page, "/"))

    def handler_of(kind: str):
        async def handler(sid, data=None):
            reply = await peer_message(kind, sid, data)
            if kind != "relay":
                return reply
            if reply is not None:  # a refused datagram: said, at most once a second
                await refuse(sid, reply.get("error", "refused"))
            return None
        return handler

    for kind in PEER_EVENTS:
        sio.on(kind, handler_of(kind))


def _runtime_routes(app: Sanic, study: Study) -> None:
    """The browser runtime's files: pinned Pyodide / onnxruntime-web, the wheels, and a local
    Pyodide package folder (``--pyodide-packages DIR``). All content-pinned: cached for good."""
    from .browser.assets import CONTENT_TYPES, IMMUTABLE

    def pinned(path: Any, name: str):
        mime = CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        return response.file(path, mime_type=mime, headers={"cache-control": IMMUTABLE})

    @app.get("/runtime/wheels/<sha:str>/<name:str>")
    async def wheel(request, sha: str, name: str):
        found = study.browser.wheel(sha, name) if study.browser is not None else None
        if found is None:
            return response.text("not found", status=404)
        return response.raw(found.data, content_type="application/zip", headers={"cache-control": IMMUTABLE})

    @app.get("/runtime/pyodide-packages/<name:str>")
    async def pyodide_package(request, name: str):
        folder = getattr(study.browser, "packages_dir", None)
        found = _inside(folder, name) if folder else None
        if found is None:
            return response.text("not found", status=404)
        return await pinned(found, name)

    @app.get("/runtime/<package:str>/<version:str>/<name:path>")
    async def runtime_file(request, package: str, version: str, name: str):
        found = study.browser.assets.path(package, version, name) if study.browser is not None else None
        if found is None:
            return response.text("not found", status=404)
        return await pinned(found, name)


def _header_token(request: Any) -> str:
    """The token a script sends: ``X-Mugkit-Token``, or ``Authorization: Bearer`` (Prometheus)."""
    given = request.headers.get("x-mugkit-token", "")
    if not given:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        given = value.strip() if scheme.lower() == "bearer" else ""
    return given


def _authorized(request: Any, tokens: AdminTokens) -> tuple[str, bool] | None:
    """``(admin name, whether by the cookie)`` when the admin cookie, the ``X-Mugkit-Token``
    header or an ``Authorization: Bearer`` header holds an admin token; else None. (A token in the
    URL is taken only by ``/admin`` itself, which trades it for the cookie.)"""
    cookie = request.cookies.get(ADMIN_COOKIE, "")
    if cookie:
        who = tokens.who(cookie)
        return (who, True) if who is not None else None
    who = tokens.who(_header_token(request))
    return (who, False) if who is not None else None


# The move to /admin is made by the page, not a 303: the link usually comes by mail or chat, and a
# browser withholds a SameSite=Strict cookie from a redirect that another site started, so a 303
# would answer 403. A navigation this page starts is same-site, and the cookie goes along.
_ADMIN_REDIRECT = ("<!doctype html><meta charset=utf-8><meta http-equiv=refresh content='0;url=/admin'>"
                   "<title>mugkit admin</title><p><a href='/admin'>Open the admin page</a></p>")


def _admin_cookie(resp: Any, token: str, secure: bool) -> Any:
    resp.add_cookie(ADMIN_COOKIE, token, path="/admin", httponly=True, samesite="Strict", secure=secure)
    return resp


def _page_html(experiment: str, title: str) -> str:
    with open(TEMPLATE, encoding="utf-8") as f:
        return f.read().replace("__EXPERIMENT__", html.escape(experiment)).replace("__TITLE__", html.escape(title))


def _title(experiment: Any) -> str:
    """The page title: the module's ``TITLE`` if it sets one, else "Study"."""
    title = getattr(experiment.module, "TITLE", None)
    return title if isinstance(title, str) and title.strip() else "Study"


def _message_html(title: str, text: str) -> str:
    return (f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
            f"<body style='font-family:system-ui;max-width:40em;margin:4em auto'><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(text)}</p></body>")


def _index_html(study: Study) -> str:
    rows = []
    for name, exp in sorted(study.experiments.items()):
        steps = ", ".join(html.escape(s.name) for s in exp.steps)
        rows.append(f"<li><a href='/{html.escape(name)}/'>{html.escape(name)}</a> — {steps}</li>")
    return ("<!doctype html><meta charset=utf-8><title>mugkit</title>"
            "<body style='font-family:system-ui;max-width:50em;margin:3em auto'><h1>Experiments</h1>"
            f"<ul>{''.join(rows)}</ul><p>Share an experiment's link with participants; panels add their "
            "parameters (Prolific: PROLIFIC_PID, STUDY_ID, SESSION_ID; MTurk: workerId, assignmentId, hitId, "
            "turkSubmitTo).</p></body>")


# -- socket.io -------------------------------------------------------------------------------

def _too_big(data: Any) -> bool:
    try:
        return len(json.dumps(data)) > MAX_MESSAGE_BYTES
    except (TypeError, ValueError, RecursionError):
        return True


def _socket_events(sio: socketio.AsyncServer, study: Study, limits: Limits) -> None:
    """The live connection's messages: arriving and leaving, the participant's steps, the browser
    games' and monitored games' messages; any other event is answered with an error."""
    participant = _participant_of(sio, study)
    _connection_events(sio, study, limits, participant)
    _step_events(sio, study, participant)
    _browser_events(sio, study, participant)
    _monitor_events(sio, study, participant)

    @sio.on("*")
    async def unknown(event, sid, data=None):
        await sio.emit("error", {"message": f"unknown event {str(event)[:40]!r}"}, to=sid)


def _participant_of(sio: socketio.AsyncServer, study: Study) -> Callable[[str], Awaitable[Participant | None]]:
    """``participant(sid)``: the participant seated on socket ``sid``, or None."""
    async def participant(sid: str):
        session = await sio.get_session(sid)
        p = await study.participant(session.get("pid")) if session and session.get("pid") else None
        if p is not None:  # this handler's log lines name them (mugkit/web/logs.py)
            PARTICIPANT.set(p.id)
            GAME.set(p.game)
        return p

    return participant


async def _seat(sio: socketio.AsyncServer, study: Study, sid: str, p: Any, view: dict) -> None:
    """Connects socket ``sid`` to participant ``p`` and sends them who they are and ``view``."""
    await sio.save_session(sid, {"pid": p.id})
    PARTICIPANT.set(p.id)
    await sio.enter_room(sid, f"p:{p.id}")
    await sio.emit("identity", {"participant": p.id, "resume": study.resume_key(p)}, to=sid)
    study.connected(p)
    if view.get("kind") == "game":
        await sio.enter_room(sid, f"g:{view['game']}")
    await sio.emit("view", view, to=sid)
    snapshot = study.snapshot(view["game"]) if view.get("kind") == "game" else None
    if snapshot is not None:
        await sio.emit("frame", snapshot, to=sid)


def _connection_events(sio: socketio.AsyncServer, study: Study, limits: Limits, participant: Any) -> None:
    """A socket's arrival (seated, offered a transfer of a study begun elsewhere, or refused by
    the arrivals limit), its ``transfer`` (the offer taken), and its disconnection."""
    arrivals = ArrivalLimit(limits.arrivals_per_minute, limits.log_interval)

    @sio.event
    async def connect(sid, environ, auth=None):
        address = client_address(environ)
        try:
            arrival = await study.enter(auth, environ.get("HTTP_USER_AGENT", ""), admit=lambda: arrivals.admit(address))
        except TooManyArrivals as exc:
            arrival = Arrival(None, {"kind": "refused", "limit": "arrivals_per_minute",
                                     "retry_after": round(exc.retry_after), "html": f"<p>{html.escape(str(exc))}</p>"})
        if arrival.participant is None:
            await sio.save_session(sid, {"pid": None, "offer": arrival.offer.id if arrival.offer else None})
            await sio.emit("view", arrival.view, to=sid)
            return
        await _seat(sio, study, sid, arrival.participant, arrival.view)

    @sio.event
    async def transfer(sid, data=None):
        session = await sio.get_session(sid)
        offered = await study.participant(session.get("offer")) if session else None
        if offered is None:
            return {"ok": False, "error": "this window has no study to continue: reload the page"}
        environ = sio.get_environ(sid) or {}
        p, view = await study.transfer(offered, environ.get("HTTP_USER_AGENT", ""))
        if p is None:
            await sio.emit("view", view, to=sid)
            return {"ok": False, "error": "not now: see the page"}
        await _seat(sio, study, sid, p, view)
        return {"ok": True}

    @sio.event
    async def disconnect(sid, *args):
        p = await participant(sid)
        if p is not None:
            await study.disconnected(p)


def _step_events(sio: socketio.AsyncServer, study: Study, participant: Any) -> None:
    """The participant's messages on their steps: ``advance``, ``screen_report``, ``draft``,
    ``ready`` (acknowledged) and a game's ``keys`` (an ``error`` message when refused)."""
    def screen_report(sid: str, p: Participant, data: Any) -> Awaitable[dict]:
        user_agent = (sio.get_environ(sid) or {}).get("HTTP_USER_AGENT", "")
        return study.screen_report(p, data, socket_pinger(sio, sid), user_agent)  # this very socket

    _acked(sio, participant, "advance", lambda sid, p, data: study.advance(p, data))
    _acked(sio, participant, "screen_report", screen_report)
    # a timed survey's answers so far (mugkit/web/timeouts.py)
    _acked(sio, participant, "draft", lambda sid, p, data: study.draft(p, data))
    _acked(sio, participant, "ready", lambda sid, p, data: study.ready(p, data))

    @sio.event
    async def keys(sid, data=None):
        p = await participant(sid)
        error = "no participant on this connection" if p is None else (
            f"message larger than {MAX_MESSAGE_BYTES} bytes" if _too_big(data) else await study.keys(p, data))
        if error:
            await sio.emit("error", {"message": error}, to=sid)
