"""Planted faults that only longer, human-like play reaches, each with its fault-free twin.

Named with a leading _ so that a plain `pytest tests/` does not collect it as an experiment; tests
run `mugkit check` on it by name (tests/test_explore_faults.py, bench/bench_explore_faults.py).

Each fault sits a second or more of play away from the start, where 40 frames of generated keys
do not go:

- ``bump``: a coin race; the players start 300 px apart (100 frames of one player's walk).
  Bumping into each other stuns both, and ``get_state``/``set_state`` leave ``stun`` out.
- ``edge``: a grid cave played with taps (``input_mode="keydown"``); the right wall is missing,
  and the 13th tap to the right indexes past the level's row (IndexError).
- ``turns``: tic-tac-toe (a PettingZoo AEC env with an action mask); the ninth move can complete
  two lines at once (x on the four corners, the centre last), and the code that keeps the winning
  line expects one (ValueError).
- ``last_frame``: a 30-second coin duel; the winner's bonus at frame 900 is given to nobody on a
  tie (KeyError).
- ``tie``: a grid race for gems from opposite corners; two players stepping into one cell on the
  same frame are told apart by a generator made without a seed, in step().

The lines the tests look for carry a ``# planted: <fault>`` comment.
"""

import random

import mugkit as mk
from mugkit import draw, spaces

ARROWS = {"ArrowLeft": 1, "ArrowRight": 2, "ArrowUp": 3, "ArrowDown": 4}
MOVES = {0: (0, 0), 1: (-1, 0), 2: (1, 0), 3: (0, -1), 4: (0, 1)}
COLORS = {"p0": "#4cc9f0", "p1": "#f72585"}


def _dist2(ax, ay, bx, by):
    return (ax - bx) ** 2 + (ay - by) ** 2


def _sign(v):
    return (v > 0) - (v < 0)


def _flags(agents, value):
    return {a: value for a in agents}


# --- An arena where two players walk and pick up coins ---------------------------------------------


