"""Finding and importing experiments, like pytest finds test modules.

Under a path, every ``.py`` module whose name does not start with ``_`` or ``test_``, that
imports mugkit and decorates at least one function with ``scene`` or ``survey`` is one
experiment, served at ``/<module name>/``. Whether a file is an experiment is decided by reading
its source (without importing it). A module that imports mugkit only for ``mugkit.spaces`` or
``mugkit.draw`` (an env module) is not an experiment. A file named explicitly is collected even
when its name starts with ``_`` (as pytest does).

Modules are imported as pytest's default ``prepend`` import mode does: the first folder upward
that has no ``__init__.py`` goes to the front of ``sys.path``, so an experiment can import its
sibling modules and packages (``from envs.chase import ChaseEnv``).

Node ids are pytest's: ``experiments/chase.py`` names an experiment, ``experiments/chase.py::chase``
one of its steps, relative to the root folder (the working directory by default).
"""

from __future__ import annotations

import ast
import difflib
import importlib
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Iterable

from .flow import check_item, flow_steps
from .checks.inputs import Playthrough
from .checks.stand_in import StandIn
from .nodeid import NodeId
from .paths import nodeid_of, user_frames
from .steps import GameStep, PolicyDef, Step, StepError

__all__ = ["Experiment", "CollectError", "collect", "load_experiment", "load_step", "is_experiment_source",
           "find_experiment_files", "is_candidate_name", "nodeid_of"]

_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages", "venv", "build", "dist"}


class CollectError(StepError):
    """An experiment that cannot be collected. The message starts with ``file:line``."""


@dataclass
class Experiment:
    """One collected experiment module."""

    name: str
    path: str
    nodeid: NodeId
    module: ModuleType
    flow: list
    policies: dict[str, PolicyDef]
    conditions: list = field(default_factory=list)
    playthroughs: list = field(default_factory=list)  # @mk.playthrough scripts of its game steps
    stand_ins: list = field(default_factory=list)  # mk.stand_in policies for humans, while checks explore

    @property
    def steps(self) -> list[Step]:
        """Every step the flow can visit, each once, in first-appearance order."""
        return flow_steps(self.flow)

    def step(self, name: str) -> Step:
        """The step called ``name``.

        Raises:
            KeyError: no such step (the message lists the steps).
        """
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"{self.nodeid} has no step {name!r}; its steps: {', '.join(s.name for s in self.steps)}")

    def step_nodeid(self, step: Step) -> NodeId:
        """The node id of one of its steps."""
        return self.nodeid.child(step.name)


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _imports_mugkit(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "mugkit" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mugkit" and node.level == 0:
            return True
    return False


def is_experiment_source(source: str | bytes) -> bool:
    """True when the source imports mugkit and has a function decorated with ``scene``/``survey``.

    A file that does not parse counts as an experiment if it mentions ``mugkit``, so that its
    syntax error is reported instead of the file being skipped in silence.
    """
    text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
    if "mugkit" not in text:
        return False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return True
    if not _imports_mugkit(tree):
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
               and any(_decorator_name(d) in ("scene", "survey", "screen") for d in n.decorator_list)
               for n in tree.body)


def is_candidate_name(name: str) -> bool:
    """True for a file name collection considers: ``.py``, not ``_*``, ``test_*`` or ``conftest.py``."""
    return name.endswith(".py") and not name.startswith(("_", "test_")) and name != "conftest.py"


def find_experiment_files(path: str) -> list[str]:
    """Experiment files under ``path`` (a folder, or a file, which is taken as named), sorted."""
    path = os.path.abspath(path)
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise CollectError(f"{path}: no such file or folder")
    found = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(files):
            if is_candidate_name(name):
                full = os.path.join(folder, name)
                with open(full, "rb") as f:
                    if is_experiment_source(f.read()):
                        found.append(full)
    return found


def basedir_and_name(path: str) -> tuple[str, str]:
    """The folder a module file is imported from (the first one upward without ``__init__.py``)
    and its dotted module name there."""
    folder, stem = os.path.split(os.path.splitext(path)[0])
    parts = [stem]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        folder, pkg = os.path.split(folder)
        parts.insert(0, pkg)
    return folder, ".".join(parts)


