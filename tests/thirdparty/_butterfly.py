"""A PettingZoo butterfly game, unchanged, through the deep-copy fallback: a parallel env
(an AEC env behind PettingZoo's aec_to_parallel wrapper, EzPickle) with 280×480×3 pixel
observations, pymunk-free pygame physics and no get_state/set_state."""

import mugkit as mk


@mk.scene(players={"paddle_0": mk.HUMAN, "paddle_1": mk.HUMAN}, keys={"ArrowUp": 1, "ArrowDown": 2},
          default_action=0)
def pong():
    from pettingzoo.butterfly import cooperative_pong_v6

    return cooperative_pong_v6.parallel_env(render_mode="rgb_array")
