"""Planted faults: two walkers in a corridor who step into the same cell at once, the tie broken
by unseeded randomness — the module-level `random`, numpy's global generator, a
`np.random.default_rng()` or a `random.Random()` made in step() — which is used for nothing else.
`ties_twin` breaks ties with a generator seeded in reset(). The playthrough makes the walkers meet
(the generated inputs rarely do), so every check plays a tie. `import_entropy` (`os.urandom`) and
`import_rng` (a `np.random.default_rng()` made at import) draw once, at import: the same in every
run of one process, different in each process."""

import os
import random

import numpy as np

import mugkit as mk
from mugkit import draw, spaces

AGENTS = ("west", "east")
MOVES = {0: 0, 1: -1, 2: 1}
START = {"west": 3, "east": 7}

_IMPORT_COIN = os.urandom(1)[0] % 2  # the planted fault of import_entropy: drawn once per process
_IMPORT_RNG_COIN = int(np.random.default_rng().integers(2))  # import_rng's: a generator made at import


class Corridor:
    """Two walkers on cells 0…10; both stepping into one cell is a tie, which one of them wins."""

    metadata = {"name": "corridor"}

    def __init__(self, coin=None):
        self.coin = coin
        self.possible_agents = list(AGENTS)

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(11)

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.pos = dict(START)
        self.agents = list(AGENTS)
        self.t = 0
        return dict(self.pos), {a: {} for a in self.agents}

    def _winner(self) -> int:
        """Which walker takes a cell both step into (0: west, 1: east)."""
        if self.coin == "random":
            return int(random.random() < 0.5)
        if self.coin == "numpy_global":
            return int(np.random.rand() < 0.5)
        if self.coin == "default_rng":
            return int(np.random.default_rng().integers(2))
        if self.coin == "random_instance":
            return random.Random().randrange(2)
        if self.coin == "import_entropy":
            return _IMPORT_COIN
        if self.coin == "import_rng":
            return _IMPORT_RNG_COIN
        return self.rng.randrange(2)

    def step(self, actions):
        self.t += 1
        want = {a: max(0, min(10, self.pos[a] + MOVES[actions.get(a, 0)])) for a in AGENTS}
        moving = [a for a in AGENTS if want[a] != self.pos[a]]
        if want["west"] == want["east"]:
            if len(moving) == 2:
                loser = AGENTS[1 - self._winner()]
                want[loser] = self.pos[loser]
            else:
                want = dict(self.pos)  # one stands there: the other is blocked
        if want["west"] > want["east"]:
            want = dict(self.pos)  # no walking through each other
        self.pos = want
        done = self.t >= 30
        out = (dict(self.pos), {a: 0 for a in self.agents}, {a: False for a in self.agents},
               {a: done for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def get_state(self):
        return {"pos": dict(self.pos), "t": self.t, "agents": list(self.agents), "rng": self.rng.getstate()}

    def set_state(self, state):
        self.pos, self.t, self.agents = dict(state["pos"]), state["t"], list(state["agents"])
        self.rng.setstate(state["rng"])

    def render(self):
        return [draw.circle(self.pos[a] * 40 + 20, 50, 15, id=a) for a in AGENTS]


PLAYERS = {"west": mk.HUMAN, "east": mk.HUMAN}
KEYS = {"ArrowLeft": 1, "ArrowRight": 2}


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def ties_random():
    return Corridor("random")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def ties_numpy_global():
    return Corridor("numpy_global")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def ties_default_rng():
    return Corridor("default_rng")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def ties_random_instance():
    return Corridor("random_instance")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def import_entropy():
    return Corridor("import_entropy")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def import_rng():
    return Corridor("import_rng")


@mk.scene(players=PLAYERS, keys=KEYS, default_action=0)
def ties_twin():
    return Corridor()


def _meet():
    """West walks right and east walks left: on the second frame both step into cell 5."""
    return mk.hold({"west": "ArrowRight", "east": "ArrowLeft"}, 4)


# One playthrough per step (a playthrough belongs to one step), found as module globals.
meet_random = mk.playthrough(ties_random)(_meet)
meet_numpy_global = mk.playthrough(ties_numpy_global)(_meet)
meet_default_rng = mk.playthrough(ties_default_rng)(_meet)
meet_random_instance = mk.playthrough(ties_random_instance)(_meet)
meet_import_entropy = mk.playthrough(import_entropy)(_meet)
meet_import_rng = mk.playthrough(import_rng)(_meet)
meet_twin = mk.playthrough(ties_twin)(_meet)
