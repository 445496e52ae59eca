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
    assert names == {"contract", "determinism", "synctest", "policy", "rollback", "parity", "survey", "page", "screen"}
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


def test_exit_codes_of_check_are_the_documented_ones(tmp_path):
    """docs/commands.md: 1 a check failed or an experiment does not collect; 2 no path; 4 a path,
    node id or option that does not exist; 5 nothing collected."""
    (tmp_path / "broken.py").write_text("import mugkit as mk\nimport no_such_module_here\n")
    proc = mugkit("check", str(tmp_path / "broken.py"))
    assert proc.returncode == 1 and "No module named 'no_such_module_here'" in proc.stdout
    assert mugkit("check", "tests/preflight/_crash.py").returncode == 1
    assert mugkit("check").returncode == 2
    assert mugkit("check", "no/such/dir").returncode == 4
    proc = mugkit("check", "tests/preflight/_crash.py", "--mugkit-checks", "contract,nope")
    assert proc.returncode == 4 and "--mugkit-checks: unknown check(s) nope" in proc.stderr
    assert mugkit("check", "tests/preflight/_crash.py", "-k", "nothing_matches").returncode == 5


def test_exit_codes_of_serve_are_the_documented_ones(tmp_path):
    """docs/commands.md: 1 the study is refused (pre-flight, or it does not collect); 2 bad input."""
    (tmp_path / "broken.py").write_text("import mugkit as mk\nimport no_such_module_here\n")
    from mugkit.loadtest.server import free_port

    data = ["--data", str(tmp_path / "data"), "--port", str(free_port())]
    proc = mugkit("serve", str(tmp_path / "broken.py"), *data)
    assert proc.returncode == 1 and proc.stderr.startswith("mugkit serve: refusing to start: ")
    proc = mugkit("serve", "no/such/dir", *data)
    assert proc.returncode == 2 and "mugkit serve: no/such/dir: no such file or folder" in proc.stderr
    assert mugkit("serve", "tests/preflight/_crash.py", *data).returncode == 1


def test_one_mistake_gives_one_failure(tmp_path):
    """tests/preflight/_bad_key.py: two steps share a keys dict with a key outside the action space."""
    results = run_check("tests/preflight/_bad_key.py", "-k", "not parity", tmp_path=tmp_path)
    assert results.returncode == 1
    failed = [k for k, (status, _) in results.outcomes.items() if status == "failed"]
    assert failed == ["walk::contract"], results.output
    assert 'keys[" "] = 5 is outside the action space' in results.message("walk::contract")
    for name, (status, message) in results.outcomes.items():
        if name != "walk::contract":
            assert status == "skipped" and "see tests/preflight/_bad_key.py::walk::contract" in message, name
    # Alone, a check of the step fails with the mistake itself: nothing is skipped silently.
    alone = run_check("tests/preflight/_bad_key.py::walk_again::synctest", tmp_path=tmp_path)
    assert alone.returncode == 1 and 'keys[" "] = 5' in alone.message("walk_again::synctest")
