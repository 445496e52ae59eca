"""mugkit.flow: repeat/shuffle/counterbalance expansion and balanced condition assignment."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

import mugkit as mk
from mugkit.flow import assign_condition, condition_name, expand, flow_steps


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="hi")


@mk.scene
def a():
    return mk.Page(body="a")


@mk.scene
def b():
    return mk.Page(body="b")


@mk.scene
def c():
    return mk.Page(body="c")


@mk.survey
def after():
    return [mk.Text("t", "?")]


def _names(flow, number=0, seed=0):
    return [(s.name, rep) for s, rep in expand(flow, number, random.Random(seed))]


def test_plain_flow_is_in_order():
    assert _names([welcome, a, after]) == [("welcome", 0), ("a", 0), ("after", 0)]


def test_repeat_numbers_the_repetitions():
    assert _names([welcome, mk.repeat(after, 3), c]) == [("welcome", 0), ("after", 0), ("after", 1), ("after", 2),
                                                          ("c", 0)]


def test_counterbalance_cycles_all_orders_over_participants():
    flow = [welcome, mk.counterbalance(a, b, c), after]
    orders = []
    for number in range(12):
        names = [n for n, _ in _names(flow, number)]
        assert names[0] == "welcome" and names[-1] == "after"
        orders.append(tuple(names[1:-1]))
    assert set(orders[:6]) == set(itertools.permutations(["a", "b", "c"]))  # every order in the first 3!
    assert Counter(orders) == {order: 2 for order in itertools.permutations(["a", "b", "c"])}
    assert orders[:6] == orders[6:]  # cycles by arrival number
    assert _names(flow, 4, seed=1) == _names(flow, 4, seed=2)  # not random


def test_counterbalance_of_repeats():
    flow = [mk.counterbalance(mk.repeat(a, 2), b)]
    assert _names(flow, 0) == [("a", 0), ("a", 1), ("b", 0)]
    assert _names(flow, 1) == [("b", 0), ("a", 0), ("a", 1)]


def test_shuffle_is_seeded_per_participant():
    flow = [welcome, mk.shuffle(a, b, c)]
    assert _names(flow, 0, seed=5) == _names(flow, 3, seed=5)
    orders = {tuple(n for n, _ in _names(flow, 0, seed=s))[1:] for s in range(60)}
    assert orders == set(itertools.permutations(["a", "b", "c"]))


def test_repeat_of_shuffle_reshuffles_each_time():
    flow = [mk.repeat(mk.shuffle(a, b, c), 4)]
    names = _names(flow, 0, seed=3)
    assert [rep for _, rep in names] == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3
    blocks = [tuple(n for n, _ in names[i:i + 3]) for i in range(0, 12, 3)]
    assert all(sorted(block) == ["a", "b", "c"] for block in blocks)
    assert len(set(blocks)) > 1


def test_flow_steps_lists_each_step_once():
    flow = [welcome, mk.repeat(a, 2), mk.shuffle(a, b), mk.counterbalance(c, mk.repeat(b, 2))]
    assert [s.name for s in flow_steps(flow)] == ["welcome", "a", "b", "c"]


@pytest.mark.parametrize("make, error, message", [
    (lambda: mk.repeat(a, 0), ValueError, "mk.repeat: n must be a positive int, got 0"),
    (lambda: mk.repeat(a, True), ValueError, "mk.repeat: n must be a positive int, got True"),
    (lambda: mk.repeat(a, 2.0), ValueError, "mk.repeat: n must be a positive int, got 2.0"),
    (lambda: mk.repeat("a", 2), TypeError, "mk.repeat: 'a' is not a step"),
    (lambda: mk.shuffle(a), ValueError, "mk.shuffle needs at least two steps"),
    (lambda: mk.shuffle(a, print), TypeError, "mk.shuffle: <built-in function print> is not a step"),
    (lambda: mk.counterbalance(), ValueError, "mk.counterbalance needs at least two steps"),
    (lambda: mk.counterbalance(a, None), TypeError, "mk.counterbalance: None is not a step"),
])
def test_bad_flow_arguments(make, error, message):
    with pytest.raises(error) as info:
        make()
    assert str(info.value).startswith(message)


def test_expand_rejects_a_non_step():
    with pytest.raises(TypeError, match="not a flow item: 'welcome'"):
        expand([welcome, "welcome"], 0, random.Random(0))


def test_assign_condition_balances():
    conditions = ["control", "ai", "human"]
    counts: Counter = Counter()
    assigned = []
    for _ in range(10):
        cond = assign_condition(conditions, counts)
        counts[condition_name(cond)] += 1
        assigned.append(cond)
    assert assigned[:3] == ["control", "ai", "human"]  # ties go to the first declared
    assert counts == {"control": 4, "ai": 3, "human": 3}


def test_assign_condition_fills_the_emptiest_and_handles_dicts():
    conditions = [{"name": "slow", "fps": 10}, {"name": "fast", "fps": 60}]
    assert assign_condition(conditions, {"slow": 5, "fast": 2}) == {"name": "fast", "fps": 60}
    assert assign_condition(conditions, {"slow": 2, "fast": 2})["name"] == "slow"
    assert assign_condition(conditions, {}) is conditions[0]
    assert assign_condition([], {}) is None
    assert condition_name({"name": "x"}) == "x" and condition_name(3) == "3"
