"""One participant's game in a browser game with several humans: a rollback peer.

Each human's browser runs one :class:`PeerGame` in its Web Worker (Pyodide); a load-test bot
runs the same class in CPython. The worker owns the clock and the network: it hands every packet
from another peer to :meth:`PeerGame.receive`, sends what :meth:`PeerGame.take_packets` gives
(WebRTC data channel or the server's relay: the bytes are the same), and calls
:meth:`PeerGame.tick` once per frame. Everything else is here, in Python:

- the rollback session (:class:`~mugkit.netcode.p2p.P2PSession`), driven by a
  :class:`~mugkit.netcode.peer_loop.PeerLoop` over a :class:`~mugkit.netcode.game.GameRunner`
  and the step's :class:`~mugkit.runtime.driver.FrameDriver`;
- the human's keys mapped to actions by :func:`~mugkit.runtime.keys.peer_action` (as the
  ``rollback`` check maps them), and on the host (the human peer with the lowest handle) the AI
  players asked through its driver (:func:`~mugkit.runtime.ai.ai_input`);
- the ``frame`` message of the current, possibly predicted, frame (the same
  :class:`~mugkit.runtime.frames.FrameEncoder` as :class:`~mugkit.runtime.browser_game.BrowserGame`);
- the step rows of *confirmed* frames only, of this peer's agents (its human; the AIs on the
  host), with ``keys``, ``filled``, ``predicted``, ``rollback_depth``, ``late_ms`` and
  ``t_client``, and the checksums of confirmed frames for the server to compare across peers;
- events for the page and the server: desyncs, interruptions, disconnects, waits;
- rejoining after a reload: a survivor's :meth:`PeerGame.rejoin_package` carries the inputs
  of the game so far; the reloaded peer re-simulates them (:meth:`PeerGame.rejoin`) and plays on.

Peers are addressed by handle strings ``"h0"``, ``"h1"``, …: handle ``i`` plays the driver's
agent ``i``.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Hashable, Mapping

from ..netcode import codec
from ..netcode.builder import CHECKSUM_INTERVAL, MAX_PLAYERS, SessionBuilder
from ..netcode.events import (DesyncDetected, Disconnected, NetworkInterrupted, NetworkResumed,
                              WaitingForInputs)
from ..netcode.game import GameRunner
from ..netcode.messages import MAGIC, MAX_PACKET_BYTES
from ..netcode.peer_loop import PeerLoop
from .ai import ai_input
from .browser_game import KeyMessage, row_dict
from .frames import FrameEncoder, KeyState
from .keys import KeyMapper, peer_action
from .rows import FrameResult
from .values import to_json

__all__ = ["PeerGame", "PeerGameError", "REJOIN_GRACE_MS", "PACKAGE_MARGIN", "FINISH_LINGER"]

REJOIN_GRACE_MS = 20_000  #: silence before a peer is dropped (its page may reload and rejoin meanwhile)
PACKAGE_MARGIN = 300      #: a rejoin package reaches back this many confirmed frames, at least to its episode's start
FINISH_LINGER = 15        #: ticks played on after the last frame is confirmed everywhere, to carry the last acks
POSITIONS_KEPT = 4096     #: session frame -> (episode, frame) kept for naming frames in events
INBOX_KEPT = 2048          #: packets kept for a game not started yet (more are dropped)
TAG_BYTES = 4             #: every packet starts with a tag of the game id: a packet of another game is dropped
HEADER_BYTES = TAG_BYTES + 1  #: then the sender's life: 0, one more each time it rejoined (late packets of a
                              #: life before are dropped: they could hold inputs its new life replaced)
PACKAGE_MAGIC = b"MKRJ"
PACKAGE_VERSION = 1


class PeerGameError(ValueError):
    """A PeerGame was called wrongly (unknown peer, started twice, a package of another game, …);
    the message says what to fix."""


class _Mailbox:
    """The session's transport: packets in from :meth:`PeerGame.receive`, out to :meth:`PeerGame.take_packets`."""

    def __init__(self, tag: bytes):
        self.tag = tag
        self.header = tag + b"\x00"
        self.inbox: list = []
        self.outbox: list = []

    def send_to(self, peer: Hashable, data: bytes) -> None:
        self.outbox.append([peer, self.header + data])

    def receive_all(self) -> list:
        out, self.inbox = self.inbox, []
        return out

    def forget(self, peer: Hashable) -> int:
        """Drops the packets from ``peer`` still waiting for the session; returns how many."""
        kept = [(sender, data) for sender, data in self.inbox if sender != peer]
        dropped, self.inbox = len(self.inbox) - len(kept), kept
        return dropped