class Arena:
    """Two players walk (3 px a frame) and pick up coins; a coin taken reappears elsewhere.

    PettingZoo parallel API, numpy-free. ``coins`` coins at a time; the round lasts
    ``round_frames`` frames. Observations (ints, pixels): own x, y, the other's x, y, the first
    coin's x, y, own score, the other's score.
    """

    metadata = {"render_modes": ["mug"], "name": "arena_v0"}
    possible_agents = ["p0", "p1"]
    WIDTH, HEIGHT, R, COIN_R, SPEED = 600, 400, 12, 8, 3
    START = {"p0": (100, 200), "p1": (500, 200)}

    def __init__(self, coins=3, round_frames=900):
        self.render_mode = "mug"
        self.n_coins = coins
        self.round_frames = round_frames
        high = [self.WIDTH, self.HEIGHT] * 3 + [999, 999]
        self._obs_space = spaces.Box(0, high, shape=(8,), dtype="int")
        self._act_space = spaces.Discrete(5)
        self.agents = []

    def action_space(self, agent):
        return self._act_space

    def observation_space(self, agent):
        return self._obs_space

    def reset(self, seed=None, options=None):
        self.rng = mk.Random(seed)
        self.agents = list(self.possible_agents)
        self.frame = 0
        self.pos = {a: list(self.START[a]) for a in self.agents}
        self.score = {a: 0 for a in self.agents}
        self.coins = []
        for _ in range(self.n_coins):
            self.coins.append(self._place_coin())
        return self._observations(), {a: {} for a in self.agents}

    def _place_coin(self):
        """Somewhere at least 60 px from both players."""
        while True:
            x = self.rng.randrange(30, self.WIDTH - 30)
            y = self.rng.randrange(30, self.HEIGHT - 30)
            if all(_dist2(x, y, *p) >= 60 * 60 for p in self.pos.values()):
                return [x, y]

    def _observations(self):
        out = {}
        for a in self.possible_agents:
            other = "p1" if a == "p0" else "p0"
            cx, cy = self.coins[0] if self.coins else (0, 0)
            out[a] = [*self.pos[a], *self.pos[other], cx, cy, min(self.score[a], 999), min(self.score[other], 999)]
        return out

    def _can_move(self, agent):
        return True

    def _walk(self, actions):
        for a, act in actions.items():
            if not self._can_move(a):
                continue
            dx, dy = MOVES[act]
            p = self.pos[a]
            p[0] = max(self.R, min(self.WIDTH - self.R, p[0] + dx * self.SPEED))
            p[1] = max(self.R, min(self.HEIGHT - self.R, p[1] + dy * self.SPEED))

    def _pick_up(self, rewards):
        for a in self.possible_agents:
            for k, (x, y) in enumerate(self.coins):
                if _dist2(x, y, *self.pos[a]) <= (self.R + self.COIN_R) ** 2:
                    self.score[a] += 1
                    rewards[a] += 1
                    self.coins[k] = self._place_coin()

    def _after_walk(self, rewards):
        """What a game adds after the players walked (bumps, …)."""

    def _at_the_end(self, rewards):
        """What a game does on the round's last frame (a winner, …)."""

    def step(self, actions):
        self.frame += 1
        rewards = {a: 0 for a in self.agents}
        self._walk(actions)
        self._after_walk(rewards)
        self._pick_up(rewards)
        over = self.frame >= self.round_frames
        if over:
            self._at_the_end(rewards)
        agents = list(self.agents)
        out = (self._observations(), rewards, _flags(agents, False), _flags(agents, over),
               {a: {"score": self.score[a]} for a in agents})
        if over:
            self.agents = []
        return out

    def render(self):
        shapes = [draw.rect(0, 0, self.WIDTH, self.HEIGHT, color="#22223b")]
        for k, (x, y) in enumerate(self.coins):
            shapes.append(draw.circle(x, y, self.COIN_R, color="#ffd166", id=f"coin{k}"))
        for a in self.possible_agents:
            shapes.append(draw.circle(*self.pos[a], self.R, color=COLORS[a], id=a, depth=1))
        left = max(0, self.round_frames - self.frame) // 30
        shapes.append(draw.text(12, 22, f"{self.score['p0']} : {self.score['p1']}   {left} s", size=18, id="hud"))
        return shapes

    def get_state(self):
        return {"frame": self.frame, "agents": list(self.agents), "pos": {a: list(p) for a, p in self.pos.items()},
                "score": dict(self.score), "coins": [list(c) for c in self.coins], "rng": self.rng.getstate()}

    def set_state(self, state):
        self.frame, self.agents = state["frame"], list(state["agents"])
        self.pos = {a: list(p) for a, p in state["pos"].items()}
        self.score = dict(state["score"])
        self.coins = [list(c) for c in state["coins"]]
        self.rng.setstate(state["rng"])


# --- bump: a state field that changes only when the players meet, left out of the snapshot ---------


