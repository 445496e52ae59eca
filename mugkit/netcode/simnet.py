"""A simulated network in one process, and a driver that runs 2–4 peers over it.

:class:`SimNetwork` has a virtual clock (milliseconds, advanced by the caller) and, per
directed link, latency, jitter, loss and reordering; a peer can be paused (a hidden tab, a
frozen laptop): while paused it neither sends nor receives; or closed (a closed tab): its
connections close for good, and the others' transports say so. All randomness comes from one
seeded ``random.Random``, so a run is reproducible from its seed.

:func:`run_peers` runs one :class:`~mugkit.netcode.p2p.P2PSession` and one game per peer on
that clock and returns each peer's confirmed history; :func:`reference_history` is the same
game with the same inputs and no network, which every peer's history must equal.
"""

from __future__ import annotations

import copy
import heapq
import math
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Hashable, Sequence

from . import codec
from .builder import (CHECKSUM_INTERVAL, DEFAULT_ACTION, DISCONNECT_TIMEOUT_MS, FPS, INPUT_DELAY,
                      MAX_ROLLBACK, SessionBuilder)
from .game import GameRunner
from .p2p import P2PSession, SessionStats
from .peer_loop import PeerLoop

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
        self._endpoints: list[Hashable] = []            # peers with a transport, in order
        self._closes: dict[Hashable, float] = {}        # peer -> when its connections close
        self._reported: set[tuple[Hashable, Hashable]] = set()  # (observer, closed peer) told

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

    def close(self, peer: Hashable, at_ms: float) -> None:
        """From ``at_ms`` on, every connection of ``peer`` is closed, as when its tab closes:
        packets to or from it are lost, and each other peer's transport reports it once in
        :meth:`SimTransport.closed_peers` (``peer``'s own transport reports all the others)."""
        self._closes[peer] = min(float(at_ms), self._closes.get(peer, math.inf))

    def closed(self, peer: Hashable, at: float | None = None) -> bool:
        """True if ``peer``'s connections are closed at ``at`` (default: now)."""
        t = self.now if at is None else at
        return self._closes.get(peer, math.inf) <= t

    def transport(self, peer: Hashable) -> "SimTransport":
        """The transport of ``peer`` (a :class:`~mugkit.netcode.transport.ClosingTransport`)."""
        self._inboxes.setdefault(peer, [])
        if peer not in self._endpoints:
            self._endpoints.append(peer)
        return SimTransport(self, peer)

    def advance_to(self, now_ms: float) -> None:
        """Moves the clock to ``now_ms`` and delivers every packet due by then."""
        self.now = max(self.now, float(now_ms))
        while self._in_flight and self._in_flight[0][0] <= self.now:
            arrival, _, src, dst, data = heapq.heappop(self._in_flight)
            if self.paused(dst, arrival) or self.closed(src, arrival) or self.closed(dst, arrival):
                self.lost += 1
                continue
            self._inboxes.setdefault(dst, []).append((src, data))
            self.delivered += 1

    def _closed_for(self, observer: Hashable) -> list[Hashable]:
        """The peers whose connection with ``observer`` is closed by now and was not reported
        to it yet."""
        out = []
        for other in self._endpoints:
            if other == observer or (observer, other) in self._reported:
                continue
            if self.closed(other) or self.closed(observer):
                self._reported.add((observer, other))
                out.append(other)
        return out

    def _send(self, src: Hashable, dst: Hashable, data: bytes) -> None:
        self.sent += 1
        link = self._links.get((src, dst), self.default_link)
        # Closed links are checked before the loss draw, so a run without closes draws the
        # same random numbers as before closes existed.
        if self.paused(src) or self.closed(src) or self.closed(dst) or self.rng.random() < link.loss:
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

    def closed_peers(self) -> list[Hashable]:
        """Peers whose connection with this one closed (:meth:`SimNetwork.close`) since the
        last call."""
        return self.network._closed_for(self.peer)


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
        confirmed: every :class:`~mugkit.netcode.confirmed.ConfirmedFrame` the session
            confirmed, in frame order (possibly past ``frames``).
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
    confirmed: list = field(default_factory=list)


