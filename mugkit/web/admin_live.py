"""The live admin page and its controls: who takes part, where, the games, the exclusions; and
exclude a participant, end a waiting one, pause new entries — each recorded with who did it.

The page (``/admin``) is a shell that polls ``/admin/live.json`` every 2 s
(static/admin/admin.js) and redraws its tables, so nothing reloads. Its controls are POSTs of JSON:

- ``/admin/exclude`` ``{"participant", "text"}``: :meth:`Flow.exclude` with reason ``admin`` and
  ``by`` the admin's name (the participant reads ``text`` and gets the exclusion code);
- ``/admin/end`` ``{"participant"}``: :meth:`Flow.end_waiting` (out of the waitroom, ``timed_out``
  with the timeout code, event ``admin_ended``);
- ``/admin/entries`` ``{"paused": true|false}``: new arrivals are turned away ("not taking new
  participants now") while those already in go on. Kept in the database's meta table, so every
  server process and a restart agree.

Who: an admin token may be named (``--admin-token NAME=TOKEN``, repeatable); the plain token is
``admin``. Every action is stored: as the participant's event (``excluded`` with ``by``,
``admin_ended`` with ``by``), and in the meta table's ``admin_actions`` (the last
:data:`KEPT_ACTIONS`, shown on the page), and logged.

CSRF: the admin cookie is ``SameSite=Strict`` and ``HttpOnly``; a POST that authenticates with it
must also carry the header ``X-Mugkit-Csrf`` with the page's CSRF token (derived from the admin's
token: a page of another site can neither read it nor set the header without a CORS preflight,
which this server never grants), and is refused when the browser says it comes from another site
(an ``Origin`` whose host is neither the request's ``Host`` nor a proxy's ``X-Forwarded-Host``;
``Sec-Fetch-Site`` other than ``same-origin``). Scripts that send the token in a header
(``X-Mugkit-Token`` or ``Authorization: Bearer``) need no CSRF token: nothing sends those for them.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import re
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from sanic import response

from .registry import EXCLUDED
from .shared import SharedStateError

__all__ = ["AdminTokens", "admin_routes", "entries_state", "live_data", "page_html", "KEPT_ACTIONS",
           "ADMIN_REASON_TEXT"]

log = logging.getLogger("mugkit.admin")

#: Admin actions kept in the meta table (older ones are in the log and the participants' events).
KEPT_ACTIONS = 200
#: Participants listed by id on the page (the counts cover everyone).
LISTED = 300
#: What an excluded participant reads when the admin gave no text.
ADMIN_REASON_TEXT = "The researchers have ended this study for you."
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,40}$")
_LIVE_CACHE_SECONDS = 1.0
UNREACHABLE = "the state the server processes share (Redis) does not answer"


class AdminTokens:
    """The admin tokens and whose each is (token → name).

    Args:
        tokens: token → admin name.
    """

    def __init__(self, tokens: dict[str, str]):
        if not tokens:
            raise ValueError("at least one admin token is needed")
        self.tokens = dict(tokens)

    @classmethod
    def parse(cls, specs: list[str]) -> "AdminTokens":
        """``--admin-token`` values: ``NAME=TOKEN`` (a named admin) or ``TOKEN`` (named ``admin``).

        Raises:
            ValueError: an empty or short token, or one token given twice (says which).
        """
        tokens: dict[str, str] = {}
        for spec in specs:
            name, sep, token = spec.partition("=")
            if not sep or not _NAME.match(name) or not token.strip("="):  # "abc==" (base64): a plain token
                name, token = "admin", spec
            if len(token) < 8:
                raise ValueError(f"--admin-token {name}=...: the token must have at least 8 characters (better: "
                                 f"python -c 'import secrets; print(secrets.token_hex(16))')")
            if token in tokens:
                raise ValueError(f"--admin-token: the same token is given for {tokens[token]} and {name}")
            tokens[token] = name
        return cls(tokens)

    @property
    def first(self) -> str:
        """The token the printed admin link carries."""
        return next(iter(self.tokens))

    def who(self, given: Any) -> str | None:
        """The name of the admin whose token ``given`` is, or None (compared in constant time)."""
        if not isinstance(given, str) or not given:
            return None
        found = None
        for token, name in self.tokens.items():
            if secrets.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8")):
                found = name
        return found

    def csrf(self, token: str) -> str:
        """The CSRF token of the page served to the holder of ``token``."""
        return hmac.new(token.encode("utf-8"), b"mugkit-admin-csrf", hashlib.sha256).hexdigest()[:32]


# -- stored state: entries paused, the actions ---------------------------------------------------

async def entries_state(storage: Any) -> dict:
    """``{"paused": bool, "by": name, "at": time}`` (``paused`` False when never set)."""
    state = await storage.get_meta("entries")
    return state if isinstance(state, dict) else {"paused": False}


async def _record(study: Any, by: str, action: str, **detail: Any) -> None:
    """Adds an admin action to the meta table's ``admin_actions`` (the last :data:`KEPT_ACTIONS`)."""
    entry = {"at": time.time(), "by": by, "action": action, **detail}
    async with study.state.transition("admin:actions"):  # read, append, write: one process at a time
        kept = await study.storage.get_meta("admin_actions")
        kept = (kept if isinstance(kept, list) else [])[-(KEPT_ACTIONS - 1):] + [entry]
        await study.storage.set_meta("admin_actions", kept)
    log.warning("admin %s: %s %s", by, action, " ".join(f"{k}={v!r}" for k, v in detail.items()))


