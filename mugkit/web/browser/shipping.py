"""What a browser-runtime step ships to every participant's browser: the files of its experiment
wheel, chosen file by file, never the whole folder.

1. **Modules**: the experiment module and the experiment's own modules it imports
   (:func:`mugkit.web.browser.imports.local_modules`).
2. **Models**: the ``.onnx`` file of every ``mk.Onnx`` the step's AI players use — found by
   calling their ``@mk.policy`` factories once at start-up (cheap: ``mk.Onnx`` opens its file only
   when it first acts), so the path is the very one the browser computes.
3. **Declared files**: the step's ``files=("maps/level1.txt", "sprites/")`` — paths relative to
   the experiment module's folder; a folder entry ships the files under it.

Every file must pass :func:`mugkit.web.browser.public_files.refusal` (no hidden paths, databases,
backups, data exports, symlinks out of the folder …). A module, model or declared file that is
refused stops the start with the reason; a file under a declared folder that is refused is left
out and listed (:attr:`StepFiles.left_out`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ...collect import basedir_and_name
from ...runtime.onnx import Onnx
from .imports import ImportGraphError, local_modules
from .public_files import refusal

__all__ = ["StepFiles", "step_files", "ShippingError"]


class ShippingError(Exception):
    """A file a browser step needs cannot be shipped; the message names the step, the file and
    why, and what to do."""


@dataclass
class StepFiles:
    """The files of one browser step's experiment wheel.

    Attributes:
        basedir: the folder the experiment module is imported from; paths are relative to it.
        files: path → why it ships (``"module"``, ``"model"`` or ``"declared"``), in that order.
        left_out: files under a declared folder that never ship: path → why.
    """

    basedir: str
    files: dict[str, str] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)


def _relative(basedir: str, path: str) -> str | None:
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(basedir))
    return None if rel == ".." or rel.startswith(".." + os.sep) else rel.replace(os.sep, "/")


def _model_paths(experiment: Any, step: Any, where: str) -> list[str]:
    """The absolute paths of the ``mk.Onnx`` models the step's AI players use."""
    out = []
    for name in step.policy_names:
        factory = experiment.policies[name]
        try:
            policy = factory()
        except Exception as exc:  # the researcher's factory: say which one and what it raised
            raise ShippingError(f"{where}: the policy {name!r} raised {type(exc).__name__}: {exc} when called at "
                                f"start-up to find its model file; a browser step's policy factory must also work "
                                f"on the server (the checks call it too)") from exc
        if isinstance(policy, Onnx) and policy.path not in out:
            out.append(policy.path)
    return out


def _add(found: StepFiles, rel: str | None, shown: str, reason: str, where: str) -> None:
    if rel is None:
        raise ShippingError(f"{where}: {shown} is outside the experiment's folder {found.basedir}, so the browser "
                            f"cannot have it; move it into that folder")
    why = refusal(found.basedir, rel)
    if why is not None:
        raise ShippingError(f"{where}: {shown} ({reason}) is never shipped to browsers: {why}. Keep what the "
                            f"browser needs in plain, visible files of the experiment's folder")
    found.files.setdefault(rel, reason)


def _add_declared(found: StepFiles, module_dir: str, entry: str, where: str) -> None:
    path = os.path.join(module_dir, entry)
    rel = _relative(found.basedir, path)
    if rel is not None and os.path.isdir(path) and not os.path.islink(path):
        shipped, refused = 0, []
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                sub = _relative(found.basedir, os.path.join(folder, name))
                why = refusal(found.basedir, sub)
                if why is None:
                    shipped += 1
                    found.files.setdefault(sub, "declared")
                else:
                    found.left_out[sub] = why
                    refused.append(f"{sub}: {why}")
        if not shipped:
            first = refused[0] if refused else "it is empty"
            raise ShippingError(f"{where}: files= names the folder {entry!r}, but none of its files may be shipped "
                                f"to browsers ({first})")
        return
    if rel is not None and not os.path.lexists(path):
        raise ShippingError(f"{where}: files= names {entry!r}, but there is no such file in {module_dir}")
    _add(found, rel, f"files= entry {entry!r}", "declared", where)


def step_files(experiment: Any, step: Any) -> StepFiles:
    """The files one browser step ships (see the module docstring).

    Raises:
        ShippingError: a module, model or declared file cannot be shipped (outside the folder,
            refused by the rules, missing), an imported module is not valid Python, or a policy
            factory raised.
    """
    basedir, _ = basedir_and_name(experiment.path)
    where = f"{experiment.nodeid}::{step.name}"
    found = StepFiles(basedir)
    try:
        modules = local_modules(experiment.path, basedir)
    except ImportGraphError as exc:
        raise ShippingError(f"{where}: cannot read the imports of {exc}") from None
    for rel in modules:
        _add(found, rel, rel, "module", where)
    models = _model_paths(experiment, step, where)
    if models and len(step.humans) >= 2:
        # The host's worker would have to run the model before each tick, in step with the
        # rollback session: not built yet. Said at start-up rather than failing in the browser.
        raise ShippingError(f"{where}: an mk.Onnx AI player in a browser step with several humans is not supported "
                            f"yet; use runtime='server' for this step, or a Python @mk.policy")
    for path in models:
        if not os.path.exists(path):
            raise ShippingError(f"{where}: mk.Onnx: no model file at {path}")
        _add(found, _relative(basedir, path), os.path.basename(path), "model", where)
    module_dir = os.path.dirname(experiment.path)
    for entry in step.options.files:
        _add_declared(found, module_dir, entry, where)
    return found