class CoinRace(Arena):
    """The players start 300 px apart: 100 frames of one player's walk (3 px a frame), some 46
    frames with both walking straight at each other. Bumping pushes both back and stuns them for
    1.5 s (a stunned player cannot move). With ``forget_stun`` the snapshot leaves ``stun`` out."""

    metadata = {"render_modes": ["mug"], "name": "coin_race_v0"}
    START = {"p0": (150, 200), "p1": (450, 200)}
    STUN_FRAMES, PUSH = 45, 20

    def __init__(self, forget_stun=False):
        super().__init__(coins=4, round_frames=1800)
        self.forget_stun = forget_stun

    def reset(self, seed=None, options=None):
        self.stun = {"p0": 0, "p1": 0}
        return super().reset(seed, options)

    def _can_move(self, agent):
        return self.stun[agent] == 0

    def _after_walk(self, rewards):
        for a in self.stun:
            self.stun[a] = max(0, self.stun[a] - 1)
        (ax, ay), (bx, by) = self.pos["p0"], self.pos["p1"]
        if _dist2(ax, ay, bx, by) <= (2 * self.R) ** 2:
            sx, sy = _sign(ax - bx) or -1, _sign(ay - by)
            for a, k in (("p0", 1), ("p1", -1)):
                p = self.pos[a]
                p[0] = max(self.R, min(self.WIDTH - self.R, p[0] + k * sx * self.PUSH))
                p[1] = max(self.R, min(self.HEIGHT - self.R, p[1] + k * sy * self.PUSH))
                self.stun[a] = self.STUN_FRAMES

    def render(self):
        shapes = super().render()
        for a in self.possible_agents:
            if self.stun[a]:
                shapes.append(draw.text(self.pos[a][0], self.pos[a][1] - 18, "dizzy", size=12, align="center",
                                        id=f"{a}-stun", depth=2))
        return shapes

    def get_state(self):
        state = super().get_state()
        if not self.forget_stun:
            state["stun"] = dict(self.stun)
        return state  # planted: bump (get_state leaves stun out)

    def set_state(self, state):
        super().set_state(state)
        if not self.forget_stun:
            self.stun = dict(state["stun"])


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0)
def bump():
    return CoinRace(forget_stun=True)


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0)
def bump_twin():
    return CoinRace()


# --- edge: a crash at the far side of a grid played with taps ---------------------------------------

CAVE = [
    "##############",
    "#....#.....*..",
    "#.*..#..##....",
    "#....#..#...*.",
    "#.............",
    "#..*...#...#..",
    "#......#.*.#..",
    "##############",
]


