"""mugkit.runtime.rng: a plain-data generator, the same in every Python, with pinned results."""

import ast
import copy
import json
import os
import pickle
import random
import shutil
import subprocess
import sys

import pytest

from mugkit.runtime import rng as rngs
from mugkit.runtime.hashing import digest
from mugkit.runtime.rng import Random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- determinism -------------------------------------------------------------------------------

def draws(g: Random) -> list:
    out = [g.next64(), g.randrange(10), g.randrange(-50, 50, 7), g.randint(1, 6), g.random(), g.choice("abcdef"),
           g.getrandbits(130), g.chance(1, 3), g.sample(range(30), 4), g.choices(["x", "y"], [1, 3], k=3)]
    items = list(range(12))
    g.shuffle(items)
    return out + [items]


def test_the_same_seed_gives_the_same_draws():
    assert draws(Random(7)) == draws(Random(7))
    g = Random(1)
    g.random()
    g.seed(7)  # reseeding starts over
    assert draws(g) == draws(Random(7))


def test_different_seeds_give_unrelated_streams():
    starts = {tuple(Random(s).next64() for _ in range(2)) for s in range(1000)}
    assert len(starts) == 1000
    # nearby seeds share no structure: about half of the bits differ
    a, b = Random(0).next64(), Random(1).next64()
    assert 16 < bin(a ^ b).count("1") < 48


def test_any_int_seeds_it_and_only_ints_do():
    np = pytest.importorskip("numpy")
    assert draws(Random(np.int64(5))) == draws(Random(5))
    assert draws(Random(-1)) != draws(Random(1))             # the sign counts (random.Random drops it)
    assert draws(Random(255)) != draws(Random(-1))            # as do the bytes' lengths
    assert draws(Random(2**200)) != draws(Random(2**200 + 1))
    for bad in (1.5, "7", b"7", [7]):
        with pytest.raises(TypeError, match="seed must be an int"):
            Random(bad)


def test_no_seed_draws_from_the_operating_system():
    assert Random().getstate() != Random().getstate()
    assert Random(None).getstate() != Random(None).getstate()


# -- state ---------------------------------------------------------------------------------------

def test_state_is_four_plain_ints_below_2_64_and_round_trips():
    g = Random(3)
    g.randrange(100)
    state = g.getstate()
    assert type(state) is tuple and len(state) == 4
    assert all(type(v) is int and 0 <= v < 2**64 for v in state) and state[3] % 2 == 1
    expected = draws(copy.deepcopy(g))
    h = Random(99)
    h.setstate(state)
    assert draws(h) == expected
    h.setstate(json.loads(json.dumps(state)))  # a JSON round trip gives a list
    assert draws(h) == expected
    g.setstate(state)  # the same generator, rolled back, any number of times
    assert draws(g) == expected
    g.setstate(state)
    assert draws(g) == expected


def test_state_is_not_shared_with_the_generator():
    g = Random(4)
    state = g.getstate()
    g.random()
    assert g.getstate() != state and Random(4).getstate() == state


