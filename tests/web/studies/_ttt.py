"""Tic-tac-toe (PettingZoo's AEC env, unchanged) for two humans on the server: turns wait."""

import mugkit as mk

KEYS = {str(i + 1): i for i in range(9)}  # keys 1-9 are the cells


def _board(env):
    board = env.unwrapped.board.squares if hasattr(env.unwrapped.board, "squares") else list(env.unwrapped.board)
    shapes = [mk.draw.rect(0, 0, 300, 300, color="#fdfaf3")]
    for i, v in enumerate(board):
        x, y = 100 * (i // 3), 100 * (i % 3)
        shapes.append(mk.draw.rect(x + 4, y + 4, 92, 92, color="#ffffff", stroke="#333333"))
        if v:
            shapes.append(mk.draw.text(x + 35, y + 65, "X" if v == 1 else "O", size=48, color="#222222"))
    return shapes


@mk.scene(players={"player_1": mk.HUMAN, "player_2": mk.HUMAN}, keys=KEYS, width=300, height=300, render=_board)
def ttt(group):
    from pettingzoo.classic import tictactoe_v3

    return tictactoe_v3.env()


@mk.scene
def done():
    return mk.Completion(code="TTT")
