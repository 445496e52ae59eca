"""Checks play like people (held keys, combinations, idle, fast changes), play researchers'
playthroughs, say what they could not reach, and report failures as data."""

import json
import os
import re
import subprocess
import sys

import pytest

from checkrun import ROOT, run_check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    return run_check("tests/faults/_inputs.py", "--json", str(tmp / "report.json"), tmp_path=tmp), tmp


def test_a_field_reached_only_by_held_keys_and_missing_from_set_state_is_caught(inputs):
    results, _ = inputs
    assert results.outcome("::meet::synctest") == "failed"
    msg = results.message("::meet::synctest")
    assert "set_state() leaves out stun" in msg
    assert re.search(r"keys held \(\d+ frames, shrunk\): \{'p0': .*\('Arrow(Left|Right)',\)\] \* \d+", msg), msg
    assert results.outcome("::meet_twin::synctest") == "passed"


def test_a_playthrough_is_played_by_every_check(inputs):
    results, _ = inputs
    msg = results.message("::secret::synctest")
    assert "set_state() leaves out secret" in msg
    assert "keys held (6 frames): {'player': [('ArrowUp',)] * 3 + [('ArrowDown',)] * 3}" in msg  # not shrunk


def test_fields_no_run_changed_are_named(inputs):
    results, _ = inputs
    assert results.outcome("::kept_secret::synctest") == "passed"
    assert re.search(r"tests/faults/_inputs\.py::kept_secret: not exercised by the generated inputs: secret \(",
                     results.output), results.output


def test_failures_are_data_in_json_and_junit(inputs):
    results, tmp = inputs
    report = json.loads((tmp / "report.json").read_text())
    by_id = {c["nodeid"]: c for c in report["checks"]}
    failure = by_id["tests/faults/_inputs.py::secret::synctest"]["failure"]
    assert failure["check"] == "synctest" and failure["seed"] == 0 and failure["frame"] == 0
    assert failure["keys"] == [["player", [["ArrowUp"]] * 3 + [["ArrowDown"]] * 3]]
    assert "state.secret: 0 != 1" in failure["differs"]
    assert failure["reproduce"].startswith("from mugkit.checks.reproduce import reproduce")
    assert by_id["tests/faults/_inputs.py::meet_twin::synctest"]["outcome"] == "passed"
    assert any("not exercised" in n for n in report["notes"])
    xml = (tmp / "junit.xml").read_text()
    assert 'name="mugkit_failure"' in xml and "&quot;check&quot;: &quot;synctest&quot;" in xml


def test_checks_from_a_folder_holding_mugkit_envs_and_tests_folders(tmp_path):
    """A clone of mugkit beside one's experiments (a folder named mugkit), or folders named envs and
    tests, change no verdict; Hypothesis writes nothing into the folder; `::` options pass through."""
    for name in ("mugkit", "envs", "tests"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('the wrong package was imported')\n")
    (tmp_path / "mugkit" / "checks").mkdir()
    target = os.path.join(ROOT, "tests", "faults", "_faults.py")
    mugkit = os.path.join(os.path.dirname(sys.executable), "mugkit")  # the command, as a researcher runs it
    proc = subprocess.run([mugkit, "check", f"{target}::twin", f"{target}::hash_seeded",
                           "-W", "ignore::DeprecationWarning", "-q", "-p", "no:randomly"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    out = proc.stdout + proc.stderr
    assert "the wrong package was imported" not in out
    assert re.search(r"1 failed, 5 passed", out), out  # hash_seeded::determinism fails, as anywhere
    assert "hash_seeded::determinism" in out and "numpy" not in out.split("short test summary")[0].split("FAILURES")[-1]
    assert not (tmp_path / ".hypothesis").exists()


def test_an_unseeded_generator_is_blamed_and_an_irrelevant_uuid_only_seen(inputs):
    results, _ = inputs
    for check in ("determinism", "synctest"):
        msg = results.message(f"::ties::{check}")
        cause = msg.split("likely cause: ")[1].split("\n")[0]
        assert re.match(r"The env \(or a library it calls\) creates a random generator without a seed.*"
                        r"numpy\.random\.default_rng\(\) at tests/faults/_inputs\.py:\d+", cause), cause
        assert re.search(r"Also seen, but not what makes the frames differ: uuid\.uuid4\(\) at "
                         r"tests/faults/_inputs\.py:\d+", cause), cause


def test_the_explanation_is_the_same_from_one_run_to_the_next(tmp_path):
    causes = set()
    for k in range(3):
        (tmp_path / str(k)).mkdir()
        r = run_check("tests/faults/_inputs.py::ties::synctest", tmp_path=tmp_path / str(k))
        msg = r.message("::ties::synctest")
        causes.add((msg.splitlines()[0], msg.split("likely cause: ")[1].split("\n")[0]))
    assert len(causes) == 1, causes


def test_the_contract_plays_playthroughs_too(inputs):
    results, _ = inputs
    msg = results.message("::secret_overflow::contract")
    assert "[frames] frame 6: the observation of 'player' is outside its observation space Discrete(1): 1" in msg
