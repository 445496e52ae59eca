"""The ``parity`` check's half that runs inside Pyodide, in the browser.

The runner page (``static/parity.js``) boots Pyodide with ``boot.js`` — the browser runtime's own
loader, installing the wheels ``serve`` ships — then calls :func:`load` once and plays each
example through an :class:`Example`: ``ready()``, then (after onnxruntime-web has prefetched the
AI's model runs, as the browser runtime's worker does before every tick) ``step()``, until done;
``finish()`` gives the answer as JSON. Frames are played through the same
:func:`mugkit.checks.play.tick` on the :class:`~mugkit.runtime.driver.FrameDriver` as in CPython,
so any difference in the frame hashes comes from the Python underneath, not from mugkit.

This module imports nothing a browser lacks: no Hypothesis, no numpy, no onnxruntime.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import sys
from typing import Any

__all__ = ["load", "model_files", "Example", "describe_error", "ROOT"]

#: The server's root folder as the browser sees it: the experiment folder (unpacked by boot.js in
#: its study folder) appears under it at the same relative path as on the server, so node ids and
#: the file names in messages read the same on both sides.
ROOT = "/home/pyodide/root"
_LOADED: dict = {}


def describe_error(exc: BaseException) -> dict:
    """An exception as data the CPython side can report: its type, message, the module a failed
    import named, and the lines of the env's code it passed through."""
    from ..paths import user_frames

    module = getattr(exc, "name", None) if isinstance(exc, ImportError) else None
    return _error(type(exc).__name__, str(exc), module, user_frames(exc))


def _error(kind: str, message: str, module: str | None, traceback: list) -> dict:
    """An error as :func:`describe_error` answers it, with this Python's version and platform."""
    return {"type": kind, "message": message, "module": module, "traceback": traceback,
            "python": sys.version.split()[0], "platform": sys.platform}


def _mount(study_dir: str, folder: str) -> None:
    """Makes the experiment folder ``folder`` (relative to the server's root) a path under :data:`ROOT`."""
    target = os.path.join(ROOT, folder) if folder not in ("", ".") else ROOT
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if not os.path.lexists(target):
        os.symlink(study_dir, target)
    os.chdir(ROOT)


def load(request_json: str) -> str:
    """Imports the experiment and builds one game of the step, as the browser runtime does.

    ``request``: ``{"node": "file.py::step", "study": boot.js's study folder, "folder": the
    experiment folder relative to the server's root}``. Answers ``{"ok": true, "python",
    "models"}`` (models: how many ONNX models the AIs use) or ``{"ok": false, "error"}``. A game
    is built here so that a step function importing a package the browser lacks fails at load,
    with the reason, rather than in the first example."""
    request = json.loads(request_json)
    try:
        from ..collect import load_step
        from ..runtime.browser_ai import model_files as files
        from .play import make_game

        _mount(request["study"], request["folder"])
        experiment, step = load_step(request["node"], ROOT)
        game = make_game(step, experiment.policies, 0, experiment.conditions)
        driver = game.driver()
        models = files(driver)
    except BaseException as exc:  # noqa: BLE001 - any failure to load is the answer, not a crash of the runner
        return json.dumps({"ok": False, "error": describe_error(exc)})
    _LOADED.update(step=(experiment, step), driver=driver)
    return json.dumps({"ok": True, "python": sys.version.split()[0], "platform": sys.platform,
                       "models": len(models)})


def model_files() -> list[dict]:
    """The step's ONNX models (``{"key", "name", "data"}``), for onnxruntime-web to open once."""
    from ..runtime.browser_ai import model_files as files

    return [f.plain() for f in files(_LOADED["driver"])]


class Example:
    """One example played in the browser, a tick at a time (see the module docstring); the same
    loop as :func:`mugkit.checks.play.play`, cut at each tick so that JavaScript can await
    onnxruntime-web between ticks.

    Args:
        request_json: ``{"seed", "keys", "frames", "data_at"}``, ``keys`` as
            :func:`~mugkit.checks.inputs.plan_to_data` gives them.
    """

    def __init__(self, request_json: str):
        from .inputs import plan_from_data
        from .play import Run, make_game

        request = json.loads(request_json)
        experiment, step = _LOADED["step"]
        self.data_at = request.get("data_at")
        self.plan = plan_from_data(request["keys"])
        self.ticks = max(request["frames"], len(self.plan))
        self.run = Run()
        self.error: dict | None = None
        self.kept: Any = None  # frame data_at's data
        self.i = 0
        self.driver = None
        try:
            self.game = make_game(step, experiment.policies, request["seed"], experiment.conditions)
            self.driver = self.game.driver()
        except BaseException as exc:  # noqa: BLE001 - reported as the answer
            self.error = describe_error(exc)

    def begin(self) -> None:
        """Starts the episode (frame 0), after the models are attached to :attr:`driver`."""
        self._guarded(lambda: (self.driver.start(), self._record()))

    def ready(self) -> bool:
        """True while a tick is left to play."""
        return self.error is None and self.driver is not None and self.driver.episode >= 0 \
            and self.i < self.ticks and not self.driver.frame.done

    def step(self) -> None:
        """Plays tick ``i`` of the plan."""
        from .play import tick

        def one() -> None:
            result = tick(self.game, self.driver, self.plan, self.i)
            self.i += 1
            if result is None:
                self.i = self.ticks  # waits for an input no plan can give: the run ends, as in play()
                return
            self.run.actions.append(result.actions)
            self._record()

        self._guarded(one)

    def fail(self, message: str) -> None:
        """Records a failure outside Python (onnxruntime-web's run) as the example's error."""
        self.error = _error("Error", message, None, [])

    def finish(self) -> str:
        """The answer: ``{"hashes"}`` (index 0 is the reset), ``"data"`` (frame ``data_at``'s data,
        pickled, base64) when asked, ``"error"`` when the game raised."""
        answer: dict[str, Any] = {"hashes": self.run.hashes}
        if self.error is not None:
            answer["error"] = self.error
        if self.kept is not None:
            # Protocol 4: what Python 3.14 writes, CPython 3.11 reads.
            answer["data"] = base64.b64encode(pickle.dumps(self.kept, protocol=4)).decode("ascii")
        return json.dumps(answer)

    def _record(self) -> None:
        self.run.record(self.driver, False)
        if len(self.run.hashes) - 1 == self.data_at:
            self.kept = self.driver.env.frame_data(self.driver.frame)

    def _guarded(self, fn) -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - reported with the frames played so far
            self.error = describe_error(exc)
