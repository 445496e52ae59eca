"""The ``mugkit`` command: ``serve``, ``check``, ``loadtest``, ``data export`` and ``assets fetch``."""

from __future__ import annotations

import sys

__all__ = ["main"]


def _check(argv: list[str]) -> int:
    """``mugkit check PATH [pytest options]``: the checks as pytest items; exit 0 only when all pass."""
    import pytest

    if not argv or argv[0] in ("-h", "--help"):
        print("usage: mugkit check PATH [PATH ...] [--assets DIR] [pytest options: -k EXPR, -x, -q, --junitxml FILE, "
              "--json FILE, --mugkit-examples N, --mugkit-frames N, --mugkit-checks NAMES]")
        return 0 if argv else 2
    argv, problem = _take_assets_option(argv)
    if problem:
        print(f"mugkit: {problem}", file=sys.stderr)
        return int(pytest.ExitCode.USAGE_ERROR)
    # Only mugkit's items: the python plugin would also collect test_*.py files under PATH.
    problem = _unknown_node(argv)
    if problem:
        print(f"mugkit: {problem}", file=sys.stderr)
        return int(pytest.ExitCode.USAGE_ERROR)
    # mugkit is imported before pytest starts, so pytest cannot rewrite its asserts: say nothing of it.
    collection = _CollectionErrors()
    code = int(pytest.main(["-p", "no:cacheprovider", "-o", "python_files=",
                            "-W", "ignore::pytest.PytestAssertRewriteWarning", *argv], plugins=[collection]))
    if code == pytest.ExitCode.INTERRUPTED and collection.failed:
        code = 1  # pytest's 2 for an experiment that does not collect; 2 is ours for "no path" (docs/commands.md)
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("mugkit: no checks collected. An experiment is a .py module that imports mugkit and has "
              "@mk.scene or @mk.survey functions; modules named _* or test_* are skipped unless named "
              "explicitly, and -k may have deselected everything.", file=sys.stderr)
    return code


class _CollectionErrors:
    """Notes whether an experiment failed to collect (pytest then exits 2, "interrupted")."""

    failed = False

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.failed = True


def _take_assets_option(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` without ``--assets DIR`` (the browser runtime's files for ``parity``, from DIR
    only), which it applies; or what is wrong with it."""
    from .web.browser.assets_cli import use_folder

    rest, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--assets":
            if i + 1 >= len(argv):
                return argv, "--assets needs a folder (one `mugkit assets fetch --into DIR` filled)"
            use_folder(argv[i + 1])
            i += 2
            continue
        if arg.startswith("--assets="):
            use_folder(arg.split("=", 1)[1])
        else:
            rest.append(arg)
        i += 1
    return rest, None


def _unknown_node(argv: list[str]) -> str | None:
    """What is wrong with a ``file.py::step[::check]`` argument, in the researcher's terms (pytest
    would only say "not found" and name its internal collectors)."""
    import os

    from .checks import applicable
    from .collect import load_experiment
    from .nodeid import NodeId
    from .steps import StepError

    for arg in argv:
        if not NodeId.looks_like(arg):
            continue
        try:
            node = NodeId.parse(arg)
        except ValueError as exc:
            return str(exc)
        path, names = node.file, [n for n in (node.step, node.check) if n is not None]
        if not os.path.isfile(path):
            return f"{path}: no such file"
        try:
            experiment = load_experiment(path)
        except StepError:
            return None  # pytest reports the collection error itself
        steps = {s.name: s for s in experiment.steps}
        if names[0] not in steps:
            return f"{path} has no step {names[0]!r}; its steps: {', '.join(steps)}"
        checks = applicable(steps[names[0]])
        if len(names) > 1 and names[1] not in checks:
            return f"{path}::{names[0]} has no check {names[1]!r}; its checks: {', '.join(checks)}"
    return None


USAGE = """usage: mugkit COMMAND ...

commands:
  serve PATH [--host H] [--port 8000] [--data DIR] [--database URL] [--seed N] [--grace S] [--no-preflight]
                 serve the experiments to participants (after the pre-flight checks)
  check PATH [PATH ...] [pytest options]   determinism and rollback checks of experiments (as pytest items)
  loadtest PATH --bots N [--url URL] [--rate R] [--json FILE] [--browser K] [--invalid-answers]
                 simulated participants through the whole flow, with a report and a data audit
  data export DIR|URL [--out DIR] [--format parquet|csv] [--anonymize [--salt TEXT]]
                 the collected data as files, one per table (--anonymize: panel ids hashed)
  assets fetch [--into DIR]   download the browser runtime's pinned files now (serve fetches them on first use)"""


def main(argv: list[str] | None = None) -> int:
    """Runs the ``mugkit`` command with ``argv`` (default: the process's arguments); returns its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "check":
        return _check(rest)
    if command == "serve":
        from .web.serve import main as serve

        return serve(rest)
    if command == "loadtest":
        from .loadtest.cli import main as loadtest

        return loadtest(rest)
    if command == "data" and rest[:1] == ["export"]:
        from .web.export import main as export

        return export(rest[1:])
    if command == "assets":
        from .web.browser.assets_cli import main as assets

        return assets(rest)
    print(f"{USAGE}\n\nmugkit: error: unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
