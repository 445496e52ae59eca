"""Orders of steps: ``FLOW`` helpers ``repeat``, ``shuffle``, ``counterbalance``, and conditions.

``FLOW = [welcome, consent, mk.counterbalance(game_a, game_b), mk.repeat(after_game, 2), done]``.
:func:`expand` turns a flow into one participant's list of steps. ``shuffle`` is random per
participant (seeded); ``counterbalance`` cycles through every order by participant number, so
after ``k × n!`` participants each order was used ``k`` times (orders balanced, not merely random).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any, Sequence

from .steps import Step

__all__ = ["repeat", "shuffle", "counterbalance", "Repeat", "Shuffle", "Counterbalance", "expand",
           "flow_steps", "check_item", "assign_condition"]


@dataclass(frozen=True)
class Repeat:
    item: Any
    n: int


@dataclass(frozen=True)
class Shuffle:
    items: tuple


@dataclass(frozen=True)
class Counterbalance:
    items: tuple


def check_item(item: Any, where: str) -> None:
    """Raises TypeError unless ``item`` can stand in a flow (a step or a flow helper)."""
    if not isinstance(item, (Step, Repeat, Shuffle, Counterbalance)):
        raise TypeError(f"{where}: {item!r:.60} is not a step (a @mk.scene or @mk.survey function) "
                        f"or mk.repeat/mk.shuffle/mk.counterbalance")


def repeat(step: Any, n: int) -> Repeat:
    """``step`` ``n`` times in a row (each time is a separate visit, stored with its repetition)."""
    check_item(step, "mk.repeat")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"mk.repeat: n must be a positive int, got {n!r}")
    return Repeat(step, n)


def shuffle(*steps: Any) -> Shuffle:
    """The steps in a random order per participant (seeded by the study seed and participant)."""
    for s in steps:
        check_item(s, "mk.shuffle")
    if len(steps) < 2:
        raise ValueError("mk.shuffle needs at least two steps")
    return Shuffle(tuple(steps))


def counterbalance(*steps: Any) -> Counterbalance:
    """The steps in every possible order, balanced across participants by their arrival number."""
    for s in steps:
        check_item(s, "mk.counterbalance")
    if len(steps) < 2:
        raise ValueError("mk.counterbalance needs at least two steps")
    return Counterbalance(tuple(steps))


def expand(flow: Sequence[Any], number: int, rng: random.Random) -> list[tuple[Step, int]]:
    """One participant's steps, as (step, repetition) pairs in order.

    Args:
        flow: the experiment's flow items.
        number: the participant's arrival number (0, 1, …), which picks the counterbalanced order.
        rng: the participant's generator, for ``shuffle``.
    """
    out: list[tuple[Step, int]] = []
    for item in flow:
        _expand(item, number, rng, out, 0)
    return out


def _expand(item: Any, number: int, rng: random.Random, out: list, rep: int) -> None:
    if isinstance(item, Step):
        out.append((item, rep))
    elif isinstance(item, Repeat):
        for i in range(item.n):
            _expand(item.item, number, rng, out, i)
    elif isinstance(item, Shuffle):
        items = list(item.items)
        rng.shuffle(items)
        for sub in items:
            _expand(sub, number, rng, out, rep)
    elif isinstance(item, Counterbalance):
        orders = list(itertools.permutations(range(len(item.items))))
        for i in orders[number % len(orders)]:
            _expand(item.items[i], number, rng, out, rep)
    else:
        raise TypeError(f"not a flow item: {item!r}")


def flow_steps(flow: Sequence[Any]) -> list[Step]:
    """Every distinct step a flow can visit, in first-appearance order."""
    seen: list[Step] = []

    def walk(item):
        if isinstance(item, Step):
            if not any(item is s for s in seen):
                seen.append(item)
        elif isinstance(item, Repeat):
            walk(item.item)
        elif isinstance(item, (Shuffle, Counterbalance)):
            for sub in item.items:
                walk(sub)

    for it in flow:
        walk(it)
    return seen


def assign_condition(conditions: Sequence[Any], counts: dict) -> Any:
    """The condition with the fewest participants so far (ties: the first declared); None without conditions.

    Args:
        conditions: the experiment's ``CONDITIONS``.
        counts: participants per condition so far (condition name → count).
    """
    if not conditions:
        return None
    return min(conditions, key=lambda c: (counts.get(condition_name(c), 0), conditions.index(c)))


def condition_name(condition: Any) -> str:
    """A condition's stored name: itself for a str, its ``"name"`` entry for a dict."""
    if isinstance(condition, dict):
        return str(condition.get("name"))
    return str(condition)