# -- the page's data -----------------------------------------------------------------------------

async def live_data(study: Any) -> dict:
    """What the live page shows (``/admin/live.json``): counts by experiment, participants by step
    and status, the active participants, the games with their fps, the exclusions and the admin
    actions. From storage (the whole study) and every live process (games, connections)."""
    rows = await study.storage.participants()
    processes = await _processes(study)
    connected = {pid for info in processes.values() for pid in info.get("connected_ids") or []}
    # A process lists at most LISTED_GAMES of its connected participants: past that, "unknown".
    partial = any((info.get("connected") or 0) > len(info.get("connected_ids") or []) for info in processes.values())
    waiting = {pid for pids in (await study.state.waiting()).values() for pid in pids}
    steps: dict[tuple, dict] = {}
    active, excluded = [], []
    for r in rows:
        step = _step(r)
        counts = steps.setdefault((r["experiment"], step), {"experiment": r["experiment"], "step": step})
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["status"] == "active":
            game = (r.get("position") or {}).get("game")
            active.append({"participant": r["participant_id"], "experiment": r["experiment"], "step": step,
                           "waiting": r["participant_id"] in waiting, "game": game,
                           "connected": True if r["participant_id"] in connected else (None if partial else False),
                           "since": r.get("started_at")})
        elif r["status"] in EXCLUDED:
            excluded.append({"participant": r["participant_id"], "experiment": r["experiment"], "status": r["status"],
                             "reason": r.get("reason"), "text": r.get("reason_text"), "step": step,
                             "at": r.get("finished_at")})
    active.sort(key=lambda a: -(a["since"] or 0))
    excluded.sort(key=lambda a: -(a["at"] or 0))
    games = [{"process": process, **g} for process, info in sorted(processes.items()) for g in info.get("game_list") or []]
    actions = await study.storage.get_meta("admin_actions")
    from .admin import paused_text

    return {"now": time.time(), "paused": study.paused, "paused_text": paused_text(study),
            "entries": await entries_state(study.storage),
            "experiments": [{"experiment": name, **{k: v for k, v in c.items() if k != "by_status"}, **c["by_status"]}
                            for name, c in sorted((await study.storage.counts()).items())],
            "steps": sorted(steps.values(), key=lambda s: (s["experiment"], s["step"])),
            "participants": active[:LISTED], "active": len(active), "games": games,
            "exclusions": excluded[:LISTED], "excluded": len(excluded),
            "actions": list(reversed(actions if isinstance(actions, list) else []))[:50],
            "processes": [{"process": process, **_process_row(info)} for process, info in sorted(processes.items())]}


def _step(row: dict) -> str:
    flow, index = row.get("flow") or [], (row.get("position") or {}).get("index", 0)
    return flow[index][0] if index < len(flow) else "(end)"


async def _processes(study: Any) -> dict:
    from .admin import process_info

    cluster = getattr(study, "cluster", None)
    if cluster is None:
        from .cluster import PROCESS_ID

        return {PROCESS_ID: process_info(study)}
    alive = await cluster.alive()
    alive[cluster.id] = process_info(study)  # this one as it is now
    return alive


