"""The `parity` check: Pyodide in headless Chromium against CPython. It passes on the examples'
browser steps (example (b) with its ONNX chaser through onnxruntime-web), and fails with the
right diagnosis on the planted faults of tests/faults/_parity.py: a float sum that drifts, a
package the browser cannot load (numpy offline), a pure-Python package not declared in
packages=. No browser is a failure, not a skip. Runs the real CLI in a subprocess."""

import json
import os
import re
import subprocess
import sys

import pytest

from checkrun import ROOT, run_check
from mugkit.checks.parity import classify, leaf_differences

browser = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("parity")
    results = run_check("tests/faults/_parity.py", "-k", "parity and not contract and not determinism and not synctest",
                        "--json", str(tmp / "report.json"), tmp_path=tmp)
    with open(tmp / "report.json") as f:
        report = json.load(f)
    return results, {c["nodeid"].split("::")[1]: c for c in report["checks"]}


@pytest.mark.parametrize("step", ["glider_twin", "declared"])
@pytest.mark.browser
@pytest.mark.slow
def test_exact_envs_pass(faults, step):
    results, _ = faults
    assert results.outcome(f"::{step}::parity") == "passed", results.message(f"::{step}::parity")


@pytest.mark.browser
@pytest.mark.slow
def test_a_float_sum_fails_as_float_drift_at_its_first_differing_frame(faults):
    results, report = faults
    assert results.returncode == 1
    assert results.outcome("::float_sum::parity") == "failed"
    msg = results.message("::float_sum::parity")
    assert re.search(r"the browser \(Pyodide, Python 3\.14\.\d+\) and CPython 3\.11\.\d+ gave different frames: "
                     r"float drift", msg)
    assert re.search(r"state\.fuel: 0\.\d+ \(CPython\) != 0\.\d+ \(browser\)", msg)
    assert "sum() of floats at tests/faults/_parity.py:" in msg
    assert "math.fsum instead of sum()" in msg and "integers or fixed point" in msg and "no trigonometry" in msg
    failure = report["float_sum"]["failure"]
    assert failure["frame"] >= 1 and failure["seed"] is not None
    assert any(d.startswith("state.fuel:") for d in failure["differs"])
    assert failure["reproduce"].startswith("from mugkit.checks.reproduce import reproduce")


@pytest.mark.browser
@pytest.mark.slow
def test_the_printed_reproduction_raises_the_same_failure(faults):
    results, report = faults
    failure = report["float_sum"]["failure"]
    proc = subprocess.run([sys.executable, "-c", failure["reproduce"]], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    again = proc.stderr.split("CheckFailure: ", 1)[1]
    assert f"first differing frame: {failure['frame']}" in again
    for line in failure["differs"]:
        assert line in again


@pytest.mark.browser
@pytest.mark.slow
def test_an_env_that_needs_numpy_fails_with_the_reason(faults):
    results, _ = faults
    msg = results.message("::needs_numpy::parity")
    assert results.outcome("::needs_numpy::parity") == "failed"
    assert "the step does not load in the browser" in msg and "No module named 'numpy'" in msg
    assert "tests/faults/_parity.py:" in msg  # the line of the import, as on the server
    assert "one of the packages Pyodide builds itself" in msg and "package base URL" in msg


@pytest.mark.browser
@pytest.mark.slow
def test_an_undeclared_package_fails_saying_how_to_declare_it(faults):
    results, _ = faults
    msg = results.message("::undeclared::parity")
    assert results.outcome("::undeclared::parity") == "failed"
    assert "No module named 'chess'" in msg
    assert "add packages=['chess==1.11.2'] to the step" in msg


@pytest.mark.browser
@pytest.mark.slow
def test_a_module_imported_inside_step_says_how_to_ship_it_like_a_failed_load(faults):
    results, _ = faults
    msg = results.message("::imports_in_step::parity")
    assert results.outcome("::imports_in_step::parity") == "failed"
    assert "raised ModuleNotFoundError: No module named 'chess' in the browser" in msg
    assert "tests/faults/_parity.py:" in msg and "import chess" in msg
    assert "add packages=['chess==1.11.2'] to the step" in msg


@pytest.mark.browser
@pytest.mark.slow
def test_the_examples_browser_steps_pass(tmp_path):
    results = run_check("experiments/", "-k", "parity", tmp_path=tmp_path)
    assert results.returncode == 0, results.output
    assert sorted(results.outcomes) == ["catch::parity", "catch_in_browser::parity", "chase::parity", "round_in_browser::parity"]


@pytest.mark.slow
def test_no_browser_is_a_failure_not_a_skip(tmp_path):
    results = run_check("tests/faults/_parity.py::glider_twin::parity", tmp_path=tmp_path,
                        env={"MUGKIT_CHROMIUM": os.path.join(str(tmp_path), "no-such-chromium")})
    assert results.returncode == 1
    assert results.outcome("::glider_twin::parity") == "failed"
    msg = results.message("::glider_twin::parity")
    assert "no browser to run the step in" in msg and "no-such-chromium" in msg
    assert "apt-get install chromium" in msg and "MUGKIT_CHROMIUM" in msg


def test_rounding_differences_are_float_drift():
    leaves = leaf_differences({"state": {"fuel": 0.9999999999999999, "x": 3}}, {"state": {"fuel": 1.0, "x": 3}})
    assert leaves == [("state.fuel", 0.9999999999999999, 1.0)]
    kind, cause = classify(leaves, ["sum() of floats at envs/glider.py:12"], "3.14.2")
    assert kind == "float drift"
    assert "state.fuel is 0.9999999999999999 in CPython and 1.0 in the browser" in cause
    assert "sum() of floats at envs/glider.py:12" in cause and "math.fsum" in cause


def test_a_drift_that_already_flipped_a_decision_is_still_float_drift():
    kind, _ = classify(leaf_differences({"v": 0.30000000000000004, "hits": 1}, {"v": 0.3, "hits": 0}))
    assert kind == "float drift"


def test_differences_only_in_float_fields_are_float_drift():
    kind, _ = classify(leaf_differences({"angle": 0.5, "n": 2}, {"angle": 0.75, "n": 2}))
    assert kind == "float drift"


def test_integers_that_differ_are_a_logic_difference_naming_float_calls_as_a_lead():
    kind, cause = classify(leaf_differences({"x": 4, "ok": True}, {"x": 5, "ok": True}))
    assert kind == "logic difference" and "no float differs by a rounding error" in cause
    _, cause = classify(leaf_differences({"x": 4}, {"x": 5}), ["math.sin() at envs/boat.py:40"])
    assert "math.sin() at envs/boat.py:40" in cause and "int(), round() or comparison" in cause