def _handles(me: str, peers: Mapping[str, Any], host: str, agents: tuple) -> dict[str, int]:
    """``{peer: handle}``, checked against the driver's agents."""
    problems = []
    handles = {}
    for addr, agent in peers.items():
        h = int(addr[1:]) if isinstance(addr, str) and addr[:1] == "h" and addr[1:].isdigit() else None
        if h is None or h >= len(agents) or addr != f"h{h}":
            problems.append(f"peer {addr!r}: expected 'h0'..'h{len(agents) - 1}' (the agent's index)")
        elif agents[h] != agent:
            problems.append(f"peer {addr!r} plays {agent!r}, but agent {h} of the game is {agents[h]!r}")
        else:
            handles[addr] = h
    if me not in peers:
        problems.append(f"me={me!r} is not one of the peers {sorted(peers)}")
    if host not in peers:
        problems.append(f"host={host!r} is not one of the peers {sorted(peers)}")
    elif handles and host != min(handles, key=handles.get):
        problems.append(f"host={host!r}: the host is the peer with the lowest handle")
    if len(agents) > MAX_PLAYERS:
        problems.append(f"the game has {len(agents)} agents ({list(agents)}): a rollback game has at most "
                        f"{MAX_PLAYERS} players, humans and AIs together")
    if len(peers) < 2:
        problems.append(f"peers={dict(peers)!r}: a game with several humans has at least two")
    if problems:
        raise PeerGameError("; ".join(problems))
    return handles


