"""Replaying a step in fresh Python processes, the same from any working directory.

The ``determinism`` check replays a step in several fresh processes, each with another
``PYTHONHASHSEED``, and the ``contract`` check replays browser steps with server-only packages
blocked. Each child imports the very mugkit package this process runs (not a folder named
``mugkit`` that happens to lie in the working directory: ``-P`` keeps the working directory off
``sys.path``), and the experiment is found through its node id and root folder, as here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from ..paths import MUGKIT_DIR

__all__ = ["FreshRun", "start_replays", "PROBE_TIMEOUT_S"]

#: How long a fresh process may take to replay a step.
PROBE_TIMEOUT_S = 600

# The child's entry: find this process's mugkit (after any installed one: same package normally),
# optionally block packages, then answer the JSON request on stdin (mugkit.checks.replay.main).
_ENTRY = r"""
import importlib.abc, sys
sys.path.append(sys.argv[1])
blocked = set(filter(None, sys.argv[2].split(",")))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not available in the browser (Pyodide offline)")
        return None
if blocked:
    sys.meta_path.insert(0, Block())
from mugkit.checks.replay import main
main()
"""


@dataclass
class FreshRun:
    """A replay running in a child process; :meth:`result` waits for it."""

    hash_seed: str | None
    process: subprocess.Popen
    request: dict

    def result(self) -> tuple[int, dict | None, str]:
        """``(exit code, the JSON answer or None, standard error)``."""
        try:
            out, err = self.process.communicate(timeout=PROBE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            return -1, None, f"the replay took more than {PROBE_TIMEOUT_S} s"
        try:
            answer = json.loads(out) if self.process.returncode == 0 else None
        except ValueError:
            answer = None
        return self.process.returncode, answer, err

    def stop(self) -> None:
        """Ends the child if it still runs (its answer is no longer wanted)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def start_replays(request: dict, cwd: str, hash_seeds: list[str | None], blocked: tuple = ()) -> list[FreshRun]:
    """Starts one child per entry of ``hash_seeds`` (None: inherit), all at once, each answering
    ``request`` (see :func:`mugkit.checks.replay.main`). Wait for each with :meth:`FreshRun.result`."""
    runs = []
    for seed in hash_seeds:
        env = dict(os.environ)
        if seed is not None:
            env["PYTHONHASHSEED"] = seed
        process = subprocess.Popen([sys.executable, "-P", "-c", _ENTRY, os.path.dirname(MUGKIT_DIR), ",".join(blocked)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   cwd=cwd, env=env)
        # The request goes in at once, so every child works while the caller waits for the first.
        process.stdin.write(json.dumps(request))
        process.stdin.close()
        process.stdin = None  # communicate() must not flush the closed pipe
        runs.append(FreshRun(seed, process, request))
    return runs
