"""Planted faults that only human-like inputs reach, and a playthrough. `mugkit check` runs on it
by name (the leading _ keeps a plain `pytest tests/` from collecting it as an experiment)."""

import mugkit as mk
from mugkit import draw, spaces

DUEL = {"ArrowLeft": 1, "ArrowRight": 2}


class Meet:
    """Two walkers on a line, 20 apart. Once they have stood next to each other for three frames
    in a row, the one on the left is stunned (it cannot move for a while). `stun` changes only when
    both players held keys toward each other for a while, and set_state leaves it out."""

    metadata = {"name": "meet"}

    def __init__(self, forget_stun=True):
        self.possible_agents = ["p0", "p1"]
        self.forget_stun = forget_stun

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Discrete(100)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {"p0": 40, "p1": 60}
        self.close, self.stun, self.t = 0, 0, 0
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in actions.items():
            if a == "p0" and self.stun:
                continue
            self.pos[a] = max(0, min(99, self.pos[a] + {0: 0, 1: -1, 2: 1}[act]))
        self.close = self.close + 1 if abs(self.pos["p0"] - self.pos["p1"]) <= 1 else 0
        self.stun = 8 if self.close >= 3 else max(0, self.stun - 1)
        done = self.t >= 200
        out = (dict(self.pos), {a: 0 for a in self.agents}, {a: False for a in self.agents},
               {a: done for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def get_state(self):
        return {"pos": dict(self.pos), "close": self.close, "stun": self.stun, "t": self.t, "agents": list(self.agents)}

    def set_state(self, s):
        self.pos, self.close, self.t, self.agents = dict(s["pos"]), s["close"], s["t"], list(s["agents"])
        if not self.forget_stun:
            self.stun = s["stun"]

    def render(self):
        return [draw.circle(self.pos[a] * 6, 50, 5, id=a) for a in self.pos]


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=DUEL, default_action=0)
def meet():
    return Meet()


class Secret:
    """A walker with a secret: exactly three Ups then three Downs open it; set_state forgets it.
    Generated play practically never finds it; a playthrough does."""

    metadata = {"name": "secret"}
    CODE = [1, 1, 1, 2, 2, 2]

    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)

    def reset(self, seed=None, options=None):
        self.last, self.secret, self.t = [], 0, 0
        return 0, {}

    def step(self, action):
        self.t += 1
        self.last = (self.last + [action])[-7:]
        if self.last[-6:] == self.CODE and (len(self.last) < 7 or self.last[0] != 1):
            self.secret += 1
        return self.secret, float(self.secret), False, self.t >= 100, {}

    def get_state(self):
        return {"last": list(self.last), "secret": self.secret, "t": self.t}

    def set_state(self, s):
        self.last, self.t = list(s["last"]), s["t"]  # the planted fault: secret is not restored

    def render(self):
        return [draw.text(10, 10, f"{self.secret}")]


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowUp": 1, "ArrowDown": 2}, default_action=0)
def secret():
    return Secret()


@mk.playthrough(secret)
def open_the_secret():
    return mk.hold({"player": "ArrowUp"}, 3) + mk.hold({"player": "ArrowDown"}, 3) + mk.hold({}, 4)


class KeptSecret(Secret):
    """Secret with a correct restore, and no playthrough: it passes, and the checks say what their
    generated inputs never changed."""

    def set_state(self, s):
        super().set_state(s)
        self.secret = s["secret"]


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowUp": 1, "ArrowDown": 2}, default_action=0)
def kept_secret():
    return KeptSecret()


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=DUEL, default_action=0)
def meet_twin():
    return Meet(forget_stun=False)


class Ties(Meet):
    """CoGrid's pattern: collisions are broken by a fresh, unseeded numpy generator created every
    step, and a uuid4() for a log line that never reaches the state."""

    def step(self, actions):
        import uuid

        import numpy as np

        self.log_id = str(uuid.uuid4())  # not part of the state: get_state leaves it out
        order = list(actions)
        np.random.default_rng().shuffle(order)  # the planted fault
        for a in order:
            self.pos[a] = max(0, min(99, self.pos[a] + {0: 0, 1: -1, 2: 1}[actions[a]] * (1 + (a == order[0]))))
        return super().step({a: 0 for a in actions})


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=DUEL, default_action=0)
def ties():
    return Ties(forget_stun=False)


class SecretOverflow(KeptSecret):
    """Only the secret code puts the observation outside its space: the contract check finds it
    through the playthrough."""

    def __init__(self):
        super().__init__()
        self.observation_space = spaces.Discrete(1)


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowUp": 1, "ArrowDown": 2}, default_action=0)
def secret_overflow():
    return SecretOverflow()


@mk.playthrough(secret_overflow)
def overflow_the_secret():
    return mk.hold({"player": "ArrowUp"}, 3) + mk.hold({"player": "ArrowDown"}, 3)


class Edge:
    """A walker on a row of 11 cells that moves one cell per tap (keydown: a held key moves it
    once). The planted fault: it reads the cell past the row's right end, 11 taps from the start;
    only taps in a row get there."""

    metadata = {"name": "edge"}
    CELLS = 11

    def __init__(self, guard=False):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(self.CELLS)
        self.guard = guard

    def reset(self, seed=None, options=None):
        self.row, self.x, self.t = [0] * self.CELLS, 0, 0
        return self.x, {}

    def step(self, action):
        self.t += 1
        self.x = max(0, self.x + {0: 0, 1: -1, 2: 1}[action])
        if self.guard:
            self.x = min(self.x, self.CELLS - 1)
        self.row[self.x] += 1  # the planted fault (without the guard): IndexError at x == 11
        return self.x, 0.0, False, self.t >= 200, {}

    def get_state(self):
        return {"row": list(self.row), "x": self.x, "t": self.t}

    def set_state(self, s):
        self.row, self.x, self.t = list(s["row"]), s["x"], s["t"]

    def render(self):
        return [draw.circle(10 + self.x * 20, 50, 8, id="walker")]


@mk.scene(players={"player": mk.HUMAN}, keys=DUEL, default_action=0, input_mode="keydown")
def edge():
    return Edge()


@mk.scene(players={"player": mk.HUMAN}, keys=DUEL, default_action=0, input_mode="keydown")
def edge_twin():
    return Edge(guard=True)
