"""The Gem Gatherers example's browser step (experiments/gather.py) with a 5-second round: two
humans, each in their own browser. The test copies experiments/envs next to this file."""

import mugkit as mk
from envs.gather import GatherEnv
from envs.motion import KEYS

FRAMES = 150


@mk.scene(runtime="browser", players={"p0": mk.HUMAN, "p1": mk.HUMAN}, fps=30, episodes=1, max_steps=FRAMES,
          keys=KEYS, default_action=0, waitroom_timeout=60)
def round_in_browser(seed):
    return GatherEnv(render_mode="mug", round_frames=FRAMES)


@mk.scene
def done():
    return mk.Completion(code="PAIR")
