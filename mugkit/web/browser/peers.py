"""Browser games with two to four humans (``runtime="browser"``): what the server does for them.

Each human plays in their own browser, which runs one peer of the rollback session
(:class:`mugkit.runtime.peer_game.PeerGame`); the peers exchange their inputs over WebRTC data
channels, or through this server (``relay``) when a channel does not open. The server never plays
these games. It groups the humans (the step's waitroom), tells each page who it is (the ``peer``
block of the ``game`` view), passes signalling and relayed packets between the members of a game,
starts them together (``peer_ready`` → ``peer_go``), stores each peer's confirmed rows, compares
the peers' checksums, records their paths, round-trip times and notices, and ends the game:
``completed`` when every peer said ``game_over`` and every agent's rows are stored; ``desync``,
``not_ready``, ``hidden``, ``partner_left`` otherwise. Protocol: mugkit/web/protocol.py.

Peers are named by **handles**, ``"h<i>"`` with ``i`` the index of their agent in the env's
agents (the order the rollback session uses; the step's ``players`` order when the env cannot be
built here). The **host** (the lowest handle) also plays, and stores, the AI agents.

Rows: each peer sends the rows of *its* agents only (its human; the AI agents too from the host),
checked as a single-player browser game's rows are (:func:`~mugkit.web.browser.games.parse_row`),
and continuing each agent's stored rows frame by frame; rows at or before an agent's newest stored
frame are dropped, so a batch sent twice (a lost acknowledgement, a page reloaded and rejoined) is
stored once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ...netcode.messages import MAX_PACKET_BYTES
from ...runtime.values import DecodeRefused
from ..limits.decoding import decode
from .games import MAX_ROWS_TEXT, RowError, parse_row

__all__ = ["PeerGames", "PeerGroup", "Member", "PeerError", "handle_of", "env_facts", "PATHS", "SIGNAL_BYTES",
           "PACKET_BYTES", "PACKAGE_BYTES"]

log = logging.getLogger("mugkit.peers")

#: How a peer reaches another: a direct data channel, one through a TURN server, or this server.
PATHS = ("direct", "turn", "relay")
#: Largest ``signal`` data (an SDP offer or answer, or one ICE candidate), as JSON.
SIGNAL_BYTES = 16 * 1024
#: Largest relayed packet: a session packet (mugkit.netcode.messages.MAX_PACKET_BYTES, one data
#: channel message) and PeerGame's tag of the game in front, with room to spare.
PACKET_BYTES = MAX_PACKET_BYTES + 64
#: Largest rejoin package (the inputs of an episode so far; engine.io closes at 1 MB).
PACKAGE_BYTES = 768 * 1024
#: Milliseconds a page waits for a data channel to open before it relays through the server.
OPEN_TIMEOUT_MS = 5000
#: Most checksums and events in one message.
MAX_CHECKSUMS = 4096
MAX_EVENTS = 64
#: ``peer_status`` / ``peer_event`` messages stored per peer and game (each is an event row).
PEER_EVENTS = 500
#: Events stored per peer and game at most, those that are always stored included (the ready gate,
#: hidden tabs, desyncs, rejoins): a page repeating one of those must not fill the database.
PEER_EVENTS_HARD = 2 * PEER_EVENTS
#: Event kinds a page reports (:meth:`mugkit.runtime.peer_game.PeerGame.take_events`).
EVENT_KINDS = ("desync", "disconnected", "interrupted", "resumed", "waiting")


class PeerError(ValueError):
    """A peer's message that does not follow the protocol; the message says what is wrong."""


def handle_of(agents: list, agent: Any) -> str:
    """The handle of ``agent``: ``"h<i>"``, ``i`` its index in ``agents`` (the env's agents)."""
    return f"h{list(agents).index(agent)}"


