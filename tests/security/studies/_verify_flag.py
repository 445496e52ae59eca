"""A browser-runtime game with verify="flag", then the completion page."""

import mugkit as mk
from _verify_line import KEYS, Line


@mk.scene(players={"walker": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=20, episodes=3,
          runtime="browser", verify="flag")
def walk(seed):
    return Line(render_mode="mug")


@mk.scene
def done():
    return mk.Completion(code="VFLAG1")
