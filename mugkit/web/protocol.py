"""The messages between the server and a participant's browser (socket.io over websockets only).

Every message is a JSON object. The server validates everything a client sends
(:func:`parse_keys`, :func:`parse_advance`) and answers bad input with an error, never by
dropping the connection or losing data.

Connecting
    The page ``/<experiment>/?<query>`` loads the client, which connects with
    ``auth = {"experiment": str, "query": {str: str}, "participant": str | None,
    "resume": str | None, "screens": bool}``: ``participant`` and ``resume`` are what the server gave
    this browser before (kept in ``localStorage``), so a reload resumes. ``screens``: this page
    shows the screens around games (ready, countdown, round over); a server game's clock waits for
    such pages only (a bot or protocol client leaves it out and is not waited for). A panel id in the query (Prolific's
    ``PROLIFIC_PID``, MTurk's ``workerId``) also finds the participant again.

Server → client
    ``view``: the step to show, ``{"kind", "index", "total", "step", ...}``, by kind:

    - ``page``: ``title``, ``html``, ``button``
    - ``consent``: ``title``, ``html``, ``agree``, ``decline``
    - ``survey``: ``title``, ``survey`` (a SurveyJS JSON model), ``conditions`` (question name ->
      its ``visible_if`` conditions as ``[question, operator, value]`` lists; mugkit/conditions.py)
    - ``waitroom``: ``present``, ``needed``, ``timeout`` (seconds left)
    - ``screen``: ``title``, ``html``, ``pings``, ``timeout`` (seconds to report), ``min_window``
      (``[width, height]`` or null: a smaller window is asked to grow before it reports) — an entry
      screening step (``@mk.screen``; mugkit/web/screening.py): the page sends ``screen_report``
      at once and answers ``screen_ping``; the server decides and sends the next view (the next
      step, or ``ended`` with ``status: "screened_out"``, ``reason`` (the reason key), why, and the
      screening code)

    A ``page``, ``consent`` or ``survey`` view of a step with a ``timeout`` also has ``time_left``
    (seconds, as the server counts them): the page shows it; when it is up the server moves the
    participant on and sends the next view (mugkit/web/timeouts.py). The same view sent again (a
    reconnection) differs only in ``time_left``.
    - ``game``: ``game``, ``width``, ``height``, ``fps``, ``keys`` (key names the step maps),
      ``turn_based``, ``you`` (your agent id, as JSON), ``agents``, ``runtime`` (where it runs),
      ``names`` (``[[agent, display name]]``; ``named``: the agents the step's ``labels`` name),
      ``max_steps`` (for the time-left display, or null), ``screens`` (``{"ready": bool,
      "countdown": s, "round_over": s}``), ``monitor`` (below, or null), and for a server game
      ``screen`` (the screen shown now, as in a ``screen`` message, or null while it plays)
    - ``problem``: ``title``, ``html``, ``ref`` (the failure's reference code), ``code`` (the
      completion's ``error_code``) and ``redirect``: the study ended for this participant because
      a page or survey failed on the server (mugkit/web/problems.py)

    Any view may carry ``problem``: ``{"title", "html", "ref", "button"}`` — the participant's game
    failed (it could not start, or stopped); the client shows this first, then the view.
    - ``completion``: ``title``, ``html``, ``code``, ``redirect`` (a URL or null), ``mturk``
      (``{"submit_to": url, "assignment_id": str}`` or null)
    - ``ended``: ``title``, ``html``, ``code`` (declined, timed out, excluded, partner left …)
    - ``preview``: ``html`` (an MTurk preview: nothing has started)
    - ``refused``: ``html`` (e.g. this panel id already took part, from another browser); when a
      limit refused it, also ``limit`` (its name, docs/security/limits.md) and ``retry_after`` (seconds)
    - ``transfer``: ``title``, ``html``, ``button`` — this browser shows the panel id and panel
      attempt of a participant who started in another browser; ``transfer`` takes their place
    - ``paused``: ``title``, ``html``, ``reason`` (``"the server is stopping"`` or ``"storage"``:
      the disk does not take writes). The study cannot go on for now; the server sends the step
      again when it can (a reconnection, or the storage writing again)

    ``identity``: ``{"participant": str, "resume": str}``, to keep for reloads.

    ``frame``: one game frame, ``{"game", "episode", "frame", "set", "del", "once", "image", "turn",
    "hud"}``: ``set`` lists shapes with an ``id`` that are new or changed since the last frame this
    client got (draw them until deleted; move them smoothly), ``del`` the ids gone, ``once`` shapes
    without an id (this frame only), ``image`` a ``data:`` URL of an RGB-array env's frame (or
    null), ``turn`` the agent whose turn it is in a turn-based game (or null), ``hud`` a short
    status dict (episode, scores).

    A frame that ends an episode also has ``round``: ``{"episode", "episodes", "last", "scores":
    [[agent, score]]}`` — what the round-over screen shows (the step's ``score=``).

    ``screen``: ``{"game", "screen", ...}`` — a server game's clock waits: ``"ready"`` (with
    ``timeout``: seconds until the game is given up), ``"countdown"`` (``seconds``),
    ``"round_over"`` (``timeout``, ``episode``), or plays again (``"play"``).

    ``waitroom``: ``{"present", "needed", "timeout"}`` while waiting for partners.

    ``screen_ping``: ``{"t": ms}`` with an acknowledgement: the page answers at once (any value);
    the server measures the round trip itself. Unanswered within 2 s counts as lost.

    ``error``: ``{"message"}`` for a rejected message (the client shows it; nothing is lost), with
    ``limit`` when a limit refused it (mugkit/web/limits/sockets.py). A message that asked for an
    acknowledgement gets ``{"ok": false, "error", "limit"}`` instead.

Client → server
    ``keys``: ``{"game": str, "seq": int, "held": [str], "down": [str], "up": [str], "t": float}``
    — sent when the keyboard changes (not every frame); ``seq`` increases per game; ``down`` and
    ``up`` list the keys pressed and released since the last message, so a tap between two frames
    is never lost; ``t`` is the client's clock in milliseconds.

    ``advance``: ``{"index": int, ...}`` — leave step ``index``; a survey adds ``"answers": {name:
    value}``, a consent ``"agree": bool``. Acknowledged with ``{"ok": true}`` or
    ``{"ok": false, "error": str}``; ``"stale": true`` (and the participant's ``index``) when
    that step was already left — the message was sent twice, or from another window — and the
    current view is on its way: nothing to retry. Messages that move a participant are handled one
    at a time per participant, so none moves anyone twice.

    ``screen_report``: ``{"index": int, "window": [width, height], "screen": [width, height]}``
    (CSS pixels, integers 0–100000; ``screen`` optional) — at a screening step, the page's window
    and screen size (its word: the server cannot check it). The server then pings the socket it
    came on ``pings`` times (when the step has ``max_rtt_ms``) and decides. Acknowledged
    ``{"ok": true}`` (the next view follows) or ``{"ok": false, "error"}``; ``"stale": true``
    when that step is over or a report of it is being checked already. An ``advance`` for a
    screening step is refused ("this step ends by itself"); a page that sends no report within the
    step's ``timeout`` is screened out (reason ``no_report``).
    ``draft``: ``{"index": int, "answers": {name: value}}`` — a survey with a ``timeout``: the
    answers its page holds now (sent as they change, at most every 0.7 s), kept by the server in
    place of earlier ones; if the time runs out, those it would accept one by one are stored.
    Acknowledged ``{"ok": true}``; ``"stale": true`` when that step was already left; an error
    for a step that is not a survey with a time limit, or a bad shape.

    ``ready``: ``{"game", "screen": "ready" | "round_over", "episode": int | null}`` — the
    participant is ready for the game, or dismissed the round-over screen (both runtimes; stored as
    a ``game_ready`` event). Acknowledged ``{"ok": true}``; ``"stale": true`` when that game or
    screen is over.

    ``transfer``: ``{}`` — after a ``transfer`` view: this browser takes the participant's place
    (their other windows get an ``ended`` view and are disconnected). Acknowledged with
    ``{"ok": true}`` (then ``identity`` and ``view`` follow) or ``{"ok": false, "error"}`` (e.g. in
    the middle of a game).

Monitored games (a step's ``monitor=mk.Monitor(...)``; mugkit/web/monitor.py; both runtimes)
    The ``game`` view's ``monitor`` is ``{"heartbeat_ms", "focus", "hidden_seconds",
    "idle_seconds", "max_rtt_ms"}`` (null: the game is not monitored, and nothing below is sent).

    Client → server, each acknowledged ``{"ok": true}`` or ``{"ok": false, "error"}``
    (``"stale": true``: the sender is not monitored in that game — over, not theirs, unknown):

    - ``presence``: ``{game, hidden: bool, focused: bool}`` — every ``heartbeat_ms`` while the game
      view shows, and at once when the tab is hidden or shown or the window loses or gains focus.
      No heartbeat for 3 s counts as away (reason ``unresponsive``).
    - ``monitor_pong``: ``{game, id}`` — the answer to ``monitor_ping`` (refused for an ``id`` the
      server is not waiting for: never sent, answered already, or expired).

    Server → client:

    - ``monitor_ping``: ``{game, id}`` (every ``ping_seconds``, when ``max_rtt_ms`` is set).
    - ``monitor_warning``: ``{game, kind, seconds_left, text}`` — ``kind`` is ``tab_hidden``,
      ``unresponsive``, ``idle`` or ``rtt`` (``seconds_left`` null); ``{game, kind, clear: true}``
      once it is over. Past the limit the participant's ``ended`` view follows (``status:
      "excluded"``).
    - ``monitor_notice``: ``{game, agent, title, html}`` — a partner was excluded and the step's
      ``takeover`` policy plays their agent now. Without a takeover the partners' next view
      carries a ``problem`` (``title``, ``html``, ``button``) saying their partner left.

Browser runtime (``runtime="browser"`` steps with one human; mugkit/web/browser/games.py; several: below)
    The ``game`` view has ``"runtime": "browser"`` and a ``boot``: ``pyodide`` (the pinned
    Pyodide's folder URL), ``packages_url`` and ``pyodide_packages`` (Pyodide-built packages to
    load from there), ``ort`` (onnxruntime-web's folder URL or null), ``sizes`` (bytes per Pyodide
    file, for the loading screen), ``wheels`` (``[{url, file, bytes, integrity, kind}]``: mugkit,
    pure-Python packages, then the experiment, whose files are unpacked into a study folder) and
    ``spec`` (tagged JSON, :mod:`mugkit.runtime.values`: ``module``, ``step``, ``game``, ``seed``,
    ``agent``, ``participant``) for :func:`mugkit.browser.open_game`. No ``frame`` messages come:
    the browser plays the game with the frame driver and sends its rows. Every message below is
    acknowledged with ``{"ok": true, ...}`` or ``{"ok": false, "error": str}`` and names the game;
    ``"stale": true`` says the game is over or not this participant's (nothing to retry):

    - ``rows``: ``{"game", "session", "batch": int, "rows": str}``, ``rows`` the tagged JSON of a list of row
      objects (:func:`mugkit.runtime.browser_game.row_dict` plus ``t_client`` in seconds and
      ``late_ms``), in frame order, at most 512 KiB. Acknowledged once committed (later while
      the server's storage is busy or the disk is full: the page shows "saving…") with
      ``{"ok": true, "batch", "last": [episode, frame]}`` (the newest stored frame); rows at or
      before the newest stored frame are dropped, so sending a batch again is harmless. A browser
      keeps each batch (``localStorage``) until it is acknowledged. Rows of a page whose
      ``session`` is not the one that last asked for ``resume`` are refused with
      ``"superseded": true`` (the game goes on in another window). A batch is refused, with what
      is wrong and nothing of it stored, when a row is past ``max_steps`` or the step's episodes,
      does not continue the stored game frame by frame (a gap; a new episode where no row of the
      frame before ended one), repeats an agent within a frame, or has an action outside the
      agent's action space. Rows carry no frame hash: the server re-simulates the game from its
      seed and the stored human actions when it ends (mugkit/web/browser/verify.py), which covers the
      env's state.
    - ``resume``: ``{"game", "session"}`` → ``{"ok": true, "record": str | null}``: the tagged JSON of
      ``{"episode", "frames": [[frame, {human: [action, keys, filled]}, {agent: [action,
      reward]}]], "last": [episode, frame]}``, the current episode's recorded human inputs and
      every agent's stored action and reward (to check the replay), to re-simulate after a reload
      (null: nothing stored, start afresh). Send unacknowledged batches first. ``session`` (a
      random id per page, at most 64 characters) makes this page the one that records the game.
    - ``loaded``: ``{"game", "stages": {stage: ms}, "bytes": int, "cached": bool, "diverged": str |
      null, "warm": bool, "games": int, "start_ms": int | null}`` — the loading time, stored as a
      ``game_loaded`` event. ``warm``: Python was loaded already (an earlier browser game of the
      page played in the same worker); ``games``: the worker's count of games, this one included;
      ``start_ms``: from the game view's arrival to its first frame. ``diverged``: after a
      resume, the tagged JSON of the first re-simulated frame whose actions or rewards differ
      from the stored ones (logged, and stored as a ``game_resume_diverged`` event).
    - ``load_failed``: ``{"game", "session", "stage", "package", "reason"}`` — logged by the server (which
      package failed and why, with a reference code) and stored as a ``game_load_failed`` event;
      acknowledged with ``{"ok": true, "ref"}``. With a stage that is the study's own
      (``"experiment"``, ``"models"``, or ``"game"``: the env, a policy or a hook raised), and at
      the second failure of any stage, it ends the game: outcome ``error``, reason
      ``client_error`` (``"ended": true``; the next view comes with its ``problem``); send every
      row first. From a page whose ``session`` is not the one playing
      the game it is refused with ``"superseded": true``.
    - ``game_over``: ``{"game", "session"}`` — every episode is played and its rows acknowledged; the
      participant moves on (refused while the last episode's rows are not stored). The server
      verifies the game: in the background with ``verify="flag"``; with ``verify="require"`` before
      it answers, and a game that is not verified sends the ``ended`` view (no code) instead of
      the next step.

    A participant with no connection left for longer than the grace period has their game ended
    by the server (outcome ``abandoned``, reason ``grace_expired``).

Browser games with several humans (``runtime="browser"`` steps with 2–4 humans; mugkit/web/browser/peers.py)
    The humans are grouped in the step's waitroom as for a server game. Each page runs one peer of
    the rollback session (:class:`mugkit.runtime.peer_game.PeerGame`, opened with
    :func:`mugkit.browser.open_peer_game`). Peers are named by handles ``"h<i>"``, ``i`` the
    index of their agent in the env's agents; the **host** (lowest handle) also plays the AI
    agents. The ``game`` view is a browser game's (``runtime``, ``boot``; the ``spec`` adds
    ``group``: every human's ``{id, params, condition}`` in the step's order, which every peer
    builds the env with) plus ``peer``: ``{"me", "peers": {handle: agent}, "host", "ice":
    {"iceServers", "iceTransportPolicy"} (this participant's, mugkit.web.ice), "relay": "auto" |
    "force", "open_timeout_ms", "rejoin": bool, "rejoin_grace_ms", "hidden_limit_s"}``. The page
    joins the game's room. Every message below carries ``game``; all but ``relay`` are
    acknowledged ``{"ok": true, ...}`` or ``{"ok": false, "error"}`` (``"stale": true``: the game
    is over or not the sender's). The sender must be a peer of that game; every field is checked.

    Client → server:

    - ``signal``: ``{game, to, data}`` — ``data`` an object with ``sdp`` or ``candidate``, at most
      16 KiB of JSON; passed on to peer ``to`` as ``signal`` ``{game, from, data}``.
    - ``relay``: ``{game, to, data: <bytes>}`` — one packet (socket.io binary, 1 to 16448 bytes:
      ``MAX_PACKET_BYTES`` and PeerGame's game tag, with room to spare), passed on to ``to`` as ``relay`` ``{game, from, data}``. Not
      acknowledged (a datagram); a refused one gets an ``error`` message (at most one a second).
      Its own rate limit (``relay_per_second``, ``relay_burst``), not ``messages_per_second``.
      Binary data is refused in any other message but ``package``.
    - ``peer_ready``: ``{game, paths: {handle: "direct" | "turn" | "relay"}}`` — Python is loaded
      and every channel is open or relayed. When every peer is ready the server sends ``peer_go``
      ``{game}`` to the room (the page then shows its ready and countdown screens and starts
      ticking). A group not all ready within ``peer_ready_seconds`` (a limit, 60 s) ends
      ``not_ready``: the ready peers go back to the waitroom, the others move on as after a
      waitroom timeout (``game_not_ready`` events say which).
    - ``peer_status``: ``{game, hidden?: bool, paths?: {...}, rtt_ms?: {handle: ms}}`` — stored as
      ``peer_status`` events (500 per peer and game at most, ``hidden`` always). ``hidden``
      changes are sent to the others as ``peer_notice`` ``{game, peer, hidden}``; a tab hidden
      longer than ``hidden_seconds`` (a limit, 60 s) ends the game (outcome ``hidden``, reason
      ``hidden_limit``) — with the step's ``monitor=``, its ``hidden_seconds`` excludes the hidden
      player instead (one clock for both: mugkit/web/monitor.py).
    - ``peer_event``: ``{game, events: [{"kind": "desync" | "disconnected" | "interrupted" |
      "resumed" | "waiting", ...}]}`` (at most 64; PeerGame.take_events) — stored as
      ``peer_event`` events; a ``desync`` ends the game (outcome ``desync``), and so does a
      ``disconnected`` naming another peer (the session's timeout dropped a stalled peer: the
      others get ``peer_left`` and the game ends ``partner_left``, reason ``session_timeout``).
    - ``rows``: ``{game, batch, rows}`` — ``rows`` the tagged JSON of PeerGame.take_rows:
      ``{"rows": [...], "checksums": [[episode, frame, checksum], ...]}`` (or a list of rows with
      ``checksums`` beside it). Rows as a single-player browser game's (plus ``predicted``,
      ``rollback_depth``), of the sender's agents only (its human; the AI agents only from the
      host): a row of another agent refuses the batch. Each agent's rows continue its stored rows
      frame by frame; rows at or before its newest stored frame are dropped, so one copy of each
      (episode, frame, agent) is stored. Checksums are compared across peers per (episode, frame):
      the first that differ end the game (outcome ``desync``, reason ``checksum_mismatch``; the
      game's ``detail.desync`` holds the episode, frame and each peer's hash). Acknowledged
      ``{ok, batch, last}``.
    - ``game_over``: ``{game}`` — refused while the sender's agents' rows of the last episode are
      not stored; the game ends ``completed`` when every peer said so and every agent's rows are
      stored (``{ok, waiting: [handles]}`` meanwhile). It is verified as a single-player browser
      game is, replaying every human's stored actions.
    - ``loaded`` / ``load_failed``: as for a single-player browser game (``session`` not used); a
      failure of stage ``experiment``, ``models`` or ``game`` ends the game for everyone (``error``).
    - ``rejoin``: ``{game}`` — a page that reloaded (its view had ``rejoin: true``; refused
      otherwise) has loaded Python; answered ``{ok, from: [handles]}``. The server sends ``peer_rejoining`` ``{game,
      peer}`` and ``package_request`` ``{game, for}`` to each connected survivor.
    - ``package``: ``{game, for, data: <bytes>}`` — a survivor's PeerGame.rejoin_package (at most
      768 KiB), once per request; passed on to the rejoiner as ``package`` ``{game, from, data}``.

    A peer with no connection left has ``--grace`` seconds to come back (its view then has
    ``rejoin: true``); past it the others get ``peer_left`` ``{game, peer}`` and the game ends
    ``partner_left`` (reason ``grace_expired``). The game's ``detail`` records each peer's
    participant, agent and paths, the host, the checksums agreed on, those not every peer sent
    (``checksums_unmatched``) and any desync. While the connection that sent a member's last
    ``peer_ready`` or ``rejoin`` is open, its ``peer_status`` and ``peer_event`` from another
    window are refused (``"superseded": true``): an earlier tab cannot end the game.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ProtocolError", "Keys", "parse_keys", "parse_advance", "MAX_KEYS", "MAX_KEY_NAME"]

#: Most key names in one ``keys`` message, and the longest name (``KeyboardEvent.key`` values are
#: short: "ArrowLeft", "a", " ").
MAX_KEYS = 16
MAX_KEY_NAME = 32
#: ``keys.seq`` stays below this (a page numbers its messages from 0; a game has far fewer).
MAX_SEQ = 2**31


class ProtocolError(ValueError):
    """A client message that does not follow the protocol; the message says what is wrong."""


@dataclass(frozen=True)
class Keys:
    """A validated ``keys`` message."""

    game: str
    seq: int
    held: frozenset
    down: frozenset
    up: frozenset
    t: float | None


def _names(value: Any, field: str) -> frozenset:
    if not isinstance(value, list) or len(value) > MAX_KEYS:
        raise ProtocolError(f"keys.{field} must be a list of at most {MAX_KEYS} key names")
    if not all(isinstance(k, str) and 0 < len(k) <= MAX_KEY_NAME for k in value):
        raise ProtocolError(f"keys.{field} must hold key names (strings of 1 to {MAX_KEY_NAME} characters)")
    return frozenset(value)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_keys(data: Any) -> Keys:
    """A ``keys`` message, validated.

    Raises:
        ProtocolError: not an object, a missing or ill-typed field, too many or too long key names.
    """
    if not isinstance(data, dict):
        raise ProtocolError("keys must be an object")
    game, seq, t = data.get("game"), data.get("seq"), data.get("t")
    if not isinstance(game, str) or not game:
        raise ProtocolError("keys.game must be the game's id")
    if not _is_int(seq) or not 0 <= seq < MAX_SEQ:
        raise ProtocolError(f"keys.seq must be an integer from 0 to {MAX_SEQ - 1}")
    if t is not None and (not isinstance(t, (int, float)) or isinstance(t, bool) or t != t):
        raise ProtocolError("keys.t must be a number (the client's clock in ms)")
    return Keys(game, seq, _names(data.get("held", []), "held"), _names(data.get("down", []), "down"),
                _names(data.get("up", []), "up"), None if t is None else float(t))


def parse_advance(data: Any) -> dict:
    """An ``advance`` message, validated for shape (a survey's answers are checked against its
    questions by the flow).

    Raises:
        ProtocolError: not an object, no integer ``index``, ``answers`` not an object, ``agree``
            not a bool.
    """
    if not isinstance(data, dict):
        raise ProtocolError("advance must be an object")
    if not _is_int(data.get("index")):
        raise ProtocolError("advance.index must be the index of the step being left")
    if "answers" in data and not isinstance(data["answers"], dict):
        raise ProtocolError("advance.answers must be an object: question name -> answer")
    if "agree" in data and not isinstance(data["agree"], bool):
        raise ProtocolError("advance.agree must be true or false")
    return data
