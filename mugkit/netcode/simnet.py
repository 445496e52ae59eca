"""A simulated network in one process, and a driver that runs 2–4 peers over it.

:class:`SimNetwork` has a virtual clock (milliseconds, advanced by the caller) and, per
directed link, latency, jitter, loss and reordering; a peer can be paused (a hidden tab, a
frozen laptop): while paused it neither sends nor receives. All randomness comes from one
seeded ``random.Random``, so a run is reproducible from its seed.

:func:`run_peers` runs one :class:`~mugkit.netcode.p2p.P2PSession` and one game per peer on
that clock and returns each peer's confirmed history; :func:`reference_history` is the same
game with the same inputs and no network, which every peer's history must equal.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Sequence

from . import codec
from .builder import (CHECKSUM_INTERVAL, DEFAULT_ACTION, DISCONNECT_TIMEOUT_MS, FPS, INPUT_DELAY,
                      MAX_ROLLBACK, SessionBuilder)
from .events import Event, WaitRecommendation
from .game import GameRunner
from .p2p import P2PSession, SessionStats

__all__ = ["Link", "SimNetwork", "SimTransport", "PeerResult", "run_peers", "reference_history", "replay_inputs"]


@dataclass(frozen=True)
class Link:
    """Conditions of one direction of a link.

    Attributes:
        latency_ms: one-way delay of every packet.
        jitter_ms: extra delay drawn uniformly from ``[0, jitter_ms]`` per packet (packets
            sent close together can overtake each other).
        loss: probability a packet is lost.
        reorder: probability a packet is held back an extra ``latency_ms + jitter_ms``, so
            packets sent after it arrive first.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    reorder: float = 0.0


class SimNetwork:
    """Packets between named peers on a virtual clock.

    Args:
        seed: seeds the network's ``random.Random`` (loss, jitter, reordering).
        link: the conditions of every link not set with :meth:`set_link`. Default: perfect.
    """

    def __init__(self, seed: int = 0, link: Link = Link()):
        self.rng = random.Random(seed)
        self.now = 0.0
        self.default_link = link
        self.sent = self.delivered = self.lost = 0
        self._links: dict[tuple, Link] = {}
        self._pauses: dict[Hashable, list[tuple[float, float]]] = {}
        self._in_flight: list = []   # heap of (arrival time, sequence, src, dst, data)
        self._seq = 0
        self._inboxes: dict[Hashable, list] = {}

    def set_link(self, src: Hashable, dst: Hashable, link: Link, both_ways: bool = True) -> None:
        """Sets the conditions from ``src`` to ``dst`` (and back, unless ``both_ways`` is False)."""
        self._links[(src, dst)] = link
        if both_ways:
            self._links[(dst, src)] = link

    def pause(self, peer: Hashable, start_ms: float, end_ms: float) -> None:
        """From ``start_ms`` to ``end_ms`` ``peer`` sends nothing and receives nothing (packets
        arriving meanwhile are lost)."""
        self._pauses.setdefault(peer, []).append((start_ms, end_ms))

    def paused(self, peer: Hashable, at: float | None = None) -> bool:
        """True if ``peer`` is paused at ``at`` (default: now)."""
        t = self.now if at is None else at
        return any(s <= t < e for s, e in self._pauses.get(peer, ()))

    def transport(self, peer: Hashable) -> "SimTransport":
        """The transport of ``peer`` (a :class:`~mugkit.netcode.transport.Transport`)."""
        self._inboxes.setdefault(peer, [])
        return SimTransport(self, peer)

    def advance_to(self, now_ms: float) -> None:
        """Moves the clock to ``now_ms`` and delivers every packet due by then."""
        self.now = max(self.now, float(now_ms))
        while self._in_flight and self._in_flight[0][0] <= self.now:
            arrival, _, src, dst, data = heapq.heappop(self._in_flight)
            if self.paused(dst, arrival):
                self.lost += 1
                continue
            self._inboxes.setdefault(dst, []).append((src, data))
            self.delivered += 1

    def _send(self, src: Hashable, dst: Hashable, data: bytes) -> None:
        self.sent += 1
        link = self._links.get((src, dst), self.default_link)
        if self.paused(src) or self.rng.random() < link.loss:
            self.lost += 1
            return
        delay = link.latency_ms + self.rng.uniform(0.0, link.jitter_ms)
        if link.reorder and self.rng.random() < link.reorder:
            delay += link.latency_ms + link.jitter_ms
        self._seq += 1
        heapq.heappush(self._in_flight, (self.now + delay, self._seq, src, dst, bytes(data)))


