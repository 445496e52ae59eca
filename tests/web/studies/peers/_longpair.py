"""_pair.py's step with a 15-second round: a test that hides a tab and then closes a page can do
both mid-round on a slow machine too. The test copies experiments/envs next to this file."""

import mugkit as mk
from envs.gather import GatherEnv
from envs.motion import KEYS

FRAMES = 450


@mk.scene(runtime="browser", players={"p0": mk.HUMAN, "p1": mk.HUMAN}, fps=30, episodes=1, max_steps=FRAMES,
          keys=KEYS, default_action=0, waitroom_timeout=60)
def round_in_browser(seed):
    return GatherEnv(render_mode="mug", round_frames=FRAMES)


@mk.scene
def done():
    return mk.Completion(code="LONGPAIR")
