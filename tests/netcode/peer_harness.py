"""Peers of a browser game with several humans (PeerGame), played over the simulated network:
what a worker does each frame (packets in, keys, tick, packets out) and what the server stores
(each peer's uploaded rows, dropping rows at or before its newest stored frame per agent)."""

from __future__ import annotations

import json
import random

import mugkit as mk
from mugkit.games import build_game
from mugkit.netcode.simnet import SimNetwork
from mugkit.runtime.peer_game import PeerGame
from mugkit.runtime.spaces import Discrete
from mugkit.runtime.values import from_json

TICK = 1000 / 30
KEYS = {"ArrowLeft": 1, "ArrowRight": 2, "ArrowUp": 3, "ArrowDown": 4}
LEAK = [0]  # a planted desync: an env that reads this module-level counter in step()


class Dots:
    """A small deterministic parallel env: every action moves its agent; drawn as circles."""

    def __init__(self, agents, length=40, leak=False):
        self.possible_agents = list(agents)
        self.length = length
        self.leak = leak

    def action_space(self, agent):
        return Discrete(5)

    def observation_space(self, agent):
        return Discrete(10**9)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.t = 0
        self.pos = {a: (seed or 0) % 1000 + i for i, a in enumerate(self.agents)}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in actions.items():
            self.pos[a] = (self.pos[a] * 7 + int(act) + 1) % 1_000_003
        if self.leak:
            LEAK[0] += 1
            self.pos[self.agents[0]] += LEAK[0] % 3
        done = self.t >= self.length
        out = (dict(self.pos), {a: float(actions.get(a, 0)) for a in self.agents}, {a: done for a in self.agents},
               {a: False for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def render(self):
        return [mk.draw.circle(self.pos[a] % 600, 100 + 50 * i, 10, id=str(a))
                for i, a in enumerate(self.possible_agents) if a in getattr(self, "pos", {})]


def make_step(humans=2, ai=False, episodes=2, length=40, leak=False, **options):
    """A browser step of ``humans`` humans (and one AI: ``"random"``, or the policy named ``ai``),
    ``episodes`` of ``length`` frames."""
    players = {f"p{i}": mk.HUMAN for i in range(humans)}
    if ai:
        players["bot"] = ai if isinstance(ai, str) else "random"
    settings = dict(players=players, keys=KEYS, default_action=0, runtime="browser", episodes=episodes,
                    max_steps=length)
    settings.update(options)

    @mk.scene(**settings)
    def dots(seed):
        return Dots(tuple(players), length=length, leak=leak)

    return dots


POLICIES: dict = {}  # name -> factory, for steps whose AI is a named policy


def make_driver(step, seed=5):
    return build_game(step, POLICIES, seed=seed).driver()


def peers_of(step):
    return {f"h{i}": a for i, a in enumerate(step.options.players) if a in step.options.humans}


def new_peer(step, me, seed=5, rejoin=False, game_id="g1", **kw):
    peers = peers_of(step)
    return PeerGame(game_id, make_driver(step, seed), me, peers, host=min(peers), seed=seed, rejoin=rejoin, **kw)


class Server:
    """What the server stores: one copy of each (episode, frame, agent), from the rows a peer
    uploads; rows at or before the newest stored frame of their agent are dropped."""

    def __init__(self):
        self.rows: dict = {}
        self.newest: dict = {}
        self.doubled: list = []
        self.checksums: dict = {}  # (episode, frame) -> {peer: checksum}

    def upload(self, peer, text):
        if text is None:
            return
        batch = from_json(text)
        for row in batch["rows"]:
            key = (row["episode"], row["frame"])
            if key <= self.newest.get(row["agent"], (-1, -1)):
                continue
            if (*key, row["agent"]) in self.rows:
                self.doubled.append((*key, row["agent"]))
            self.rows[(*key, row["agent"])] = dict(row, peer=peer)
            self.newest[row["agent"]] = key
        for episode, frame, checksum in batch["checksums"]:
            self.checksums.setdefault((episode, frame), {}).setdefault(peer, set()).add(checksum)


class Harness:
    """``games`` (address -> PeerGame) over one simulated network, ticked together."""

    def __init__(self, games, network=None, key_seed=0, upload_every=1):
        self.games = dict(games)
        self.net = network or SimNetwork(0)
        self.transports = {a: self.net.transport(a) for a in self.games}
        self.server = Server()
        self.events = {a: [] for a in self.games}
        self.frames = {a: [] for a in self.games}
        self.rng = random.Random(key_seed)
        self.seq = 0
        self.tick_no = 0
        self.upload_every = upload_every
        self.stopped: set = set()

    def start(self):
        for a, g in self.games.items():
            self.frames[a].append(json.loads(g.start()))
            self._flush(a)

    def _keys(self, addr):
        self.seq += 1
        held = self.rng.sample(sorted(KEYS), self.rng.randrange(0, 2))
        self.games[addr].key_message(self.seq, held, held, [], None)

    def _flush(self, addr):
        for to, data in self.games[addr].take_packets():
            self.transports[addr].send_to(to, data)

    def upload(self, addr):
        g = self.games[addr]
        self.server.upload(addr, g.take_rows())
        events = g.take_events()
        if events:
            self.events[addr] += json.loads(events)

    def step(self):
        now = self.tick_no * TICK
        self.net.advance_to(now)
        for addr, g in self.games.items():
            if addr in self.stopped or self.net.paused(addr, now):
                continue
            for sender, data in self.transports[addr].receive_all():
                g.receive(sender, data)
            self._keys(addr)
            msg = g.tick(now, now / 1000, 0.0)
            if msg is not None:
                self.frames[addr].append(json.loads(msg))
            self._flush(addr)
            if self.tick_no % self.upload_every == 0:
                self.upload(addr)
        self.tick_no += 1

    def run(self, ticks=None, until=None):
        for _ in range(ticks or 10_000):
            self.step()
            if until is not None and until():
                return True
            if until is None and ticks is None and self.all_finished():
                break
        for addr in self.games:
            if addr not in self.stopped:
                self.upload(addr)
        return self.all_finished()

    def all_finished(self):
        return all(g.finished for a, g in self.games.items() if a not in self.stopped)


def replay(step, rows, seed=5):
    """A run with no network: a fresh driver advanced with the stored actions; returns
    ``{(episode, frame, agent): (action, reward, observation)}`` and the checksums it sees."""
    driver = make_driver(step, seed)
    first = driver.start()
    out = {(r.episode, r.frame, r.agent): (r.action, r.reward, r.observation) for r in first.rows}
    checksums = {(0, 0): driver.checksum()}
    frames = sorted({(e, f) for e, f, _ in rows})
    for e, f in frames:
        if (e, f) == (0, 0):
            continue
        if f == 0:
            result = driver.advance({})
        else:
            result = driver.advance({a: rows[(e, f, a)]["action"] for (e2, f2, a) in rows if (e2, f2) == (e, f)})
        assert (result.episode, result.frame) == (e, f)
        out.update({(r.episode, r.frame, r.agent): (r.action, r.reward, r.observation) for r in result.rows})
        checksums[(e, f)] = driver.checksum()
    return out, checksums