def _action(actions: Sequence[Any], h: int, i: int, default: Any) -> Any:
    """Handle ``h``'s action at frame ``i`` of a run without network."""
    if callable(actions[h]):  # an input source, such as an AI on its host: decides from the game it sees now
        raise ValueError(f"handle {h} has an input source, which only a running peer can ask: replay "
                         f"the inputs the peers agreed on with replay_inputs()")
    return _source(actions, h, default)(i, None)


def _source(actions: Sequence[Any], h: int, default: Any) -> Callable[[int, Any], Any]:
    """Handle ``h``'s input source for a :class:`PeerLoop`: as given, or the list's entries."""
    seq = actions[h]
    if callable(seq):
        return seq
    return lambda i, frame: seq[i] if 0 <= i < len(seq) else default


def run_peers(make_game: Callable[[], Any], actions: Sequence[Sequence[Any]], frames: int, *,
              peers: Sequence[Sequence[int]] | None = None, network: SimNetwork | None = None,
              seed: int = 0, input_delay: int = INPUT_DELAY, max_rollback: int = MAX_ROLLBACK,
              default_action: Any = DEFAULT_ACTION, checksum_interval: int = CHECKSUM_INTERVAL,
              disconnect_timeout: float = DISCONNECT_TIMEOUT_MS, fps: float = FPS,
              honor_time_sync: bool = True, max_ticks: int | None = None,
              make_runner: Callable[[Any, int], GameRunner] | None = None) -> list[PeerResult]:
    """Runs one session and one game per peer over ``network`` until every peer has confirmed
    ``frames`` frames (or ``max_ticks`` ticks of ``1000/fps`` ms passed); each peer is a
    :class:`~mugkit.netcode.peer_loop.PeerLoop`.

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
            also stop the paused peer's game loop, and a closed peer's loop stops for good.
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
    settings = (SessionBuilder().with_num_players(n).with_input_delay(input_delay)
                .with_max_rollback(max_rollback).with_default_action(default_action)
                .with_checksum_interval(checksum_interval).with_disconnect_timeout(disconnect_timeout)
                .with_fps(fps).with_event_queue_size(10_000))
    loops = [PeerLoop(_start_session(settings, peers, i, network.transport(i)), make_runner(make_game(), seed),
                      {h: _source(actions, h, default_action) for h in handles}, honor_time_sync=honor_time_sync)
             for i, handles in enumerate(peers)]
    results = [PeerResult(i, handles, [], loop.session.stats, [], [], session=loop.session)
               for i, (handles, loop) in enumerate(zip(peers, loops))]
    histories: list[dict[int, Any]] = [{} for _ in peers]
    played: list[dict[int, tuple]] = [{} for _ in peers]
    for tick in range(max_ticks):
        now = tick * tick_ms
        network.advance_to(now)
        for i, loop in enumerate(loops):
            if network.paused(i, now) or network.closed(i, now):
                continue
            done = loop.tick(now)
            for request, _ in done.advanced:
                played[i][request.frame] = tuple(request.actions)  # a re-simulation replaces it
            histories[i].update(loop.session.drain_confirmed())
            results[i].events.extend(done.events)
            results[i].confirmed.extend(done.confirmed)
        if all(frames in hist for hist in histories):
            break

    for r, loop, hist, used in zip(results, loops, histories, played):
        r.history = [hist[k] for k in sorted(hist) if k <= frames]
        r.inputs = [used[k] for k in sorted(used) if k < frames]
        r.stats = replace(loop.session.stats)
        r.desyncs, r.disconnects = list(loop.session.desyncs), list(loop.session.disconnects)
    return results


def _start_session(settings: SessionBuilder, peers: list[tuple], i: int, transport: SimTransport) -> P2PSession:
    """Peer ``i``'s session: its handles local, every other peer's remote."""
    b = copy.deepcopy(settings)
    for h in peers[i]:
        b.add_local_player(h)
    for j, other in enumerate(peers):
        if j != i:
            for h in other:
                b.add_remote_player(h, j)
    return b.start_p2p_session(transport)


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