class SimTransport:
    """One peer's end of a :class:`SimNetwork`."""

    def __init__(self, network: SimNetwork, peer: Hashable):
        self.network = network
        self.peer = peer

    def send_to(self, peer: Hashable, data: bytes) -> None:
        """Queues ``data`` for ``peer`` under the link's conditions."""
        self.network._send(self.peer, peer, data)

    def receive_all(self) -> list[tuple[Hashable, bytes]]:
        """Packets delivered to this peer so far and not yet taken."""
        inbox = self.network._inboxes.setdefault(self.peer, [])
        out = list(inbox)
        inbox.clear()
        return out


@dataclass
class PeerResult:
    """What one peer of :func:`run_peers` saw.

    Attributes:
        peer: the peer's address (its index).
        handles: the players it played.
        history: checksum of every confirmed state ``0..frames`` (state ``k``: after ``k``
            frames), as far as it got.
        stats: the session's counters (rollbacks, max_rollback_depth, frames_stalled, ...).
        desyncs, disconnects: the session's records.
        events: every event the session emitted.
        session: the session itself, for further inspection.
        inputs: the actions (by handle) the game was last advanced with at each frame
            ``0..frames-1``: once a frame is confirmed, the inputs every peer agreed on.
    """

    peer: Hashable
    handles: tuple
    history: list
    stats: SessionStats
    desyncs: list
    disconnects: list
    events: list = field(default_factory=list)
    session: Any = None
    inputs: list = field(default_factory=list)


def _action(actions: Sequence[Any], h: int, i: int, default: Any, runner: GameRunner | None = None) -> Any:
    seq = actions[h]
    if callable(seq):  # an input source, such as an AI on its host: decides from the game it sees now
        if runner is None:
            raise ValueError(f"handle {h} has an input source, which only a running peer can ask: replay "
                             f"the inputs the peers agreed on with replay_inputs()")
        return seq(i, runner.frame)
    return seq[i] if 0 <= i < len(seq) else default


