"""mugkit.runtime.state: state_view rules, Snapshotter (state methods and deep-copy fallback), copy_plain, diff."""

from __future__ import annotations

import enum
import math
import random
import threading

import numpy as np

from mugkit.runtime.hashing import digest, encode
from mugkit.runtime.state import Snapshotter, copy_plain, diff, state_view


class Plain:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class Color(enum.Enum):
    RED = 1


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1
        self.y = [2, 3]


# --- state_view ---------------------------------------------------------------------------------------


def test_plain_values_map_to_themselves():
    for value in [None, True, 3, 2**130, -0.0, "s", b"b", [1, "a"], {"k": (1, 2)}, {1, 2}]:
        assert encode(state_view(value)) == encode(value)


def test_object_view_has_class_and_attributes():
    view = state_view(Plain(a=1, b=[1, 2], c={"k": Plain(z=0)}))
    assert view == {"__class__": f"{__name__}.Plain", "a": 1, "b": [1, 2],
                    "c": {"k": {"__class__": f"{__name__}.Plain", "z": 0}}}


def test_none_functions_modules_classes_and_resources_are_left_out():
    import os

    env = Plain(kept=1, nothing=None, fn=lambda: 1, builtin=len, module=os, cls=Plain,
                lock=threading.Lock(), method=Plain(q=1).__init__)
    assert state_view(env) == {"__class__": f"{__name__}.Plain", "kept": 1}


def test_rendering_a_resource_into_a_none_attribute_does_not_change_the_view():
    env = Plain(pos=[1, 2], screen=None, clock=None)
    before = digest(state_view(env))
    env.screen, env.clock = threading.Lock(), threading.RLock()  # stand-ins for a pygame Surface and Clock
    assert digest(state_view(env)) == before


def test_random_random_becomes_its_state():
    rng = random.Random(4)
    view = state_view(rng)
    assert set(view) == {"__class__", "state"} and view["__class__"] == "random.Random"
    assert encode(view["state"]) == encode(rng.getstate())
    view = state_view(Plain(rng=rng))
    rng.random()
    assert view["rng"]["state"] != rng.getstate()
    assert digest(state_view(Plain(rng=random.Random(4)))) == digest(state_view(Plain(rng=random.Random(4))))
    assert digest(state_view(Plain(rng=random.Random(4)))) != digest(state_view(Plain(rng=random.Random(5))))


def test_numpy_generators_become_their_state():
    gen = np.random.default_rng(3)
    view = state_view(gen)
    assert view["__class__"] == "numpy.random.Generator"
    assert view["state"] == gen.bit_generator.state
    encode(view)  # 128-bit ints inside: encodable
    legacy = state_view(np.random.RandomState(3))
    assert legacy["__class__"] == "numpy.random.RandomState" and legacy["state"]["state"]["pos"] == 624
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    b.random()
    assert digest(state_view(a)) != digest(state_view(b))
    a.random()
    assert digest(state_view(a)) == digest(state_view(b))


def test_arrays_enums_and_slots():
    view = state_view(Plain(arr=np.arange(3), color=Color.RED, s=Slotted()))
    assert isinstance(view["arr"], np.ndarray) and view["arr"].tolist() == [0, 1, 2]
    assert view["color"] == {"__enum__": f"{__name__}.Color", "value": 1}
    assert view["s"] == {"__class__": f"{__name__}.Slotted", "x": 1, "y": [2, 3]}


def test_cycles_do_not_loop():
    a, b = Plain(name="a"), Plain(name="b")
    a.other, b.other = b, a
    view = state_view(a)
    assert view["other"]["name"] == "b" and view["other"]["other"] == "<cycle>"
    xs: list = [1]
    xs.append(xs)
    assert state_view(xs) == [1, "<cycle>"]
    encode(view)


def test_shared_non_cyclic_objects_are_viewed_twice():
    shared = Plain(v=1)
    view = state_view(Plain(a=shared, b=shared))
    assert view["a"] == view["b"] == {"__class__": f"{__name__}.Plain", "v": 1}


def test_non_plain_dict_keys_become_reprs():
    view = state_view({Color.RED: 1, (1, 2): 2})
    assert view == {repr(Color.RED): 1, (1, 2): 2}


def test_a_view_does_not_change_when_the_env_does():
    env = Plain(xs=[1, 2, 3], pair=(1, 2), d={"k": [1]})
    view = state_view(env)
    kept = digest(view)
    env.xs[0] = 9
    env.d["k"].append(2)
    assert digest(view) == kept


