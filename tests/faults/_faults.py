"""Planted faults, each with its fault-free twin. Named with a leading _ so that a plain
`pytest tests/` does not collect it as an experiment; tests run `mugkit check` on it by name."""

import random
import time

import mugkit as mk
from mugkit import draw, spaces

_global_counter = [0]


class Grid:
    """A walker on a line with a random wind; `fault` plants one defect."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, fault=None):
        self.fault = fault
        self.render_mode = "mug"
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(0, 40, shape=(2,), dtype="int")

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.x, self.score, self.t = 20, 0, 0
        return self._obs(), {}

    def _obs(self):
        return [self.x, min(self.score, 40)]

    def _wind(self):
        if self.fault == "unseeded":
            return random.randint(-1, 1)
        if self.fault == "clock":
            return time.perf_counter_ns() % 3 - 1
        return self.rng.randint(-1, 1)

    def step(self, action):
        self.t += 1
        self.x = max(0, min(40, self.x + action - 1 + self._wind()))
        self.score += 1 if self.x > 20 else 0
        return self._obs(), 1 if self.x > 20 else 0, False, self.t >= 200, {}

    def render(self):
        return [draw.rect(self.x * 10, 100, 10, 10, id="walker"), draw.text(10, 20, f"score {self.score}")]

    def get_state(self):
        return {"x": self.x, "score": self.score, "t": self.t, "rng": self.rng.getstate()}

    def set_state(self, state):
        self.x, self.t = state["x"], state["t"]
        self.rng.setstate(state["rng"])
        if self.fault != "partial_restore":
            self.score = state["score"]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def unseeded():
    return Grid("unseeded")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def clock():
    return Grid("clock")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def partial_restore():
    return Grid("partial_restore")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def twin():
    return Grid()


@mk.policy
def overreach():
    return lambda obs: 7  # Discrete(3) has 0, 1, 2


@mk.policy
def steady():
    return lambda obs, rng: rng.randrange(3)


@mk.scene(players={"player": "overreach"})
def bad_policy():
    return Grid()


@mk.scene(players={"player": "steady"})
def good_policy():
    return Grid()


class Duel:
    """Two walkers (PettingZoo parallel API, numpy-free); `fault` plants one defect."""

    metadata = {"render_modes": ["mug"], "name": "duel"}
    possible_agents = ["a", "b"]

    def __init__(self, fault=None):
        self.fault = fault
        self.render_mode = "mug"
        self.agents = []

    def action_space(self, agent):
        return spaces.Discrete(3)

    def observation_space(self, agent):
        return spaces.Box(0, 40, shape=(3,), dtype="int")

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {"a": 10, "b": 30}
        self.hits, self.t = 0, 0
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        return {a: [self.pos["a"], self.pos["b"], min(self.hits, 40)] for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in actions.items():
            self.pos[a] = max(0, min(40, self.pos[a] + act - 1 + self.rng.randint(-1, 1)))
        self.hits += (self.pos["a"] + self.pos["b"]) % 3 == 0  # scores often, so a lost restore shows
        done = self.t >= 300
        obs = self._obs()
        rewards = {a: 0 for a in self.agents}
        flags = {a: False for a in self.agents}
        truncs = {a: done for a in self.agents}
        infos = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, flags, truncs, infos

    def render(self):
        return [draw.circle(self.pos[a] * 10, 100, 8, id=a) for a in self.possible_agents]

    def get_state(self):
        return {"pos": dict(self.pos), "hits": self.hits, "t": self.t, "rng": self.rng.getstate(),
                "agents": list(self.agents)}

    def set_state(self, state):
        self.pos, self.t = dict(state["pos"]), state["t"]
        self.agents = list(state["agents"])
        self.rng.setstate(state["rng"])
        if self.fault != "partial_restore":
            self.hits = state["hits"]


DUEL_KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


class Trio(Duel):
    """Three walkers: two humans and an AI."""

    possible_agents = ["a", "b", "c"]

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {"a": 10, "b": 30, "c": 20}
        self.hits, self.t = 0, 0
        return self._obs(), {a: {} for a in self.agents}

    def _obs(self):
        return {a: [self.pos[a], self.pos["b"], min(self.hits, 40)] for a in self.agents}

    def render(self):
        return [draw.circle(self.pos[a] * 10, 100, 8, id=a) for a in self.possible_agents]


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, runtime="browser", keys=DUEL_KEYS, default_action=1)
def duel_partial_restore():
    return Duel("partial_restore")


@mk.scene(players={"a": mk.HUMAN, "b": mk.HUMAN}, runtime="browser", keys=DUEL_KEYS, default_action=1)
def duel_twin():
    return Duel()


@mk.scene(players={"player": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1)
def numpy_in_browser():
    import numpy  # noqa: F401  (not in Pyodide offline: the contract check must say so)

    return Grid()


class Fragile(Grid):
    """Crashes when the walker reaches the right edge."""

    def step(self, action):
        out = super().step(action)
        if self.x >= 24:
            raise ValueError(f"walker left the map at x={self.x}")
        return out


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def crashes():
    return Fragile()


class Sticky(Grid):
    """Its reset forgets to clear the score."""

    def reset(self, seed=None, options=None):
        score = getattr(self, "score", 0)
        obs, info = super().reset(seed, options)
        self.score = score
        return self._obs(), info


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def sticky_reset():
    return Sticky()


class BadReset(Grid):
    """Crashes on its first reset."""

    def reset(self, seed=None, options=None):
        raise RuntimeError("level file missing")


@mk.policy
def steady_too():
    return lambda obs, rng: rng.randrange(3)


@mk.scene(players={"player": "steady_too"})
def reset_crash():
    return BadReset()


@mk.scene
def page_without_return():
    mk.Page(title="Hello", body="No return.")


@mk.scene
def redirect_typo():
    return mk.Completion(code="C123", redirect="https://app.prolific.com/submissions/complete?cc={cod}")


@mk.scene
def good_page():
    return mk.Completion(code="C123", redirect="https://app.prolific.com/submissions/complete?cc={code}")


@mk.policy
def follower():
    """Walks toward the other walker: decides from the observation, so from predicted frames too."""
    return lambda obs: 2 if obs[0] < obs[1] else 0


@mk.scene(players={"a": "follower", "b": mk.HUMAN, "c": mk.HUMAN}, runtime="browser", keys=DUEL_KEYS,
          default_action=1)
def trio_with_ai():
    return Trio()


class NoDrawing:
    """A duck-typed env that forgot render()."""

    metadata = {}
    action_space = spaces.Discrete(2)
    observation_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        return 0, {}

    def step(self, action):
        return 0, 0, False, False, {}


@mk.scene(players={"player": "random"})
def no_render():
    return NoDrawing()


@mk.policy
def numpy_answers():
    import numpy as np

    return lambda obs: np.int64(2)  # a numpy scalar for a numpy-free env: mugkit makes it plain


@mk.scene(players={"player": "numpy_answers"})
def numpy_policy():
    return Grid()


class NumpyWind(Grid):
    """Draws its wind from numpy's global generator, which nobody seeds per game."""

    def _wind(self):
        import numpy as np

        return int(np.random.randint(-1, 2))


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def numpy_global():
    return NumpyWind()


