"""The runtime shared by the server, the browser (Pyodide) and the checks.

Pure Python with no server-only imports: the browser loads this very package. numpy,
gymnasium and onnxruntime are imported only inside the functions that need them.
"""

from . import draw, hashing, spaces
from .adapter import EnvError, Frame, GameEnv, adapt, env_kind
from .policies import Onnx, Policy, PolicyError, RandomPolicy, as_policy
from .seeding import derive_rng, derive_seed
from .state import Snapshotter, state_view

__all__ = ["draw", "hashing", "spaces", "EnvError", "Frame", "GameEnv", "adapt", "env_kind", "Onnx", "Policy",
           "PolicyError", "RandomPolicy", "as_policy", "derive_rng", "derive_seed", "Snapshotter", "state_view"]
