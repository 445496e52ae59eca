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
from .runtime.peer_game import PeerGame

__all__ = ["open_game", "game_from_spec", "open_peer_game", "peer_game_from_spec", "forget_study"]


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


def open_peer_game(spec_json: str, study_dir: str, peer_json: str) -> PeerGame:
    """One peer of a browser game with several humans: the game of ``spec_json`` (as for
    :func:`open_game`) and the ``peer`` part of the game view (JSON, tagged or plain: ``me``,
    ``peers`` ``{address: agent}``, ``host``, ``rejoin``, ``rejoin_grace_ms``), as a
    :class:`~mugkit.runtime.peer_game.PeerGame`: call ``start()``, or ``rejoin(packages)`` when
    ``rejoin`` is true.

    Raises:
        mugkit.collect.CollectError: the experiment does not import here.
        mugkit.runtime.peer_game.PeerGameError: the peers do not match the step's agents.
    """
    from .runtime.values import from_json

    spec = from_json(spec_json)
    experiment = load_experiment(os.path.join(study_dir, spec["module"]), study_dir)
    return peer_game_from_spec(experiment, spec, from_json(peer_json))


def peer_game_from_spec(experiment: Experiment, spec: dict, peer: dict) -> PeerGame:
    """The :class:`~mugkit.runtime.peer_game.PeerGame` of a decoded ``spec`` and ``peer`` (see
    :func:`open_peer_game`): what a browser peer plays, and what a load-test bot plays in its
    place. Every peer must build the same game: same step, same seed, and the same ``group``
    (``spec["group"]``: every participant of the game, in the players' order, as the server
    builds it; default ``[spec["participant"]]``), the first of which is the ``participant``."""
    step = experiment.step(spec["step"])
    group = [Participant(w["id"], dict(w.get("params") or {}), w.get("condition"))
             for w in (spec.get("group") or [spec["participant"]])]
    seed = int(spec["seed"])
    built = build_game(step, experiment.policies, seed=seed, participant=group[0], group=group)
    options = {"rejoin_grace_ms": peer.get("rejoin_grace_ms", 20_000)}
    return PeerGame(spec["game"], built.driver(), peer["me"], dict(peer["peers"]), host=peer["host"],
                    options=options, seed=seed, rejoin=bool(peer.get("rejoin", False)))


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
