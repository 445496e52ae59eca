"""Replaying a game step from a seed and actions, in this process or a fresh one.

``replay("experiments/chase.py::chase", seed=7, actions=[{"runner": 1}, …])`` returns the frame
hashes of a run, for looking into a game by hand (a check failure prints a program that reproduces
the failure itself: see :mod:`mugkit.checks.reproduce`). ``python -m mugkit.checks.replay`` reads a JSON
request on standard input and prints the hashes as JSON: the ``determinism`` check runs it in
fresh processes, each with another ``PYTHONHASHSEED``, to catch envs that depend on string
hashing or on anything else that differs from process to process.
"""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import pickle
import sys
from typing import Any

from ..collect import load_step
from ..runtime.adapter import local_fingerprints
from .inputs import KeyPlan, plan_from_data
from .play import Run, make_game, play, replay_actions

__all__ = ["replay", "DataAt"]


class DataAt(Run):
    """A :class:`~mugkit.checks.play.Run` that keeps the data of one frame only, ``data[0]``: the
    frame data of an env with pixel observations is megabytes, and explored runs are hundreds of
    frames long. Pass it to :func:`~mugkit.checks.play.play` as ``run``."""

    def __init__(self, frame: int):
        super().__init__()
        self.frame = frame

    def record(self, driver, keep_data: bool, hashed: bool = True) -> None:
        super().record(driver, False, hashed)
        if len(self.hashes) - 1 == self.frame:
            self.data = [driver.env.frame_data(driver.frame)]


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
    """Answers a JSON request on standard input with JSON on standard output.

    The request: ``{step, rootdir, frames, python_only, fingerprints}`` and either ``examples``, a
    list of ``[seed, keys]`` (``keys`` as :func:`~mugkit.checks.inputs.plan_to_data` gives it),
    or one ``seed`` and ``keys``. Each example is played for ``max(frames, len(plan))`` frames, one
    after another in this one process. The answer: ``{"runs": [hashes of each example, ...]}``
    (``"hashes"``: the first example's). Optional parts of the request:

    - ``data_at``: ``[example index, frame]`` (or a frame of the first example): the answer's
      ``"data"`` is that frame's data, pickled and base64-encoded, so the caller can say what
      differs;
    - ``trace``: an example index: only that example is played, under
      :func:`~mugkit.checks.diagnose.trace_sources` (the answer's ``"sources"`` lists what it
      called, ``[kind, call, where]``), or with ``"trace_kind": "set_iteration"`` under
      :func:`~mugkit.checks.hash_order.trace_set_iteration` (``"set_iteration"``: where it
      iterated a set of strings);
    - ``neutralize``: kinds of source (``"random"``, ``"numpy-random"``, ``"unseeded"``,
      ``"clock"``, ``"entropy"``) made to give the same values in every process.
    """
    request = json.load(sys.stdin)
    with contextlib.redirect_stdout(sys.stderr):  # envs print; stdout carries only the answer
        answer = _answer(request)
    json.dump(answer, sys.stdout)


def _examples(request: dict) -> list:
    if "examples" in request:
        return [(seed, plan_from_data(keys)) for seed, keys in request["examples"]]
    return [(request["seed"], plan_from_data(request.get("keys", [])))]


def _answer(request: dict) -> dict:
    frames, python_only = request["frames"], request.get("python_only", False)
    examples = _examples(request)
    data_at = request.get("data_at")
    if isinstance(data_at, int):
        data_at = [0, data_at]
    loaded: list = []

    def game(seed: int):
        if not loaded:
            loaded.append(load_step(request["step"], request.get("rootdir")))
        experiment, step = loaded[0]
        return make_game(step, experiment.policies, seed, experiment.conditions, python_only=python_only)

    answer: dict[str, Any] = {"runs": []}
    if "trace" in request:
        # The import of the experiment is traced too (the first game loads it): a value drawn once
        # per process, at import, differs between processes but not between runs in one.
        seed, plan = examples[request["trace"]]
        try:  # before the trace, which hooks numpy's generators only if numpy is loaded
            importlib.import_module("numpy")
        except ImportError:
            pass
        if request.get("trace_kind") == "set_iteration":
            from .hash_order import trace_set_iteration

            answer["set_iteration"] = trace_set_iteration(lambda: play(game(seed), plan, frames))
        else:
            from .diagnose import trace_sources

            answer["sources"] = [[s.kind, s.call, s.where] for s in trace_sources(lambda: play(game(seed), plan,
                                                                                                frames))]
        return answer
    kinds = set(request.get("neutralize", ()))
    with _neutralized(kinds):
        _play_all(request, examples, game, data_at, answer)
    answer["hashes"] = answer["runs"][0] if answer["runs"] else []
    return answer


@contextlib.contextmanager
def _neutralized(kinds: set):
    """Within the block, the given kinds of source give the same values in every process (see
    :func:`~mugkit.checks.neutralize.neutralized`; the global generators are seeded alike)."""
    if not kinds:
        yield
        return
    import random

    from .neutralize import neutralized

    try:
        import numpy  # before the block: neutralized() hooks numpy only if it is loaded
    except ImportError:
        numpy = None
    if "random" in kinds:
        random.seed(1)
    if "numpy-random" in kinds and numpy is not None:
        numpy.random.seed(1)
    with neutralized(kinds):
        yield


def _play_all(request: dict, examples: list, game, data_at, answer: dict) -> None:
    # Fingerprints (CRC-32 of arrays) when the asking process compares with its own: both are
    # CPython on one machine, and hashing megabytes of pixels in SHA-256 costs most of a replay.
    with local_fingerprints() if request.get("fingerprints") else contextlib.nullcontext():
        for i, (seed, plan) in enumerate(examples):
            keep = data_at is not None and data_at[0] == i
            run = play(game(seed), plan, request["frames"], run=DataAt(data_at[1]) if keep else None)
            answer["runs"].append(run.hashes)
            if keep and run.data:
                answer["data"] = base64.b64encode(pickle.dumps(run.data[0])).decode("ascii")


if __name__ == "__main__":
    main()