@dataclass
class Member:
    """One human of a browser game with several."""

    handle: str
    participant: str
    agent: Any
    paths: dict | None = None       # its peer_ready: how it reaches each other peer (None: not ready)
    over: bool = False              # it said game_over
    hidden_since: float | None = None
    away: bool = False              # no connection left (its grace clock runs)
    rejoining: set = field(default_factory=set)   # survivors asked for a package, not yet answered
    reloaded: bool = False          # its page got the view after the start: it may ask to rejoin
    page: str | None = None         # the connection of the page now playing (its peer_ready or rejoin)
    events: int = 0                 # peer_status / peer_event messages stored
    readies: set = field(default_factory=set)     # (screen, episode) of its `ready` messages
    rtt_ms: dict = field(default_factory=dict)    # its latest round-trip times to the others


@dataclass
class PeerGroup:
    """What the server keeps of one browser game with several humans."""

    game_id: str
    experiment: str
    step: Any
    repetition: int
    seed: int
    members: dict                   # handle -> Member, in handle order
    host: str
    go: bool = False                # every peer was ready: the game plays
    last: dict = field(default_factory=dict)     # agent -> (episode, frame) of its newest stored row
    ended: dict = field(default_factory=dict)    # agent -> its newest stored row ends its episode
    episode_ends: set = field(default_factory=set)  # (episode, frame) where a stored row ended an episode
    checksums: dict = field(default_factory=dict)   # (episode, frame) -> {handle: checksum}, until all agree
    agreed: int = 0                 # checksums every peer sent and all agreed on
    desync: dict | None = None
    spaces: dict | None = None
    stored_text: int = 0
    ending: bool = False
    who: list = field(default_factory=list)      # mugkit.games.Participant of each human, in the step's order
    timers: dict = field(default_factory=dict)   # name -> asyncio.Task (ready gate, away)
    excluded: str | None = None     # the participant whose exclusion ended the game (the flow ends theirs)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def member_of(self, participant: str) -> Member | None:
        return next((m for m in self.members.values() if m.participant == participant), None)

    def agents_of(self, handle: str) -> set:
        """The agents whose rows ``handle`` stores: its human, and the AI agents if it is the host."""
        mine = {self.members[handle].agent}
        if handle == self.host:
            mine |= {a for a in self.step.players if a not in self.step.humans}
        return mine

    def agents_done(self, agents: Any = None) -> bool:
        """Whether the rows of the last episode's end are stored for ``agents`` (default: all)."""
        last_episode = self.step.options.episodes - 1
        for agent in (self.step.players if agents is None else agents):
            here = self.last.get(agent)
            if here is None or here[0] != last_episode or not (self.ended.get(agent) or here in self.episode_ends):
                return False
        return True


