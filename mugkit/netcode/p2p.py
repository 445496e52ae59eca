"""The peer-to-peer rollback session (GGPO's model, GGRS's request-based interface).

Each frame the caller does::

    session.poll(now_ms)                      # network in and out, timeouts (call often)
    for h in session.local_handles:
        session.add_local_input(h, action_of(h))
    for request in session.advance_frame():   # fulfil every request, in order
        ...                                   # SaveState / LoadState / AdvanceFrame
    for event in session.events(): ...        # optional news
    record(session.drain_confirmed_frames())  # optional: frames that will never change

(:class:`~mugkit.netcode.peer_loop.PeerLoop` is that loop.)

How it stays in sync: local inputs apply ``input_delay`` frames later and are sent to every peer,
redundantly (each packet repeats every input the peer has not acknowledged), so loss and
reordering only cost time. A remote input not yet received is predicted as that player's last
confirmed input. When the real input arrives and differs from what was used, the next
``advance_frame()`` loads the state before that frame and re-simulates up to the present. The
game never runs more than ``max_rollback`` frames ahead of the last frame whose inputs are all
confirmed: then ``advance_frame()`` returns no ``AdvanceFrame`` and the game waits.

A frame counts as confirmed only when every connected peer holds every remote input of it
(GGPO's rule for 3–4 players): so when a player disconnects, all survivors agree on the frame
from which its inputs become the default action, and that frame is always inside everyone's
rollback window. A peer is disconnected after ``disconnect_timeout`` ms of silence, when the
transport reports its connection closed, or by :meth:`P2PSession.drop_peer`; each survivor
takes the frame after the last input it holds, and they settle on the lowest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Hashable

from ..runtime.errors import InternalError
from . import codec
from .confirmed import ConfirmedFrame, FrameLog
from .desync import DesyncDetector
from .errors import InvalidRequest, ProtocolError
from .events import (DesyncDetected, Disconnected, Event, EventQueue, WaitingForInputs,
                     WaitRecommendation)
from .inputs import InputQueues
from .messages import (MAX_PACKET_BYTES, Checksum, Hello, Input, Quality, QualityReply,
                       decode_message, encode_input, encode_message, input_packet_bound)
from .peers import Peer
from .requests import AdvanceFrame, GameStateCell, LoadState, SaveState
from .timesync import RECOMMENDATION_INTERVAL, frames_ahead

__all__ = ["P2PSession", "SessionStats"]

_INF = math.inf
RESEND_MS = 50               # resend unacknowledged inputs (or a new ack) this often while waiting
KEEPALIVE_MS = 200           # otherwise send an (empty) input packet this often, to stay alive
HELLO_MS = 200               # greet an unsynchronized peer this often
QUALITY_MS = 200             # time-sync report interval (GGPO: about 200 ms)


@dataclass
class SessionStats:
    """Counters of a session (read ``session.stats``)."""

    frames_advanced: int = 0     #: AdvanceFrame requests for new frames (not re-simulations)
    frames_stalled: int = 0      #: advance_frame() calls that returned no new frame
    rollbacks: int = 0           #: LoadState requests
    max_rollback_depth: int = 0  #: most frames re-simulated by one rollback
    frames_resimulated: int = 0  #: AdvanceFrame requests made by rollbacks
    packets_sent: int = 0
    packets_received: int = 0
    packets_dropped: int = 0     #: malformed, oversized or unexpected packets (never raised to the caller)


class P2PSession:
    """A rollback session with 1–3 remote peers. Make it with
    :meth:`SessionBuilder.start_p2p_session <mugkit.netcode.builder.SessionBuilder.start_p2p_session>`.

    Attributes:
        num_players, local_handles, input_delay, max_rollback: as configured.
        current_frame: the frame the next AdvanceFrame simulates (0 at the start).
        stats: :class:`SessionStats`.
        desyncs: every :class:`DesyncDetected` so far (also sent as events).
        disconnects: every :class:`Disconnected` so far: the recorded outcome of a dropped peer.
    """

    def __init__(self, b: Any, transport: Any):
        self.num_players: int = b.num_players
        self.local_handles: tuple = tuple(b.local_handles)
        self.input_delay: int = b.input_delay
        self.max_rollback: int = b.max_rollback
        self.checksum_interval: int = b.checksum_interval
        self.disconnect_timeout: float = b.disconnect_timeout
        self.disconnect_notify_start: float = b.disconnect_notify_start
        self.fps: float = b.fps
        self.default_action = codec.decode(codec.encode(b.default_action))  # as peers decode it
        self._transport = transport
        self._events = EventQueue(b.event_queue_size)
        self.stats = SessionStats()
        self._desync = DesyncDetector(self.checksum_interval, self._events)
        self.desyncs: list[DesyncDetected] = self._desync.desyncs
        self.disconnects: list[Disconnected] = []

        self._now = 0.0
        self._started = False
        by_peer: dict[Hashable, list[int]] = {}
        for h, peer in sorted(b.remote_handles.items()):
            by_peer.setdefault(peer, []).append(h)
        self._peers = {addr: Peer(addr, tuple(hs), 0.0) for addr, hs in by_peer.items()}
        self._owner = {h: p for p in self._peers.values() for h in p.handles}

        self.current_frame = 0
        self._inputs = InputQueues(self.num_players, self.local_handles, self.input_delay, self.max_rollback,
                                   self.default_action)
        self._pending_local: dict[int, Any] = {}
        self._pending_sizes: dict[int, int] = {}      # handle -> bytes of its encoded pending action
        self._default_size = len(codec.encode(self.default_action))
        nones = (None,) * len(self.local_handles)     # None encodes in 1 byte: leaves the fixed part
        self._frame_packet_base = input_packet_bound(self.local_handles, nones, self.num_players) - len(nones)

        self._frames = FrameLog()
        self._cells = [GameStateCell(self._desync.on_save) for _ in range(self.max_rollback + 3)]
        self._last_saved = -1                # last frame a SaveState was requested for
        self._confirmed_frame = -1           # as computed by the last advance_frame()
        self._stalling = False
        self._next_recommendation = RECOMMENDATION_INTERVAL

    # -- public API ------------------------------------------------------------------------

    @property
    def confirmed_frame(self) -> int:
        """The last frame whose inputs every peer holds (-1: none yet)."""
        return self._confirmed_frame

    @property
    def running(self) -> bool:
        """True once every peer was heard from (or is disconnected): frames can advance."""
        return all(p.synchronized or p.disconnected for p in self._peers.values())

    def events(self) -> list[Event]:
        """Takes the events queued since the last call (oldest first)."""
        return self._events.drain()

    def drain_confirmed(self) -> list[tuple[int, Any]]:
        """Takes the ``(frame, checksum)`` of every state confirmed since the last call, in
        frame order. State ``k`` is the game after ``k`` frames (0: just after reset). The last
        :data:`~mugkit.netcode.desync.CONFIRMED_KEPT` are kept when nobody drains them."""
        return self._desync.drain_confirmed()

    def drain_confirmed_frames(self) -> list[ConfirmedFrame]:
        """Takes every frame confirmed since the last call, in frame order, as
        :class:`~mugkit.netcode.confirmed.ConfirmedFrame` (frame, final inputs, checksum of
        the state after it, predicted, rollback depth): what a recorder stores, since a
        confirmed frame never changes. Frame ``f`` comes once its inputs are confirmed and
        state ``f + 1`` is saved (usually one ``advance_frame()`` later). The last
        :data:`~mugkit.netcode.desync.CONFIRMED_KEPT` are kept when nobody drains them.
        Independent of :meth:`drain_confirmed`: each stream is drained on its own."""
        return self._frames.drain()

    def add_local_input(self, handle: int, action: Any) -> None:
        """Sets the action of local player ``handle`` for this frame; call it for every local
        handle before each :meth:`advance_frame`. The action applies ``input_delay`` frames later,
        as it comes out of the codec (numpy values as plain lists), on every peer alike.

        Raises:
            InvalidRequest: ``handle`` is not local, the action cannot be encoded, or one frame
                of the local actions would not fit in a packet of
                :data:`~mugkit.netcode.messages.MAX_PACKET_BYTES`.
        """
        if handle not in self.local_handles:
            raise InvalidRequest(f"handle={handle!r}: not a local player (local: {list(self.local_handles)})")
        try:
            # What the remote peers decode is what this peer simulates too (numpy values
            # become plain lists everywhere), so all peers step with equal actions.
            raw = codec.encode(action)
            decoded = codec.decode(raw)
        except codec.CodecError as e:
            raise InvalidRequest(f"handle={handle}: action {action!r} cannot be sent: {e}") from None
        # Refused here, where the caller can see why, rather than never arriving: a frame is
        # the smallest unit an Input packet carries. The size of a one-frame packet is a fixed
        # part plus each action's encoding (codec containers are a count, then the items).
        sizes = {**self._pending_sizes, handle: len(raw)}
        size = self._frame_packet_base + sum(sizes.get(h, self._default_size) for h in self.local_handles)
        if size > MAX_PACKET_BYTES:
            raise InvalidRequest(f"handle={handle}: action too big to send: a packet with one frame of the local "
                                 f"actions takes up to {size} bytes, over MAX_PACKET_BYTES={MAX_PACKET_BYTES}")
        self._pending_local[handle] = decoded
        self._pending_sizes[handle] = len(raw)

    def poll(self, now_ms: float) -> None:
        """Receives and handles every packet (malformed ones, and those over
        :data:`~mugkit.netcode.messages.MAX_PACKET_BYTES` unread, are dropped and counted in
        ``stats.packets_dropped``), drops the peers
        whose connection the transport reports closed (if it has ``closed_peers()``), detects
        silent peers, and sends what is due (greetings, input resends, time-sync reports).
        ``now_ms`` is the caller's clock in milliseconds (never read here: tests pass a
        virtual one). Call it every frame, and keep calling it while the game waits."""
        self._now = float(now_ms)
        if not self._started:
            self._started = True
            for p in self._peers.values():
                p.last_recv = self._now
        for addr, data in self._transport.receive_all():
            self.stats.packets_received += 1
            if len(data) > MAX_PACKET_BYTES:  # no peer sends these: not worth decoding
                self.stats.packets_dropped += 1
                continue
            try:
                self._handle_packet(addr, data)
            except ProtocolError:
                self.stats.packets_dropped += 1
        self._drop_closed()
        self._check_timeouts()
        for p in self._peers.values():
            if p.disconnected:
                continue
            if not p.synchronized and self._now - p.last_hello >= HELLO_MS:
                p.last_hello = self._now
                self._send(p, Hello(self.num_players))
            pending = p.acked < self._inputs.local_next - 1 or self._inputs.confirmed_upto(p.handles) != p.last_ack_sent
            if self._now - p.last_input_send >= (RESEND_MS if pending else KEEPALIVE_MS):
                self._send_inputs(p)
            if p.synchronized and self._now - p.last_quality >= QUALITY_MS:
                p.last_quality = self._now
                self._send(p, Quality(p.time_sync.latest_advantage(), self._now))

    def advance_frame(self) -> list:
        """The requests for this frame, to fulfil in order: a rollback first when a prediction
        was wrong (``LoadState``, then ``AdvanceFrame``/``SaveState`` per re-simulated frame),
        then ``SaveState`` and ``AdvanceFrame`` of ``current_frame``.

        Returns no ``AdvanceFrame`` for a new frame (possibly an empty list) while peers are not
        synchronized or when the prediction window is full; the local inputs given for this
        call are then discarded (give them again next call).

        Raises:
            InvalidRequest: a local handle got no :meth:`add_local_input` since the last call.
        """
        missing = [h for h in self.local_handles if h not in self._pending_local]
        if missing:
            raise InvalidRequest(f"no local input for handles {missing}: call add_local_input(handle, action) "
                                 f"for every local handle before advance_frame()")
        local, self._pending_local, self._pending_sizes = self._pending_local, {}, {}
        self._harvest()
        if not self.running:
            return []
        requests: list = []
        first_incorrect = self._inputs.first_incorrect
        if first_incorrect is not None and first_incorrect < self.current_frame:
            self._rollback(first_incorrect, requests)
        self._inputs.first_incorrect = None

        confirmed = self._compute_confirmed()
        self._confirmed_frame = min(confirmed, self.current_frame - 1)
        self._frames.finalize(self._confirmed_frame, self._inputs.known)  # before _prune() drops them
        if self.current_frame - confirmed > self.max_rollback:
            self.stats.frames_stalled += 1
            if not self._stalling:
                self._stalling = True
                self._events.push(WaitingForInputs(self.current_frame, confirmed))
            return requests
        self._stalling = False

        self._inputs.add_local(local, self.current_frame)
        if self._last_saved != self.current_frame:
            requests.append(self._save_request(self.current_frame))
        requests.append(self._advance_request(self.current_frame))
        self.current_frame += 1
        self.stats.frames_advanced += 1
        for p in self._peers.values():
            if not p.disconnected:
                self._send_inputs(p)
        self._time_sync()
        self._prune()
        return requests

    def frames_ahead(self) -> int:
        """How many frames this peer runs ahead of the slowest connected peer, averaged
        (GGPO's time sync); 0 when behind or too small to matter (< 3). Skip that many frames
        over the next second to let the others catch up."""
        return frames_ahead(p.time_sync for p in self._peers.values() if not p.disconnected)

    def drop_peer(self, addr: Hashable) -> None:
        """Disconnects peer ``addr`` now, as if it had timed out: its players' inputs are the
        default action (status ``DISCONNECTED``) from the frame after the last one whose
        inputs arrived, a :class:`Disconnected` event is queued and recorded in
        :attr:`disconnects`, and the other peers learn of it from the next packets. For a
        server that knows a player left, or a transport whose connection closed (see
        :meth:`ClosingTransport.closed_peers <mugkit.netcode.transport.ClosingTransport.closed_peers>`,
        which :meth:`poll` calls itself). Dropping a dropped peer does nothing; a dropped peer
        is never reconnected.

        Raises:
            InvalidRequest: ``addr`` is not a peer of this session.
        """
        p = self._peers.get(addr)
        if p is None:
            raise InvalidRequest(f"drop_peer({addr!r}): not a peer of this session (peers: {list(self._peers)})")
        if not p.disconnected:
            self._disconnect(p, self._inputs.confirmed_upto(p.handles) + 1)

    def disconnect_frame(self, handle: int) -> int | None:
        """The frame from which ``handle``'s inputs are the default action, or None if connected."""
        return self._inputs.disc_frame[handle]

    # -- peers, and resuming a game --------------------------------------------------------

    @property
    def next_local_frame(self) -> int:
        """The frame the local inputs given next apply to: ``current_frame + input_delay``, or
        later just after :meth:`resume_at`."""
        return max(self._inputs.local_next, self.current_frame + self.input_delay)

    def peer_states(self) -> dict:
        """Per remote peer address: ``{"rtt_ms", "synchronized", "interrupted", "disconnected"}``
        (the round-trip time from the time-sync reports; 0 until measured)."""
        return {p.addr: {"rtt_ms": p.time_sync.rtt, "synchronized": p.synchronized, "interrupted": p.interrupted,
                         "disconnected": p.disconnected} for p in self._peers.values()}

    def waiting_on(self) -> list:
        """The connected peers whose inputs, or whose reports of others' inputs, hold back the
        confirmed frame (whom a stalled game waits for)."""
        confirmed = self._compute_confirmed()
        out = []
        for p in self._peers.values():
            if p.disconnected:
                continue
            lacking = any(self._inputs.last_confirmed[h] <= confirmed for h in p.handles)
            unreported = any(p.reports.get(h, -1) <= confirmed for h in self._owner if h not in p.handles)
            if lacking or unreported:
                out.append(p.addr)
        return out

    def all_hold(self, frame: int) -> bool:
        """Every connected peer holds every input up to ``frame`` (ours acknowledged, the others'
        reported): they can all confirm it."""
        others = [p for p in self._peers.values() if not p.disconnected]
        return all(p.acked >= frame and all(p.reports.get(h, -1) >= frame for h in self._owner if h not in p.handles)
                   for p in others)

    def held_inputs(self, after: int) -> dict:
        """Every input this session holds for frames after ``after`` (``{handle: {frame:
        action}}``, disconnected players' left out): with the confirmed ones before, what a peer
        rejoining the game needs."""
        held = self._inputs.held(after)
        for f, inputs in self._frames.final_inputs(after).items():
            for h, i in enumerate(inputs):
                held[h].setdefault(f, i.action)
        return {h: by_frame for h, by_frame in held.items() if self._inputs.disc_frame[h] is None}

    def held_upto(self, handle: int) -> int:
        """The last frame up to which every input of ``handle`` is held here."""
        return self._inputs.last_confirmed[handle]

    def restarted(self, addr: Hashable) -> None:
        """Peer ``addr`` restarted with a new session (a page reloaded and rejoined from what the
        peers held): every local input still held is sent to it again, whatever the earlier
        session acknowledged.

        Raises:
            InvalidRequest: ``addr`` is not a peer of this session.
        """
        p = self._peers.get(addr)
        if p is None:
            raise InvalidRequest(f"restarted({addr!r}): not a peer of this session (peers: {list(self._peers)})")
        p.acked = min(p.acked, self._inputs.oldest_local() - 1)

    def resume_at(self, frame: int, inputs: dict, acked: dict, gone: dict | None = None) -> None:
        """Starts this new session at ``frame`` of a running game (a peer that reloaded and
        rejoins): the game was re-simulated up to ``frame`` and the caller's runner stands there.
        ``inputs``: ``{handle: {frame: action}}`` known from the game so far (the local player's
        from its earlier life, as the others hold them; all players' from ``frame`` on);
        ``acked``: per peer, the last frame of the local inputs it holds; ``gone``: per peer
        the others dropped, the frame from which its inputs are the default action.

        Raises:
            InvalidRequest: the session already ran, or ``frame`` is negative.
        """
        if self._started or self.current_frame:
            raise InvalidRequest("resume_at() must come before the session's first poll()")
        if type(frame) is not int or frame < 0:
            raise InvalidRequest(f"resume_at(frame={frame!r}): expected a frame number >= 0")
        self.current_frame = frame
        self._confirmed_frame = frame - 1
        self._inputs.restore(frame, inputs)
        self._frames.start_at(frame)
        self._desync.harvested = frame  # state `frame` is the re-simulation's, not this session's
        self._next_recommendation = frame + RECOMMENDATION_INTERVAL
        for p in self._peers.values():
            p.acked = min(int(acked.get(p.addr, frame - 1)), self._inputs.local_next - 1)
            p.reports = {h: frame - 1 for h in self._owner if h not in p.handles}
        for addr, at in (gone or {}).items():
            if addr in self._peers:
                self._disconnect(self._peers[addr], int(at))
        self._inputs.first_incorrect = None  # frames before `frame` were simulated with the final inputs

    # -- confirmation ----------------------------------------------------------------------

    def _compute_confirmed(self) -> float:
        """The last frame whose inputs this peer and every connected peer hold (GGPO's rule)."""
        confirmed = _INF
        for h in range(self.num_players):
            if h in self.local_handles:
                continue
            mine = _INF if self._inputs.disc_frame[h] is not None else self._inputs.last_confirmed[h]
            confirmed = min(confirmed, mine)
            owner = self._owner[h]
            for p in self._peers.values():
                if p is not owner and not p.disconnected:
                    confirmed = min(confirmed, p.reports.get(h, -1))
        if confirmed == _INF:  # everybody else is gone: what we simulate is final
            confirmed = self.current_frame - 1
        return confirmed

    # -- requests --------------------------------------------------------------------------

    def _cell(self, frame: int) -> GameStateCell:
        return self._cells[frame % len(self._cells)]

    def _save_request(self, frame: int) -> SaveState:
        cell = self._cell(frame)
        cell.expect(frame)
        self._last_saved = frame
        return SaveState(frame, cell, frame % self.checksum_interval == 0)

    def _advance_request(self, frame: int) -> AdvanceFrame:
        inputs = self._inputs.for_frame(frame)
        self._frames.simulated(frame, inputs)
        return AdvanceFrame(frame, inputs)

    def _rollback(self, frame: int, requests: list) -> None:
        depth = self.current_frame - frame
        # The window rule keeps every wrong prediction inside the saved states; failing here
        # means a bug in this module, not a network condition.
        if depth > self.max_rollback:
            raise InternalError(f"rollback of {depth} frames exceeds max_rollback={self.max_rollback}")
        cell = self._cell(frame)
        cell.require(frame)
        requests.append(LoadState(frame, cell))
        for f in range(frame, self.current_frame):
            requests.append(self._advance_request(f))
            requests.append(self._save_request(f + 1))
        self._frames.rolled_back(frame, self.current_frame, depth)
        self.stats.rollbacks += 1
        self.stats.frames_resimulated += depth
        self.stats.max_rollback_depth = max(self.stats.max_rollback_depth, depth)

    # -- confirmed states and desync detection ---------------------------------------------

    def _harvest(self) -> None:
        """Records the states confirmed by the last advance_frame() (its requests are fulfilled
        by now), and exchanges the checksums of every ``checksum_interval``-th one."""
        upto = min(self._confirmed_frame + 1, self._last_saved)
        for k, checksum in self._desync.harvest(upto, self._peers.values(), self._send):
            if k > 0:  # state k is the outcome of frame k - 1
                self._frames.confirmed(k - 1, checksum)

    # -- network ---------------------------------------------------------------------------

    def _send(self, p: Peer, msg: Any) -> None:
        self._send_bytes(p, encode_message(msg))

    def _send_bytes(self, p: Peer, data: bytes) -> None:
        self.stats.packets_sent += 1
        self._transport.send_to(p.addr, data)

    def _send_inputs(self, p: Peer) -> None:
        start = p.acked + 1
        frames = self._inputs.local_frames(start)
        ack = self._inputs.confirmed_upto(p.handles)
        p.last_input_send, p.last_ack_sent = self._now, ack
        msg = Input(start, ack, self.current_frame, self.local_handles, frames, self._inputs.status())
        data, sent = encode_input(msg, MAX_PACKET_BYTES)
        if frames and not sent:  # add_local_input refuses a frame that cannot fit alone
            raise InternalError(f"frame {start} of the local inputs does not fit in {MAX_PACKET_BYTES} bytes")
        self._send_bytes(p, data)

    def _handle_packet(self, addr: Hashable, data: bytes) -> None:
        p = self._peers.get(addr)
        if p is None:
            raise ProtocolError(f"packet from unknown peer {addr!r}")
        msg = decode_message(data)
        if p.disconnected:
            return  # GGPO does not reconnect a dropped peer: its late packets are ignored
        if isinstance(msg, Hello) and msg.num_players != self.num_players:
            raise ProtocolError(f"peer {addr!r} plays {msg.num_players} players, this session {self.num_players}")
        if isinstance(msg, Input) and tuple(msg.handles) != p.handles:
            raise ProtocolError(f"peer {addr!r} sent inputs for handles {list(msg.handles)}, it plays {list(p.handles)}")
        if isinstance(msg, Input) and len(msg.status) != self.num_players:
            raise ProtocolError(f"peer {addr!r} sent status for {len(msg.status)} players, not {self.num_players}")
        p.heard(self._now, self._events)
        if isinstance(msg, Input):
            self._on_input(p, msg)
        elif isinstance(msg, Quality):
            p.time_sync.remote_adv.append(msg.advantage)
            self._send(p, QualityReply(msg.ping_ms))
        elif isinstance(msg, QualityReply):
            p.time_sync.on_reply(msg.ping_ms, self._now)
        elif isinstance(msg, Checksum):
            self._desync.on_report(addr, msg.frame, msg.checksum)

    def _on_input(self, p: Peer, msg: Input) -> None:
        p.acked = max(p.acked, min(msg.ack, self._inputs.local_next - 1))
        p.time_sync.remote_frame = max(p.time_sync.remote_frame, msg.frame)
        for i, actions in enumerate(msg.inputs):
            for h, action in zip(p.handles, actions):
                self._inputs.store_remote(h, msg.start + i, action, self.current_frame)
        for h, (disc, last) in enumerate(msg.status):
            if h in p.handles or h in self.local_handles:
                continue
            if disc:
                p.reports[h] = _INF
                owner = self._owner[h]
                # Never past the inputs held here: this peer could not simulate frames whose
                # inputs it lacks, and the packets that would bring them are ignored from now
                # on. A reporter holding more moves back to this frame when our status
                # reaches it, so every survivor ends at the lowest (GGPO's rule).
                frame = min(last + 1, self._inputs.confirmed_upto(owner.handles) + 1)
                current = self._inputs.disc_frame[h]
                if current is None or frame < current:
                    self._disconnect(owner, frame)
            else:
                p.reports[h] = max(p.reports.get(h, -1), last)

    def _drop_closed(self) -> None:
        """Drops at once the peers whose connection the transport reports closed (after their
        last packets were handled above), instead of waiting for the timeout."""
        closed_peers = getattr(self._transport, "closed_peers", None)
        if closed_peers is None:  # optional: plain transports only have the timeout
            return
        for addr in closed_peers():
            if addr in self._peers:  # a connection the session never used is no concern of it
                self.drop_peer(addr)

    def _check_timeouts(self) -> None:
        for p in self._peers.values():
            if p.disconnected:
                continue
            if p.timed_out(self._now, self.disconnect_timeout, self.disconnect_notify_start, self._events):
                self.drop_peer(p.addr)

    def _disconnect(self, p: Peer, frame: int) -> None:
        """Drops ``p``'s players from ``frame`` on (or from an earlier frame another peer
        reported), rolling back if frames after it were simulated with their predictions."""
        self._inputs.disconnect(p.handles, frame, self.current_frame)
        if not p.disconnected:
            p.disconnected = True
            event = Disconnected(p.addr, p.handles, frame)
            self.disconnects.append(event)
            self._events.push(event)

    def _time_sync(self) -> None:
        for p in self._peers.values():
            if p.disconnected or not p.synchronized:
                continue
            p.time_sync.sample(self.current_frame, self.fps)
        if self.current_frame >= self._next_recommendation:
            self._next_recommendation = self.current_frame + RECOMMENDATION_INTERVAL
            skip = self.frames_ahead()
            if skip:
                self._events.push(WaitRecommendation(skip))

    def _prune(self) -> None:
        """Drops inputs, checksums and used-input records nobody can need again."""
        low = self._confirmed_frame
        acks = [p.acked + 1 for p in self._peers.values() if not p.disconnected]
        # checksums and used-input records: below low - 1, and harvested
        before = min(low - 1, self._desync.harvested + 1)
        self._inputs.prune(low, acks, before)
        self._desync.prune(before)
        self._frames.prune(self._desync.harvested)
