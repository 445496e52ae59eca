"""Third-party envs, unchanged, through the deep-copy fallback."""

import mugkit as mk


@mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 1}, default_action=0, max_steps=200)
def cartpole():
    import gymnasium

    return gymnasium.make("CartPole-v1", render_mode="rgb_array")


@mk.scene(players={"player_1": mk.HUMAN, "player_2": "random"}, keys={str(i): i for i in range(9)})
def tictactoe():
    from pettingzoo.classic import tictactoe_v3

    return tictactoe_v3.env(render_mode="rgb_array")


@mk.scene(players={"elf": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowDown": 1, "ArrowRight": 2, "ArrowUp": 3},
          default_action=1, max_steps=100)
def frozenlake():
    import gymnasium

    # FrozenLake caches its sprites (a list of pygame surfaces) on the first render, and its
    # render() assigns drawing state (window, clock, images): none of it may change the hash.
    return gymnasium.make("FrozenLake-v1", render_mode="rgb_array")
