"""`mugkit check` catches planted faults with messages that point at the cause, and passes their
fault-free twins. Runs the real CLI in a subprocess on tests/faults/_faults.py."""

import re

import pytest

from checkrun import reproduction, run_check

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    # parity (Chromium) is tested on its own faults, in test_parity.py.
    return run_check("tests/faults/_faults.py", "-k", "not parity", tmp_path=tmp_path_factory.mktemp("faults"))


def test_exit_code_is_nonzero_when_a_check_fails(faults):
    assert faults.returncode == 1


@pytest.mark.parametrize("twin", ["twin", "good_policy", "duel_twin"])
def test_fault_free_twins_pass_every_check(faults, twin):
    mine = {k: v for k, v in faults.outcomes.items() if k.startswith(f"{twin}::")}
    assert mine, faults.output
    assert all(status == "passed" for status, _ in mine.values()), mine


def test_collects_each_check_where_it_applies(faults):
    checks = lambda step: sorted(k.split("::")[-1] for k in faults.outcomes if k.startswith(f"{step}::"))
    assert checks("twin") == ["contract", "determinism", "synctest"]
    assert checks("good_policy") == ["contract", "determinism", "policy", "synctest"]
    assert checks("duel_twin") == ["contract", "determinism", "rollback", "synctest"]


def test_unseeded_module_random_is_caught_and_located(faults):
    assert faults.outcome("::unseeded::determinism") == "failed"
    msg = faults.message("::unseeded::determinism")
    assert "tests/faults/_faults.py::unseeded::determinism: two runs with the same seed and actions" in msg
    assert re.search(r"seed: \d+", msg)
    assert "first differing frame:" in msg
    assert "state.x:" in msg
    assert "module-level `random` generator" in msg
    assert "random.randint() at tests/faults/_faults.py:" in msg


def test_wall_clock_is_caught_and_located(faults):
    msg = faults.message("::clock::determinism")
    assert faults.outcome("::clock::determinism") == "failed"
    assert "reads the wall clock" in msg and "time.perf_counter_ns() at tests/faults/_faults.py:" in msg


def test_incomplete_set_state_is_caught_naming_the_attribute(faults):
    assert faults.outcome("::partial_restore::determinism") == "passed"
    assert faults.outcome("::partial_restore::synctest") == "failed"
    msg = faults.message("::partial_restore::synctest")
    assert "first differing frame:" in msg
    assert "set_state() leaves out score" in msg


def test_incomplete_set_state_fails_rollback_naming_the_frame(faults):
    assert faults.outcome("::duel_partial_restore::rollback") == "failed"
    assert re.search(r"first differing frame \d+", faults.message("::duel_partial_restore::rollback"))


def test_policy_outside_the_action_space_is_caught(faults):
    assert faults.outcome("::bad_policy::policy") == "failed"
    msg = faults.message("::bad_policy::policy")
    assert "policy 'overreach' for 'player' at frame 0 answered 7, which is outside its action space Discrete(3)" in msg
    assert re.search(r"^  seed: 0$", msg, re.M)




def _report_lines(msg: str) -> list[str]:
    """The lines of a report that say what failed (not how it was found or how to reproduce)."""
    body = msg.split("  reproduce (run from")[0]
    return [line for line in body.splitlines() if not line.startswith(("  keys held", "  actions", "    frame"))]


@pytest.mark.parametrize("item", ["::unseeded::determinism", "::partial_restore::synctest",
                                  "::duel_partial_restore::rollback", "::bad_policy::policy",
                                  "::crashes::synctest", "::hash_seeded::determinism", "::numpy_global::synctest"])
