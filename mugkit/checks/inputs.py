"""What the humans press in a check: key plans, generated like people play, or written by hand.

A :class:`KeyPlan` says, for each human and each frame, which keys are held. Checks play plans
through the frame driver, which maps keys to actions exactly as for a participant.

Generated plans are built from *segments*: a key combination of the step (or no key) held for a
run of frames, or tapped (pressed for one frame, let go for a few) many times in a row. Runs long
and short mix held keys that carry agents across the map and into each other, combinations, idle
stretches, fast changes and series of taps. What each input mode gets:

- ``"pressed"`` steps: as many holds as series of taps.
- ``"keydown"`` and ``"keyup"`` steps, where a held key counts once: mostly taps.
- turn-based steps: a press every turn (a plan's entry for a tick is the press of that tick).

Hypothesis shrinks a plan toward fewer and shorter segments with no key held.

:class:`HumanInput` draws the same segments one tick at a time, for exploring a game live.

A researcher adds plans of their own with :func:`playthrough`; every check plays them besides the
generated ones.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, Sequence

from ..runtime.keys import KeyInput
from ..runtime.policies import action_mask, mask_allows

__all__ = ["KeyPlan", "Playthrough", "playthrough", "hold", "plan_strategy", "fixed_plans", "sample_plan",
           "plan_to_data", "plan_from_data", "HumanInput", "entry_input", "segment", "MAX_RUN", "MAX_GAP"]

#: Longest run of a generated segment: frames one combination is held (a second at 30 fps), or
#: presses in a row when it is tapped.
MAX_RUN = 30
#: Longest pause between two taps of a generated segment, in frames.
MAX_GAP = 4
#: At most this many fixed plans that tap one combination throughout (keydown and keyup steps).
MAX_TAP_PLANS = 8


def _names(keys: Any) -> tuple:
    """Key names as a sorted tuple: ``None`` or ``()`` (no key), ``"ArrowUp"``, or several."""
    if keys is None:
        return ()
    if isinstance(keys, str):
        return (keys,)
    return tuple(sorted(keys))


@dataclass(frozen=True)
class KeyPlan:
    """The keys each human holds, frame by frame: ``frames[agent][i]`` is held for the ``i``-th
    tick (the step to frame ``i + 1``); past the end, nothing is held.

    In a turn-based step every entry is a fresh press for the human's turn at that tick.
    """

    frames: Mapping[Hashable, tuple]

    @classmethod
    def of(cls, frames: Mapping[Hashable, Sequence[Any]]) -> "KeyPlan":
        """A plan from per-human lists of key names (a name, a tuple of names, or None per tick)."""
        return cls({agent: tuple(_names(k) for k in seq) for agent, seq in frames.items()})

    def held(self, agent: Hashable, i: int) -> tuple:
        seq = self.frames.get(agent, ())
        return seq[i] if i < len(seq) else ()

    def key_input(self, agent: Hashable, i: int, turn_based: bool) -> KeyInput:
        """The driver's input for ``agent`` at tick ``i``: see :func:`entry_input`."""
        return entry_input(self.held(agent, i), turn_based)

    def trimmed(self, ticks: int) -> "KeyPlan":
        """The first ``ticks`` ticks, without the trailing ticks of no key (the same after the end)."""
        out = {}
        for agent, seq in self.frames.items():
            seq = list(seq[:ticks])
            while seq and seq[-1] == ():
                seq.pop()
            out[agent] = tuple(seq)
        return KeyPlan(out)

    def __len__(self) -> int:
        return max((len(seq) for seq in self.frames.values()), default=0)

    def literal(self) -> str:
        """The plan as Python source: runs of equal entries folded (``[('ArrowUp',)] * 12``), and
        series of taps too (``[('ArrowUp',), (), ()] * 5``)."""
        parts = []
        for agent, seq in self.frames.items():
            runs: list[str] = []
            i = 0
            while i < len(seq):
                period, count = _repeat_at(seq, i)
                items = ", ".join(repr(k) for k in seq[i:i + period])
                runs.append(f"[{items}] * {count}" if count > 1 else f"[{items}]")
                i += period * count
            parts.append(f"{agent!r}: " + (" + ".join(runs) if runs else "[]"))
        return "{" + ", ".join(parts) + "}"


def _repeat_at(seq: Sequence, i: int) -> tuple[int, int]:
    """``(period, count)`` of the pattern repeated from ``seq[i]`` that covers most entries: one
    entry held, or a tap with its gap (periods up to ``MAX_GAP + 1``); the shortest on ties."""
    best = (1, 1)
    for period in range(1, MAX_GAP + 2):
        pattern, count = seq[i:i + period], 1
        while len(pattern) == period and tuple(seq[i + count * period:i + (count + 1) * period]) == tuple(pattern):
            count += 1
        if (period == 1 or count > 1) and period * count > best[0] * best[1]:
            best = (period, count)
    return best


