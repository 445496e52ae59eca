"""The only way to make a session: :class:`SessionBuilder` holds the settings, with the named
defaults below, and validates them when a session starts.

Example:
    >>> from mugkit.netcode import SessionBuilder
    >>> sess = (SessionBuilder().with_num_players(2).with_input_delay(1)
    ...         .add_local_player(0).add_remote_player(1, "bob")
    ...         .start_p2p_session(my_transport))                      # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any, Hashable

from ..runtime.options import INPUT_DELAY_MAX, MAX_ROLLBACK_MAX, GameOptions
from . import codec
from .errors import InvalidRequest
from .messages import MAX_PACKET_BYTES, input_packet_bound

if TYPE_CHECKING:  # the sessions import this module: name them for type checkers only
    from .p2p import P2PSession
    from .synctest import SyncTestSession

_STEP_DEFAULTS = {f.name: f.default for f in fields(GameOptions)}

__all__ = [
    "SessionBuilder", "NUM_PLAYERS", "MIN_PLAYERS", "MAX_PLAYERS", "INPUT_DELAY", "MAX_INPUT_DELAY",
    "MAX_ROLLBACK", "MAX_ROLLBACK_LIMIT", "CHECK_DISTANCE", "CHECKSUM_INTERVAL",
    "DISCONNECT_TIMEOUT_MS", "DISCONNECT_NOTIFY_MS", "FPS", "EVENT_QUEUE_SIZE", "DEFAULT_ACTION",
]

NUM_PLAYERS = 2             #: players in a session
MIN_PLAYERS = 2             #: fewest players of a P2P session (a sync test accepts 1)
MAX_PLAYERS = 4             #: most players of any session (GGPO's limit)
# The settings a game step also has come from its options: one source of defaults and limits.
INPUT_DELAY = _STEP_DEFAULTS["input_delay"]  #: frames between a local input and the frame it applies to
MAX_INPUT_DELAY = INPUT_DELAY_MAX            #: largest input delay accepted (one second at 30 fps)
MAX_ROLLBACK = _STEP_DEFAULTS["max_rollback"]  #: prediction window in frames; never exceeded (GGPO: 8)
MAX_ROLLBACK_LIMIT = MAX_ROLLBACK_MAX        #: largest prediction window accepted
CHECK_DISTANCE = 2          #: frames a sync test rolls back every frame (GGRS: 2)
CHECKSUM_INTERVAL = 10      #: confirmed frames between checksum exchanges (desync detection)
DISCONNECT_TIMEOUT_MS = 5000  #: silence after which a peer is disconnected (GGPO: 5000)
DISCONNECT_NOTIFY_MS = 750  #: silence after which NetworkInterrupted is emitted (GGPO: 750)
FPS = _STEP_DEFAULTS["fps"]  #: frames per second, to convert between frames and milliseconds
EVENT_QUEUE_SIZE = 100      #: events kept for ``events()``; the oldest are dropped beyond it
DEFAULT_ACTION = 0          #: action of a player before its first input, and after it disconnects


class SessionBuilder:
    """Collects session settings; every ``with_*``/``add_*`` method returns the builder.

    Nothing is checked until :meth:`start_p2p_session` or :meth:`start_synctest_session`, which
    raise :class:`InvalidRequest` naming every offending value.
    """

    def __init__(self) -> None:
        self.num_players = NUM_PLAYERS
        self.input_delay = INPUT_DELAY
        self.max_rollback = MAX_ROLLBACK
        self.check_distance = CHECK_DISTANCE
        self.checksum_interval = CHECKSUM_INTERVAL
        self.disconnect_timeout = DISCONNECT_TIMEOUT_MS
        self.disconnect_notify_start = DISCONNECT_NOTIFY_MS
        self.fps = FPS
        self.event_queue_size = EVENT_QUEUE_SIZE
        self.default_action: Any = DEFAULT_ACTION
        self.players: list[tuple[int, Hashable | None]] = []  # (handle, peer); peer None = local

    def with_options(self, options: GameOptions) -> "SessionBuilder":
        """A game step's settings: one player per agent of ``players``, its ``input_delay``,
        ``max_rollback``, ``fps`` and ``default_action`` (the action before a player's first input)."""
        self.num_players = len(options.players)
        self.input_delay, self.max_rollback, self.fps = options.input_delay, options.max_rollback, options.fps
        if options.default_action is not None:
            self.default_action = options.default_action
        return self

    def with_num_players(self, n: int) -> "SessionBuilder":
        """Players in the game, handles ``0 .. n-1``. Default :data:`NUM_PLAYERS`; P2P 2–4, sync test 1–4."""
        self.num_players = n
        return self

    def with_input_delay(self, frames: int) -> "SessionBuilder":
        """Frames of input delay, 0 to :data:`MAX_INPUT_DELAY`. Default :data:`INPUT_DELAY`.
        More delay means fewer rollbacks but a laggier feel."""
        self.input_delay = frames
        return self

    def with_max_rollback(self, frames: int) -> "SessionBuilder":
        """Prediction window, 1 to :data:`MAX_ROLLBACK_LIMIT`. Default :data:`MAX_ROLLBACK`. The
        session never predicts further: it stalls instead (``WaitingForInputs``)."""
        self.max_rollback = frames
        return self

    def with_check_distance(self, frames: int) -> "SessionBuilder":
        """Sync test only: frames rolled back every frame, 1 to ``max_rollback``. Default :data:`CHECK_DISTANCE`."""
        self.check_distance = frames
        return self

    def with_checksum_interval(self, frames: int) -> "SessionBuilder":
        """Exchange the checksum of every ``frames``-th confirmed frame (≥ 1). Default :data:`CHECKSUM_INTERVAL`."""
        self.checksum_interval = frames
        return self

    def with_disconnect_timeout(self, ms: float) -> "SessionBuilder":
        """Silence in ms before a peer is disconnected (> 0). Default :data:`DISCONNECT_TIMEOUT_MS`."""
        self.disconnect_timeout = ms
        return self

    def with_disconnect_notify_start(self, ms: float) -> "SessionBuilder":
        """Silence in ms before ``NetworkInterrupted`` (below the timeout). Default :data:`DISCONNECT_NOTIFY_MS`."""
        self.disconnect_notify_start = ms
        return self

    def with_fps(self, fps: float) -> "SessionBuilder":
        """Frame rate used by time sync (> 0). Default :data:`FPS`."""
        self.fps = fps
        return self

    def with_event_queue_size(self, n: int) -> "SessionBuilder":
        """Events kept for ``events()`` (≥ 1). Default :data:`EVENT_QUEUE_SIZE`."""
        self.event_queue_size = n
        return self

    def with_default_action(self, action: Any) -> "SessionBuilder":
        """The action of a player before its first input (the input-delay frames, predictions
        with nothing to repeat yet) and after it disconnects. Default :data:`DEFAULT_ACTION`."""
        self.default_action = action
        return self

    def add_local_player(self, handle: int) -> "SessionBuilder":
        """``handle`` is played on this machine (a human here, or an AI this peer computes)."""
        self.players.append((handle, None))
        return self

    def add_remote_player(self, handle: int, peer: Hashable) -> "SessionBuilder":
        """``handle`` is played on ``peer`` (its transport address). A peer may play several handles."""
        self.players.append((handle, peer))
        return self

    @property
    def local_handles(self) -> list[int]:
        """Handles added with :meth:`add_local_player`, sorted."""
        return sorted(h for h, peer in self.players if peer is None)

    @property
    def remote_handles(self) -> dict[int, Hashable]:
        """Handle → peer, for the handles added with :meth:`add_remote_player`."""
        return {h: peer for h, peer in self.players if peer is not None}

    # -- validation ------------------------------------------------------------------------

    def _common_problems(self, min_players: int) -> list[str]:
        p = []

        def rng(name: str, v: Any, lo: float, hi: float | None = None) -> None:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi)
            if not ok:
                p.append(f"{name}={v!r}: must be " + (f"between {lo} and {hi}" if hi is not None else f"at least {lo}"))

        def integer(name: str, v: Any, lo: int, hi: int | None = None) -> None:
            if type(v) is not int:
                p.append(f"{name}={v!r}: must be an int")
            else:
                rng(name, v, lo, hi)

        integer("num_players", self.num_players, min_players, MAX_PLAYERS)
        integer("input_delay", self.input_delay, 0, MAX_INPUT_DELAY)
        integer("max_rollback", self.max_rollback, 1, MAX_ROLLBACK_LIMIT)
        integer("checksum_interval", self.checksum_interval, 1)
        integer("event_queue_size", self.event_queue_size, 1)
        rng("fps", self.fps, 1)
        rng("disconnect_timeout", self.disconnect_timeout, 1)
        rng("disconnect_notify_start", self.disconnect_notify_start, 0)
        if not p and self.disconnect_notify_start >= self.disconnect_timeout:
            p.append(f"disconnect_notify_start={self.disconnect_notify_start!r}: must be below "
                     f"disconnect_timeout={self.disconnect_timeout!r}")
        try:
            codec.encode(self.default_action)
        except codec.CodecError as e:
            p.append(f"default_action={self.default_action!r}: {e}")
        return p

    def _check_handles(self, p: list[str]) -> None:
        seen = [h for h, _ in self.players]
        dups = sorted({h for h in seen if seen.count(h) > 1})
        if dups:
            p.append(f"handles {dups}: each handle must be added once")
        if type(self.num_players) is int and 1 <= self.num_players <= MAX_PLAYERS:
            want = set(range(self.num_players))
            bad = sorted(h for h in set(seen) if h not in want)
            missing = sorted(want - set(seen))
            if bad:
                p.append(f"handles {bad}: must be between 0 and num_players-1={self.num_players - 1}")
            if missing:
                p.append(f"handles {missing} have no player: add each handle 0..{self.num_players - 1} "
                         f"with add_local_player or add_remote_player")

    def start_p2p_session(self, transport: Any) -> "P2PSession":
        """A peer-to-peer rollback session sending through ``transport`` (see
        :class:`~mugkit.netcode.transport.Transport`).

        Raises:
            InvalidRequest: a setting is out of range, handles are missing/duplicated/out of
                range, there is no local or no remote player, the transport lacks a method, or
                a frame of ``default_action`` would not fit in a packet.
        """
        from .p2p import P2PSession

        p = self._common_problems(MIN_PLAYERS)
        self._check_handles(p)
        if not self.local_handles:
            p.append("no local player: add at least one with add_local_player")
        if not self.remote_handles:
            p.append("no remote player: a P2P session needs add_remote_player (use a sync test alone)")
        for m in ("send_to", "receive_all"):
            if not callable(getattr(transport, m, None)):
                p.append(f"transport {type(transport).__name__} has no {m}() method")
        if not p:  # the first input-delay frames of every local player are the default action
            local = tuple(self.local_handles)
            size = input_packet_bound(local, (self.default_action,) * len(local), self.num_players)
            if size > MAX_PACKET_BYTES:
                p.append(f"default_action: a packet with one frame of it takes up to {size} bytes, over "
                         f"MAX_PACKET_BYTES={MAX_PACKET_BYTES}")
        if p:
            raise InvalidRequest("; ".join(p))
        return P2PSession(self, transport)

    def start_synctest_session(self) -> "SyncTestSession":
        """A :class:`~mugkit.netcode.synctest.SyncTestSession`: every handle is local; each frame
        rolls back ``check_distance`` frames and compares checksums.

        Raises:
            InvalidRequest: a setting is out of range, a remote player was added, or
                ``check_distance`` is not between 1 and ``max_rollback``.
        """
        from .synctest import SyncTestSession

        p = self._common_problems(1)
        if self.remote_handles:
            p.append(f"remote players {sorted(self.remote_handles)}: a sync test has only local players")
        if type(self.check_distance) is not int or not 1 <= self.check_distance <= (
                self.max_rollback if type(self.max_rollback) is int else MAX_ROLLBACK_LIMIT):
            p.append(f"check_distance={self.check_distance!r}: must be between 1 and "
                     f"max_rollback={self.max_rollback!r}")
        if p:
            raise InvalidRequest("; ".join(p))
        return SyncTestSession(self)
