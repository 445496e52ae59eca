"""Planted faults of the `parity` check (Pyodide in Chromium against CPython), with their
fault-free twin. Named with a leading _ so that a plain `pytest tests/` does not collect it as an
experiment; tests/test_parity.py runs `mugkit check` on it by name.

- `float_sum`: the fuel a glider has burnt is `sum()` of its burns, 0.1 per frame: CPython 3.11
  adds floats one by one, Python 3.12+ (Pyodide) with compensation, so the two drift apart.
- `needs_numpy`: the step function imports numpy, which the browser cannot load offline.
- `undeclared`: the step imports chess (pure Python), installed here but not declared in
  packages=, so the browser does not get it.
- `imports_in_step`: the env's step() imports chess (undeclared) at frame 1 only: the step loads,
  then the game raises in the browser alone, with the same fix as `undeclared`.
- `declared`: the same import with the package declared (`packages=`): it loads, and passes.
- `glider_twin`: the same glider with `math.fsum`, identical in both Pythons.
"""

import math
import random

import mugkit as mk
from mugkit import draw, spaces


class Glider:
    """A glider on a line that burns 0.1 units of fuel every frame; `adder` adds up the burns."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, adder=math.fsum):
        self.adder = adder
        self.render_mode = "mug"
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(0, 600, shape=(2,), dtype="float")

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.x, self.t = 300, 0
        self.burns = []
        self.fuel = 0.0
        return self._obs(), {}

    def _obs(self):
        return [float(self.x), self.fuel]

    def step(self, action):
        self.t += 1
        self.x = max(0, min(600, self.x + 3 * (action - 1) + self.rng.randint(-1, 1)))
        self.burns.append(0.1)
        self.fuel = self.adder(self.burns)  # the fault: sum() rounds differently across Python versions
        return self._obs(), 0, False, self.t >= 400, {}

    def render(self):
        return [draw.rect(self.x, 200, 10, 10, id="glider"), draw.text(10, 20, f"fuel {self.fuel:.1f}")]

    def get_state(self):
        return {"x": self.x, "t": self.t, "fuel": self.fuel, "burns": list(self.burns), "rng": self.rng.getstate()}

    def set_state(self, state):
        self.x, self.t, self.fuel = state["x"], state["t"], state["fuel"]
        self.burns = list(state["burns"])
        self.rng.setstate(state["rng"])


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}
GAME = dict(players={"pilot": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1)


@mk.scene(**GAME)
def float_sum():
    return Glider(adder=sum)


@mk.scene(**GAME)
def needs_numpy():
    import numpy as np  # not in Pyodide offline

    glider = Glider()
    glider.adder = lambda burns: float(np.sum(burns))
    return glider


def chess_glider():
    import chess  # pure Python: the browser has it only when the step declares it

    return Glider(adder=lambda burns: math.fsum(burns) * (len(chess.SQUARES) // 64))


@mk.scene(**GAME)
def undeclared():
    return chess_glider()


class LateChessGlider(Glider):
    def step(self, action):
        import chess  # imported when the game first steps, not when the step loads

        return super().step(action)


@mk.scene(**GAME)
def imports_in_step():
    return LateChessGlider()


@mk.scene(**GAME, packages=["chess==1.11.2"])
def declared():
    return chess_glider()


@mk.scene(**GAME)
def glider_twin():
    return Glider()