def entry_input(keys: Sequence[str], turn_based: bool) -> KeyInput:
    """The driver's input for one entry of a plan: the keys held (their presses and releases the
    driver works out), or in a turn-based step a press of them (down and up within the tick)."""
    keys = frozenset(keys)
    return KeyInput(frozenset(), keys, keys) if turn_based else KeyInput(keys)


def hold(keys: Mapping[Hashable, Any], frames: int) -> list[dict]:
    """``frames`` ticks of the same keys held: ``mk.hold({"p0": "ArrowRight", "p1": "ArrowLeft"}, 20)``.
    Lists add up into a playthrough: ``mk.hold(...) + mk.hold(...)``."""
    return [dict(keys) for _ in range(frames)]


@dataclass
class Playthrough:
    """A hand-written plan for one step, made by :func:`playthrough`."""

    fn: Callable[[], list]
    step: Any
    seed: int
    name: str

    def plan(self, humans: Sequence[Hashable]) -> KeyPlan:
        """The plan the function returns: a list with one dict per tick, human → keys held.

        Raises:
            ValueError: the function does not return such a list, or names an agent that is not
                a human of the step.
        """
        ticks = self.fn()
        if not isinstance(ticks, list) or not all(isinstance(t, dict) for t in ticks):
            raise ValueError(f"playthrough {self.name}() must return a list of dicts (one per frame, human -> keys "
                             f"held), e.g. mk.hold({{...}}, 20); it returned {type(ticks).__name__}")
        unknown = sorted({a for t in ticks for a in t if a not in humans}, key=repr)
        if unknown:
            raise ValueError(f"playthrough {self.name}() names {unknown}, which are not humans of "
                             f"{self.step.name}: {list(humans)}")
        return KeyPlan.of({h: [t.get(h) for t in ticks] for h in humans})


def playthrough(step: Any, *, seed: int = 0) -> Callable[[Callable[[], list]], Playthrough]:
    """Declares a scripted playthrough of a game step, which every check of that step plays besides
    its generated inputs (with game seed ``seed``)::

        @mk.playthrough(chase)
        def meet_in_the_middle():
            return mk.hold({"runner": "ArrowRight"}, 30) + mk.hold({"runner": ("ArrowUp", "ArrowRight")}, 10)
    """
    from ..steps import GameStep, StepError

    if not isinstance(step, GameStep):
        raise StepError(f"@mk.playthrough(step) takes a game step (an @mk.scene with players=...), got {step!r}")

    def wrap(fn: Callable[[], list]) -> Playthrough:
        return Playthrough(fn, step, seed, getattr(fn, "__name__", "playthrough"))

    return wrap


def _choices(options: Any) -> list[tuple]:
    """No key, then each combination of ``keys`` (as sorted names)."""
    return [()] + [tuple(sorted(combo)) for combo, _ in options.combos]


def _tapping(options: Any) -> bool:
    """True when a held key counts only once (it went down, or up): there people tap."""
    return options.input_mode in ("keydown", "keyup") and not options.turn_based


def _gaps(options: Any) -> tuple:
    """The gaps a generated segment draws from (0: held; k: tapped, k frames up between presses),
    the simplest first, which Hypothesis shrinks toward. Keydown and keyup steps mostly tap,
    pressed steps mostly hold, turn-based steps press every turn."""
    if options.turn_based:
        return (0,)
    if _tapping(options):
        return (1, 1, 2, 3, MAX_GAP, 0)
    return (0, 1, 0, 0, 2, 0)


def segment(keys: tuple, run: int, gap: int) -> list[tuple]:
    """A segment's entries: ``keys`` held for ``run`` frames (``gap`` 0), or tapped ``run`` times
    in a row, each press one frame down then ``gap`` frames up."""
    if gap == 0:
        return [keys] * run
    return ([keys] + [()] * gap) * run


def _expand(segments: Sequence[tuple[int, int, int]], choices: list[tuple], frames: int) -> tuple:
    out: list[tuple] = []
    for pick, run, gap in segments:
        out += segment(choices[pick % len(choices)], run, gap)
        if len(out) >= frames:
            break
    return tuple(out[:frames])


def _random_segment(rng: random.Random, choices: Sequence[tuple], gaps: Sequence[int]) -> list[tuple]:
    """A segment drawn with ``rng`` as :func:`plan_strategy` draws one (Hypothesis aside)."""
    return segment(rng.choice(choices), rng.randint(1, MAX_RUN), rng.choice(gaps))