def test_every_printed_reproduction_raises_the_same_failure(faults, item):
    """The program a failure prints, run as printed in a fresh interpreter from the folder where the
    check ran, fails again with the same check, frame and differences, and exits non-zero."""
    import subprocess
    import sys

    from checkrun import ROOT

    msg = faults.message(item)
    proc = subprocess.run([sys.executable, "-c", reproduction(msg)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    again = proc.stderr.split("CheckFailure: ", 1)[1]
    expected, got = _report_lines(msg), _report_lines(again)
    assert got[0] == expected[0]  # the same check and summary
    assert [line for line in got if "first differing frame" in line] == \
        [line for line in expected if "first differing frame" in line]
    assert [line for line in got if line.startswith("    ")] == [line for line in expected if line.startswith("    ")]


def test_a_browser_step_that_needs_numpy_fails_its_contract(faults):
    assert faults.outcome("::numpy_in_browser::contract") == "failed"
    msg = faults.message("::numpy_in_browser::contract")
    assert "[browser_import]" in msg and "numpy is not available in the browser" in msg
    assert faults.outcome("::numpy_in_browser::determinism") == "passed"


def test_an_env_that_raises_is_reported_with_seed_actions_and_line(faults):
    msg = faults.message("::crashes::synctest")
    assert "the game raised ValueError: walker left the map" in msg
    assert re.search(r"seed: \d+", msg) and "actions (" in msg
    assert re.search(r"tests/faults/_faults\.py:\d+ in step: raise ValueError", msg)
    assert "reproduce('tests/faults/_faults.py::crashes::synctest', seed=" in msg


def test_a_reset_that_keeps_old_state_fails_the_contract(faults):
    msg = faults.message("::sticky_reset::contract")
    assert "[reset_seed] reset(seed=" in msg and "after playing gave another frame" in msg
    assert "state.score: 0 != " in msg


def test_page_scenes_are_checked(faults):
    assert faults.outcome("::good_page::page") == "passed"
    assert "did you forget `return`?" in faults.message("::page_without_return::page")
    assert "placeholder(s) ['cod']; mugkit fills only {code} and {token}" in faults.message("::redirect_typo::page")


def test_a_crash_in_reset_is_reported_with_its_line_by_every_check(faults):
    for check in ("contract", "determinism", "synctest", "policy"):
        msg = faults.message(f"::reset_crash::{check}")
        assert "RuntimeError: level file missing" in msg, check
        assert re.search(r"tests/faults/_faults\.py:\d+ in reset: raise RuntimeError", msg), (check, msg)


def test_rollback_failure_names_the_attribute_through_the_synctest(faults):
    msg = faults.message("::duel_partial_restore::rollback")
    assert "set_state() leaves out hits" in msg


def test_an_ai_player_in_a_rollback_game_decides_on_its_host(faults):
    assert faults.outcome("::trio_with_ai::rollback") == "passed"
    assert faults.outcome("::trio_with_ai::policy") == "passed"


def test_an_env_without_render_fails_at_build_saying_what_to_do(faults):
    msg = faults.message("::no_render::contract")
    assert "[build]" in msg and "NoDrawing has no render(): define one that returns mugkit.draw shapes" in msg


def test_numpy_answers_of_a_policy_reach_a_numpy_free_env_as_plain_numbers(faults):
    for check in ("contract", "determinism", "synctest", "policy"):
        assert faults.outcome(f"::numpy_policy::{check}") == "passed", faults.message(f"::numpy_policy::{check}")


def test_numpy_global_generator_is_caught_and_located(faults):
    msg = faults.message("::numpy_global::determinism")
    assert "numpy's global generator" in msg
    assert re.search(r"numpy\.random\.randint\(\) at tests/faults/_faults\.py:\d+", msg), msg


def test_string_hashing_is_caught_by_the_fresh_process_with_what_differs(faults):
    msg = faults.message("::hash_seeded::determinism")
    assert re.search(r"a fresh process with PYTHONHASHSEED=\d+ and (this process|a fresh process with "
                     r"PYTHONHASHSEED=\d+) gave different frames", msg), msg
    assert "what differs:" in msg and "state.rng" in msg
    assert "hash() of a str as a seed" in msg


def test_set_iteration_is_caught_whatever_the_parent_hash_seed(tmp_path):
    """20 runs of the determinism check, each under another PYTHONHASHSEED of the parent process,
    two at a time: every one fails and names the line that iterates."""
    import concurrent.futures

    def one(seed: int):
        return run_check("tests/faults/_set_order.py::set_order::determinism", tmp_path=tmp_path / str(seed),
                         env={"PYTHONHASHSEED": str(seed)})

    for seed in range(20):
        (tmp_path / str(seed)).mkdir()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(one, range(20)))
    for seed, result in enumerate(results):
        assert result.outcome("::set_order::determinism") == "failed", (seed, result.output)
        msg = result.message("::set_order::determinism")
        assert re.search(r"tests/faults/_set_order\.py:25: enumerate\(\) over names "
                         r"\(a set of 2 members, ordered by string hashing\)", msg), (seed, msg)