def test_copies_and_pickles_carry_the_state():
    g = Random(11)
    g.random()
    for other in (copy.copy(g), copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert other is not g and other.getstate() == g.getstate()
        assert draws(other) == draws(copy.deepcopy(g))


def test_setstate_refuses_what_is_not_its_state():
    g = Random(0)
    good = list(g.getstate())
    bad = [random.Random(0).getstate(), good[:3], good + [1], [-1] + good[1:], [2**64] + good[1:],
           good[:3] + [good[3] - 1], [True] + good[1:], [1.0] + good[1:], "abcd", None]
    for state in bad:
        with pytest.raises(ValueError, match="not a state of mugkit's Random"):
            g.setstate(state)
    assert g.getstate() == tuple(good)


def test_state_hashes_fast_and_plainly():
    g = Random(0)
    assert digest({"rng": g.getstate()}) == digest({"rng": list(g.getstate())})
    # the whole generator is plain data for the deep-copy fallback too (no resource, no repr address)
    from mugkit.runtime.state import state_view

    view = state_view(g)
    assert view["__class__"] == "mugkit.runtime.rng.Random" and set(view) == {"__class__", "_s", "_inc"}
    assert " at 0x" not in repr(g)


def test_fresh_dump_load_follow_gymnasiums_reset_rule():
    first = rngs.fresh(5, None)
    assert first.getstate() == Random(5).getstate()
    assert rngs.fresh(None, first) is first                       # reset() without a seed continues
    assert rngs.fresh(6, first) is not first                      # a seed starts over
    assert rngs.fresh(None, None).getstate() != rngs.fresh(None, None).getstate()
    assert rngs.dump(None) is None and rngs.load(None) is None
    state = rngs.dump(first)
    into = Random(0)
    assert rngs.load(state, into=into) is into and into.getstate() == state
    assert rngs.load(list(state)).getstate() == state


# -- pinned values: a change here changes every game's frames ---------------------------------------

def test_known_states():
    assert Random(0).getstate() == (9815176076075611830, 13755473278312252877, 166044160809721027,
                                    14097938846492695057)
    assert Random(-1).getstate() == (8124049607110536732, 6714188938289061675, 18347207811062050048,
                                     10455662154529967421)
    assert Random(2**200).getstate() == (2120123014922820171, 13687443596643554981, 5272428149914680546,
                                         3814937091192927007)


def test_known_values():
    g = Random(0)
    assert [g.next64() for _ in range(3)] == [6468277601712204182, 2723783370844905320, 10797812656025715405]
    g = Random(0)
    assert [g.randrange(100) for _ in range(10)] == [44, 18, 74, 0, 77, 12, 40, 43, 26, 11]
    g = Random(0)
    assert [g.random() for _ in range(3)] == [0.350646031400785, 0.14765659240249673, 0.5853505969877277]
    g = Random(42)
    items = list(range(10))
    g.shuffle(items)
    assert items == [7, 2, 0, 9, 4, 1, 3, 8, 6, 5]
    g = Random(42)
    assert g.sample(range(100), 5) == [43, 90, 50, 51, 24]
    assert g.choices("abc", [1, 2, 3], k=6) == ["c", "c", "b", "a", "a", "c"]
    assert g.choice("abcdefg") == "a"
    assert g.randint(-5, 5) == -1
    assert g.getrandbits(100) == 922459656437942575768369287646
    assert g.chance(1, 2) is False


def test_raw_outputs_are_numpys_pcg64dxsm():
    """The core is PCG64-DXSM exactly: numpy's implementation, from the same state, agrees."""
    np = pytest.importorskip("numpy")
    for seed in (0, 1, -5, 2**70):
        g = Random(seed)
        s_hi, s_lo, i_hi, i_lo = g.getstate()
        bit_generator = np.random.PCG64DXSM()
        state = bit_generator.state
        state["state"] = {"state": (s_hi << 64) | s_lo, "inc": (i_hi << 64) | i_lo}
        bit_generator.state = state
        assert [g.next64() for _ in range(100)] == [int(x) for x in bit_generator.random_raw(100)]


# -- bounds ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(1,), (6,), (-3, 4), (0, 10, 3), (10, 0, -3), (-7, 8, 5), (5, 6), (0, 2**64),
                                  (0, 2**64 + 1), (0, 3 * 2**70, 2**70)])
def test_randrange_stays_in_its_range_and_reaches_all_of_it(args):
    g = Random(sum(args))
    allowed = range(*args)
    got = [g.randrange(*args) for _ in range(400)]
    assert all(v in allowed for v in got)
    if allowed.stop - allowed.start <= 10 * abs(allowed.step):
        assert set(got) == set(allowed)


def test_randint_includes_both_ends():
    g = Random(1)
    assert {g.randint(-2, 2) for _ in range(300)} == {-2, -1, 0, 1, 2}
    assert {g.randint(9, 9) for _ in range(5)} == {9}


def test_draws_are_uniform_enough():
    g = Random(2024)
    n = 60000
    counts = [0] * 6
    for _ in range(n):
        counts[g.randrange(6)] += 1
    chi2 = sum((c - n / 6) ** 2 / (n / 6) for c in counts)
    assert chi2 < 25, counts  # 5 degrees of freedom: p < 0.0002 for a fair die
    bits = [g.getrandbits(1) for _ in range(20000)]
    assert 9500 < sum(bits) < 10500


def test_random_is_an_exact_53_bit_fraction_in_0_1():
    g = Random(5)
    for _ in range(2000):
        x = g.random()
        assert 0.0 <= x < 1.0 and (x * 2**53).is_integer()


def test_getrandbits_has_k_bits():
    g = Random(8)
    for k in (1, 5, 63, 64, 65, 128, 200):
        values = [g.getrandbits(k) for _ in range(200)]
        assert all(0 <= v < 2**k for v in values)
        assert max(values).bit_length() >= k - 8
    before = g.getstate()
    assert g.getrandbits(0) == 0 and g.getstate() == before
    with pytest.raises(ValueError):
        g.getrandbits(-1)


