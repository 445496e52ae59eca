"""Every `mugkit` command the documentation shows runs as shown.

The commands are the lines of the pages' ```bash blocks that start with ``mugkit`` (comments after
``#`` are dropped, as the shell drops them). Each runs in a scratch folder that holds the example
experiments (``experiments/`` links to the repository's), so what a command writes (``data/``,
``checks.json``, ``results/``) stays out of the repository:

- ``mugkit serve ...`` runs until it is up (it prints its admin link) and is then stopped; a taken
  or privileged port in the page is swapped for a free one (the only change made to a command);
- ``mugkit check ...`` runs collecting only (``--collect-only``), unless it names one step or one
  check: the whole examples are checked by test_cli.py's ``test_examples_pass_every_check``;
- ``mugkit data export ...`` runs on the data folder that serving wrote, and its files are there;
- ``mugkit assets fetch ...`` downloads from the npm registry into the scratch folder's own cache
  (``XDG_CACHE_HOME``), as a fresh install would.

A block marked ``<!-- not-run -->`` (a command on a file the page invents) is left out, as for the
Python examples in test_docs.py. ``./dev`` lines wrap these same commands and are not run here.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

import pytest

from mugkit.loadtest.server import free_port
from test_docs import ROOT, blocks, pages

MUGKIT = [sys.executable, "-m", "mugkit.cli"]


def shown_commands() -> list[tuple[str, list[str]]]:
    """``(page:line, argv)`` of every ``mugkit`` command in the pages' runnable bash blocks."""
    out = []
    for page in pages():
        for block in blocks(page):
            if block.language not in ("bash", "sh", "shell") or not block.run:
                continue
            for n, line in enumerate(block.code.splitlines()):
                argv = shlex.split(line, comments=True)
                if argv[:1] == ["mugkit"]:
                    out.append((f"{page}:{block.line + n}", argv[1:]))
    return out


def ordered(commands):
    """Serving first (it writes the data folder that the export commands read)."""
    return sorted(commands, key=lambda c: {"serve": 0, "check": 1}.get(c[1][0], 2))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("docs-commands")
    os.symlink(os.path.join(ROOT, "experiments"), folder / "experiments")
    return folder


def serve_until_up(where: str, args: list[str], cwd, timeout: float = 120) -> str:
    """Starts the shown ``mugkit serve`` (on a free port), waits for its admin link, stops it;
    returns its output."""
    args = list(args)
    if "--port" in args:
        args[args.index("--port") + 1] = str(free_port())
    else:
        args += ["--port", str(free_port())]
    proc = subprocess.Popen(MUGKIT + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if re.search(r"admin: http://\S+/admin\?token=", line):
                break
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    output = "".join(lines)
    assert any("admin: http" in line for line in lines), f"{where}: `mugkit {shlex.join(args)}` never came up:\n{output}"
    return output


def run_shown(where: str, args: list[str], cwd) -> None:
    if args[0] == "serve":
        serve_until_up(where, args, cwd)
        return
    if args[0] == "check" and not any(".py::" in a and not a.startswith("-") for a in args):
        args = args + ["--collect-only"]
    proc = subprocess.run(MUGKIT + args, cwd=cwd, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, SDL_VIDEODRIVER="dummy", XDG_CACHE_HOME=str(cwd / "cache")))
    assert proc.returncode == 0, f"{where}: `mugkit {shlex.join(args)}` exited {proc.returncode}:\n" \
                                 f"{(proc.stdout + proc.stderr)[-3000:]}"


@pytest.mark.slow
def test_every_mugkit_command_the_docs_show_runs(scratch):
    commands = shown_commands()
    kinds = {argv[0] for _, argv in commands}
    assert {"serve", "check", "data"} <= kinds, kinds
    for where, argv in ordered(commands):
        run_shown(where, argv, scratch)
    # What the export commands of the pages promise is there.
    assert (scratch / "data" / "export" / "participants.parquet").exists()
    assert (scratch / "results" / "participants.csv").exists()
    assert (scratch / "lab-assets").is_dir() and any((scratch / "cache").iterdir())


def test_the_commands_are_found_and_comments_dropped():
    commands = dict(shown_commands())
    assert ["check", "experiments/", "-k", "synctest or rollback", "-x"] in commands.values()
    assert all("#" not in arg for argv in commands.values() for arg in argv)