def plan_strategy(step: Any, frames: int) -> Any:
    """A Hypothesis strategy of :class:`KeyPlan` for the step's humans over ``frames`` ticks."""
    from hypothesis import strategies as st

    choices = _choices(step.options)
    one = st.tuples(st.integers(0, len(choices) - 1), st.integers(1, MAX_RUN), st.sampled_from(_gaps(step.options)))
    per_human = st.lists(one, max_size=frames).map(lambda segs: _expand(segs, choices, frames))
    return st.fixed_dictionaries({h: per_human for h in step.humans}).map(KeyPlan)


def sample_plan(step: Any, frames: int, rng: Any) -> KeyPlan:
    """A plan over ``frames`` ticks drawn with ``rng`` (a ``random.Random``) from the same segments
    as :func:`plan_strategy`: what the load-test bots hold, outside Hypothesis."""
    choices, gaps = _choices(step.options), _gaps(step.options)

    def one() -> tuple:
        out: list[tuple] = []
        while len(out) < frames:
            out += _random_segment(rng, choices, gaps)
        return tuple(out[:frames])

    return KeyPlan({h: one() for h in step.humans})


def fixed_plans(step: Any, frames: int) -> list[KeyPlan]:
    """Plans every property check tries first: fast changes, then long holds with the humans on
    the same, shifted and opposite combinations (so that agents cross the map and meet). In a
    keydown or keyup step, then one plan per combination (up to :data:`MAX_TAP_PLANS`) that taps
    it every other frame throughout, human ``k`` tapping the ``k``-th next one: as far as taps go."""
    choices = _choices(step.options)
    n = len(choices)
    hold_for = max(5, frames // n)
    patterns = [lambda i, h: (i * 37 + 11 + 7 * h) % n,
                lambda i, h: (i // hold_for) % n,
                lambda i, h: (i // hold_for + h) % n,
                lambda i, h: (i // hold_for - h) % n]
    plans = [KeyPlan({h: tuple(choices[pattern(i, k)] for i in range(frames)) for k, h in enumerate(step.humans)})
             for pattern in patterns]
    if _tapping(step.options) and n > 1:
        combos = choices[1:]
        taps = (frames + 1) // 2
        plans += [KeyPlan({h: tuple(segment(combos[(c + k) % len(combos)], taps, 1)[:frames])
                           for k, h in enumerate(step.humans)}) for c in range(min(len(combos), MAX_TAP_PLANS))]
    unique: list[KeyPlan] = []
    for plan in plans:
        if plan not in unique:
            unique.append(plan)
    return unique


class HumanInput:
    """Keys for the step's humans one tick at a time, played like people play: the segments of
    :func:`plan_strategy` (holds of 1 to 30 frames, idle stretches, series of taps — mostly taps in
    keydown and keyup steps), drawn with ``rng``. Only combinations the action mask allows (read
    from the frame's observations and infos); in a turn-based step, one legal press every turn.

    For exploring a game live: give :meth:`keys` to :func:`mugkit.checks.play.key_inputs` and tick
    the driver with the result. Recorded tick by tick into a :class:`KeyPlan` (``()`` for a human
    not acting that tick), the entries replay to the same actions through
    :func:`mugkit.checks.play.play`.
    """

    def __init__(self, step: Any, rng: random.Random):
        self.rng = rng
        self.humans = tuple(step.humans)
        self._actions = {tuple(sorted(combo)): action for combo, action in step.options.combos}
        self._gaps = _gaps(step.options)
        self._queue: dict = {}  # human → the rest of the current segment

    def reset(self) -> None:
        """Forgets the current segments (after the game state was restored, say)."""
        self._queue.clear()

    def keys(self, driver: Any) -> dict:
        """Each acting human → the keys held this tick, a sorted tuple of names (``()``: none)."""
        f = driver.frame
        return {agent: self._next(agent, action_mask(f.observations.get(agent), f.infos.get(agent)),
                                  driver.turn_based)
                for agent in f.acting if agent in self.humans}

    def _next(self, agent: Hashable, mask: Any, turn_based: bool) -> tuple:
        legal = [keys for keys, action in self._actions.items() if mask_allows(mask, action)]
        queue = self._queue.setdefault(agent, [])
        if queue and queue[0] and queue[0] not in legal:
            queue.clear()  # the mask changed since the segment began: people change their mind
        if not queue:
            # A turn is always played (an AEC env is turn-based whatever the step's options say).
            choices, gaps = (legal, (0,)) if turn_based else ([()] + legal, self._gaps)
            if not choices:
                return ()
            queue += _random_segment(self.rng, choices, gaps)
        return queue.pop(0)


def plan_to_data(plan: KeyPlan) -> list:
    """The plan as JSON-ready data that keeps agent ids' types: ``[[agent, [[key, ...], ...]], ...]``."""
    return [[agent, [list(k) for k in seq]] for agent, seq in plan.frames.items()]


def plan_from_data(data: list) -> KeyPlan:
    """The inverse of :func:`plan_to_data`."""
    return KeyPlan({agent: tuple(tuple(k) for k in seq) for agent, seq in data})