def test_choice_sample_shuffle_choices_chance():
    g = Random(6)
    seq = ["a", "b", "c", "d"]
    assert {g.choice(seq) for _ in range(200)} == set(seq)
    s = g.sample(seq, 4)
    assert sorted(s) == seq and g.sample(seq, 0) == []
    for _ in range(50):
        s = g.sample(range(10), 3)
        assert len(set(s)) == 3 and all(0 <= v < 10 for v in s)
    items = list(range(30))
    g.shuffle(items)
    assert sorted(items) == list(range(30)) and items != list(range(30))
    picked = g.choices(seq, [0, 1, 0, 3], k=400)
    assert set(picked) == {"b", "d"} and 200 < picked.count("d") < 380
    assert set(g.choices(seq, cum_weights=[0, 0, 5, 5], k=50)) == {"c"}
    assert set(g.choices(seq, k=200)) == set(seq)
    assert [g.chance(0, 7) for _ in range(50)] == [False] * 50
    assert [g.chance(7, 7) for _ in range(50)] == [True] * 50
    assert 300 < sum(g.chance(1, 4) for _ in range(2000)) < 700


@pytest.mark.parametrize("call, error", [
    (lambda g: g.randrange(0), ValueError), (lambda g: g.randrange(5, 5), ValueError),
    (lambda g: g.randrange(0, 10, 0), ValueError), (lambda g: g.randrange(0, 10, -1), ValueError),
    (lambda g: g.randrange(10, step=2), TypeError), (lambda g: g.randrange(2.5), TypeError),
    (lambda g: g.randrange(0, 1.0), TypeError), (lambda g: g.randint(3, 2), ValueError),
    (lambda g: g.choice([]), IndexError), (lambda g: g.sample([1, 2], 3), ValueError),
    (lambda g: g.sample([1, 2], -1), ValueError), (lambda g: g.sample({1, 2}, 1), TypeError),
    (lambda g: g.choices([], k=1), IndexError), (lambda g: g.choices("ab", [0.5, 0.5]), TypeError),
    (lambda g: g.choices("ab", [1]), ValueError), (lambda g: g.choices("ab", [0, 0]), ValueError),
    (lambda g: g.choices("ab", [-1, 2]), ValueError), (lambda g: g.choices("ab", [1, 1], cum_weights=[1, 2]), TypeError),
    (lambda g: g.choices("ab", cum_weights=[2, 1]), ValueError), (lambda g: g.chance(1, 0), ValueError),
])
def test_errors_say_what_is_wrong(call, error):
    with pytest.raises(error):
        call(Random(0))


# -- the same code in the browser -------------------------------------------------------------------

def test_imports_only_the_standard_library():
    with open(rngs.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


_PARITY = """
import json, sys
sys.path.insert(0, REPO)
from mugkit.runtime.rng import Random
out = {}
for seed in (0, 1, -1, 12345, 2**80):
    g = Random(seed)
    xs = [g.next64() for _ in range(50)] + [g.randrange(1000) for _ in range(50)] + [g.random().hex() for _ in range(50)]
    items = list(range(40))
    g.shuffle(items)
    out[str(seed)] = [xs, items, g.sample(range(1000), 20), g.choices("abc", [1, 2, 3], k=20),
                      g.getrandbits(300), list(g.getstate())]
print(json.dumps(out, sort_keys=True))
"""


@pytest.mark.slow
def test_pyodide_draws_what_cpython_draws():
    """Pyodide (Python 3.14 in WebAssembly) against this CPython: every draw, bit for bit."""
    runner = os.path.join(ROOT, "tests", "pyodide", "run.mjs")
    if not (shutil.which("node") and os.path.isdir(os.path.join(ROOT, "node_modules", "pyodide"))):
        pytest.skip("Pyodide is not installed: `./dev test` installs it from npm (package.json)")
    browser = subprocess.run(["node", runner, ROOT], input=f"REPO = '/repo'\n{_PARITY}", capture_output=True,
                             text=True, cwd=ROOT, timeout=300)
    assert browser.returncode == 0, browser.stderr[-2000:]
    here = subprocess.run([sys.executable, "-c", f"REPO = {ROOT!r}\n{_PARITY}"], capture_output=True, text=True,
                          check=True)
    assert json.loads(browser.stdout.strip().splitlines()[-1]) == json.loads(here.stdout)