def run_peers(make_game: Callable[[], Any], actions: Sequence[Sequence[Any]], frames: int, *,
              peers: Sequence[Sequence[int]] | None = None, network: SimNetwork | None = None,
              seed: int = 0, input_delay: int = INPUT_DELAY, max_rollback: int = MAX_ROLLBACK,
              default_action: Any = DEFAULT_ACTION, checksum_interval: int = CHECKSUM_INTERVAL,
              disconnect_timeout: float = DISCONNECT_TIMEOUT_MS, fps: float = FPS,
              honor_time_sync: bool = True, max_ticks: int | None = None,
              make_runner: Callable[[Any, int], GameRunner] | None = None) -> list[PeerResult]:
    """Runs one session and one game per peer over ``network`` until every peer has confirmed
    ``frames`` frames (or ``max_ticks`` ticks of ``1000/fps`` ms passed).

    Args:
        make_game: returns a fresh GameEnv; called once per peer.
        actions: per handle, the action pressed at each local frame: ``actions[h][i]`` is given
            by ``h``'s peer at its frame ``i`` and applies to frame ``i + input_delay``; after
            the list ends, ``default_action``. Or, per handle, an input source
            ``(i, frame) -> action`` that ``h``'s peer asks at its frame ``i`` with the game's
            current (possibly predicted) :class:`~mugkit.runtime.adapter.Frame`: an AI on its
            host, deciding from what the host sees.
        frames: states ``0..frames`` must be confirmed.
        peers: the handles each peer plays (e.g. ``[(0, 2), (1,)]``: peer 0 plays handles 0
            and 2, such as a human and an AI). Default: one handle per peer.
        network: the network; default a perfect one seeded with ``seed``. Pauses set on it
            also stop the paused peer's game loop.
        seed: the games' seed (episode ``e`` resets with ``episode_seed(seed, e)``).
        honor_time_sync: a peer told ``WaitRecommendation(n)`` skips its next ``n`` ticks.
        max_ticks: safety bound; default ``4 * frames`` plus twice the disconnect timeout.
        make_runner: ``(game, seed) -> GameRunner``, to wrap games differently. Default: a
            :class:`GameRunner` with ``always_checksum=True`` (the history has every frame).

    Returns:
        One :class:`PeerResult` per peer, in peer order; ``history`` is truncated to
        ``frames + 1`` entries.
    """
    n = len(actions)
    peers = [tuple(p) for p in (peers if peers is not None else [(h,) for h in range(n)])]
    network = network or SimNetwork(seed)
    make_runner = make_runner or (lambda game, s: GameRunner(game, seed=s, always_checksum=True))
    tick_ms = 1000.0 / fps
    if max_ticks is None:
        max_ticks = 4 * frames + int(2 * disconnect_timeout / tick_ms) + 100

    sessions: list[P2PSession] = []
    runners: list[GameRunner] = []
    for i, handles in enumerate(peers):
        b = (SessionBuilder().with_num_players(n).with_input_delay(input_delay)
             .with_max_rollback(max_rollback).with_default_action(default_action)
             .with_checksum_interval(checksum_interval).with_disconnect_timeout(disconnect_timeout)
             .with_fps(fps).with_event_queue_size(10_000))
        for h in handles:
            b.add_local_player(h)
        for j, other in enumerate(peers):
            if j != i:
                for h in other:
                    b.add_remote_player(h, j)
        sessions.append(b.start_p2p_session(network.transport(i)))
        runners.append(make_runner(make_game(), seed))

    histories: list[dict[int, Any]] = [{} for _ in peers]
    played: list[dict[int, tuple]] = [{} for _ in peers]
    events: list[list[Event]] = [[] for _ in peers]
    skip = [0] * len(peers)
    for tick in range(max_ticks):
        now = tick * tick_ms
        network.advance_to(now)
        for i, (sess, runner) in enumerate(zip(sessions, runners)):
            if network.paused(i, now):
                continue
            sess.poll(now)
            if skip[i] > 0:
                skip[i] -= 1
            else:
                for h in peers[i]:
                    sess.add_local_input(h, _action(actions, h, sess.current_frame, default_action, runner))
                for request, _ in runner.fulfil(sess.advance_frame()):
                    played[i][request.frame] = tuple(request.actions)  # a re-simulation replaces it
            for k, checksum in sess.drain_confirmed():
                histories[i][k] = checksum
            for e in sess.events():
                events[i].append(e)
                if honor_time_sync and isinstance(e, WaitRecommendation):
                    skip[i] = e.skip_frames
        if all(frames in hist for hist in histories):
            break

    return [PeerResult(i, peers[i], [histories[i][k] for k in sorted(histories[i]) if k <= frames],
                       replace(sessions[i].stats), list(sessions[i].desyncs),
                       list(sessions[i].disconnects), events[i], sessions[i],
                       [played[i][k] for k in sorted(played[i]) if k < frames])
            for i in range(len(peers))]


def reference_history(make_game: Callable[[], Any], actions: Sequence[Sequence[Any]], frames: int, *,
                      seed: int = 0, input_delay: int = INPUT_DELAY,
                      default_action: Any = DEFAULT_ACTION) -> list:
    """The checksums of states ``0..frames`` when the same inputs as :func:`run_peers` are
    applied with no network: frame ``f`` uses ``actions[h][f - input_delay]`` (the default
    action before the delay and after the list ends)."""
    runner = GameRunner(make_game(), seed=seed)
    history = [runner.checksum()]
    for f in range(frames):
        i = f - input_delay
        # Through the codec, like every input of a session (numpy values become lists).
        runner.advance([codec.decode(codec.encode(_action(actions, h, i, default_action)))
                        for h in range(len(actions))])
        history.append(runner.checksum())
    return history


def replay_inputs(make_game: Callable[[], Any], inputs: Sequence[Sequence[Any]], *, seed: int = 0) -> list:
    """The checksums of states ``0..len(inputs)`` of a game advanced, with no network, by the
    joint actions ``inputs[f]`` (by handle) at each frame ``f`` — e.g. a peer's
    :attr:`PeerResult.inputs`."""
    runner = GameRunner(make_game(), seed=seed)
    history = [runner.checksum()]
    for actions in inputs:
        runner.advance(list(actions))
        history.append(runner.checksum())
    return history