def test_a_view_does_not_change_when_the_env_mutates_an_array():
    env = Plain(grid=np.zeros(2, dtype=np.int64))
    view = state_view(env)
    kept = digest(view)
    env.grid[0] = 9
    assert digest(view) == kept


# --- Snapshotter with get_state/set_state --------------------------------------------------------------------


class StatefulEnv:
    def __init__(self):
        self.xs = [0]
        self.rng = random.Random(1)
        self.sets = 0

    def get_state(self):
        return {"xs": self.xs, "rng": self.rng.getstate()}  # live list on purpose

    def set_state(self, state):
        self.xs = state["xs"]
        self.rng.setstate(state["rng"])
        self.sets += 1

    def step(self):
        self.xs.append(self.rng.randrange(1000))


def test_state_methods_snapshot_is_isolated_and_reloadable():
    env = StatefulEnv()
    snap = Snapshotter(env)
    assert snap.uses_state_methods
    env.step()
    saved = snap.save()
    expected = list(env.xs)
    env.step()  # mutates the list get_state returned
    assert saved["xs"] == expected
    futures = []
    for _ in range(3):
        snap.load(saved)
        assert env.xs == expected
        env.step()
        env.step()
        futures.append(list(env.xs))
    assert futures[0] == futures[1] == futures[2]
    assert env.sets == 3
    assert saved["xs"] == expected  # set_state got a copy, not the snapshot


def test_state_methods_need_both_methods():
    class Half:
        def get_state(self):
            return {}

    assert not Snapshotter(Half()).uses_state_methods


# --- Snapshotter deep-copy fallback --------------------------------------------------------------------------


class CopiedEnv:
    def __init__(self):
        self.pos = [0, 0]
        self.grid = np.zeros((2, 2), dtype=np.int64)
        self.rng = random.Random(2)
        self.lock = threading.Lock()
        self.child = Plain(score=0)

    def step(self):
        self.pos[0] += self.rng.randrange(1, 5)
        self.grid[1, 1] += 1
        self.child.score += 1


def test_deep_copy_restores_in_place():
    env = CopiedEnv()
    snap = Snapshotter(env)
    assert not snap.uses_state_methods
    env.step()
    before = digest(state_view(env))
    saved = snap.save()
    env.step()
    env.step()
    assert digest(state_view(env)) != before
    env_id = id(env)
    snap.load(saved)
    assert id(env) == env_id and snap.env is env
    assert digest(state_view(env)) == before
    assert env.child.score == 1 and env.grid[1, 1] == 1


def test_deep_copy_snapshot_loads_many_times():
    env = CopiedEnv()
    snap = Snapshotter(env)
    saved = snap.save()
    runs = []
    for _ in range(3):
        snap.load(saved)
        for _ in range(4):
            env.step()
        runs.append(digest(state_view(env)))
    assert len(set(runs)) == 1
    snap.load(saved)
    assert env.pos == [0, 0] and env.child.score == 0


def test_uncopyable_resources_are_shared_not_copied():
    env = CopiedEnv()
    env.frames = (i for i in range(3))  # a generator cannot be deep-copied either
    lock, frames = env.lock, env.frames
    snap = Snapshotter(env)
    saved = snap.save()
    env.step()
    snap.load(saved)
    assert env.lock is lock and env.frames is frames
    assert env.pos == [0, 0]


def test_slotted_env_restores_in_place():
    env = Slotted()
    snap = Snapshotter(env)
    saved = snap.save()
    env.x = 5
    env.y.append(4)
    snap.load(saved)
    assert (env.x, env.y) == (1, [2, 3])


def test_object_whose_deepcopy_raises_is_shared():
    class Window:
        def __init__(self):
            self.title = "game"

        def __deepcopy__(self, memo):
            raise TypeError("cannot copy a window")

    env = CopiedEnv()
    env.window = window = Window()
    snap = Snapshotter(env)
    saved = snap.save()
    env.step()
    snap.load(saved)
    snap.load(saved)
    assert env.pos == [0, 0] and env.window is window


