"""The `mugkit` command: exit codes, and the examples pass `mugkit check`."""

import subprocess
import sys

import pytest

from checkrun import ROOT, run_check


def mugkit(*args):
    return subprocess.run([sys.executable, "-m", "mugkit.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_help_and_unknown_command():
    assert mugkit("--help").returncode == 0
    proc = mugkit("frobnicate")
    assert proc.returncode == 2 and "unknown command 'frobnicate'" in proc.stderr


def test_check_on_a_missing_path_fails():
    proc = mugkit("check", "no/such/dir")
    assert proc.returncode != 0


@pytest.mark.slow
@pytest.mark.browser  # parity runs the browser steps in Chromium
def test_examples_pass_every_check(tmp_path):
    results = run_check("experiments/", tmp_path=tmp_path)
    assert results.returncode == 0, results.output
    names = {k.split("::")[-1] for k in results.outcomes}
    assert names == {"contract", "determinism", "synctest", "policy", "rollback", "parity", "survey", "page"}
    assert sorted(k for k in results.outcomes if k.endswith("::parity")) == [
        "catch::parity", "catch_in_browser::parity", "chase::parity", "round_in_browser::parity"]
    assert all(status == "passed" for status, _ in results.outcomes.values())


def test_node_ids_select_a_step_or_one_check(tmp_path):
    results = run_check("experiments/chase.py::chase::policy", tmp_path=tmp_path)
    assert results.returncode == 0, results.output
    assert list(results.outcomes) == ["chase::policy"]


def test_a_node_id_naming_no_step_lists_the_steps():
    proc = mugkit("check", "experiments/chase.py::nosuch")
    assert proc.returncode == 4
    assert ("experiments/chase.py has no step 'nosuch'; its steps: welcome, consent, instructions, chase, "
            "after_game, done") in proc.stderr
    proc = mugkit("check", "experiments/chase.py::chase::rollback")
    assert "has no check 'rollback'; its checks: contract, determinism, synctest, policy" in proc.stderr