class Cave:
    """One explorer in a cave, one cell per key press; gems (*) score a point. The cave's right
    side is open: with ``clamp`` False a step to the right from the last column looks up the cell
    past the end of the row. Gymnasium-style, numpy-free."""

    metadata = {"render_modes": ["mug"]}
    CELL = 40
    START = (1, 4)

    def __init__(self, clamp=True):
        self.clamp = clamp
        self.render_mode = "mug"
        self.width, self.height = len(CAVE[0]), len(CAVE)
        self.action_space = spaces.Discrete(5)
        self.observation_space = spaces.Box(0, 99, shape=(3,), dtype="int")

    def reset(self, seed=None, options=None):
        self.x, self.y = self.START
        self.gems = sorted((x, y) for y, row in enumerate(CAVE) for x, c in enumerate(row) if c == "*")
        self.score, self.t = 0, 0
        return self._obs(), {}

    def _obs(self):
        return [self.x, self.y, self.score]

    def _free(self, x, y):
        if self.clamp and not (0 <= x < self.width and 0 <= y < self.height):
            return False
        return CAVE[y][x] != "#"  # planted: edge (IndexError past the open right side)

    def step(self, action):
        self.t += 1
        dx, dy = MOVES[action]
        if (dx or dy) and self._free(self.x + dx, self.y + dy):
            self.x, self.y = self.x + dx, self.y + dy
        reward = 0
        if (self.x, self.y) in self.gems:
            self.gems.remove((self.x, self.y))
            self.score += 1
            reward = 1
        return self._obs(), reward, not self.gems, False, {}

    def render(self):
        c = self.CELL
        shapes = [draw.rect(x * c, y * c, c, c, color="#4a4e69") for y, row in enumerate(CAVE)
                  for x, cell in enumerate(row) if cell == "#"]
        shapes += [draw.circle(x * c + c // 2, y * c + c // 2, 8, color="#ffd166", id=f"gem{x}-{y}")
                   for x, y in self.gems]
        shapes.append(draw.circle(self.x * c + c // 2, self.y * c + c // 2, 14, color="#4cc9f0", id="me", depth=1))
        return shapes

    def get_state(self):
        return {"x": self.x, "y": self.y, "gems": list(self.gems), "score": self.score, "t": self.t}

    def set_state(self, state):
        self.x, self.y, self.score, self.t = state["x"], state["y"], state["score"], state["t"]
        self.gems = [tuple(g) for g in state["gems"]]


@mk.scene(players={"explorer": mk.HUMAN}, keys=ARROWS, default_action=0, input_mode="keydown", max_steps=900)
def edge():
    return Cave(clamp=False)


@mk.scene(players={"explorer": mk.HUMAN}, keys=ARROWS, default_action=0, input_mode="keydown", max_steps=900)
def edge_twin():
    return Cave()


# --- turns: a crash at one configuration of a full board, nine legal moves in ---------------------

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
OTHER = {"x": "o", "o": "x"}


class TicTacToe:
    """Tic-tac-toe as a PettingZoo AEC env (numpy-free), with an action mask in the observation.
    The winning line is drawn across the board. With ``one_line`` the code expects a move to
    complete one line, but the ninth move can complete two (x on four corners, the centre last)."""

    metadata = {"render_modes": ["mug"], "name": "tictactoe_v0"}

    def __init__(self, one_line=False):
        self.one_line = one_line
        self.render_mode = "mug"
        self.possible_agents = ["x", "o"]
        self._act = {a: spaces.Discrete(9) for a in self.possible_agents}
        self._obs = {a: spaces.Dict({"observation": spaces.Box(0, 2, shape=(9,), dtype="int"),
                                     "action_mask": spaces.Box(0, 1, shape=(9,), dtype="int")})
                     for a in self.possible_agents}
        self.reset()

    def action_space(self, agent):
        return self._act[agent]

    def observation_space(self, agent):
        return self._obs[agent]

    def reset(self, seed=None, options=None):
        self.board = [0] * 9  # 0 empty, 1 x, 2 o
        self.line = None  # the winning line, once there is one
        self.agents = list(self.possible_agents)
        self.agent_selection = "x"
        self.rewards = {a: 0 for a in self.agents}
        self._cumulative_rewards = {a: 0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: {} for a in self.agents}

    def observe(self, agent):
        return {"observation": list(self.board), "action_mask": [int(c == 0) for c in self.board]}

    def last(self, observe=True):
        a = self.agent_selection
        return (self.observe(a) if observe else None, self._cumulative_rewards[a], self.terminations[a],
                self.truncations[a], self.infos[a])

    def _remove_finished(self, a):
        for d in (self.rewards, self._cumulative_rewards, self.terminations, self.truncations, self.infos):
            del d[a]
        self.agents.remove(a)
        self.rewards = {b: 0 for b in self.agents}
        if self.agents:
            self.agent_selection = self.agents[0]

    def step(self, action):
        a = self.agent_selection
        if self.terminations[a]:
            self._remove_finished(a)
            return
        self._cumulative_rewards[a] = 0
        mark = 1 if a == "x" else 2
        self.board[action] = mark
        self.rewards = {b: 0 for b in self.agents}
        completed = [line for line in LINES if all(self.board[i] == mark for i in line)]
        if completed:
            if self.one_line:
                (self.line,) = completed  # planted: turns (a move that completes two lines: ValueError)
            else:
                self.line = completed[0]
            self.rewards = {a: 1, OTHER[a]: -1}
        if completed or all(self.board):
            self.infos = {b: {"result": "draw" if not completed else "won" if b == a else "lost"} for b in self.agents}
            self.terminations = {b: True for b in self.agents}
        for b in self.agents:
            self._cumulative_rewards[b] += self.rewards[b]
        self.agent_selection = OTHER[a]

    def render(self):
        shapes = []
        for k in (1, 2):
            shapes.append(draw.line([(100 + k * 100, 50), (100 + k * 100, 350)], width=4, id=f"v{k}"))
            shapes.append(draw.line([(100, 50 + k * 100), (400, 50 + k * 100)], width=4, id=f"h{k}"))
        for i, cell in enumerate(self.board):
            x, y = 150 + (i % 3) * 100, 100 + (i // 3) * 100
            if cell:
                shapes.append(draw.text(x, y + 20, "XO"[cell - 1], size=60, align="center", id=f"mark{i}"))
        if self.line:
            (i, *_, k) = self.line
            ends = [(150 + (c % 3) * 100, 100 + (c // 3) * 100) for c in (i, k)]
            shapes.append(draw.line(ends, color="#e63946", width=8, id="line", depth=1))
        shapes.append(draw.text(450, 30, f"{self.agent_selection} to play", id="turn"))
        return shapes

    def get_state(self):
        return {"board": list(self.board), "line": self.line, "agents": list(self.agents),
                "agent_selection": self.agent_selection,
                "rewards": dict(self.rewards), "cumulative": dict(self._cumulative_rewards),
                "terminations": dict(self.terminations), "truncations": dict(self.truncations),
                "infos": {a: dict(i) for a, i in self.infos.items()}}

    def set_state(self, state):
        self.board, self.agents, self.line = list(state["board"]), list(state["agents"]), state["line"]
        self.agent_selection = state["agent_selection"]
        self.rewards, self._cumulative_rewards = dict(state["rewards"]), dict(state["cumulative"])
        self.terminations, self.truncations = dict(state["terminations"]), dict(state["truncations"])
        self.infos = {a: dict(i) for a, i in state["infos"].items()}


# The numeric keypad's layout: 7 8 9 on the top row, 1 2 3 on the bottom one.
CELL_KEYS = {"1": 6, "2": 7, "3": 8, "4": 3, "5": 4, "6": 5, "7": 0, "8": 1, "9": 2}


@mk.scene(players={"x": mk.HUMAN, "o": mk.HUMAN}, keys=CELL_KEYS)
def turns():
    return TicTacToe(one_line=True)


@mk.scene(players={"x": mk.HUMAN, "o": mk.HUMAN}, keys=CELL_KEYS)
def turns_twin():
    return TicTacToe()


# --- last_frame: a winner computed on the round's last frame ----------------------------------------


class CoinDuel(Arena):
    """One coin at a time; after 30 s the player with more coins gets a bonus. With ``ties``
    False a tie gives the bonus to nobody's entry of the rewards (KeyError)."""

    metadata = {"render_modes": ["mug"], "name": "coin_duel_v0"}
    BONUS = 5

    def __init__(self, ties=True):
        super().__init__(coins=1, round_frames=900)
        self.ties = ties

    def _winner(self):
        if self.score["p0"] > self.score["p1"]:
            return "p0"
        if self.score["p1"] > self.score["p0"]:
            return "p1"
        return None

    def _at_the_end(self, rewards):
        winner = self._winner()
        if winner is None and self.ties:
            return
        rewards[winner] += self.BONUS  # planted: last_frame (a tie has no winner: KeyError)


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0, max_steps=900)
def last_frame():
    return CoinDuel(ties=False)


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0, max_steps=900)
def last_frame_twin():
    return CoinDuel()


# --- tie: an unseeded generator that only breaks ties ------------------------------------------------


class GemGrid:
    """Two players race for gems on a 19×9 grid, one cell per frame at 10 frames a second, from
    opposite corners. When both step into one cell on the same frame, a coin flip says who gets
    it: with ``seeded`` False from a generator made on the spot, without a seed. PettingZoo
    parallel API, numpy-free."""

    metadata = {"render_modes": ["mug"], "name": "gem_grid_v0"}
    possible_agents = ["p0", "p1"]
    W, H, CELL, GEMS = 19, 9, 30, 6
    ROUND_FRAMES = 600  # a minute at 10 frames a second
    START = {"p0": (0, 0), "p1": (18, 8)}

    def __init__(self, seeded=True):
        self.seeded = seeded
        self.render_mode = "mug"
        self._obs_space = spaces.Box(0, 99, shape=(6,), dtype="int")
        self._act_space = spaces.Discrete(5)
        self.agents = []

    def action_space(self, agent):
        return self._act_space

    def observation_space(self, agent):
        return self._obs_space

    def reset(self, seed=None, options=None):
        self.rng = mk.Random(seed)
        self.agents = list(self.possible_agents)
        self.frame = 0
        self.pos = {a: list(self.START[a]) for a in self.agents}
        self.score = {a: 0 for a in self.agents}
        self.gems = []
        while len(self.gems) < self.GEMS:
            self._add_gem()
        return self._observations(), {a: {} for a in self.agents}

    def _add_gem(self):
        taken = [tuple(p) for p in self.pos.values()] + [tuple(g) for g in self.gems]
        while True:
            cell = (self.rng.randrange(self.W), self.rng.randrange(self.H))
            if cell not in taken:
                self.gems.append(list(cell))
                return

    def _observations(self):
        return {a: [*self.pos[a], *self.pos["p1" if a == "p0" else "p0"], *self.gems[0]] for a in self.possible_agents}

    def _coin_flip(self):
        rng = self.rng if self.seeded else random.Random()  # planted: tie
        return rng.randrange(2)

    def _targets(self, actions):
        """Where each player that moves this frame wants to go."""
        targets = {}
        for a, act in actions.items():
            dx, dy = MOVES[act]
            x, y = self.pos[a][0] + dx, self.pos[a][1] + dy
            if (dx or dy) and 0 <= x < self.W and 0 <= y < self.H:
                targets[a] = [x, y]
        return targets

    def step(self, actions):
        self.frame += 1
        targets = self._targets(actions)
        if len(targets) == 2 and targets["p0"] == targets["p1"]:
            del targets[self.possible_agents[self._coin_flip()]]  # the loser of the flip stays
        for a, cell in targets.items():
            if all(cell != self.pos[b] for b in self.possible_agents if b != a):
                self.pos[a] = cell
        rewards = {a: 0 for a in self.agents}
        for a in self.possible_agents:
            if self.pos[a] in self.gems:
                self.gems.remove(self.pos[a])
                self.score[a] += 1
                rewards[a] = 1
                self._add_gem()
        over = self.frame >= self.ROUND_FRAMES
        agents = list(self.agents)
        out = (self._observations(), rewards, _flags(agents, False), _flags(agents, over),
               {a: {"score": self.score[a]} for a in agents})
        if over:
            self.agents = []
        return out

    def render(self):
        c = self.CELL
        shapes = [draw.rect(0, 0, self.W * c, self.H * c, color="#22223b")]
        shapes += [draw.circle(x * c + c // 2, y * c + c // 2, 7, color="#ffd166", id=f"gem{k}")
                   for k, (x, y) in enumerate(self.gems)]
        shapes += [draw.rect(x * c + 3, y * c + 3, c - 6, c - 6, color=COLORS[a], id=a, depth=1)
                   for a, (x, y) in self.pos.items()]
        shapes.append(draw.text(10, self.H * c + 24, f"{self.score['p0']} : {self.score['p1']}", id="hud"))
        return shapes

    def get_state(self):
        return {"frame": self.frame, "agents": list(self.agents), "pos": {a: list(p) for a, p in self.pos.items()},
                "score": dict(self.score), "gems": [list(g) for g in self.gems],
                "rng": self.rng.getstate()}

    def set_state(self, state):
        self.frame, self.agents = state["frame"], list(state["agents"])
        self.pos = {a: list(p) for a, p in state["pos"].items()}
        self.score = dict(state["score"])
        self.gems = [list(g) for g in state["gems"]]
        self.rng.setstate(state["rng"])


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0, fps=10)
def tie():
    return GemGrid(seeded=False)


@mk.scene(players={"p0": mk.HUMAN, "p1": mk.HUMAN}, keys=ARROWS, default_action=0, fps=10)
def tie_twin():
    return GemGrid()
