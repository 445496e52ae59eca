"""Browser-runtime games: two rounds with the screens, then one that raises at frame 50, then one
whose key maps to an action outside the action space."""

import mugkit as mk

from _envs import KEYS, Walk

TITLE = "Walking in the browser"


@mk.scene(players={"walker": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1, fps=30, max_steps=45,
          episodes=2, countdown=1, round_over=20)
def rounds(seed):
    return Walk()


@mk.scene(players={"walker": mk.HUMAN}, runtime="browser", keys=KEYS, default_action=1, fps=30, max_steps=120,
          ready=False, countdown=0)
def crashes(seed):
    return Walk(crash_at=50)


@mk.scene(players={"walker": mk.HUMAN}, runtime="browser", keys={"ArrowLeft": 0, " ": 7}, default_action=1, fps=30,
          max_steps=120, ready=False, countdown=0)
def bad_key(seed):
    return Walk()


@mk.scene
def done():
    return mk.Completion(code="BROWSER1")