def _process_row(info: dict) -> dict:
    runtimes = info.get("games_by_runtime") or {}
    return {"server games": runtimes.get("server", 0), "browser games": runtimes.get("browser", 0) +
            runtimes.get("peers", 0), "connected": info.get("connected", 0),
            "p99 late ms": (info.get("late_ms") or {}).get("p99", 0), "CPU s": round(info.get("cpu_seconds") or 0, 1),
            "memory MB": info.get("rss_mb")}


#: The page's sections: (id, heading). The headings are in the page itself; the script fills the rest.
SECTIONS = (("experiments", "Experiments"), ("steps", "Participants by step and status"),
            ("participants", "Active participants"), ("games", "Live games"), ("exclusions", "Exclusions"),
            ("actions", "Admin actions"), ("processes", "Server processes"))


def page_html(csrf: str) -> str:
    """The page's shell: its script (static/admin/admin.js) fills it from ``/admin/live.json``."""
    sections = "".join(f"<section id={sid}><h2>{title} <span class=count></span></h2><div class=body></div></section>"
                       for sid, title in SECTIONS)
    return ("<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>mugkit admin</title><meta name=mugkit-csrf content='{html.escape(csrf)}'>"
            "<link rel=stylesheet href='/static/admin/admin.css'>"
            "<script type=module src='/static/admin/admin.js'></script>"
            "<header><h1>mugkit admin</h1><span id=status>loading…</span>"
            "<span id=entries></span></header><div id=banner hidden></div>"
            "<form id=exclude-form hidden><b>Exclude <code id=exclude-who></code></b>"
            "<label>What they read <input id=exclude-text size=60 maxlength=1000 "
            f"value='{html.escape(ADMIN_REASON_TEXT)}'></label>"
            "<button type=submit class=danger>Exclude</button> <button type=button id=exclude-cancel>Cancel</button>"
            "</form><div id=notice role=status></div>"
            f"<main>{sections}<section id=data><h2>Data</h2><p><a href='/admin/data/participants.csv'>participants.csv</a>"
            " · <a href='/admin/data/games.csv'>games.csv</a> · <a href='/admin/metrics'>metrics</a>; everything: "
            "<code>mugkit data export DATA_DIR</code></p></section></main></html>")


# -- the routes ----------------------------------------------------------------------------------

def admin_routes(app: Any, study: Any, tokens: AdminTokens, authorized: Any) -> None:
    """``/admin/live.json``, the controls, ``/metrics`` and ``/admin/metrics``. ``authorized(request)``:
    ``(admin name, via cookie)`` or None."""
    from .metrics import CONTENT_TYPE, metrics_text

    cache: dict = {}

    @app.get("/admin/live.json")
    async def live(request):
        if authorized(request) is None:
            return response.json({"error": "forbidden"}, status=403)
        now = time.monotonic()
        if cache.get("at", -1e9) + _LIVE_CACHE_SECONDS < now:  # several open pages poll: read once a second
            try:
                cache.update(at=now, data=await live_data(study))
            except SharedStateError as exc:
                return response.json({"error": f"{UNREACHABLE}: {exc}"}, status=503)
        return response.json(cache["data"], headers={"cache-control": "no-store"})

    async def metrics(request):
        if authorized(request) is None:
            return response.text("forbidden: send the admin token (Authorization: Bearer TOKEN)", status=403)
        return response.raw(await metrics_text(study), content_type=CONTENT_TYPE)

    app.add_route(metrics, "/metrics", methods=["GET"], name="metrics")
    app.add_route(metrics, "/admin/metrics", methods=["GET"], name="admin_metrics")

    def route_of(handler: Any):
        async def route(request):
            who = _checked_post(request, tokens, authorized)
            if isinstance(who, tuple):
                return response.json({"ok": False, "error": who[1]}, status=who[0])
            body = _json_body(request)
            if not isinstance(body, dict):
                return response.json({"ok": False, "error": "send a JSON object (Content-Type: application/json)"},
                                     status=400)
            try:
                status, reply = await handler(study, who, body)
            except SharedStateError as exc:  # nothing was done: the participant's lock could not be taken
                return response.json({"ok": False, "error": f"{UNREACHABLE}: {exc}; try again"}, status=503)
            cache.clear()  # the next poll shows the change
            return response.json(reply, status=status)
        return route

    for path, handler in CONTROLS.items():
        app.add_route(route_of(handler), path, methods=["POST"], name=path.strip("/").replace("/", "_"))


