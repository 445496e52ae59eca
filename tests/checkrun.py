"""Running `mugkit check` in a subprocess and reading its JUnit XML, for tests."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass
class CheckResults:
    returncode: int
    output: str
    outcomes: dict  # "step::check" -> ("passed" | "failed" | "error" | "skipped", message)

    def outcome(self, nodeid_suffix: str) -> str:
        return self._find(nodeid_suffix)[0]

    def message(self, nodeid_suffix: str) -> str:
        return self._find(nodeid_suffix)[1]

    def _find(self, suffix):
        hits = [v for k, v in self.outcomes.items() if ("::" + k).endswith(suffix)]
        assert len(hits) == 1, f"{suffix!r} matches {len(hits)} items of {sorted(self.outcomes)}\n{self.output}"
        return hits[0]


def run_check(*args: str, cwd: str = ROOT, tmp_path=None, env: dict | None = None) -> CheckResults:
    xml = os.path.join(str(tmp_path), "junit.xml")
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "check", *args, "--junitxml", xml, "-p", "no:randomly"],
                          cwd=cwd, capture_output=True, text=True, timeout=900, env={**os.environ, **(env or {})})
    outcomes = {}
    if os.path.exists(xml):
        for case in ET.parse(xml).getroot().iter("testcase"):
            # JUnit names the step by a dotted class name: keep "step::check".
            name = f"{case.get('classname').rsplit('.', 1)[-1]}::{case.get('name')}"
            status, message = "passed", ""
            for tag in ("failure", "error", "skipped"):
                el = case.find(tag)
                if el is not None:
                    status, message = tag if tag != "failure" else "failed", (el.text or "") + "\n" + (el.get("message") or "")
            outcomes[name] = (status, message)
    return CheckResults(proc.returncode, proc.stdout + proc.stderr, outcomes)


def reproduction(msg: str) -> str:
    """The program a check failure prints under its "reproduce (run from …):" line."""
    block = msg.split("reproduce (run from the folder where the check ran):\n")[1]
    lines = []
    for line in block.splitlines():
        if not line.startswith("    "):
            break
        lines.append(line[4:])
    return "\n".join(lines)
