"""Server games whose process dies mid-game (tests/web/test_takeover.py): a walker beside a random
AI, deterministic (it resumes from its record), and one that is not (it cannot)."""

import mugkit as mk

from _walk import Duo, KEYS


class Flaky(Duo):
    """Two walkers, whose start depends on how many were built before in this process: a replay
    of its record gives other rows (an env that is not deterministic)."""

    built = 0

    def __init__(self):
        super().__init__()
        Flaky.built += 1
        self.shift = Flaky.built

    def step(self, actions):
        obs, rewards, terminated, truncated, infos = super().step(actions)
        return obs, {a: float(self.shift) for a in rewards}, terminated, truncated, infos


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="Two games follow.", button="Start")


@mk.scene(players={"left": mk.HUMAN, "right": "random"}, keys=KEYS, default_action=1, fps=30, max_steps=75,
          episodes=2)
def walk(seed):
    return Duo()


@mk.scene(players={"left": mk.HUMAN, "right": "random"}, keys=KEYS, default_action=1, fps=30, max_steps=75)
def flaky(seed):
    return Flaky()


@mk.scene
def done():
    return mk.Completion(code="TAKEN1")


FLOW = [welcome, walk, flaky, done]