def test_deep_copy_ignores_reduce_that_rebuilds_a_fresh_object():
    class Rebuilt:  # like EzPickle: pickles (and copy.deepcopy's) as its constructor arguments
        def __init__(self, size=3):
            self.size = size
            self.t = 0

        def __reduce__(self):
            return (Rebuilt, (self.size,))

    env = Plain(inner=Rebuilt())
    env.inner.t = 5
    snap = Snapshotter(env)
    saved = snap.save()
    env.inner.t = 9
    snap.load(saved)
    assert env.inner.t == 5


def test_slots_of_a_base_class_are_viewed_and_restored():
    class Base:
        __slots__ = ("a",)

    class Env(Base):
        def __init__(self):
            self.a = 1
            self.b = 2

    env = Env()
    assert state_view(env)["a"] == 1
    snap = Snapshotter(env)
    saved = snap.save()
    env.a = 5
    snap.load(saved)
    assert env.a == 1


# --- copy_plain ------------------------------------------------------------------------------------------------


def test_copy_plain_is_a_deep_copy():
    original = {"a": [1, [2, 3]], "b": (1, [4]), "c": (1, 2), "d": np.array([1, 2]), "e": Plain(v=[1])}
    copied = copy_plain(original)
    assert encode(state_view(copied)) == encode(state_view(original))
    copied["a"][1].append(9)
    copied["b"][1].append(9)
    copied["d"][0] = 9
    copied["e"].v.append(9)
    assert original == {**original, "a": [1, [2, 3]], "b": (1, [4]), "c": (1, 2)}
    assert original["d"].tolist() == [1, 2] and original["e"].v == [1]


def test_copy_plain_keeps_exact_values():
    value = [-0.0, math.inf, 2**130, True, None, b"x", "s"]
    assert encode(copy_plain(value)) == encode(value)


# --- diff --------------------------------------------------------------------------------------------------------


def test_diff_paths():
    a = {"pos": [1, 2], "inner": {"score": 3, "name": "x"}, 5: "int key", "only_a": 1}
    b = {"pos": [1, 4], "inner": {"score": 3, "name": "y"}, 5: "INT KEY", "only_b": 2}
    assert diff(a, b) == [
        "pos[1]: 2 != 4",
        "inner.name: 'x' != 'y'",
        "[5]: 'int key' != 'INT KEY'",
        "only_a: only in the first",
        "only_b: only in the second",
    ]


def test_diff_of_equal_views_is_empty_and_exact():
    assert diff({"x": [1.0, math.nan]}, {"x": [1.0, math.nan]}) == []
    assert diff(0.0, -0.0) == ["value: 0.0 != -0.0"]
    assert diff(1, True) == ["value: 1 != True"]
    assert diff([1, 2], [1, 2, 3]) == ["value: [1, 2] != [1, 2, 3]"]


def test_diff_limit_and_long_values():
    a = {f"k{i}": i for i in range(20)}
    b = {f"k{i}": -i - 1 for i in range(20)}
    assert len(diff(a, b)) == 8
    assert len(diff(a, b, limit=3)) == 3
    (line,) = diff("x" * 100, "y" * 100)
    assert line.endswith("...") and len(line) < 140


def test_diff_of_object_views_names_the_attribute():
    a = state_view(CopiedEnv())
    env = CopiedEnv()
    env.step()
    paths = [line.split(":")[0] for line in diff(a, state_view(env), limit=1000)]
    assert "pos[0]" in paths and "child.score" in paths and any(p.startswith("rng.state") for p in paths)


def test_differences_in_arrays_give_shape_count_and_first_index():
    import numpy as np

    from mugkit.runtime.state import diff

    a = np.zeros((280, 480, 3), np.uint8)
    b = a.copy()
    b[10, 20, 1], b[200, 3, 0] = 7, 9
    assert diff({"obs": a}, {"obs": b}) == [
        "obs: 2 of 403200 elements differ in arrays of shape (280, 480, 3) uint8; first at [10, 20, 1]: 0 != 7"]
    assert diff({"x": np.array([0.0, 1.0])}, {"x": np.array([-0.0, 1.0])}) == [
        "x: 1 of 2 elements differ in arrays of shape (2,) float64; first at [0]: 0.0 != -0.0"]
    assert diff({"x": np.zeros(3)}, {"x": np.zeros((3, 1))}) == [
        "x: array of shape (3,) float64 != array of shape (3, 1) float64"]
    state = list(range(625))
    assert diff({"rng": state}, {"rng": state[:3] + [9] + state[4:]}) == [
        "rng: 1 of 625 elements differ; first at [3]: 3 != 9"]