class HashSeeded(Grid):
    """Seeds with hash() of a string: salted per process, so another process plays another game."""

    def reset(self, seed=None, options=None):
        obs, info = super().reset(seed, options)
        self.rng = random.Random(hash("wind") ^ (seed or 0))
        return obs, info


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def hash_seeded():
    return HashSeeded()


# --- Restores and rendering that the synctest must catch ------------------------------------------


class Trail:
    """The cells a walker visited. Its ``__deepcopy__`` forgets the list (a shallow "deep" copy),
    so a copy shares its cells with the original: mugkit's copy of a restored state does not
    protect a set_state() that keeps the state's objects."""

    def __init__(self, cells=None):
        self.cells = [] if cells is None else cells

    def __deepcopy__(self, memo):
        return Trail(self.cells)

    def copy(self):
        return Trail(list(self.cells))


class Tracker(Grid):
    """Remembers where it walked. get_state() returns a copy of the trail; with `fault`,
    set_state() keeps the snapshot's own Trail, which the next steps extend: the first restore of
    a snapshot is right, a second restore of the same snapshot gives a longer trail."""

    def reset(self, seed=None, options=None):
        obs, info = super().reset(seed, options)
        self.trail = Trail()
        return obs, info

    def step(self, action):
        out = super().step(action)
        self.trail.cells.append(self.x)
        return out

    def get_state(self):
        return {**super().get_state(), "trail": self.trail.copy()}

    def set_state(self, state):
        super().set_state(state)
        self.trail = state["trail"] if self.fault == "aliased_restore" else state["trail"].copy()


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def aliased_restore():
    return Tracker("aliased_restore")


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def tracker_twin():
    return Tracker()


class Sparkly(Grid):
    """Its render() puts a sparkle at a random place, drawn from the game's own generator, which
    the wind draws from too: a game that is drawn blows another wind than one that is not."""

    def render(self):
        return super().render() + [draw.circle(self.rng.randrange(400), 50, 3, id="sparkle")]


@mk.scene(players={"player": mk.HUMAN}, keys=KEYS, default_action=1)
def render_changes_state():
    return Sparkly()

