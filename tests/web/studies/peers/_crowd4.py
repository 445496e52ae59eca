"""4 humans walk together in their browsers (tests/web/test_browser_multiplayer.py)."""

import mugkit as mk
from _crowd import Crowd

KEYS = {"ArrowLeft": 1, "ArrowRight": 2, "ArrowUp": 3, "ArrowDown": 4}


@mk.scene(runtime="browser", players={f"p{i}": mk.HUMAN for i in range(4)}, keys=KEYS, default_action=0, fps=30,
          max_steps=90, waitroom_timeout=60)
def walk(seed):
    return Crowd(4)


@mk.scene
def done():
    return mk.Completion(code="CROWD4")
