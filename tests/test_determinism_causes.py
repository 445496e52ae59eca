"""`determinism` and `synctest` on ties broken by unseeded randomness (tests/faults/_ties.py): every
kind fails both checks and the report names the line, whatever mugkit pins or neutralizes while
it looks; a difference between fresh processes is blamed on string hashing only by experiment;
extra examples (explored trajectories, longer than --mugkit-frames) are replayed here and in
every fresh process, in one request per process."""

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from checkrun import ROOT, reproduction, run_check

TIES = "tests/faults/_ties.py"

#: Each planted tie-breaker, the call the report must name and the line of _ties.py it is on.
SOURCES = {
    "ties_random": (r"random\.random\(\)", "random.random() < 0.5"),
    "ties_numpy_global": (r"numpy\.random\.rand\(\)", "np.random.rand() < 0.5"),
    "ties_default_rng": (r"numpy\.random\.default_rng\(\)", "return int(np.random.default_rng().integers(2))"),
    "ties_random_instance": (r"random\.Random\(\)", "random.Random().randrange(2)"),
}


def _line_of(text: str) -> int:
    with open(os.path.join(ROOT, TIES)) as f:
        return next(i for i, line in enumerate(f, 1) if text in line)


@pytest.fixture(scope="module")
def ties(tmp_path_factory):
    return run_check(TIES, "-k", "determinism or synctest", tmp_path=tmp_path_factory.mktemp("ties"))


@pytest.mark.slow
@pytest.mark.parametrize("check", ["determinism", "synctest"])
@pytest.mark.parametrize("step", sorted(SOURCES))
def test_a_tie_broken_by_unseeded_randomness_fails_and_names_the_line(ties, step, check):
    assert ties.outcome(f"::{step}::{check}") == "failed", ties.output
    msg = ties.message(f"::{step}::{check}")
    call, text = SOURCES[step]
    assert re.search(rf"likely cause: .*{call} at tests/faults/_ties\.py:{_line_of(text)}\b", msg), msg
    assert "Also seen" not in msg.split("likely cause:")[1].split("\n")[0], msg


@pytest.mark.slow
@pytest.mark.parametrize("check", ["determinism", "synctest"])
def test_the_twin_that_breaks_ties_with_a_seeded_generator_passes(ties, check):
    assert ties.outcome(f"::ties_twin::{check}") == "passed", ties.message(f"::ties_twin::{check}")


@pytest.mark.slow
@pytest.mark.parametrize("step, call, text", [("import_entropy", r"os\.urandom\(\)", "_IMPORT_COIN = "),
                                              ("import_rng", r"numpy\.random\.default_rng\(\)", "_IMPORT_RNG_COIN = ")])
def test_a_value_drawn_once_per_process_is_not_blamed_on_string_hashing(ties, step, call, text):
    """A draw at import: the same in every run of one process, so only the fresh processes differ —
    and two of them with the same hash seed differ too, so it is not string hashing. The fresh
    process that traces it traces the import too."""
    assert ties.outcome(f"::{step}::determinism") == "failed", ties.output
    msg = ties.message(f"::{step}::determinism")
    assert re.search(r"a fresh process with PYTHONHASHSEED=\d+ and (this process \(PYTHONHASHSEED=\w+\)|a fresh "
                     r"process with PYTHONHASHSEED=\d+) gave different frames", msg), msg
    assert re.search(rf"likely cause: .*{call} at tests/faults/_ties\.py:{_line_of(text)}\b", msg), msg
    assert "hash" not in msg.split("likely cause:")[1].split("\n")[0], msg




@pytest.mark.slow
@pytest.mark.parametrize("item", ["::ties_numpy_global::determinism", "::ties_default_rng::determinism",
                                  "::import_entropy::determinism", "::ties_default_rng::synctest"])
def test_the_printed_reproduction_fails_again_with_the_same_cause(ties, item):
    msg = ties.message(item)
    proc = subprocess.run([sys.executable, "-c", reproduction(msg)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    again = proc.stderr.split("CheckFailure: ", 1)[1]
    assert again.splitlines()[0].split(": ", 1)[0] == msg.splitlines()[0].split(": ", 1)[0]
    cause = [line for line in msg.splitlines() if line.startswith("  likely cause:")]
    assert cause and cause == [line for line in again.splitlines() if line.startswith("  likely cause:")]


# --- extra examples -----------------------------------------------------------------------------------------


def _context(step: str, frames: int = 10):
    from mugkit.checks.base import CheckContext
    from mugkit.collect import load_step
    from mugkit.nodeid import NodeId

    experiment, found = load_step(f"{TIES}::{step}", ROOT)
    experiment = dataclasses.replace(experiment, playthroughs=[])  # the agents meet only in the extra example
    return CheckContext(experiment, found, NodeId.parse(f"{TIES}::{step}::determinism"), ROOT, examples=2,
                        frames=frames)


def _meet_late(idle: int):
    from mugkit.checks.inputs import KeyPlan

    return KeyPlan.of({"west": [None] * idle + ["ArrowRight"] * 4, "east": [None] * idle + ["ArrowLeft"] * 4})


@pytest.mark.slow
def test_an_extra_example_longer_than_the_frames_is_replayed_in_the_fresh_processes(monkeypatch):
    """The walkers meet only at frame 22 of an extra example, with --mugkit-frames 10: the fresh
    processes play it to its end, and the failure's printed reproduction fails again."""
    from mugkit.checks.determinism import check_determinism
    from mugkit.checks.report import CheckFailure

    monkeypatch.chdir(ROOT)
    ctx = _context("import_entropy")
    with pytest.raises(CheckFailure) as failed:
        check_determinism(ctx, extra=[(3, _meet_late(20))])
    failure = failed.value
    assert "fresh process" in failure.summary and failure.frame == 22 and failure.seed == 3, str(failure)
    assert "os.urandom()" in failure.cause, str(failure)
    proc = subprocess.run([sys.executable, "-c", failure.replay], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode != 0 and "first differing frame: 22" in proc.stderr, proc.stdout + proc.stderr


@pytest.mark.slow
def test_every_fresh_process_replays_all_examples_in_one_request(monkeypatch):
    from mugkit.checks import processes
    from mugkit.checks.determinism import check_determinism

    requests = []
    start = processes.start_replays

    def spy(request, cwd, hash_seeds, blocked=()):
        requests.append((request, list(hash_seeds)))
        return start(request, cwd, hash_seeds, blocked)

    monkeypatch.setattr(processes, "start_replays", spy)
    monkeypatch.chdir(ROOT)
    extra = [(5, _meet_late(0)), (6, _meet_late(25))]
    check_determinism(_context("ties_twin"), extra=extra)
    ((request, seeds),) = requests
    assert seeds == list(processes.HASH_SEEDS)
    seeds_asked = [seed for seed, _ in request["examples"]]
    assert seeds_asked[:3] == [12345, 5, 6]
    assert seeds_asked[3:] and set(seeds_asked[3:]) == {1}  # then what exploration kept (seed 1)
