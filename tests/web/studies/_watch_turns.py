"""Tic-tac-toe for two humans on the server, monitored for idleness only (4 s): the idle clock
runs for the player whose turn it is, not for the one waiting."""

import mugkit as mk

from _ttt import KEYS, _board


@mk.scene(players={"player_1": mk.HUMAN, "player_2": mk.HUMAN}, keys=KEYS, width=300, height=300, render=_board,
          waitroom_timeout=20, monitor=mk.Monitor(hidden_seconds=None, idle_seconds=4, warn_seconds=2))
def turns(group):
    from pettingzoo.classic import tictactoe_v3

    return tictactoe_v3.env()


@mk.scene
def done():
    return mk.Completion(code="TURNS1", exclusion_code="EXCL9")