# -- the controls: (study, admin name, JSON body) -> (HTTP status, reply) ----------------------------

async def _exclude(study: Any, who: str, body: dict) -> tuple[int, dict]:
    p, error = await _participant(study, body)
    if error:
        return error
    text = body.get("text") or ADMIN_REASON_TEXT
    if not isinstance(text, str) or len(text) > 1000:
        return 400, {"ok": False, "error": "text: what the participant reads, at most 1000 characters"}
    if not await study.flow.exclude(p, "admin", text, by=who):
        return 409, {"ok": False, "error": f"participant {p.id} has already finished ({p.status}): not excluded"}
    await _record(study, who, "exclude", participant=p.id, text=text)
    return 200, {"ok": True, "participant": p.id, "status": "excluded"}


async def _end_waiting(study: Any, who: str, body: dict) -> tuple[int, dict]:
    p, error = await _participant(study, body)
    if error:
        return error
    if not await study.flow.end_waiting(p, who):
        return 409, {"ok": False, "error": f"participant {p.id} is not waiting for partners now ({p.status}"
                                           f"{', in a game' if p.game else ''}): nothing ended"}
    await _record(study, who, "end_waiting", participant=p.id)
    return 200, {"ok": True, "participant": p.id, "status": "timed_out"}


async def _entries(study: Any, who: str, body: dict) -> tuple[int, dict]:
    paused = body.get("paused")
    if not isinstance(paused, bool):
        return 400, {"ok": False, "error": "paused: true (turn new participants away) or false"}
    await study.storage.set_meta("entries", {"paused": paused, "by": who, "at": time.time()})
    await _record(study, who, "pause_entries" if paused else "resume_entries")
    return 200, {"ok": True, "paused": paused}


#: The controls' addresses (POST) and what each does.
CONTROLS = {"/admin/exclude": _exclude, "/admin/end": _end_waiting, "/admin/entries": _entries}


async def _participant(study: Any, body: dict) -> tuple[Any, tuple | None]:
    pid = body.get("participant")
    if not isinstance(pid, str) or not pid or len(pid) > 64:
        return None, (400, {"ok": False, "error": "participant: the participant's id (a string)"})
    p = await study.participant(pid)
    if p is None:
        return None, (404, {"ok": False, "error": f"no participant {pid[:64]!r}"})
    return p, None


def _json_body(request: Any) -> Any:
    """The request's JSON body, or None (not ``application/json``, or not JSON)."""
    if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
        return None
    try:
        return request.json
    except Exception:  # Sanic's BadRequest: answered with the same clear error as no body
        return None


def _this_server(origin: str, request: Any) -> bool:
    """Whether ``origin`` is this server's: its host is the request's Host, or the
    ``X-Forwarded-Host`` a proxy set (as for the live connection: mugkit/web/limits/sockets.py)."""
    hosts = {request.headers.get("host", "").lower()}
    hosts |= {h.strip().lower() for h in request.headers.get("x-forwarded-host", "").split(",") if h.strip()}
    return urlsplit(origin.strip().lower()).netloc in hosts


def _checked_post(request: Any, tokens: AdminTokens, authorized: Any) -> str | tuple[int, str]:
    """The admin's name, or ``(status, error)``: not an admin, or a request another site made."""
    found = authorized(request)
    if found is None:
        return 403, "forbidden: not an admin (open the admin link printed when the server started)"
    who, via_cookie = found
    if not via_cookie:
        return who  # a script with the token in a header: nothing sends that header for it
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return 403, "forbidden: a request from another site"
    origin = request.headers.get("origin")
    if origin is not None and not _this_server(origin, request):
        return 403, "forbidden: a request from another origin"
    token = request.cookies.get("mugkit_admin", "")
    given = request.headers.get("x-mugkit-csrf", "")
    if not secrets.compare_digest(given.encode("utf-8", "replace"), tokens.csrf(token).encode("utf-8")):
        return 403, "forbidden: missing or wrong CSRF token (reload the admin page)"
    return who
