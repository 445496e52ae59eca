"""`mugkit check` at its default settings reaches faults a second or more of play away, and passes
their fault-free twins (issue 15). Runs the real CLI in a subprocess on tests/faults/_explore.py.

Each fault is asserted by its key facts, not by phrasing: the check that fails, the exception type
or the field, and the file:line of the planted line (the line marked ``# planted: <fault>``)."""

import json
import os
import re
import subprocess
import sys

import pytest

from checkrun import ROOT, reproduction, run_check

pytestmark = pytest.mark.slow

FILE = "tests/faults/_explore.py"
FAULTS = ["bump", "edge", "turns", "last_frame", "tie"]
#: Faults that crash: every check that plays the game reports the exception and its line.
CRASHES = {"edge": "IndexError", "turns": "ValueError", "last_frame": "KeyError"}
PLAYING_CHECKS = ("contract", "determinism", "synctest")


def planted_line(fault: str) -> int:
    """The line number of the line marked ``# planted: <fault>``."""
    with open(os.path.join(ROOT, FILE), encoding="utf-8") as f:
        hits = [n for n, line in enumerate(f, 1) if f"# planted: {fault}" in line]
    assert len(hits) == 1, (fault, hits)
    return hits[0]


@pytest.fixture(scope="module")
def explore(tmp_path_factory):
    # parity (Chromium) is tested on its own faults, in test_parity.py.
    folder = tmp_path_factory.mktemp("explore")
    result = run_check(FILE, "-k", "not parity", "--json", str(folder / "checks.json"), tmp_path=folder)
    with open(folder / "checks.json", encoding="utf-8") as f:
        result.json = json.load(f)
    return result


def test_exit_code_is_nonzero_when_a_check_fails(explore):
    assert explore.returncode == 1, explore.output


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_free_twins_pass_every_check(explore, fault):
    mine = {k: v for k, v in explore.outcomes.items() if k.startswith(f"{fault}_twin::")}
    assert sorted(k.split("::")[-1] for k in mine) == sorted(PLAYING_CHECKS), explore.output
    failed = {k: v[1][:3000] for k, v in mine.items() if v[0] != "passed"}
    assert not failed, failed


@pytest.mark.parametrize("fault", sorted(CRASHES))
@pytest.mark.parametrize("check", PLAYING_CHECKS)
def test_a_crash_far_from_the_start_is_caught_with_its_exception_and_line(explore, fault, check):
    assert explore.outcome(f"::{fault}::{check}") == "failed", explore.output
    msg = explore.message(f"::{fault}::{check}")
    assert CRASHES[fault] in msg, msg
    assert f"_explore.py:{planted_line(fault)}" in msg, msg


def test_a_field_the_snapshot_leaves_out_is_caught_by_the_synctest_naming_it(explore):
    """Players who bump into each other are stunned; get_state/set_state leave `stun` out. The
    players start over 100 frames of walking apart."""
    assert explore.outcome("::bump::synctest") == "failed", explore.output
    msg = explore.message("::bump::synctest")
    assert re.search(r"\bstun\b", msg), msg
    assert explore.outcome("::bump::determinism") == "passed", explore.message("::bump::determinism")


def _exploration(explore, step: str) -> dict:
    """The --json report's exploration of ``step`` (``explorations``, keyed by the step's node id)."""
    found = {k: v for k, v in explore.json.get("explorations", {}).items() if k.endswith(f"::{step}")}
    assert len(found) == 1, explore.json.get("explorations")
    return next(iter(found.values()))


def test_coverage_names_the_field_the_snapshot_leaves_out(explore):
    """Coverage watches every attribute of the unwrapped env: `stun` changes during play (once the
    players meet) but get_state() leaves it out, and the report says so for `bump` — in --json
    and in the printed summary (not as a field that never changed)."""
    bump = _exploration(explore, "bump")
    assert "stun" in bump["left_out"], bump
    reports = [n for n in explore.json["notes"] if re.search(r"::bump(?!\w)", n)] + [bump.get("summary", "")]
    assert any(re.search(r"\bstun\b", n.split("never changed")[0]) for n in reports), reports
    assert re.search(r"::bump: .*\bstun\b", explore.output), explore.output  # printed too, not only in --json


def test_coverage_of_the_twin_does_not_list_the_field_once_play_reaches_it(explore):
    """The twin keeps `stun` in its state; exploration bumps the players, so `stun` changed and
    nothing is left out."""
    twin = _exploration(explore, "bump_twin")
    assert "stun" not in twin["never_changed"] and not twin["left_out"], twin


@pytest.mark.parametrize("check", ["determinism", "synctest"])
def test_an_unseeded_tie_breaker_is_caught_naming_the_generator_and_its_line(explore, check):
    """Two players stepping into one cell are told apart by random.Random() made in step()."""
    assert explore.outcome(f"::tie::{check}") == "failed", explore.output
    msg = explore.message(f"::tie::{check}")
    assert "Random()" in msg, msg
    assert f"_explore.py:{planted_line('tie')}" in msg, msg


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_fails_with_its_seed_and_a_reproduction(explore, fault):
    """In the --json report too: every failure of the fault's determinism and synctest has a seed
    and a reproduction."""
    records = [r for r in explore.json["checks"] if r["nodeid"].split("::")[-2] == fault
               and r["nodeid"].split("::")[-1] in ("determinism", "synctest") and r["outcome"] == "failed"]
    assert records, [r["nodeid"] + " " + r["outcome"] for r in explore.json["checks"]]
    for record in records:
        assert record["failure"]["seed"] is not None and record["failure"]["reproduce"], record




@pytest.mark.parametrize("item, fact", [("::edge::synctest", "IndexError"), ("::last_frame::determinism", "KeyError"),
                                        ("::bump::synctest", "stun"), ("::turns::synctest", "ValueError")])
def test_a_printed_reproduction_raises_again(explore, item, fact):
    """The program a failure prints, run as printed from the repository root in a fresh
    interpreter, fails again with the same key fact and exits non-zero."""
    msg = explore.message(item)
    program = reproduction(msg)
    assert program, msg
    proc = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "CheckFailure" in proc.stderr and fact in proc.stderr, proc.stderr[-4000:]
