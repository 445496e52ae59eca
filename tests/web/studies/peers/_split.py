"""Two humans in their browsers with an env that diverges between them (a planted desync)."""

import mugkit as mk
from _crowd import Crowd

KEYS = {"ArrowLeft": 1, "ArrowRight": 2, "ArrowUp": 3, "ArrowDown": 4}


@mk.scene(runtime="browser", players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=KEYS, default_action=0, fps=30,
          max_steps=150, waitroom_timeout=60)
def walk(seed):
    return Crowd(2, diverge=True)


@mk.scene
def done():
    return mk.Completion(code="SPLIT")
