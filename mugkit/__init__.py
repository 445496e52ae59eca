"""mugkit: Gymnasium and PettingZoo environments as browser experiments with human participants.

An experiment is a Python module of decorated functions::

    import mugkit as mk

    @mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1)
    def game(seed):
        return MyEnv(render_mode="mug")

This module is the whole public surface. Importing it imports no server, numpy, gymnasium or
onnxruntime: the browser loads the same package into Pyodide.
"""

from . import data, draw, spaces
from .checks.inputs import hold, playthrough
from .flow import counterbalance, repeat, shuffle
from .games import Participant
from .pages import Completion, Consent, Page
from .questions import Choice, Likert, Text
from .runtime.policies import Onnx
from .runtime.rng import Random
from .steps import HUMAN, StepError, policy, scene, survey

__version__ = "0.1.0"

__all__ = [
    "scene", "survey", "policy", "HUMAN",
    "Page", "Consent", "Completion",
    "Likert", "Choice", "Text",
    "Onnx", "Random",
    "repeat", "shuffle", "counterbalance",
    "playthrough", "hold",
    "Participant", "StepError",
    "draw", "spaces", "data",
]
