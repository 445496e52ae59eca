"""A runtime comparison that compares nothing: five humans per game, more than a browser game
has (at most four), so the browser round runs on the server too."""

import mugkit as mk
from _walker import Duo

GAME = dict(players={a: mk.HUMAN for a in "abcde"}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
            max_steps=60)


class Crowd(Duo):
    """Five walkers."""

    possible_agents = list("abcde")

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.pos = {a: 10 + 20 * i for i, a in enumerate(self.agents)}
        return dict(self.pos), {a: {} for a in self.agents}


@mk.scene(runtime="server", **GAME)
def on_server(seed):
    return Crowd()


@mk.scene(runtime="browser", **GAME)
def in_browser(seed):
    return Crowd()


FLOW = [mk.counterbalance(on_server, in_browser)]
