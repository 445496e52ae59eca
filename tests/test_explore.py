"""Exploration before judging (mugkit/checks/explore.py): what it reaches, what it reports, and the
pieces it is built from (fields, cells, the budget, shrinking)."""

import json
import random
import subprocess
import sys

import pytest

from checkrun import ROOT, run_check
from mugkit.checks.cells import CellKeys, _siblings
from mugkit.checks.explore import Budget
from mugkit.checks.fields import Digest, env_fields
from mugkit.checks.inputs import KeyPlan
from mugkit.checks.shrink import shrink


# -- the budget ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, frames, seconds", [("4000", 4000, Budget.seconds), ("3s", Budget.frames, 3.0),
                                                    ("1.5s,800", 800, 1.5), ("800f, 2s", 800, 2.0), ("0", 0, 0.0),
                                                    ("off", 0, 0.0)])
def test_budget_reads_frames_and_seconds(text, frames, seconds):
    budget = Budget.parse(text)
    assert (budget.frames, budget.seconds) == (frames, seconds)
    assert budget.off == (frames == 0)


@pytest.mark.parametrize("text", ["lots", "3m", "-5"])
def test_a_bad_budget_says_what_is_expected(text):
    with pytest.raises(ValueError, match=r"^--mugkit-explore takes frames and/or seconds, e.g. 2500, 2s or 2s,2500|"
                                         r"^--mugkit-explore cannot be negative"):
        Budget.parse(text)


def test_the_cli_refuses_a_bad_budget_before_running_anything(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "check", "tests/faults/_reach.py", "--mugkit-explore",
                           "soon"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "--mugkit-explore takes frames and/or seconds" in proc.stderr + proc.stdout


# -- fields and cells ------------------------------------------------------------------------


class _Thing:
    def __init__(self):
        self.pos = {"a": [1, 2], "b": [5, 2]}
        self.rng = random.Random(3)
        self.board = list(range(20))
        self.name = "x"


def test_fields_name_every_attribute_down_to_plain_values():
    fields = env_fields(_Thing())
    assert fields["pos.a[0]"] == 1 and fields["pos.b[1]"] == 2 and fields["name"] == "x"
    assert isinstance(fields["rng"], Digest) and fields["rng"].kind == "rng"
    assert isinstance(fields["board"], Digest) and fields["board"].size == 20  # a long list is one leaf


def test_the_same_coordinates_of_two_things_are_paired_but_not_two_coordinates_of_one():
    pairs = _siblings(["pos.a[0]", "pos.a[1]", "pos.b[0]", "pos.b[1]", "score.p0", "score.p1", "xy[0]", "xy[1]"])
    assert (("pos.a[0]", "pos.a[1]"), ("pos.b[0]", "pos.b[1]")) in pairs
    assert (("score.p0",), ("score.p1",)) in pairs
    assert not any("xy[0]" in a for a, _ in pairs)


def test_cells_leave_out_frame_counters_and_tell_apart_how_close_two_things_are():
    keys = CellKeys()
    state = {"t": 0, "pos.a[0]": 0, "pos.b[0]": 300, "score": 0}
    keys.observe(state, 0)
    far = {"t": 5, "pos.a[0]": 15, "pos.b[0]": 285, "score": 0}
    near = {"t": 6, "pos.a[0]": 149, "pos.b[0]": 151, "score": 0}
    keys.observe(far, 5)
    keys.observe(near, 6)
    keys.redraw()
    assert "t" not in keys._paths  # the frame index plus a constant: time, not a place
    assert keys.key(far) != keys.key(near)


# -- shrinking -------------------------------------------------------------------------------


def test_shrinking_keeps_only_what_the_failure_needs():
    # Fails when the right arrow was held on 5 ticks in all; the rest is wandering.
    plan = KeyPlan.of({"p": [None, "ArrowUp", "ArrowRight", None, "ArrowRight", "ArrowLeft"] * 5})
    fails = lambda p: sum(k == ("ArrowRight",) for k in p.frames["p"]) >= 5
    small = shrink(plan, fails)
    assert fails(small)
    assert small.frames["p"] == (("ArrowRight",),) * 5


# -- what exploration reaches (the real CLI) ---------------------------------------------------


@pytest.fixture(scope="module")
def reach(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reach")
    out = tmp / "checks.json"
    results = run_check("tests/faults/_reach.py", "-k", "not parity", "--json", str(out), tmp_path=tmp)
    return results, json.loads(out.read_text())


@pytest.mark.slow
def test_exploration_walks_the_whole_corridor_that_short_plans_never_leave(reach):
    results, data = reach
    corridor = data["explorations"]["tests/faults/_reach.py::corridor"]
    assert "door" in corridor["changed"] and "door" not in corridor["never_changed"]
    assert corridor["deepest_frame"] == 600 and corridor["episode_ends"] >= 1
    assert results.outcome("::corridor::synctest") == "passed"


@pytest.mark.slow
def test_an_attribute_get_state_forgets_is_named_and_fails_the_synctest(reach):
    results, data = reach
    assert data["explorations"]["tests/faults/_reach.py::forgetful"]["left_out"] == ["door"]
    assert results.outcome("::forgetful::synctest") == "failed"
    message = results.message("::forgetful::synctest")
    assert "set_state() leaves out door" in message
    assert "likely restore bug: `door` changes during play but set_state() does not restore it" in results.output


@pytest.mark.slow
def test_a_stand_in_policy_opens_what_random_keys_do_not(tmp_path):
    out = tmp_path / "lock.json"
    run_check("tests/faults/_reach.py", "-k", "lock and synctest", "--mugkit-explore", "150", "--json", str(out),
              tmp_path=tmp_path)
    explored = json.loads(out.read_text())["explorations"]
    assert "opened" in explored["tests/faults/_reach.py::lock"]["changed"]
    assert "opened" in explored["tests/faults/_reach.py::lock_alone"]["never_changed"]


@pytest.mark.slow
def test_exploration_off_checks_only_the_generated_plans(tmp_path):
    out = tmp_path / "off.json"
    results = run_check("tests/faults/_reach.py", "-k", "forgetful and synctest", "--mugkit-explore", "0",
                        "--json", str(out), tmp_path=tmp_path)
    assert results.outcome("::forgetful::synctest") == "passed"  # the door is 150 frames away
    assert json.loads(out.read_text())["explorations"] == {}