class PeerGame:
    """One peer of a browser game with several humans (see the module docstring).

    Args:
        game_id: the server's id of the game (in every message; packets carry a tag of it).
        driver: the step's :class:`~mugkit.runtime.driver.FrameDriver`, not started, built as
            every peer builds it (same step, same seed); it need not render every frame.
        me: this peer's address, ``"h<handle>"``.
        peers: every human peer's address → its agent (this one included).
        host: the peer that plays the AI agents: the one with the lowest handle.
        options: ``{"rejoin_grace_ms": …}``: silence before a peer is dropped (default
            :data:`REJOIN_GRACE_MS`); the netcode settings come from the step's options.
        seed: the game seed (a ``"random"`` AI samples from it).
        rejoin: this peer reloaded mid-game: call :meth:`rejoin`, not :meth:`start`.

    Raises:
        PeerGameError: the peers do not match the driver's agents, or ``me``/``host`` is not a peer.
    """

    def __init__(self, game_id: str, driver: Any, me: str, peers: Mapping[str, Any], *, host: str,
                 options: Mapping[str, Any] | None = None, seed: int = 0, rejoin: bool = False):
        self.game_id = game_id
        self.driver = driver
        self.agents = tuple(driver.agents)
        self.handles = _handles(me, peers, host, self.agents)
        self.me, self.host, self.peers = me, host, dict(peers)
        self.human = peers[me]
        self.seed = seed
        self.rejoining = bool(rejoin)
        self.grace_ms = float((options or {}).get("rejoin_grace_ms", REJOIN_GRACE_MS))
        humans = set(peers.values())
        ais = [h for h, a in enumerate(self.agents) if a not in humans]
        self.local_handles = [self.handles[me]] + (ais if me == host else [])
        self.recorded_agents = {self.agents[h] for h in self.local_handles}
        self.hidden = False
        self.keys = KeyState()
        self.frames = FrameEncoder(game_id, driver)
        self.record_observations = bool(driver.options.record_observations)
        self._mapper = KeyMapper(driver.options)
        self._mail = _Mailbox(zlib.crc32(str(game_id).encode()).to_bytes(TAG_BYTES, "big"))
        self._session: Any = None
        self._loop: PeerLoop | None = None
        self._runner: GameRunner | None = None
        self._pending: tuple | None = None       # (keys, filled) of the human's input being given
        self._sampled: dict[int, tuple] = {}      # session frame -> (keys, filled, t_client, late_ms)
        self._log: dict[int, tuple] = {}          # session frame -> confirmed actions by handle, in a row
        self._log_first = 0                       # the log's first frame
        self._episode_starts: dict[int, int] = {0: -1}  # episode -> session frame that reset into it
        self._positions: dict[int, tuple] = {}    # session frame -> (episode, frame) it produced
        self._rows: list = []
        self._checksums: list = []
        self._events: list = []
        self._desynced: set = set()
        self._gone_reported: dict = {}            # dropped peer -> the frame last reported
        self._final_frame: int | None = None     # the session frame that finished the game
        self._linger = FINISH_LINGER
        self._defaulted = range(0)                # session frames whose local input nobody gave: the default
        self._shown: tuple | None = None
        self.packets_foreign = 0
        self.life = 0                             # how many times this peer rejoined
        self._lives = {addr: 0 for addr in self.handles}  # the life each peer's packets have (at least)

    # -- starting --------------------------------------------------------------------------

    def start(self) -> str:
        """Starts the game at episode 0; returns the first ``frame`` message (JSON)."""
        if self._session is not None or self.rejoining:
            raise PeerGameError("start(): the game is already started" if self._session is not None else
                                "start(): this PeerGame was made to rejoin a running game: call rejoin(package)")
        self._runner = GameRunner(self.driver, agents=self.agents, checksum_episode_ends=True)
        self._begin(self._new_session())
        self._defaulted = range(self._session.input_delay)  # before anyone's first input
        first = self._runner.start_result
        self._record_rows(-1, first, None)
        self._checksums.append([first.episode, first.frame, self._runner.checksum()])
        return self._publish()

    def _new_session(self) -> Any:
        b = (SessionBuilder().with_options(self.driver.options).with_disconnect_timeout(self.grace_ms)
             .with_event_queue_size(1000))
        if self.driver.turn_based:
            # None is "no move yet": a turn-based game waits for its player's press; nobody moves
            # for a player who has not sent one, is hidden, or left.
            b.with_default_action(None)
        for addr, h in self.handles.items():
            if addr != self.me:
                b.add_remote_player(h, addr)
        for h, agent in enumerate(self.agents):
            if h in self.local_handles:
                b.add_local_player(h)
            elif agent not in self.peers.values():
                b.add_remote_player(h, self.host)
        return b.start_p2p_session(self._mail)

    def _begin(self, session: Any) -> None:
        self._session = session
        inputs = {h: self._ai_input(h) for h in self.local_handles[1:]}
        inputs[self.local_handles[0]] = self._human_input
        self._loop = PeerLoop(session, self._runner, inputs)

    def _ai_input(self, h: int) -> Any:
        """AI handle ``h``'s input on the host: asked once per frame it applies to (a tick whose
        frame stalls gives the same answer next tick, instead of asking the driver twice)."""
        source = ai_input(lambda: self.driver, self.agents[h], self.seed)
        asked: list = [None, None]  # [frame the answer applies to, answer]

        def act(i: int, frame: Any) -> Any:
            at = self._session.next_local_frame
            if asked[0] != at:
                asked[:] = [at, source(i, frame)]
            return asked[1]

        return act

    # -- the network -----------------------------------------------------------------------

    def receive(self, sender: str, data: bytes) -> None:
        """A packet from peer ``sender`` (data channel or relay), as :meth:`take_packets` gave it
        there: the game's tag and the sender's life (:data:`HEADER_BYTES`), then the session's
        message. Packets of another game, of an earlier life of a reloaded peer, from an unknown
        sender, or not bytes are dropped and counted (``stats()``); the session drops malformed
        ones itself. Never raises."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        ok = (isinstance(data, bytes) and isinstance(sender, str) and sender in self.handles and sender != self.me
              and HEADER_BYTES <= len(data) <= MAX_PACKET_BYTES + HEADER_BYTES and data[:TAG_BYTES] == self._mail.tag)
        if not ok or not self._life_ok(sender, data) or (self._session is None and len(self._mail.inbox) >= INBOX_KEPT):
            self.packets_foreign += 1
            return
        if data[TAG_BYTES] > self._lives[sender]:  # the first packet of its new life
            self._lives[sender] = data[TAG_BYTES]
            if self._session is not None:
                self._session.restarted(sender)
        self._mail.inbox.append((sender, data[HEADER_BYTES:]))

    def _life_ok(self, sender: str, data: bytes) -> bool:
        """The sender's life is the one expected, or a new one that looks like a real packet (a
        stray byte must not silence a peer)."""
        life, expected = data[TAG_BYTES], self._lives[sender]
        return life == expected or (expected < life <= expected + 3 and data[HEADER_BYTES:HEADER_BYTES + 2] == MAGIC)

    def take_packets(self) -> list:
        """``[[peer, bytes], …]``: the packets to send now (after :meth:`tick` or :meth:`receive`)."""
        out, self._mail.outbox = self._mail.outbox, []
        return out

    # -- input -----------------------------------------------------------------------------

    def key_message(self, seq: int, held: Any, down: Any, up: Any, t: float | None) -> None:
        """A ``keys`` message from the page (older ones than the newest applied are ignored)."""
        self.keys.apply(KeyMessage(seq, held, down, up, t))

    def set_hidden(self, hidden: bool) -> None:
        """While hidden (a background tab), this peer's human plays the default action, recorded
        ``filled``; the game keeps ticking."""
        self.hidden = bool(hidden)

    def _human_input(self, i: int, frame: Any) -> Any:
        if self.hidden:
            self._pending = ((), True)
            return self._session.default_action
        action, shown, filled = peer_action(self._mapper, self.driver.options, self.human, self.keys.peek(), frame,
                                            self.driver.turn_based)
        self._pending = (shown, filled)
        return action

    # -- playing ---------------------------------------------------------------------------

    def tick(self, now_ms: float, t_client: float | None = None, late_ms: float | None = None) -> str | None:
        """One frame: network in and out, this peer's inputs, advance (rolling back when a
        prediction was wrong). ``now_ms``: the worker's clock; ``t_client``: the browser's clock
        (seconds since the epoch) and ``late_ms``: how late the tick started, both recorded in
        the rows of the frame these inputs apply to.

        Returns:
            The ``frame`` message (JSON) of the current, possibly predicted frame, or None when
            nothing new was simulated (waiting for a peer, skipping to let one catch up, done).
        """
        if self._loop is None:
            raise PeerGameError("tick() before start() (or rejoin())")
        s = self._session
        before, applied = s.current_frame, s.next_local_frame
        mapper_state = self._mapper.get_state()
        result = self._loop.tick(now_ms)
        if s.current_frame > before:
            self.keys.take()
            if self._pending is not None:
                self._sampled[applied] = (*self._pending, t_client, late_ms)
        else:  # the session discarded the inputs: they are given again next tick
            self._mapper.set_state(mapper_state)
        self._pending = None
        self._record(result.confirmed)
        self._translate(result.events)
        self._check_finished()
        if not result.advanced:
            return None
        return self._publish(force=len(result.advanced) > 1)

    def _publish(self, force: bool = True) -> str | None:
        """The ``frame`` message of where the driver stands (None if sent already, unless ``force``:
        a rollback may have changed it)."""
        d = self.driver
        shown = (d.episode, d.frame.index)
        if shown == self._shown and not force:
            return None
        self._shown = shown
        result = FrameResult(d.episode, d.frame.index, [], {}, d.render(), bool(d.frame.done), bool(d.finished))
        return json.dumps(self.frames.encode(result))

    # -- records ---------------------------------------------------------------------------

    def _record(self, confirmed: Any) -> None:
        for c, result in self._runner.confirmed_results(confirmed):
            self._log[c.frame] = c.actions
            if result is None:
                self._sampled.pop(c.frame, None)
                continue
            if result.finished and self._final_frame is None:
                self._final_frame = c.frame
            self._record_rows(c.frame, result, c)
            if c.checksum is not None:
                self._checksums.append([result.episode, result.frame, c.checksum])
        self._prune_log()

    def _record_rows(self, frame: int, result: Any, c: Any, replayed: bool = False) -> None:
        """The rows of this peer's agents in session frame ``frame``'s result (``c``: its
        ConfirmedFrame, None for the game's start or a re-simulation after a rejoin, whose
        ``predicted`` and ``rollback_depth`` are unknown: None)."""
        self._positions[frame] = (result.episode, result.frame)
        if result.frame == 0 and frame >= 0:
            self._episode_starts[result.episode] = frame
        sampled = self._sampled.pop(frame, None)
        for row in result.rows:
            if row.agent not in self.recorded_agents:
                continue
            out = row_dict(row, self.record_observations)
            if row.agent == self.human and row.action is not None:
                if sampled is not None:
                    out["keys"], out["filled"] = list(sampled[0]), bool(sampled[1])
                elif frame in self._defaulted:
                    out["keys"], out["filled"] = [], True  # the default action, as the session filled it in
            out["t_client"], out["late_ms"] = (sampled[2], sampled[3]) if sampled is not None else (None, None)
            out["predicted"] = None if replayed else bool(c is not None and c.predicted)
            out["rollback_depth"] = None if replayed else int(c.rollback_depth if c is not None else 0)
            self._rows.append(out)

    def _prune_log(self) -> None:
        if len(self._positions) > POSITIONS_KEPT:
            for f in sorted(self._positions)[:len(self._positions) - POSITIONS_KEPT]:
                del self._positions[f]
        start = self._package_start()[1]
        while self._log_first <= start:  # confirmed inputs no package will reach back to
            self._log.pop(self._log_first, None)
            self._log_first += 1

    def take_rows(self) -> str | None:
        """The confirmed rows and checksums since the last call, as tagged JSON
        (:mod:`mugkit.runtime.values`): ``{"rows": [row dicts], "checksums": [[episode, frame,
        checksum], …]}``, or None when there is nothing new. Rows are this peer's agents' (its
        human's; the AIs' too on the host), of confirmed frames only, each once. A checksum (of
        the state after the frame) comes at least every ``CHECKSUM_INTERVAL`` confirmed frames
        and at each episode's last frame."""
        if not self._rows and not self._checksums:
            return None
        out = {"rows": self._rows, "checksums": self._checksums}
        self._rows, self._checksums = [], []
        return to_json(out, "peer rows")

    # -- events ----------------------------------------------------------------------------

    def _translate(self, events: Any) -> None:
        for e in events:
            if isinstance(e, DesyncDetected) and e.peer not in self._desynced:
                self._desynced.add(e.peer)
                episode, frame = self._positions.get(e.frame - 1, (None, None))
                self._events.append({"kind": "desync", "episode": episode, "frame": frame, "ours": e.local_checksum,
                                     "theirs": e.remote_checksum, "peer": e.peer, "session_frame": e.frame - 1})
            elif isinstance(e, Disconnected):
                self._gone_reported[e.peer] = None
            elif isinstance(e, NetworkInterrupted):
                self._events.append({"kind": "interrupted", "peer": e.peer})
            elif isinstance(e, NetworkResumed):
                self._events.append({"kind": "resumed", "peer": e.peer})
            elif isinstance(e, WaitingForInputs):
                self._events.append({"kind": "waiting", "peers": self._session.waiting_on()})
        for peer, reported in self._gone_reported.items():
            frame = self._session.disconnect_frame(self.handles[peer])
            if frame != reported:  # new, or moved earlier: the survivors settle on the lowest frame
                self._gone_reported[peer] = frame
                self._events.append({"kind": "disconnected", "peer": peer, "frame": frame,
                                     "position": list(self._positions.get(frame - 1, ())) or None})

    def take_events(self) -> str | None:
        """The events since the last call, as a JSON list, or None: ``{"kind": "desync",
        "episode", "frame", "ours", "theirs", "peer", "session_frame"}`` (the first confirmed
        state whose checksums differ, once per peer), ``{"kind": "disconnected", "peer", "frame",
        "position"}`` (its inputs are the default action from session frame ``frame``; a later
        event for the same peer moves that frame earlier, as the survivors settle on the lowest),
        ``{"kind": "interrupted", "peer"}``, ``{"kind": "resumed", "peer"}``, ``{"kind":
        "waiting", "peers": [...]}`` (the game stalls for these peers)."""
        if not self._events:
            return None
        out, self._events = self._events, []
        return json.dumps(out, default=str)

    def stats(self) -> dict:
        """Counters: rollbacks, max_rollback_depth, frames_resimulated, frames_advanced,
        frames_stalled, packets_sent/received/dropped (dropped: malformed, oversized, of
        another game), and ``rtt_ms`` and ``state`` per peer."""
        st = self._session.stats if self._session is not None else None
        out = {k: getattr(st, k, 0) for k in ("rollbacks", "max_rollback_depth", "frames_resimulated",
                                               "frames_advanced", "frames_stalled", "packets_sent",
                                               "packets_received", "packets_dropped")}
        out["packets_dropped"] += self.packets_foreign
        states = self._session.peer_states() if self._session is not None else {}
        out["rtt_ms"] = {p: s["rtt_ms"] for p, s in states.items() if p in self.handles}
        out["peers"] = {p: ("gone" if s["disconnected"] else "interrupted" if s["interrupted"] else
                            "connected" if s["synchronized"] else "connecting")
                        for p, s in states.items() if p in self.handles}
        return out

    def drop_peer(self, peer: str) -> None:
        """The server says ``peer`` is gone for good: its player plays the default action from the
        frame after its last input held here, on every survivor alike (a ``disconnected`` event)."""
        if peer not in self.handles or peer == self.me:
            raise PeerGameError(f"drop_peer({peer!r}): not another peer of this game ({sorted(self.handles)})")
        if self._session is None:
            raise PeerGameError("drop_peer() before start() (or rejoin())")
        self._session.drop_peer(peer)
        self._translate(self._session.events())

    # -- the end ---------------------------------------------------------------------------

    def _check_finished(self) -> None:
        if self._final_frame is not None and self._linger > 0 and self._session.all_hold(self._final_frame):
            self._linger -= 1

    @property
    def finished(self) -> bool:
        """Every episode is over, its last frame is confirmed (its rows are out) and every peer
        holds the inputs to confirm it too."""
        return self._final_frame is not None and self._linger <= 0

    @property
    def position(self) -> list:
        """``[episode, frame]`` where the game stands (possibly predicted)."""
        return [self.driver.episode, self.driver.frame.index if self.driver.frame is not None else 0]

    # -- rejoining -------------------------------------------------------------------------

    def _package_start(self) -> tuple[int, int]:
        """``(episode, session frame that reset into it)`` where a rejoin package starts: the
        start of the episode :data:`PACKAGE_MARGIN` confirmed frames back."""
        target = self._log_first + len(self._log) - 1 - PACKAGE_MARGIN  # the log holds frames in a row
        return max(((e, f) for e, f in self._episode_starts.items() if f <= max(target, -1)), key=lambda x: x[1])

    def _peer_handles(self, peer: str) -> list[int]:
        """The handles ``peer`` plays: its human's, and the AIs' if it is the host."""
        humans = set(self.peers.values())
        ais = [h for h, a in enumerate(self.agents) if a not in humans]
        return [self.handles[peer]] + (ais if peer == self.host else [])

    def rejoin_package(self, peer: str) -> bytes:
        """What ``peer``, reloaded, needs to rejoin (bytes, for the server to pass on): the
        confirmed inputs from the start of an episode at least :data:`PACKAGE_MARGIN` frames
        back, every input held beyond, and how far this peer holds ``peer``'s own inputs."""
        if peer not in self.handles or peer == self.me:
            raise PeerGameError(f"rejoin_package({peer!r}): not another peer of this game ({sorted(self.handles)})")
        if self._session is None:
            raise PeerGameError("rejoin_package() before start() (or rejoin())")
        gone = self._gone()
        if peer in gone:
            raise PeerGameError(f"rejoin_package({peer!r}): that peer was dropped at frame {gone[peer]}; a dropped "
                                "peer cannot rejoin (its player plays the default action)")
        self._lives[peer] += 1  # nothing more from its earlier life: this package is final
        # Nor what of it came in since the last tick: the session has not read those packets,
        # so the package does not hold their inputs and the new life plays other ones there.
        self.packets_foreign += self._mail.forget(peer)
        episode, reset = self._package_start()
        last = self._log_first + len(self._log) - 1
        payload = {"v": PACKAGE_VERSION, "game": str(self.game_id), "from": self.me, "for": peer, "episode": episode,
                   "start": reset + 1, "confirmed": tuple(self._log[f] for f in range(reset + 1, last + 1)),
                   "held": self._session.held_inputs(last),
                   "holds": min(self._session.held_upto(h) for h in self._peer_handles(peer)), "gone": gone,
                   "lives": {**self._lives, self.me: self.life}}
        return PACKAGE_MAGIC + codec.encode(payload)

    def _gone(self) -> dict:
        """``{peer: frame}``: the peers dropped, and the frame from which their inputs are the default."""
        return {addr: self._session.disconnect_frame(h) for addr, h in self.handles.items()
                if addr != self.me and self._session.disconnect_frame(h) is not None}

    def rejoin(self, package: Any) -> str:
        """Rejoins the running game after a reload (this PeerGame was made with ``rejoin=True``
        and not started) from the survivors' :meth:`rejoin_package`: a list of one per peer
        still in the game (with two players, the one package may be passed alone); their inputs
        are merged. Re-simulates the game from the package's episode start (recording its rows
        again: ``keys`` None, ``predicted`` None; the server keeps the copies it has), starts a
        session at the first frame whose inputs are not all known, and returns the ``frame``
        message (JSON) of where the game stands.

        Raises:
            PeerGameError: not made to rejoin, already running, a peer's package missing, or a
                package that is not one (wrong game, meant for another peer, malformed): the
                message says which.
        """
        if not self.rejoining or self._session is not None:
            raise PeerGameError("rejoin(): make the PeerGame with rejoin=True and do not start() it")
        packages = list(package) if isinstance(package, (list, tuple)) else [package]
        if not packages:
            raise PeerGameError("rejoin(): no package: pass the package of at least one survivor")
        got = [self._read_package(p) for p in packages]
        self._check_complete(got)
        base = min(got, key=lambda p: p["start"])
        known = self._known_inputs(got)
        start = end = base["start"]
        while all(end in known[h] for h in known):
            end += 1
        self._runner = GameRunner(self.driver, agents=self.agents, checksum_episode_ends=True,
                                  start_episode=base["episode"], start_frame=start)
        self._log_first = start
        self._resimulate(start, end, known)
        self._resume(got, start, end, known)
        self.rejoining = False
        return self._publish()

    def _resume(self, packages: list, start: int, end: int, known: dict) -> None:
        """Starts the session at ``end`` with what the packages hold, and takes this peer's new life."""
        # A survivor without a package here gets every local input again, from the package's start.
        acked = {addr: start - 1 for addr in self.handles if addr != self.me}
        acked.update({p["from"]: max(p["holds"], start - 1) for p in packages})
        low = min([end - 1, *(a + 1 for a in acked.values())])  # end - 1: what predictions repeat
        gone: dict = {}
        for p in packages:  # the lowest frame any survivor reports, as sessions settle on it
            for addr, at in p["gone"].items():
                gone[addr] = min(at, gone.get(addr, at))
        session = self._new_session()
        mine = self.handles[self.me]
        sent = start - 1  # the last frame of this peer's inputs its earlier life sent, as far as known
        while sent + 1 in known[mine]:
            sent += 1
        session.resume_at(end, {h: {f: a for f, a in by.items() if f >= low} for h, by in known.items()}, acked, gone)
        self._defaulted = range(sent + 1, session.held_upto(mine) + 1)  # nobody holds them: the default
        self._begin(session)
        for p in packages:
            for addr, life in p["lives"].items():
                self._lives[addr] = max(self._lives[addr], life)
        self.life = self._lives[self.me]
        self._lives[self.me] = 0
        self._mail.header = self._mail.tag + bytes([self.life % 256])

    def _check_complete(self, packages: list) -> None:
        """Every peer still in the game sent a package: each may hold inputs of this peer's
        earlier life that no other has, and the new life must not send other ones for them."""
        gone = {a for p in packages for a in p["gone"]}
        missing = sorted(set(self.handles) - {self.me} - gone - {p["from"] for p in packages})
        if missing:
            raise PeerGameError(f"rejoin(): no package from {missing}: pass the rejoin_package() of every peer still "
                                f"in the game (one from each of {sorted(set(self.handles) - {self.me} - gone)})")

    def _known_inputs(self, packages: list) -> dict[int, dict[int, Any]]:
        """Every input the packages hold, ``{handle: {frame: action}}`` (inputs are final once
        sent: where packages overlap they agree)."""
        known: dict[int, dict[int, Any]] = {h: {} for h in range(len(self.agents))}
        for p in packages:
            for i, actions in enumerate(p["confirmed"]):
                for h, a in enumerate(actions):
                    known[h].setdefault(p["start"] + i, a)
            for h, by_frame in p["held"].items():
                for f, a in by_frame.items():
                    known[h].setdefault(f, a)
        return known

    def _resimulate(self, start: int, end: int, known: dict) -> None:
        """Plays session frames ``start .. end - 1`` with their known inputs, recording rows and
        checksums as if confirmed (no hashing but where the record wants one)."""
        first = self._runner.start_result
        self._record_rows(start - 1, first, None, replayed=True)
        for f in range(start, end):
            actions = tuple(known[h][f] for h in range(len(self.agents)))
            self._log[f] = actions
            result = self._runner.replay(actions)
            if result is None:
                continue
            if result.finished and self._final_frame is None:
                self._final_frame = f
            self._record_rows(f, result, None, replayed=True)
            if (f + 1) % CHECKSUM_INTERVAL == 0 or result.episode_over:
                self._checksums.append([result.episode, result.frame, self._runner.checksum()])
        self._prune_log()

    def _read_package(self, data: Any) -> dict:
        """A rejoin package, checked."""
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, bytes) or data[:len(PACKAGE_MAGIC)] != PACKAGE_MAGIC:
            raise PeerGameError(f"not a rejoin package ({type(data).__name__} starting {bytes(data[:4]) if isinstance(data, bytes) else ''!r}): "
                                "pass the bytes a survivor's rejoin_package() made")
        try:
            p = codec.decode(data[len(PACKAGE_MAGIC):])
        except codec.CodecError as e:
            raise PeerGameError(f"a malformed rejoin package: {e}") from None
        if type(p) is not dict or p.get("v") != PACKAGE_VERSION:
            raise PeerGameError(f"a rejoin package of another version (expected {PACKAGE_VERSION})")
        if p.get("game") != str(self.game_id):
            raise PeerGameError(f"a rejoin package of game {p.get('game')!r}, this is game {self.game_id!r}")
        if p.get("for") != self.me or p.get("from") not in self.handles or p.get("from") == self.me:
            raise PeerGameError(f"a rejoin package from {p.get('from')!r} for {p.get('for')!r}: this is {self.me!r}, "
                                f"peers {sorted(self.handles)}")
        self._check_package(p)
        return p

    def _check_package(self, p: dict) -> None:
        n = len(self.agents)
        ok = (type(p.get("episode")) is int and 0 <= p["episode"] < self.driver.options.episodes
              and type(p.get("start")) is int and p["start"] >= 0 and type(p.get("holds")) is int
              and type(p.get("confirmed")) is tuple
              and all(type(a) is tuple and len(a) == n for a in p["confirmed"])
              and type(p.get("held")) is dict and type(p.get("gone")) is dict
              and all(a in self.handles and a != self.me and type(f) is int for a, f in p["gone"].items())
              and type(p.get("lives")) is dict
              and all(a in self.handles and type(n) is int and 0 <= n < 256 for a, n in p["lives"].items())
              and all(type(h) is int and 0 <= h < n and type(b) is dict and all(type(f) is int for f in b)
                      for h, b in p["held"].items()))
        if not ok:
            raise PeerGameError("a malformed rejoin package: a field is missing or of the wrong type")
