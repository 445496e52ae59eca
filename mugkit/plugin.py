"""The pytest plugin: experiments collected as pytest items, ``<file>::<step>::<check>``.

Registered through the ``pytest11`` entry point, so ``pytest experiments/`` and
``mugkit check experiments/`` run the same items. This module imports only pytest and mugkit's
collection; the checks (and Hypothesis, gymnasium, …) load when an item runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from typing import Any

import pytest

from .collect import is_candidate_name, is_experiment_source, load_experiment
from .steps import StepError

_NOTES_KEY = pytest.StashKey[list]()
_RESULTS_KEY = pytest.StashKey[list]()
_EXPLORED_KEY = pytest.StashKey[dict]()
_BUILD_KEY = pytest.StashKey[dict]()   # id(step) -> its build error, or None
_SETUP_KEY = pytest.StashKey[dict]()   # step node id -> the named part of its failed contract
_SELECTED_KEY = pytest.StashKey[frozenset]()   # node ids of the items that run


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mugkit", "mugkit checks")
    group.addoption("--mugkit-examples", type=int, default=10, metavar="N",
                    help="generated examples (seeds and action sequences) per property check (default 10)")
    group.addoption("--mugkit-frames", type=int, default=40, metavar="N",
                    help="frames per generated action sequence (default 40)")
    group.addoption("--mugkit-explore", default="2s,2500", metavar="BUDGET",
                    help="exploration per game step before its checks judge: frames and/or seconds, e.g. 2500, "
                         "2s or 2s,2500 (default 2s,2500; 0 turns it off)")
    group.addoption("--mugkit-checks", default=None, metavar="NAMES",
                    help="run only these checks, comma-separated (e.g. contract,page,survey); "
                         "the others are deselected")
    group.addoption("--json", dest="mugkit_json", metavar="FILE", default=None,
                    help="write every check's outcome, and each failure as data, to FILE (JSON)")


def pytest_configure(config: pytest.Config) -> None:
    _check_names(config.getoption("mugkit_checks", None))
    config.stash[_NOTES_KEY] = []
    config.stash[_RESULTS_KEY] = []
    config.stash[_EXPLORED_KEY] = {}
    config.stash[_BUILD_KEY] = {}
    config.stash[_SETUP_KEY] = {}
    budget = config.getoption("mugkit_explore", None)
    if budget is not None:
        from .checks.explore import Budget

        try:
            Budget.parse(budget)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None


def _check_names(option: str | None) -> list[str] | None:
    """The check names of ``--mugkit-checks``; a usage error names an unknown one."""
    if option is None:
        return None
    from .checks import CHECKS

    names = [n.strip() for n in option.split(",") if n.strip()]
    unknown = [n for n in names if n not in CHECKS]
    if unknown or not names:
        raise pytest.UsageError(f"--mugkit-checks: unknown check(s) {', '.join(unknown) or '(none given)'}; "
                                f"the checks: {', '.join(CHECKS)}")
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """``--mugkit-checks``: keeps only the checks named (the others are reported as deselected)."""
    names = _check_names(config.getoption("mugkit_checks", None))
    if names is None:
        return
    keep = [i for i in items if not isinstance(i, CheckItem) or i.name in names]
    dropped = [i for i in items if isinstance(i, CheckItem) and i.name not in names]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """Keeps each check's outcome (and its failure as data) for ``--json``."""
    outcome = yield
    report = outcome.get_result()
    if not isinstance(item, CheckItem) or not (call.when == "call" or report.outcome != "passed"):
        return
    failure = dict(report.user_properties).get("mugkit_failure")
    item.config.stash[_RESULTS_KEY].append({"nodeid": report.nodeid, "outcome": report.outcome,
                                            "seconds": round(report.duration, 3),
                                            "failure": json.loads(failure) if failure else None})


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("mugkit_json", None)
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"checks": session.config.stash.get(_RESULTS_KEY, []),
                       "notes": list(dict.fromkeys(session.config.stash.get(_NOTES_KEY, []))),
                       "explorations": {step: {"summary": text, **data} for step, (text, data)
                                        in session.config.stash.get(_EXPLORED_KEY, {}).items()}}, f, indent=2)


def pytest_collect_file(file_path, parent: pytest.Collector):
    if file_path.suffix != ".py":
        return None
    named = parent.session.isinitpath(file_path)
    if not named and not is_candidate_name(file_path.name):
        return None
    try:
        source = file_path.read_bytes()
    except OSError:
        return None
    if is_experiment_source(source):
        return ExperimentFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    """An experiment named on the command line would also be collected by pytest's Python
    collector (it collects every file named explicitly) and imported twice: claim it."""
    try:
        source = module_path.read_bytes()
    except OSError:
        return None
    return _Claimed.from_parent(parent, path=module_path) if is_experiment_source(source) else None


class _Claimed(pytest.File):
    """Stands in for pytest's Module of an experiment file; ExperimentFile collects its items."""

    def collect(self):
        return []


