"""The runtime and the netcode run unchanged in Pyodide (Python 3.14 compiled to WebAssembly, in
Node) and give the very frame hashes and confirmed histories CPython gives: the examples'
browser steps are parity-exact, and rollback peers in a browser agree with the server's checks.

Pyodide comes from npm (package.json); `./dev test` installs it. The proof in the participant's
browser is the `parity` check (Pyodide in headless Chromium, tests/test_parity.py); this test
stays for the netcode, which `parity` does not run."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from checkrun import ROOT
from mugkit.collect import collect
from mugkit.steps import GameStep

pytestmark = pytest.mark.slow

RUNNER = os.path.join(ROOT, "tests", "pyodide", "run.mjs")
SCENARIOS = os.path.join(ROOT, "tests", "pyodide", "scenarios.py")
PYODIDE = os.path.join(ROOT, "node_modules", "pyodide")


def browser_steps() -> list[str]:
    return [e.step_nodeid(s) for e in collect(["experiments"], ROOT) for s in e.steps
            if isinstance(s, GameStep) and s.runtime == "browser"]


@pytest.fixture(scope="module")
def both():
    if not (shutil.which("node") and os.path.isdir(PYODIDE)):
        pytest.skip("Pyodide is not installed: `./dev test` installs it from npm (package.json)")
    steps = browser_steps()
    script = f"import runpy, sys\nsys.argv = ['scenarios.py', '/repo', *{steps!r}]\n" \
             f"runpy.run_path('/repo/tests/pyodide/scenarios.py', run_name='__main__')\n"
    pyodide = subprocess.run(["node", RUNNER, ROOT], input=script, capture_output=True, text=True, cwd=ROOT,
                             timeout=600)
    assert pyodide.returncode == 0, pyodide.stderr[-3000:]
    cpython = subprocess.run([sys.executable, SCENARIOS, ROOT, *steps], capture_output=True, text=True, cwd=ROOT,
                             timeout=600, check=True)
    return json.loads(pyodide.stdout.strip().splitlines()[-1]), json.loads(cpython.stdout)


def test_it_really_is_another_python(both):
    pyodide, cpython = both
    assert pyodide["python"].startswith("3.14") and cpython["python"] != pyodide["python"]


def test_browser_steps_give_the_same_frame_hashes(both):
    pyodide, cpython = both
    assert len(cpython["replays"]) >= 6  # catch, gather and chase in the browser, two seeds each
    for key, hashes in cpython["replays"].items():
        assert len(hashes) > 50, key
        assert pyodide["replays"][key] == hashes, f"{key}: Pyodide and CPython frames differ"


def test_rollback_peers_confirm_the_same_history(both):
    pyodide, cpython = both
    assert min(cpython["netcode"]["rollbacks"]) > 0  # the network really made them predict
    assert pyodide["netcode"] == cpython["netcode"]


def test_peer_games_agree_in_pyodide_as_in_cpython(both):
    """A browser peer's whole game (PeerGame, with a reload and rejoin mid-game) stores the same
    checksums in Pyodide as in CPython, and both peers agree on them."""
    pyodide, cpython = both
    stored = cpython["peer_game"]["checksums"]
    assert cpython["peer_game"]["rollbacks"] > 0 and len(stored) > 15
    assert sum(len(by) == 2 for by in stored.values()) > 10
    assert all(len(set(by.values())) == 1 for by in stored.values())
    assert pyodide["peer_game"] == cpython["peer_game"]
