"""Replaying a game step from a seed and actions, in this process or a fresh one.

``replay("experiments/chase.py::chase", seed=7, actions=[{"runner": 1}, …])`` returns the frame
hashes, for reproducing a check failure by hand. ``python -m mugkit.checks.replay`` reads a JSON
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
from .play import make_game, play, replay_actions

__all__ = ["replay"]


def replay(nodeid: str, seed: int, actions: list[dict[str, Any]] | None = None, *, choices: list[int] | None = None,
           frames: int | None = None, rootdir: str | None = None, python_only: bool = False) -> list[str]:
    """Frame hashes of the step ``nodeid`` played from ``seed`` with ``actions`` (one dict per
    frame) or with check ``choices`` (see :mod:`mugkit.checks.play`; ``python_only``: ONNX
    players sample instead, as in a browser where they run outside Python). Index 0 is the reset."""
    experiment, step = load_step(nodeid, rootdir)
    game = make_game(step, experiment.policies, seed, experiment.conditions, python_only=python_only)
    if actions is None:
        return play(game, choices or [], frames if frames is not None else 0).hashes
    return replay_actions(game, actions)


def main() -> None:
    """Answers a JSON request ``{step, seed, choices, frames, rootdir, python_only, data_at}`` with
    ``{"hashes": [...]}``; with ``data_at`` (a frame index) also ``"data"``: that frame's data,
    pickled and base64-encoded, so the caller can say what differs."""
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(sys.stderr):  # envs print; stdout carries only the answer
        experiment, step = load_step(request["step"], request.get("rootdir"))
        game = make_game(step, experiment.policies, request["seed"], experiment.conditions,
                         python_only=request.get("python_only", False))
        run = play(game, request["choices"], request["frames"], keep_data="data_at" in request)
    answer = {"hashes": run.hashes}
    if "data_at" in request and request["data_at"] < len(run.data):
        answer["data"] = base64.b64encode(pickle.dumps(run.data[request["data_at"]])).decode("ascii")
    json.dump(answer, sys.stdout)


if __name__ == "__main__":
    main()