class ExperimentFile(pytest.File):
    """An experiment module; its children are its steps."""

    def collect(self):
        try:
            experiment = load_experiment(str(self.path), str(self.config.rootpath))
        except StepError as exc:
            raise self.CollectError(str(exc)) from None
        from .checks import applicable

        for step in experiment.steps:
            names = applicable(step)
            if names:
                yield StepNode.from_parent(self, name=step.name, experiment=experiment, step=step, checks=names)


class StepNode(pytest.Collector):
    """One step of an experiment; its children are the checks that apply to it."""

    def __init__(self, *, experiment, step, checks, **kwargs):
        super().__init__(**kwargs)
        self.experiment = experiment
        self.step = step
        self.checks = checks

    def collect(self):
        for name in self.checks:
            yield CheckItem.from_parent(self, name=name)

    def reportinfo(self):
        return self.step.file, self.step.line - 1, self.step.name


@contextlib.contextmanager
def _user_warnings_only():
    """Drops warnings raised inside installed packages (PettingZoo's deprecations, Gymnasium's
    checker notes, which the contract check reports itself) so they do not bury the report; the
    researcher's own code's warnings are shown as pytest shows any."""
    import sysconfig

    installed = tuple(os.path.normcase(sysconfig.get_paths()[k]) for k in ("purelib", "platlib", "stdlib"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        if not os.path.normcase(os.path.abspath(w.filename)).startswith(installed):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class CheckItem(pytest.Item):
    """One check of one step, e.g. ``experiments/chase.py::chase::synctest``."""

    def runtest(self) -> None:
        from .checks import run_check
        from .checks.base import CheckContext
        from .checks.explore import Budget
        from .nodeid import NodeId

        parent: StepNode = self.parent
        blocker = _blocked(self)
        if blocker is not None:
            # Reported at the step's line, not this one (pytest does so for its own skip marks).
            raise pytest.skip.Exception(f"see {blocker}::contract (one mistake, one failure)",
                                        _use_item_location=True)
        ctx = CheckContext(parent.experiment, parent.step, NodeId.parse(self.nodeid), str(self.config.rootpath),
                           examples=self.config.getoption("mugkit_examples"),
                           frames=self.config.getoption("mugkit_frames"),
                           explore=Budget.parse(self.config.getoption("mugkit_explore")))
        from .checks.report import CheckFailure

        try:
            with _user_warnings_only():
                run_check(self.name, ctx)
        except CheckFailure as failure:
            # Data for --junitxml (a <property>) and --json: the failure, not only its text.
            self.user_properties.append(("mugkit_failure", json.dumps(failure.to_dict(), default=repr)))
            if self.name == "contract" and failure.summary.startswith("["):
                self.config.stash[_SETUP_KEY][self.parent.nodeid] = failure.summary[1:].split("]", 1)[0]
            raise
        finally:
            self.config.stash[_NOTES_KEY].extend(ctx.notes)
            explored = ctx.explored()
            if explored is not None:
                # The latest word on the step: a later check may add to what exploration found.
                self.config.stash[_EXPLORED_KEY][str(ctx.step_nodeid)] = (explored.summary(ctx.step_nodeid),
                                                                          explored.to_dict())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> Any:
        from .checks.report import CheckFailure

        if isinstance(excinfo.value, (CheckFailure, StepError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style="short")

    def _traceback_filter(self, excinfo):
        # Show the user's and mugkit's frames, not pytest's and pluggy's machinery.
        tb = excinfo.traceback
        return tb.filter(lambda entry: not any(part in str(entry.path) for part in ("_pytest", "pluggy")))

    def reportinfo(self):
        step = self.parent.step
        return step.file, step.line - 1, f"{step.name}::{self.name}"


def _blocked(item: CheckItem) -> str | None:
    """The node id of the step whose ``contract`` reports the mistake that makes ``item``
    pointless, or None when it runs (:mod:`mugkit.checks.blocked`)."""
    from .checks.blocked import blocked_by, build_error
    from .checks.play import make_game

    step_node: StepNode = item.parent
    experiment, config = step_node.experiment, item.config
    errors = config.stash[_BUILD_KEY]
    if _SELECTED_KEY not in config.stash:  # the items that run: fixed once collection is over
        config.stash[_SELECTED_KEY] = frozenset(i.nodeid for i in item.session.items)
    selected = config.stash[_SELECTED_KEY]
    base = step_node.parent.nodeid

    def error(step):
        if id(step) not in errors:
            errors[id(step)] = build_error(step, lambda: make_game(step, experiment.policies, 0,
                                                                   experiment.conditions))
        return errors[id(step)]

    owner = blocked_by(item.name, step_node.step, experiment.steps, error,
                       lambda step, check: f"{base}::{step.name}::{check}" in selected,
                       lambda step: config.stash[_SETUP_KEY].get(f"{base}::{step.name}"))
    return None if owner is None else f"{base}::{owner}"


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    notes = list(dict.fromkeys(config.stash.get(_NOTES_KEY, [])))
    notes += [text for text, _ in config.stash.get(_EXPLORED_KEY, {}).values()]
    if notes:
        terminalreporter.section("mugkit")
        for note in notes:
            terminalreporter.write_line(note)
