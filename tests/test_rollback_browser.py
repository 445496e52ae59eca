"""The `rollback` check's Chromium half (mugkit/checks/rollback_browser.py) on planted faults that
only real browser peers show: the real CLI in a subprocess, one headless page per human."""

import os
import re
import subprocess
import sys

import pytest

from checkrun import ROOT, reproduction, run_check

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FAULTS = "tests/faults/_rollback_browser.py"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    return run_check(FAULTS, "--mugkit-checks", "rollback", tmp_path=tmp_path_factory.mktemp("rollback_browser"))


@pytest.mark.parametrize("step", ["walk_twin", "walk_trio"])
def test_fault_free_peers_pass_in_chromium(results, step):
    assert results.outcome(f"{step}::rollback") == "passed", results.output


def test_a_divergence_only_in_pyodide_is_caught_against_cpython(results):
    assert results.outcome("walk_browser_only::rollback") == "failed"
    msg = results.message("walk_browser_only::rollback")
    assert re.search(r"the peers confirmed frame \d+ of episode 0 with checksum\(s\) h0: \w+, h1: \w+; CPython, "
                     r"replaying the inputs they confirmed with no network, has \w+", msg), msg
    assert "injected in each Chromium page's WebRTC mesh" in msg and "keys held" in msg
    assert re.search(r"^  seed: \d+$", msg, re.M)


def test_a_peer_whose_env_diverges_is_caught_as_a_desync(results):
    assert results.outcome("walk_per_page::rollback") == "failed"
    msg = results.message("walk_per_page::rollback")
    assert re.search(r"peer h\d detected a desync with peer h\d at frame \d+ of episode 0|the peers confirmed frame "
                     r"\d+ of episode 0 with different checksums", msg), msg
    assert "depends on something other than its seed and inputs" in msg


def test_the_printed_reproduction_fails_again_in_chromium(results):
    msg = results.message("walk_browser_only::rollback")
    program = reproduction(msg)
    assert "browser=True" in program
    proc = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    again = proc.stderr.split("CheckFailure: ", 1)[1].splitlines()[0]
    first = msg.strip().splitlines()[0]
    # the same check, and the same frame (each peer's keys follow its own frames, not the clock)
    assert again.split(" with checksum")[0] == first.split(" with checksum")[0], (again, first)
