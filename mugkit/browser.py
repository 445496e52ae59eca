"""Opening a browser-runtime game inside Pyodide: the worker calls :func:`open_game` once the
wheels are installed. It imports the experiment from the unpacked experiment folder and builds
the game exactly as the server would (:func:`mugkit.games.build_game`, same seed, same
participant), so the browser plays the step the server collected.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys

from .collect import Experiment, load_experiment
from .games import Participant, build_game
from .runtime.browser_game import BrowserGame

__all__ = ["open_game", "game_from_spec", "forget_study"]


def open_game(spec_json: str, study_dir: str) -> BrowserGame:
    """The game a ``game`` view's ``boot`` describes (tagged JSON, :mod:`mugkit.runtime.values`): ``module`` (the experiment module's
    path inside the experiment wheel), ``step``, ``game``, ``seed``, ``agent`` (the participant's
    agent, tagged JSON), ``participant`` (``{"id", "params", "condition"}``); the experiment
    wheel is unpacked in ``study_dir``.

    Raises:
        mugkit.collect.CollectError: the experiment does not import here (a package the browser
            lacks, ...): the message says which module failed.
    """
    from .runtime.values import from_json

    spec = from_json(spec_json)
    return game_from_spec(load_experiment(os.path.join(study_dir, spec["module"]), study_dir), spec)


def game_from_spec(experiment: Experiment, spec: dict) -> BrowserGame:
    """The game of a decoded ``spec`` (see :func:`open_game`) in a collected ``experiment``: what
    the browser plays, and what a load-test bot plays in its place."""
    step = experiment.step(spec["step"])
    who = spec["participant"]
    participant = Participant(who["id"], dict(who.get("params") or {}), who.get("condition"))
    built = build_game(step, experiment.policies, seed=int(spec["seed"]), participant=participant,
                       group=[participant])
    return BrowserGame(spec["game"], built.driver(render=True), spec["agent"])


def forget_study(study_dir: str) -> list[str]:
    """Removes the unpacked experiment folder ``study_dir`` and forgets the modules imported from
    it, so that the next step's experiment wheel, unpacked there, is imported afresh from exactly
    its own files (a worker kept from an earlier game of another step). Returns the names of the
    modules forgotten."""
    root = os.path.join(os.path.abspath(study_dir), "")
    forgotten = [name for name, module in list(sys.modules.items()) if _imported_from(module, root)]
    for name in forgotten:
        del sys.modules[name]
    shutil.rmtree(study_dir, ignore_errors=True)
    importlib.invalidate_caches()
    return forgotten


def _imported_from(module: object, root: str) -> bool:
    paths = [getattr(module, "__file__", None) or "", *list(getattr(module, "__path__", None) or [])]
    return any(str(p).startswith(root) for p in paths)
