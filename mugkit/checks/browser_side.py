"""The ``parity`` check's half that runs inside Pyodide, in the browser.

The Chromium runner (:mod:`mugkit.checks.browser`) boots Pyodide with the wheels ``serve`` ships
and calls :func:`load` once, then :func:`play` once per example, each with a JSON request; the
answer is JSON too. Both halves play an example through the same code — :func:`mugkit.checks.play.play`
on the :class:`~mugkit.runtime.driver.FrameDriver` — so any difference in the frame hashes comes
from the Python underneath (CPython against Pyodide), not from mugkit.

This module imports nothing a browser lacks: no Hypothesis, no numpy, no onnxruntime.
"""

from __future__ import annotations

import base64
import json
import pickle
import sys
from typing import Any

__all__ = ["load", "play", "describe_error"]

_LOADED: dict = {}


def describe_error(exc: BaseException) -> dict:
    """An exception as data the CPython side can report: its type, message, the module a failed
    import named, and the innermost traceback lines (the env's code, where it raised)."""
    from ..paths import user_frames

    lines = user_frames(exc)
    return {"type": type(exc).__name__, "message": str(exc), "module": getattr(exc, "name", None)
            if isinstance(exc, ImportError) else None, "traceback": lines,
            "python": sys.version.split()[0], "platform": sys.platform}


def load(request_json: str) -> str:
    """Imports the experiment and builds one game of the step (``{"step", "rootdir"}``), as the
    browser runtime does; answers ``{"ok": true, "python": version}`` or ``{"ok": false, "error": …}``.

    A game is built once here so that a step function that imports a package the browser lacks
    fails at load, with the reason, rather than in the first example."""
    import os

    request = json.loads(request_json)
    os.chdir(request["rootdir"])  # paths in messages read as on the server: tests/faults/x.py, not study/…
    try:
        from ..collect import load_step
        from .play import make_game

        experiment, step = load_step(request["step"], request["rootdir"])
        make_game(step, experiment.policies, 0, experiment.conditions, python_only=True)
    except BaseException as exc:  # noqa: BLE001 - any failure to load is the answer, not a crash of the runner
        return json.dumps({"ok": False, "error": describe_error(exc)})
    _LOADED["step"] = (experiment, step)
    return json.dumps({"ok": True, "python": sys.version.split()[0], "platform": sys.platform})


def play(request_json: str) -> str:
    """Plays one example ``{"seed", "keys", "frames", "data_at"}`` (``keys`` as
    :func:`~mugkit.checks.inputs.plan_to_data` gives them) and answers its frame hashes (index 0
    is the reset), and with ``data_at`` that frame's data (what the hash covers), pickled and
    base64-encoded. A crash of the game is answered as ``error``, with the hashes up to it."""
    from .inputs import plan_from_data
    from .play import Run, make_game, play as play_plan

    request = json.loads(request_json)
    experiment, step = _LOADED["step"]
    data_at = request.get("data_at")
    run, answer = Run(), {}
    try:
        game = make_game(step, experiment.policies, request["seed"], experiment.conditions,
                         python_only=not request.get("onnx", False))
        play_plan(game, plan_from_data(request["keys"]), request["frames"], keep_data=data_at is not None, run=run)
    except BaseException as exc:  # noqa: BLE001 - reported with the frames played so far
        answer["error"] = describe_error(exc)
    answer["hashes"] = run.hashes
    if data_at is not None and data_at < len(run.data):
        # Protocol 4: CPython 3.11 reads what Python 3.14 writes.
        answer["data"] = base64.b64encode(pickle.dumps(run.data[data_at], protocol=4)).decode("ascii")
    return json.dumps(answer)
