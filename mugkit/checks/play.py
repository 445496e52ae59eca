"""Playing a game from a key plan: the common ground of the checks.

Checks play through the :class:`~mugkit.runtime.driver.FrameDriver`, the very code that runs a
study's frames. Humans hold the keys a :class:`~mugkit.checks.inputs.KeyPlan` says, which the
driver maps to actions as it does for a participant. A combination the action mask forbids (or,
in a turn-based step, no press) becomes a legal one, as a participant would press one: which one
follows from the plan's entry and the frame, so plans spread over the legal moves and a plan
played again gives the same game (:func:`key_inputs`). AI players (``"random"`` and
``@mk.policy``) play as in the study.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Mapping, Sequence

from ..games import Game, Participant, build_game
from ..runtime.ai import AIPlayer
from ..runtime.driver import FrameDriver
from ..runtime.keys import NO_KEYS, KeyInput
from ..runtime.policies import Onnx, RandomPolicy, action_mask, mask_allows
from ..runtime.state import hash_view
from ..steps import GameStep
from .inputs import KeyPlan, _choices, _names, entry_input

__all__ = ["Run", "make_game", "key_inputs", "plan_keys", "tick", "play", "replay_actions", "first_difference",
           "pinned_globals", "CHECK_PARTICIPANT"]

CHECK_PARTICIPANT = Participant("check-0", {}, None)


def make_game(step: GameStep, policies: dict, seed: int, conditions: Sequence[Any] = (), *,
              python_only: bool = False) -> Game:
    """The game as a participant (or a group of them) would get it, for the checks. With
    ``python_only`` ONNX players play ``"random"`` instead: in a browser they run in JavaScript
    (onnxruntime-web), outside Python."""
    condition = conditions[0] if conditions else None
    people = [Participant(f"check-{i}", {}, condition) for i in range(max(1, len(step.humans)))]
    game = build_game(step, policies, seed=seed, participant=people[0], group=people)
    if python_only:
        for agent, ai in game.ais.items():
            if isinstance(ai.policy, Onnx):
                game.ais[agent] = AIPlayer(RandomPolicy(), ai.every, ai.fill)
    return game


def key_inputs(driver: FrameDriver, held: Mapping[Hashable, Sequence[str]]) -> dict:
    """The driver's input for every acting human, who holds the keys ``held`` names (a key name,
    a tuple of names, or None; a human missing from it holds none) — in a turn-based step, presses
    them.

    Where the driver would find only combinations the frame's action mask forbids, or in a
    turn-based step no combination at all, the human presses a legal combination instead, chosen
    from the held keys (their place among the step's choices) and the frame's index: a plan played
    again gives the same game, and plans spread over the legal moves. In real time with no legal
    combination, no key.
    """
    return {agent: _legal_input(driver, agent, _names(held.get(agent))) for agent in driver.frame.acting
            if agent in driver.mappers}


def plan_keys(driver: FrameDriver, plan: KeyPlan, i: int) -> dict:
    """The key input of every acting human at tick ``i`` (see :func:`key_inputs`)."""
    return key_inputs(driver, {agent: plan.held(agent, i) for agent in driver.frame.acting})


def _legal_input(driver: FrameDriver, agent: Hashable, keys: tuple) -> KeyInput:
    """``agent``'s input holding ``keys`` (sorted names), or a legal stand-in (see :func:`key_inputs`)."""
    turn_based = driver.turn_based
    wanted = entry_input(keys, turn_based)
    f = driver.frame
    mask = action_mask(f.observations.get(agent), f.infos.get(agent))
    if mask is None and not turn_based:
        return wanted
    probe = copy.copy(driver.mappers[agent])  # what the driver will make of it, its key state untouched
    active = probe.active(wanted, turn_based)
    if probe.match(active, mask) is not None or (not turn_based and probe.match(active) is None):
        return wanted  # a legal combination, or in real time none at all (the frame fills it)
    legal = [combo for combo, action in probe.combos if mask_allows(mask, action)]
    if not legal:
        return wanted if turn_based else NO_KEYS  # a turn-based frame then waits for good
    pick = legal[_pick(_entry_index(driver, keys), f.index, len(legal))]
    return KeyInput(frozenset(), pick, pick)  # pressed and let go within the tick


def _entry_index(driver: FrameDriver, keys: tuple) -> int:
    """The entry's place among the step's choices; a stable number for keys that are none of them."""
    choices = _choices(driver.options)
    return choices.index(keys) if keys in choices else zlib.crc32("+".join(keys).encode())


def _pick(entry: int, frame: int, n: int) -> int:
    """Which of ``n`` legal combinations: consecutive frames take consecutive ones, and each run
    of ``n`` frames starts where the entry and the run's number say (a stable hash), so that taps
    at any pace, not only a press every frame, meet every legal combination."""
    return (zlib.crc32(f"{entry}/{frame // n}".encode()) + frame) % n


def tick(game: Game, driver: FrameDriver, plan: KeyPlan, i: int) -> Any:
    """Plays tick ``i`` of ``plan`` on ``game``'s ``driver``; None when the frame waits for an
    input no plan can give (a turn with no legal combination, a late AI answer)."""
    return driver.tick(plan_keys(driver, plan, i))


@dataclass
class Run:
    """What a run recorded: the frame hashes (index 0 is the reset), the joint actions taken and,
    when asked, each frame's data."""

    hashes: list[str] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    data: list[dict] = field(default_factory=list)  # frame data, when recorded

    def record(self, driver: FrameDriver, keep_data: bool, hashed: bool = True) -> None:
        self.hashes.append(driver.checksum() if hashed else None)
        if keep_data:
            self.data.append(driver.env.frame_data(driver.frame))


#: A run longer than this many frames (an explored trajectory, a playout to the episode's end) is
#: compared frame by frame over its last this-many frames only (see ``play``'s ``sparse``).
FULL_TAIL = 120
#: Before that, every this-many frames.
SPARSE_EVERY = 8


def play(game: Game, plan: KeyPlan, frames: int, *, render: bool = False, keep_data: bool = False,
         each_frame: Callable[[Game, int], None] | None = None, run: Run | None = None,
         sparse: bool = False) -> Run:
    """Plays the first episode of ``game`` through its driver for up to ``frames`` frames (or the
    plan's length, if longer; stops when the episode ends), humans holding what ``plan`` says,
    hashing every frame — with ``sparse``, every :data:`SPARSE_EVERY`-th frame but the last
    :data:`FULL_TAIL` (the others' hashes are None): a long run is fast-forwarded to where it is
    compared. With ``keep_data`` also keeps each frame's data. Records into ``run`` when given
    (what was recorded survives an exception)."""
    run = run if run is not None else Run()
    driver = game.driver(render=render)
    driver.start()
    run.record(driver, keep_data)
    ticks = max(frames, len(plan))
    dense_from = ticks - FULL_TAIL if sparse else 0
    for i in range(ticks):
        if driver.frame.done:
            break
        result = tick(game, driver, plan, i)
        if result is None:
            break  # waits for an input no plan can give
        run.actions.append(result.actions)
        run.record(driver, keep_data, i + 1 >= dense_from or (i + 1) % SPARSE_EVERY == 0)
        if each_frame:
            each_frame(game, i + 1)
    return run


def replay_actions(game: Game, actions: Sequence[dict], *, render: bool = False) -> list[str]:
    """Plays the first episode of ``game`` through its driver with the joint ``actions`` (one dict
    per frame; stops when the episode ends), rendering each frame with ``render``. Returns the
    frame hashes, index 0 being the reset."""
    driver = game.driver(render=render)
    driver.start()
    hashes = [driver.checksum()]
    for a in actions:
        if driver.frame.done:
            break
        driver.advance(a)
        hashes.append(driver.checksum())
    return hashes


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first index where two hash lists differ (or where one ends early), or None."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


_ASSIGNED: dict = {}
#: Methods that set up, draw or tear down rather than play: what they assign is not game state.
_NOT_PLAYING = ("__init__", "render", "close")


def assigned_outside_init(cls: type) -> set:
    """The attributes ``cls`` (and its bases) assign as ``self.x = …`` in methods other than
    ``__init__``: its game state, as opposed to its configuration (an env's gravity, its spaces)."""
    import ast
    import inspect
    import textwrap

    if cls not in _ASSIGNED:
        names: set = set()
        for klass in cls.__mro__[:-1]:
            try:
                tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
            except (OSError, TypeError, SyntaxError):
                continue
            for fn in ast.walk(tree):
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name not in _NOT_PLAYING:
                    for node in ast.walk(fn):
                        targets = node.targets if isinstance(node, ast.Assign) else (
                            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
                        names.update(t.attr for target in targets for t in ast.walk(target)  # a, self.b = …
                                     if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                                     and t.value.id == "self")
        _ASSIGNED[cls] = names
    return _ASSIGNED[cls]


@contextlib.contextmanager
def pinned_globals(seed: int, numpy_seed: int | None = None):
    """Seeds the process-wide generators (``random``'s with ``seed``, numpy's with ``numpy_seed``,
    by default the same) for one run and puts them back afterwards. Two runs pinned to different
    seeds differ when an env draws from them, and each run, replayed, gives the same frames again:
    a failure caused by global randomness reproduces."""
    import random

    np = sys.modules.get("numpy")
    saved = (random.getstate(), np.random.get_state() if np is not None else None)
    random.seed(seed)
    if np is not None:
        np.random.seed(seed if numpy_seed is None else numpy_seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        if np is not None:
            np.random.set_state(saved[1])