class PeerGames:
    """The browser games with several humans of a study.

    Args:
        storage: the study's storage.
        emit: ``(event, data, room=...) -> awaitable``: the socket layer's emit.
        ice: ``participant id -> {"iceServers", "iceTransportPolicy"}`` (mugkit.web.ice).
        settings: the single-player browser games (:class:`~mugkit.web.browser.games.BrowserGames`),
            whose limits these games share: ``last_frame``, ``game_bytes``, and ``peer_ready_seconds``,
            ``hidden_seconds``, ``peer_relay`` when set (``mugkit serve --limit``).
    """

    def __init__(self, storage: Any, emit: Callable[..., Awaitable], ice: Callable[[str], dict], settings: Any):
        self.storage, self.emit, self.ice, self.settings = storage, emit, ice, settings
        self.groups: dict[str, PeerGroup] = {}
        #: Called when a game ends: ``(group, outcome, reason, summary, detail) -> awaitable`` (the
        #: lobby stores the end and moves the members on).
        self.on_end: Callable[..., Awaitable] | None = None
        #: ``(game id, participant id, agent, new rows) -> None``: a peer's stored batch (the monitor).
        self.on_rows: Callable[..., None] | None = None
        #: ``(game id, participant id, hidden) -> None``: a peer's tab hidden or shown. The clock of
        #: hidden tabs is the monitor's (mugkit/web/monitor.py), which ends the game past
        #: ``hidden_seconds`` (or excludes, with the step's ``monitor=``).
        self.on_hidden: Callable[..., None] | None = None

    @property
    def ready_seconds(self) -> float:
        return getattr(self.settings, "peer_ready_seconds", 60.0)

    @property
    def hidden_seconds(self) -> float:
        return getattr(self.settings, "hidden_seconds", 60.0)

    @property
    def game_bytes(self) -> int:
        return self.settings.game_bytes

    @property
    def relay_mode(self) -> str:
        """``"force"``: pages always relay through the server (tests, networks that block WebRTC)."""
        return getattr(self.settings, "peer_relay", "auto")

    def last_frame(self, step: Any) -> int:
        return self.settings.last_frame(step)

    # -- starting --------------------------------------------------------------------------

    def create(self, game_id: str, experiment: str, step: Any, rep: int, seed: int,
               humans: list[tuple[Any, str]], who: list, built: tuple | None) -> PeerGroup:
        """A new game of ``humans`` (``(agent, participant id)``; ``who``: their
        :class:`mugkit.games.Participant`, in the same order), stored by the caller; its ready gate
        starts now. ``built``: the env's agents and action spaces (:func:`env_facts`), or None when
        the env does not build on the server."""
        agents = built[0] if built is not None else list(step.players)
        members = {handle_of(agents, agent): Member(handle_of(agents, agent), pid, agent) for agent, pid in humans}
        members = dict(sorted(members.items(), key=lambda kv: int(kv[0][1:])))
        group = PeerGroup(game_id, experiment, step, rep, seed, members, host=next(iter(members)), who=list(who),
                          spaces=built[1] if built is not None else {})
        self.groups[game_id] = group
        self._timer(group, "ready", self._ready_timeout(group))
        return group

    def taken_over(self, group: PeerGroup, stored: list[tuple], grace: float) -> None:
        """``group`` (just made by :meth:`create`) is a game taken over from a server process that
        died (mugkit/web/takeover.py). ``stored``: ``(episode, frame, agent, done)`` of its stored
        rows, in order. A game with rows was playing: no ready gate again. Every member counts as
        away until its page's next message or connection, within ``grace`` seconds."""
        for episode, frame, agent, done in stored:
            group.last[agent], group.ended[agent] = (episode, frame), done
            if done:
                group.episode_ends.add((episode, frame))
        if stored:
            group.go = True
            self._cancel(group, "ready")
            for member in group.members.values():
                member.paths = member.paths or {}
        for member in group.members.values():
            self.away(group, member, grace)

    def view(self, group: PeerGroup, participant: str, grace: float) -> dict:
        """The ``peer`` block of the ``game`` view of ``participant`` (protocol.py); ``grace``:
        seconds a peer gone may take to come back."""
        me = group.member_of(participant)
        me.reloaded = me.reloaded or group.go
        return {"me": me.handle, "peers": {h: m.agent for h, m in group.members.items()}, "host": group.host,
                "ice": self.ice(participant), "relay": self.relay_mode, "open_timeout_ms": OPEN_TIMEOUT_MS,
                "rejoin": group.go, "rejoin_grace_ms": round(grace * 1000), "hidden_limit_s": self.hidden_seconds}

    async def close(self) -> None:
        """Stops every clock (server stop): the games stay open in storage."""
        for group in self.groups.values():
            for task in group.timers.values():
                task.cancel()

    # -- the ready gate --------------------------------------------------------------------

    async def ready(self, group: PeerGroup, member: Member, data: dict) -> dict:
        """``peer_ready``: the page's Python is loaded and every channel is open or relayed."""
        paths = self._paths(group, member, data.get("paths"))
        member.paths = paths
        await self._event(group, member, "peer_ready", {"paths": paths}, force=True)
        if group.go:  # a page reloaded after the start: it plays on (its rejoin follows)
            await self.emit("peer_go", {"game": group.game_id}, room=f"p:{member.participant}")
            return {"ok": True}
        if all(m.paths is not None for m in group.members.values()):
            group.go = True
            self._cancel(group, "ready")
            await self.emit("peer_go", {"game": group.game_id}, room=f"g:{group.game_id}")
            log.info("game %s: every peer is ready (%s)", group.game_id,
                     ", ".join(f"{h}: {m.paths}" for h, m in group.members.items()))
        return {"ok": True}

    @staticmethod
    def _paths(group: PeerGroup, member: Member, paths: Any) -> dict:
        if paths is None:
            return {}
        others = set(group.members) - {member.handle}
        if not isinstance(paths, dict) or not set(paths) <= others or not all(v in PATHS for v in paths.values()):
            raise PeerError(f"paths must map other peers' handles {sorted(others)} to one of {list(PATHS)}")
        return dict(paths)

    async def _ready_timeout(self, group: PeerGroup) -> None:
        await asyncio.sleep(self.ready_seconds)
        if not group.go:
            ready = {m.handle: m.paths is not None for m in group.members.values()}
            await self.finish(group, "not_ready", "not_ready", {"ready": ready})

    # -- signalling and relay --------------------------------------------------------------

    def target(self, group: PeerGroup, member: Member, to: Any) -> Member:
        """The member ``to`` names (another peer of the game)."""
        if not isinstance(to, str) or to not in group.members or to == member.handle:
            raise PeerError(f"to must be the handle of another peer of this game: {sorted(set(group.members) - {member.handle})}")
        return group.members[to]

    async def signal(self, group: PeerGroup, member: Member, data: dict, size: int) -> dict:
        """``signal``: passed on to its peer as ``{game, from, data}``."""
        target = self.target(group, member, data.get("to"))
        body = data.get("data")
        if not isinstance(body, dict) or not ({"sdp", "candidate"} & set(body)) or size > SIGNAL_BYTES:
            raise PeerError(f"signal.data must be an object with sdp or candidate, at most {SIGNAL_BYTES} bytes of JSON")
        await self.emit("signal", {"game": group.game_id, "from": member.handle, "data": body},
                        room=f"p:{target.participant}")
        return {"ok": True}

    async def relay(self, group: PeerGroup, member: Member, data: dict) -> None:
        """``relay``: one packet passed on to its peer as ``{game, from, data}``."""
        target = self.target(group, member, data.get("to"))
        body = data.get("data")
        if not isinstance(body, (bytes, bytearray)) or not 0 < len(body) <= PACKET_BYTES:
            raise PeerError(f"relay.data must be bytes, 1 to {PACKET_BYTES} of them")
        await self.emit("relay", {"game": group.game_id, "from": member.handle, "data": bytes(body)},
                        room=f"p:{target.participant}")

    # -- status and events -----------------------------------------------------------------

    async def status(self, group: PeerGroup, member: Member, data: dict) -> dict:
        """``peer_status``: paths, round-trip times, a hidden or shown tab."""
        detail: dict = {}
        if "paths" in data:
            detail["paths"] = self._paths(group, member, data["paths"])
            member.paths = detail["paths"] if member.paths is not None else member.paths
        if "rtt_ms" in data:
            rtt = data["rtt_ms"]
            others = set(group.members) - {member.handle}
            if not isinstance(rtt, dict) or not set(rtt) <= others or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e6 for v in rtt.values()):
                raise PeerError(f"rtt_ms must map other peers' handles {sorted(others)} to milliseconds")
            detail["rtt_ms"] = dict(rtt)
            member.rtt_ms.update(rtt)
        if "hidden" in data:
            if not isinstance(data["hidden"], bool):
                raise PeerError("hidden must be true or false")
            detail["hidden"] = data["hidden"]
            await self._hidden(group, member, data["hidden"])
        if not detail:
            raise PeerError("peer_status must carry hidden, paths or rtt_ms")
        await self._event(group, member, "peer_status", detail, force="hidden" in detail)
        return {"ok": True}

    async def _hidden(self, group: PeerGroup, member: Member, hidden: bool) -> None:
        if hidden == (member.hidden_since is not None):
            return
        member.hidden_since = time.time() if hidden else None
        for other in group.members.values():
            if other is not member:
                await self.emit("peer_notice", {"game": group.game_id, "peer": member.handle, "hidden": hidden},
                                room=f"p:{other.participant}")
        if self.on_hidden is not None:
            self.on_hidden(group.game_id, member.participant, hidden)

    async def events(self, group: PeerGroup, member: Member, data: dict) -> dict:
        """``peer_event``: the page's session events, stored; a desync ends the game."""
        events = data.get("events")
        if not isinstance(events, list) or len(events) > MAX_EVENTS or not all(
                isinstance(e, dict) and e.get("kind") in EVENT_KINDS for e in events):
            raise PeerError(f"peer_event.events must be a list of at most {MAX_EVENTS} objects whose kind is one of "
                            f"{list(EVENT_KINDS)}")
        if any("peer" in e and not (isinstance(e["peer"], str) and e["peer"] in group.members) for e in events):
            raise PeerError(f"peer_event.events[].peer must be the handle of a peer of this game: {sorted(group.members)}")
        for event in events:
            await self._event(group, member, "peer_event", event, force=event["kind"] == "desync")
        desync = next((e for e in events if e["kind"] == "desync"), None)
        # (A peer away or rejoining is left to its grace clock and its rejoin.)
        gone = next((e for e in events if e["kind"] == "disconnected" and e.get("peer") in group.members
                     and e.get("peer") != member.handle and not group.members[e["peer"]].away
                     and not group.members[e["peer"]].rejoining), None)
        if gone is not None and desync is None:
            # A stalled peer: the rollback session's own timeout dropped it; the game cannot
            # complete without its rows, so it ends as when a peer's connection is gone for good
            # (the others are told, so their pages say why the game ended).
            await self._left(group, group.members[gone["peer"]])
            await self.finish(group, "partner_left", "session_timeout", {"peer": gone["peer"], "seen_by": member.handle})
            return {"ok": True}
        if desync is not None:
            await self._desynced(group, {"episode": desync.get("episode"), "frame": desync.get("frame"),
                                         "hashes": {member.handle: desync.get("ours"),
                                                    str(desync.get("peer")): desync.get("theirs")},
                                         "seen_by": member.handle})
        return {"ok": True}

    async def _event(self, group: PeerGroup, member: Member, kind: str, detail: dict, force: bool = False) -> None:
        """Stores an event of ``member``: at most :data:`PEER_EVENTS` per peer, and up to
        :data:`PEER_EVENTS_HARD` of the ``force``d ones (the ready gate, hidden tabs, desyncs)."""
        if member.events >= (PEER_EVENTS_HARD if force else PEER_EVENTS):
            return
        member.events += 1
        await self.storage.add_event(member.participant, group.step.name, kind,
                                     {"game": group.game_id, "peer": member.handle, **detail},
                                     repetition=group.repetition)

    # -- rows and checksums ----------------------------------------------------------------

    async def rows(self, group: PeerGroup, member: Member, data: dict) -> dict:
        """A peer's ``rows`` batch: its agents' new rows stored, its checksums compared."""
        rows, checksums = await self._batch(data)
        async with group.lock:
            if group.ending:
                return {"ok": False, "stale": True, "error": "that game is over"}
            last = self.last_frame(group.step)
            self._within(group, checksums, last)
            parsed = [parse_row(group.step, group.spaces, last, item, i) for i, item in enumerate(rows)]
            mine = group.agents_of(member.handle)
            for i, (row, _, _) in enumerate(parsed):
                if row.agent not in mine:
                    raise RowError(f"rows[{i}].agent {row.agent!r} is not yours: peer {member.handle} stores the rows "
                                   f"of {sorted(map(repr, mine))} only")
            new = [r for r in parsed if (r[0].episode, r[0].frame) > group.last.get(r[0].agent, (-1, -1))]
            self._continues(group, [r for r, _, _ in new])
            text = len(data.get("rows") or "")
            if new and group.stored_text + text > self.game_bytes:
                raise RowError(f"rows refused: this game's rows passed {self.game_bytes} characters (limit "
                               f"game_bytes); it stores no more")
            if new:
                group.stored_text += text
                await self.storage.add_steps(group.game_id, [r[0] for r in new], t_server=time.time(),
                                             t_client=[r[1] for r in new], late_ms=[r[2] for r in new],
                                             keep_observations=group.step.options.record_observations)
                self._advance(group, [r for r, _, _ in new])
                if self.on_rows is not None:
                    self.on_rows(group.game_id, member.participant, member.agent, [r for r, _, _ in new])
            stored = [group.last.get(a, (-1, -1)) for a in mine]
        if checksums:
            await self._checksums(group, member, checksums)
        await self._maybe_complete(group)
        return {"ok": True, "batch": data.get("batch"), "last": list(min(stored))}

    @staticmethod
    async def _batch(data: dict) -> tuple[list, list]:
        text = data.get("rows")
        if not isinstance(text, str) or len(text) > MAX_ROWS_TEXT:
            raise RowError(f"rows.rows must be the tagged JSON text of a list of rows (or of {{rows, checksums}}), "
                           f"at most {MAX_ROWS_TEXT} characters")
        try:
            items = await decode(text)
        except DecodeRefused as exc:
            raise RowError(f"rows.rows refused: {exc}; send smaller batches and arrays") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RowError(f"rows.rows is not tagged JSON: {exc}") from None
        checksums = data.get("checksums") or []
        if isinstance(items, dict):
            checksums = items.get("checksums") or checksums
            items = items.get("rows")
        if not isinstance(items, list):
            raise RowError("rows.rows must hold a list of rows")
        if not isinstance(checksums, list) or len(checksums) > MAX_CHECKSUMS or not all(
                isinstance(c, (list, tuple)) and len(c) == 3 and all(_count(v) for v in c[:2])
                and (_count(c[2]) or (isinstance(c[2], str) and 0 < len(c[2]) <= 64)) for c in checksums):
            raise RowError(f"checksums must be a list of at most {MAX_CHECKSUMS} [episode, frame, checksum] "
                           f"(checksum: a non-negative integer or a text of at most 64 characters)")
        return items, checksums

    @staticmethod
    def _within(group: PeerGroup, checksums: list, last: int) -> None:
        """Refuses checksums of frames the game cannot have (they would crowd out the real ones)."""
        episodes = group.step.options.episodes
        bad = next((c for c in checksums if c[0] >= episodes or c[1] > last), None)
        if bad is not None:
            raise RowError(f"checksums: [{bad[0]}, {bad[1]}, ...] is not a frame of this game (episodes 0 to "
                           f"{episodes - 1}, frames 0 to {last})")

    @staticmethod
    def _continues(group: PeerGroup, new: list) -> None:
        """Each agent's new rows continue its stored rows frame by frame (as a single-player
        browser game's: no gap, one row per frame, a new episode only after one ended)."""
        last = dict(group.last)
        ended = dict(group.ended)
        ends = set(group.episode_ends) | {(r.episode, r.frame) for r in new if r.terminated or r.truncated}
        for row in new:
            before = last.get(row.agent, (-1, -1))
            here = (row.episode, row.frame)
            nexts = [(before[0], before[1] + 1)] if before != (-1, -1) else []
            if before == (-1, -1) or ended.get(row.agent) or before in ends:
                nexts.append((before[0] + 1, 0))
            if here not in nexts:
                raise RowError(f"rows of agent {row.agent!r} must continue frame by frame: after episode {before[0]} "
                               f"frame {before[1]} comes {' or '.join(f'episode {e} frame {f}' for e, f in nexts)}, "
                               f"not episode {row.episode} frame {row.frame}")
            last[row.agent], ended[row.agent] = here, row.terminated or row.truncated

    @staticmethod
    def _advance(group: PeerGroup, new: list) -> None:
        for row in new:
            group.last[row.agent] = (row.episode, row.frame)
            group.ended[row.agent] = row.terminated or row.truncated
            if row.terminated or row.truncated:
                group.episode_ends.add((row.episode, row.frame))

    async def _checksums(self, group: PeerGroup, member: Member, checksums: list) -> None:
        """Compares ``member``'s checksums with the other peers' of the same frames; the first
        disagreement is a desync (the game ends)."""
        everyone = set(group.members)
        for episode, frame, value in checksums:
            key = (episode, frame)
            seen = group.checksums.setdefault(key, {})
            seen.setdefault(member.handle, value)
            if len(set(map(str, seen.values()))) > 1:
                await self._desynced(group, {"episode": episode, "frame": frame, "hashes": dict(seen),
                                             "seen_by": "server"})
                return
            if set(seen) >= everyone:
                group.agreed += 1
                del group.checksums[key]
        if len(group.checksums) > 100_000:  # a peer that never sends its checksums: forget the oldest
            for key in sorted(group.checksums)[:50_000]:
                del group.checksums[key]

    async def _desynced(self, group: PeerGroup, detail: dict) -> None:
        if group.desync is not None or group.ending:
            return
        group.desync = detail
        log.warning("game %s: the peers' games diverged at episode %s frame %s (%s)", group.game_id,
                    detail.get("episode"), detail.get("frame"), detail.get("hashes"))
        await self.finish(group, "desync", "checksum_mismatch", detail)  # each member's game_desync event says where

    # -- the end ---------------------------------------------------------------------------

    async def game_over(self, group: PeerGroup, member: Member) -> dict:
        """``game_over`` of one peer: its own agents' rows must all be stored."""
        if not group.agents_done(group.agents_of(member.handle)):
            return {"ok": False, "error": "the rows of the last episode are not stored yet: send them first"}
        member.over = True
        await self._maybe_complete(group)
        return {"ok": True, "waiting": [h for h, m in group.members.items() if not m.over]}

    async def _maybe_complete(self, group: PeerGroup) -> None:
        if all(m.over for m in group.members.values()) and group.agents_done() and group.desync is None:
            await self.finish(group, "completed", "game_over")

    async def finish(self, group: PeerGroup, outcome: str, reason: str, detail: dict | None = None) -> None:
        """Ends the game once (a second end does nothing); the lobby moves its members on."""
        if group.ending:
            return
        group.ending = True
        for name, task in list(group.timers.items()):
            if task is not asyncio.current_task():
                task.cancel()
        group.timers.clear()
        self.groups.pop(group.game_id, None)
        peers = {h: {"participant": m.participant, "agent": m.agent, "paths": m.paths, "rtt_ms": m.rtt_ms or None}
                 for h, m in group.members.items()}
        # Frames whose checksum not every peer sent: a peer that keeps its checksums to itself is not
        # compared, and the data say so.
        summary = {"peers": peers, "host": group.host, "checksums_agreed": group.agreed,
                   "checksums_unmatched": len(group.checksums), "desync": group.desync}
        log.info("game %s: over in the browsers (%s: %s)", group.game_id, outcome, reason)
        if self.on_end is not None:
            await self.on_end(group, outcome, reason, summary, detail or {})

    # -- away and back ---------------------------------------------------------------------

    def away(self, group: PeerGroup, member: Member, grace: float) -> None:
        """``member`` has no connection left: back within ``grace`` seconds, it rejoins; else
        the others get ``peer_left`` and the game ends ``partner_left``."""
        member.away = True
        if not group.go:
            member.paths = None  # a page that comes back loads again: it is ready when it says so again
        self._timer(group, f"away:{member.handle}", self._gone(group, member, grace))

    def back(self, group: PeerGroup, member: Member) -> None:
        member.away = False
        self._cancel(group, f"away:{member.handle}")

    async def _gone(self, group: PeerGroup, member: Member, grace: float) -> None:
        await asyncio.sleep(grace)
        if not member.away or group.ending:
            return
        await self._left(group, member)
        await self.finish(group, "partner_left" if group.go else "not_ready",
                          "grace_expired" if group.go else "not_ready",
                          {"peer": member.handle} if group.go else
                          {"ready": {m.handle: m.paths is not None and m is not member for m in group.members.values()}})

    async def _left(self, group: PeerGroup, member: Member) -> None:
        """Tells the other members that ``member`` left for good (``peer_left``)."""
        for other in group.members.values():
            if other is not member:
                await self.emit("peer_left", {"game": group.game_id, "peer": member.handle},
                                room=f"p:{other.participant}")

    async def rejoin(self, group: PeerGroup, member: Member) -> dict:
        """``rejoin``: a reloaded page's Python is loaded; every survivor is asked for a package."""
        if not group.go:
            return {"ok": False, "error": "the game has not started: send peer_ready"}
        if not member.reloaded:
            # Each survivor's package drops the packets of the asker's current life: a page that
            # did not reload would stall the game by asking.
            return {"ok": False, "error": "rejoin is for a page reloaded during the game (its view had rejoin: true)"}
        survivors = [m for m in group.members.values() if m is not member and not m.away]
        if not survivors:
            return {"ok": False, "error": "no other peer is connected to rejoin from; wait and try again"}
        member.rejoining, member.reloaded = {m.handle for m in survivors}, False
        # Said before anything is awaited: a survivor's package may come back before the emits
        # return (another process relays it), and takes its sender out of ``rejoining``.
        asked = sorted(member.rejoining)
        await self._event(group, member, "peer_rejoin", {"from": asked}, force=True)
        for m in survivors:
            await self.emit("peer_rejoining", {"game": group.game_id, "peer": member.handle},
                            room=f"p:{m.participant}")
            await self.emit("package_request", {"game": group.game_id, "for": member.handle},
                            room=f"p:{m.participant}")
        return {"ok": True, "from": asked}

    async def package(self, group: PeerGroup, member: Member, data: dict) -> dict:
        """``package``: a survivor's rejoin package for the peer ``for``, passed on to it."""
        target = self.target(group, member, data.get("for"))
        if member.handle not in target.rejoining:
            raise PeerError(f"{target.handle} asked for no package from {member.handle}")
        body = data.get("data")
        if not isinstance(body, (bytes, bytearray)) or not 0 < len(body) <= PACKAGE_BYTES:
            raise PeerError(f"package.data must be bytes, 1 to {PACKAGE_BYTES} of them")
        target.rejoining.discard(member.handle)
        await self.emit("package", {"game": group.game_id, "from": member.handle, "data": bytes(body)},
                        room=f"p:{target.participant}")
        return {"ok": True}

    # -- clocks ----------------------------------------------------------------------------

    def _timer(self, group: PeerGroup, name: str, work: Awaitable) -> None:
        self._cancel(group, name)
        task = asyncio.get_running_loop().create_task(self._guarded(group, work))
        group.timers[name] = task

    @staticmethod
    def _cancel(group: PeerGroup, name: str) -> None:
        task = group.timers.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    @staticmethod
    async def _guarded(group: PeerGroup, work: Awaitable) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a clock that fails must be seen, not vanish in its task
            log.exception("game %s: a clock of the browser game failed", group.game_id)


async def env_facts(step: Any, seed: int, who: list, game_id: str) -> tuple | None:
    """The env's agents (in its order) and their action spaces, built as the peers build it (in a
    thread: the step function is the user's code); None when it does not build here (then only
    the re-simulation checks the actions)."""
    from ...games import build_env
    from ...steps import StepError

    def build() -> tuple:
        env = build_env(step, seed=seed, participant=who[0], group=who)
        return list(env.agents), {agent: env.action_space(agent) for agent in env.agents}

    try:
        return await asyncio.to_thread(build)
    except StepError as exc:
        log.warning("game %s: its env does not build on the server (%s); actions are checked when it is "
                    "verified", game_id, exc)
        return None


def _count(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63
