"""What the humans press in a check: key plans, generated like people play, or written by hand.

A :class:`KeyPlan` says, for each human and each frame, which keys are held. Checks play plans
through the frame driver, which maps keys to actions exactly as for a participant.

Generated plans are built from *segments*: a key combination of the step (or no key) held for a
run of frames. Runs long and short mix held keys that carry agents across the map and into each
other, combinations, idle stretches and fast changes. Hypothesis shrinks a plan toward fewer and
shorter segments with no key held.

A researcher adds plans of their own with :func:`playthrough`; every check plays them besides the
generated ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, Sequence

from ..runtime.keys import KeyInput

__all__ = ["KeyPlan", "Playthrough", "playthrough", "hold", "plan_strategy", "fixed_plans", "sample_plan",
           "plan_to_data", "plan_from_data", "MAX_RUN"]

#: Longest run of one held combination in a generated segment, in frames (a second at 30 fps).
MAX_RUN = 30


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
        """The driver's input for ``agent`` at tick ``i``: keys held (their presses and releases
        the driver works out), or in a turn-based step a press of them."""
        keys = frozenset(self.held(agent, i))
        return KeyInput(frozenset(), keys, keys) if turn_based else KeyInput(keys)

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
        """The plan as Python source: runs of equal entries folded (``[('ArrowUp',)] * 12``)."""
        parts = []
        for agent, seq in self.frames.items():
            runs: list[str] = []
            i = 0
            while i < len(seq):
                j = i
                while j < len(seq) and seq[j] == seq[i]:
                    j += 1
                runs.append(f"[{seq[i]!r}] * {j - i}" if j - i > 1 else f"[{seq[i]!r}]")
                i = j
            parts.append(f"{agent!r}: " + (" + ".join(runs) if runs else "[]"))
        return "{" + ", ".join(parts) + "}"


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


def _expand(segments: Sequence[tuple[int, int]], choices: list[tuple], frames: int) -> tuple:
    out: list[tuple] = []
    for pick, run in segments:
        out += [choices[pick % len(choices)]] * run
        if len(out) >= frames:
            break
    return tuple(out[:frames])


def plan_strategy(step: Any, frames: int) -> Any:
    """A Hypothesis strategy of :class:`KeyPlan` for the step's humans over ``frames`` ticks."""
    from hypothesis import strategies as st

    choices = _choices(step.options)
    segment = st.tuples(st.integers(0, len(choices) - 1), st.integers(1, MAX_RUN))
    per_human = st.lists(segment, max_size=frames).map(lambda segs: _expand(segs, choices, frames))
    return st.fixed_dictionaries({h: per_human for h in step.humans}).map(KeyPlan)


def sample_plan(step: Any, frames: int, rng: Any) -> KeyPlan:
    """A plan over ``frames`` ticks drawn with ``rng`` (a ``random.Random``) from the same segments
    as :func:`plan_strategy`: what the load-test bots hold, outside Hypothesis."""
    choices = _choices(step.options)

    def one() -> tuple:
        segments, total = [], 0
        while total < frames:
            segments.append((rng.randrange(len(choices)), rng.randint(1, MAX_RUN)))
            total += segments[-1][1]
        return _expand(segments, choices, frames)

    return KeyPlan({h: one() for h in step.humans})


def fixed_plans(step: Any, frames: int) -> list[KeyPlan]:
    """Plans every property check tries first: fast changes, then long holds with the humans on
    the same, shifted and opposite combinations (so that agents cross the map and meet)."""
    choices = _choices(step.options)
    n = len(choices)
    hold_for = max(5, frames // n)
    patterns = [lambda i, h: (i * 37 + 11 + 7 * h) % n,
                lambda i, h: (i // hold_for) % n,
                lambda i, h: (i // hold_for + h) % n,
                lambda i, h: (i // hold_for - h) % n]
    plans = []
    for pattern in patterns:
        plan = KeyPlan({h: tuple(choices[pattern(i, k)] for i in range(frames)) for k, h in enumerate(step.humans)})
        if plan not in plans:
            plans.append(plan)
    return plans


def plan_to_data(plan: KeyPlan) -> list:
    """The plan as JSON-ready data that keeps agent ids' types: ``[[agent, [[key, ...], ...]], ...]``."""
    return [[agent, [list(k) for k in seq]] for agent, seq in plan.frames.items()]


def plan_from_data(data: list) -> KeyPlan:
    """The inverse of :func:`plan_to_data`."""
    return KeyPlan({agent: tuple(tuple(k) for k in seq) for agent, seq in data})
