"""Small games for tests/test_explore.py: states that only exploration reaches."""

import mugkit as mk
from mugkit import draw, spaces


class Corridor:
    """Walk right along a 150-cell corridor, one cell a frame; a `door` opens at the far end.
    With `forget`, get_state leaves `door` out."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, forget=False):
        self.forget = forget
        self.render_mode = "mug"
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(0, 150, shape=(1,), dtype="int")

    def reset(self, seed=None, options=None):
        self.x, self.t, self.door = 0, 0, 0
        return [self.x], {}

    def step(self, action):
        self.t += 1
        self.x = max(0, min(150, self.x + action - 1))
        if self.x == 150:
            self.door = 1
        return [self.x], float(self.door), False, self.t >= 600, {}

    def render(self):
        return [draw.rect(self.x * 4, 10, 4, 4, id="me"), draw.text(10, 40, "open" if self.door else "shut")]

    def get_state(self):
        state = {"x": self.x, "t": self.t}
        if not self.forget:
            state["door"] = self.door
        return state

    def set_state(self, state):
        self.x, self.t = state["x"], state["t"]
        if not self.forget:
            self.door = state["door"]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


@mk.scene(players={"walker": mk.HUMAN}, keys=KEYS, default_action=1)
def corridor():
    return Corridor()


@mk.scene(players={"walker": mk.HUMAN}, keys=KEYS, default_action=1)
def forgetful():
    return Corridor(forget=True)


class Lock:
    """A combination lock: press the 12 digits of the code in order; a wrong digit starts over."""

    metadata = {"render_modes": ["mug"]}
    CODE = [3, 1, 4, 1, 5, 2, 6, 5, 3, 5, 2, 4]

    def __init__(self):
        self.render_mode = "mug"
        self.action_space = spaces.Discrete(7)
        self.observation_space = spaces.Box(0, 12, shape=(1,), dtype="int")

    def reset(self, seed=None, options=None):
        self.done, self.opened, self.t = 0, 0, 0
        return [self.done], {}

    def step(self, action):
        self.t += 1
        if action:
            self.done = self.done + 1 if action == self.CODE[self.done] else 0
            if self.done == len(self.CODE):
                self.opened, self.done = 1, 0
        return [self.done], 0.0, False, self.t >= 300, {}

    def render(self):
        return [draw.text(10, 20, f"{self.done} of {len(self.CODE)}")]


DIGITS = {str(d): d for d in range(1, 7)}


@mk.scene(players={"thief": mk.HUMAN}, keys=DIGITS, default_action=0, input_mode="keydown")
def lock():
    return Lock()


@mk.policy
def locksmith():
    def act(obs, **_):
        return Lock.CODE[obs[0]]
    return act


smith = mk.stand_in(lock, {"thief": "locksmith"})


@mk.scene(players={"thief": mk.HUMAN}, keys=DIGITS, default_action=0, input_mode="keydown")
def lock_alone():
    return Lock()
