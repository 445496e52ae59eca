"""Replaying a game step from a seed and actions, in this process or a fresh one.

``replay("experiments/chase.py::chase", seed=7, actions=[{"runner": 1}, …])`` returns the frame
hashes of a run, for looking into a game by hand (a check failure prints a program that reproduces
the failure itself: see :mod:`mugkit.checks.reproduce`). ``python -m mugkit.checks.replay`` reads a JSON
request on standard input and prints the hashes as JSON: the ``determinism`` check runs it with
another ``PYTHONHASHSEED`` to catch envs that depend on string hashing.
"""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import sys
from typing import Any

from ..collect import load_step
from ..runtime.adapter import local_fingerprints
from .inputs import KeyPlan, plan_from_data
from .play import make_game, play, replay_actions

__all__ = ["replay"]


def replay(nodeid: str, seed: int, actions: list[dict[str, Any]] | None = None, *, keys: dict | None = None,
           frames: int | None = None, rootdir: str | None = None, python_only: bool = False) -> list[str]:
    """Frame hashes of the step ``nodeid`` played from ``seed`` with the joint ``actions`` (one dict
    per frame) or with humans holding ``keys`` (human → keys held per frame, as a check prints
    them; ``python_only``: ONNX players play "random" instead, as in a browser where they run
    outside Python). Index 0 is the reset."""
    experiment, step = load_step(nodeid, rootdir)
    game = make_game(step, experiment.policies, seed, experiment.conditions, python_only=python_only)
    if actions is None:
        return play(game, KeyPlan.of(keys or {}), frames if frames is not None else 0).hashes
    return replay_actions(game, actions)


def main() -> None:
    """Answers a JSON request ``{step, seed, keys, frames, rootdir, python_only, data_at}`` (``keys``
    as :func:`~mugkit.checks.inputs.plan_to_data` gives it) with ``{"hashes": [...]}``; with
    ``data_at`` (a frame index) also ``"data"``: that frame's data, pickled and base64-encoded, so
    the caller can say what differs."""
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(sys.stderr):  # envs print; stdout carries only the answer
        experiment, step = load_step(request["step"], request.get("rootdir"))
        game = make_game(step, experiment.policies, request["seed"], experiment.conditions,
                         python_only=request.get("python_only", False))
        # Fingerprints (CRC-32 of arrays) when the asking process compares with its own: both are
        # CPython on one machine, and hashing megabytes of pixels in SHA-256 costs most of a replay.
        with local_fingerprints() if request.get("fingerprints") else contextlib.nullcontext():
            run = play(game, plan_from_data(request.get("keys", [])), request["frames"], keep_data="data_at" in request)
    answer = {"hashes": run.hashes}
    if "data_at" in request and request["data_at"] < len(run.data):
        answer["data"] = base64.b64encode(pickle.dumps(run.data[request["data_at"]])).decode("ascii")
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
