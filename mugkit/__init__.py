"""mugkit: Gymnasium and PettingZoo environments as browser experiments with human participants.

An experiment is a Python module of decorated functions::

    import mugkit as mk

    @mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1)
    def game(seed):
        return MyEnv(render_mode="mug")

This module is the whole public surface. Importing it imports no server, numpy, gymnasium or
onnxruntime: the browser loads the same package into Pyodide.
"""

import sys as _sys

from . import data, draw, spaces
from .checks.inputs import hold, playthrough
from .checks.stand_in import stand_in
from .flow import counterbalance, repeat, shuffle
from .games import Participant
from .pages import Completion, Consent, Page
from .questions import Choice, Dropdown, Likert, Matrix, Number, Slider, Text
from .runtime.monitor import Monitor
from .runtime.policies import Onnx
from .runtime.rng import Random
from .screening import screen
from .steps import HUMAN, StepError, policy, scene, survey

__version__ = "0.1.0"

#: True inside the participant's browser (Pyodide), False on the server and in checks. Imports
#: under ``if not mk.in_browser:`` stay on the server: the browser runtime never ships the
#: experiment's modules they name (a ``config.py`` with API keys).
in_browser: bool = _sys.platform == "emscripten"

__all__ = [
    "scene", "survey", "screen", "policy", "HUMAN",
    "Page", "Consent", "Completion",
    "Likert", "Choice", "Text", "Dropdown", "Number", "Slider", "Matrix",
    "Onnx", "Random", "in_browser", "Monitor",
    "repeat", "shuffle", "counterbalance",
    "playthrough", "hold", "stand_in",
    "Participant", "StepError",
    "draw", "spaces", "data",
    "hookimpl",
]


def __getattr__(name: str):
    # ``mk.hookimpl`` marks a server plugin's hook (mugkit/web/plugins.py); imported on first use,
    # so that ``import mugkit`` stays free of pluggy in the browser.
    if name == "hookimpl":
        from .web.plugins import hookimpl

        return hookimpl
    raise AttributeError(f"module 'mugkit' has no attribute {name!r}")