def _import(path: str, nodeid: str) -> ModuleType:
    basedir, name = basedir_and_name(path)
    existing = sys.modules.get(name)
    if existing is not None:
        if os.path.abspath(getattr(existing, "__file__", "") or "") == path:
            return existing
        raise CollectError(f"{nodeid}: import file mismatch: a module named {name!r} was already imported "
                           f"from {getattr(existing, '__file__', '?')}. Hint: rename one of them; experiment "
                           f"module names must be unique, and must not shadow installed packages")
    if basedir not in sys.path:
        sys.path.insert(0, basedir)
    try:
        module = importlib.import_module(name)
    except StepError as exc:  # an ill-formed decorator: already says file:line
        raise CollectError(str(exc)) from None
    except SyntaxError as exc:
        raise CollectError(f"{nodeid_of(exc.filename or path)}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        frames = "\n".join(f"  {line}" for line in user_frames(exc, limit=8))
        hint = ""
        if isinstance(exc, ModuleNotFoundError):
            top = (exc.name or "").split(".")[0]
            other = getattr(sys.modules.get(top), "__file__", None)
            if other and not os.path.abspath(other).startswith(basedir + os.sep):
                hint = (f"\nHint: a module named {top!r} was already imported from {other}; two experiment "
                        f"folders with a package of the same name cannot be collected in one run: rename one")
            else:
                hint = (f"\nHint: is {exc.name!r} installed in this Python ({sys.executable})? A module next to "
                        f"the experiment is importable by its name from {basedir}")
        raise CollectError(f"{nodeid}: failed to import: {type(exc).__name__}: {exc}\n{frames}{hint}") from None
    return module


def _duplicate_player_keys(path: str) -> None:
    """Python keeps the last of two equal dict keys in silence; in ``players`` that hides a player."""
    with open(path, encoding="utf-8") as f:
        try:
            tree = ast.parse(f.read())
        except SyntaxError:
            return  # the import reports it, with its line
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if not isinstance(dec, ast.Call):
                continue
            for kw in dec.keywords:
                if kw.arg == "players" and isinstance(kw.value, ast.Dict):
                    seen: dict = {}
                    for key in kw.value.keys:
                        if isinstance(key, ast.Constant):
                            if key.value in seen:
                                raise CollectError(
                                    f"{nodeid_of(path)}:{key.lineno}: {node.name}: agent {key.value!r} appears "
                                    f"twice in players (first at line {seen[key.value]}); each agent plays once")
                            seen[key.value] = key.lineno


def load_experiment(path: str, rootdir: str | None = None) -> Experiment:
    """Imports one experiment module and checks that its flow and policies fit together.

    Raises:
        CollectError: the module does not import, or its steps are ill-formed (the message starts
            with ``file:line`` and says what to fix).
    """
    path = os.path.abspath(path)
    nodeid = NodeId(nodeid_of(path, rootdir))
    _duplicate_player_keys(path)
    module = _import(path, nodeid)
    members = list(vars(module).values())
    defined = [m for m in members if isinstance(m, Step)]
    policies = {m.name: m for m in members if isinstance(m, PolicyDef)}
    flow = getattr(module, "FLOW", None)
    if flow is None:
        flow = defined
    elif not isinstance(flow, (list, tuple)):
        raise CollectError(f"{nodeid}: FLOW must be a list of steps, got {type(flow).__name__}")
    else:
        for i, item in enumerate(flow):
            try:
                check_item(item, f"{nodeid}: FLOW[{i}]")
            except TypeError as exc:
                raise CollectError(str(exc)) from None
    conditions = getattr(module, "CONDITIONS", [])
    if not isinstance(conditions, (list, tuple)):
        raise CollectError(f"{nodeid}: CONDITIONS must be a list, got {type(conditions).__name__}")
    experiment = Experiment(module.__name__, path, nodeid, module, list(flow), policies, list(conditions),
                            [m for m in members if isinstance(m, Playthrough)],
                            [m for m in members if isinstance(m, StandIn)])
    names = [s.name for s in experiment.steps]
    for dup in {n for n in names if names.count(n) > 1}:
        raise CollectError(f"{nodeid}: two steps are named {dup!r}")
    for step in experiment.steps:
        if isinstance(step, GameStep):
            for name in step.policy_names:
                if name not in policies:
                    hint = difflib.get_close_matches(name, list(policies), 1)
                    known = ", ".join(policies) or "none"
                    raise CollectError(f"{step.location()}: {step.name}: unknown policy {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                     + f"; players name mk.HUMAN, 'random' or a @mk.policy of this module "
                                       f"(defined here: {known})")
            takeover = getattr(step.options.monitor, "takeover", None)
            if takeover not in (None, "random") and takeover not in policies:
                raise CollectError(f"{step.location()}: {step.name}: monitor takeover names policy {takeover!r}, "
                                   f"which is not a @mk.policy of this module (defined here: "
                                   f"{', '.join(policies) or 'none'}) or 'random'")
    for s in experiment.stand_ins:
        for agent, name in s.players.items():
            if name != "random" and name not in policies:
                raise CollectError(f"{nodeid}: mk.stand_in({s.step.name}, ...) names policy {name!r} for {agent!r}, "
                                   f"which is not a @mk.policy of this module (defined here: "
                                   f"{', '.join(policies) or 'none'}) or 'random'")
    return experiment


def collect(paths: Iterable[str], rootdir: str | None = None) -> list[Experiment]:
    """Experiments under ``paths`` (folders, files, or node ids ``file.py::step``; the step part
    is ignored here — select steps with :meth:`Experiment.step`).

    Raises:
        CollectError: a path does not exist, or an experiment does not collect.
    """
    out: list[Experiment] = []
    seen: set = set()
    for arg in paths:
        file_part = NodeId.parse(arg).file if NodeId.looks_like(arg) else arg
        for path in find_experiment_files(file_part):
            if path not in seen:
                seen.add(path)
                out.append(load_experiment(path, rootdir))
    return out


def load_step(nodeid: str, rootdir: str | None = None) -> tuple[Experiment, Step]:
    """The experiment and step a node id ``file.py::step`` names.

    Raises:
        CollectError: the file is not an experiment; KeyError: it has no such step.
    """
    try:
        node = NodeId.parse(nodeid)
    except ValueError as exc:
        raise CollectError(str(exc)) from None
    if node.step is None:
        raise CollectError(f"{nodeid}: a step's node id is file.py::step")
    file_part, step_name = node.file, node.step
    path = file_part if os.path.isabs(file_part) else os.path.join(rootdir or os.getcwd(), file_part)
    experiment = load_experiment(path, rootdir)
    return experiment, experiment.step(step_name)

#: The old private name (kept for callers written before it became public).
_basedir_and_name = basedir_and_name
