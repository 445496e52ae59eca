"""A runtime comparison that compares nothing: two humans per game, so the browser round runs on
the server too (browser multiplayer is not available yet)."""

import mugkit as mk
from _walker import Duo

GAME = dict(players={"a": mk.HUMAN, "b": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
            max_steps=60)


@mk.scene(runtime="server", **GAME)
def on_server(seed):
    return Duo()


@mk.scene(runtime="browser", **GAME)
def in_browser(seed):
    return Duo()


FLOW = [mk.counterbalance(on_server, in_browser)]
