"""Browser games in a row for one participant, for the test of the kept browser-runtime worker
(tests/web/test_browser_reuse.py) and bench/bench_second_game.py: a first browser game, the
`walk` step twice (mk.repeat), then `mapped`, which ships one more file (its own experiment
wheel). A link with ``?boom=1`` makes the first game raise at frame 5. (Named with _ so
`pytest tests/` does not check it.)"""

import os

import mugkit as mk
from mugkit import draw, spaces

HERE = os.path.dirname(os.path.abspath(__file__))


class Walk:
    """A walker on a line; numpy-free. ``boom``: raise at frame 5."""

    metadata = {"render_modes": ["mug"]}

    def __init__(self, start=50, boom=False):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(1000)
        self.start, self.boom = start, boom

    def reset(self, seed=None, options=None):
        self.x, self.t = self.start, 0
        return self.x, {}

    def step(self, action):
        self.t += 1
        if self.boom and self.t == 5:
            raise RuntimeError("boom at frame 5")
        self.x = max(0, min(999, self.x + action - 1))
        return self.x, float(action == 2), False, False, {}

    def render(self):
        return [draw.rect(0, 0, 600, 400, color="#f4f1ea"), draw.circle(self.x * 4, 200, 12, color="#2e86c1", id="walker"),
                draw.text(10, 24, f"x = {self.x}", color="#222")]


KEYS = {"ArrowLeft": 0, "ArrowRight": 2}
GAME = dict(players={"player": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1, fps=30, max_steps=20)


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="You will walk a few times.", button="Start")


@mk.scene(**GAME)
def first(seed, participant):
    return Walk(boom=participant.params.get("boom") == "1")


@mk.scene(**GAME)
def walk(seed):
    return Walk(start=40 + seed % 20)


@mk.scene(**GAME, files=("_twice_map.txt",))
def mapped(seed):
    with open(os.path.join(HERE, "_twice_map.txt"), encoding="utf-8") as f:
        return Walk(start=int(f.read().strip()))


@mk.scene
def done():
    return mk.Completion(code="TW1CE", redirect="https://app.prolific.com/submissions/complete?cc={code}")


FLOW = [welcome, first, mk.repeat(walk, 2), mapped, done]
