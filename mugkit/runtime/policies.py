"""AI players: seeded random play, plain callables and ONNX models.

Every policy is called through :class:`Policy.act` with the observation and the context of the
frame. Randomness is a function of (seed, frame, agent) — never of how often the policy was
called — so a replayed or rolled-back frame gets the same AI action.

A ``@mk.policy`` factory returns either an :class:`Onnx` or any callable. A callable receives
the observation, plus whichever of these keyword parameters it names: ``agent``, ``frame``,
``seed``, ``rng`` (a ``random.Random`` for this (seed, frame, agent)), ``mask`` (the action
mask, or None), ``space`` (the action space), ``info``.
"""

from __future__ import annotations

import copy
import inspect
import os
import sys
from typing import Any, Callable

from .seeding import derive_rng, derive_seed
from .spaces import Space, is_gymnasium_space

__all__ = ["Policy", "RandomPolicy", "CallablePolicy", "Onnx", "action_mask", "mask_allows", "sample_action",
           "as_policy", "policy_seed", "PolicyError"]

_CONTEXT = ("agent", "frame", "seed", "rng", "mask", "space", "info")


class PolicyError(Exception):
    """A policy that cannot load or answers outside its action space."""


def action_mask(observation: Any, info: Any) -> Any:
    """The action mask PettingZoo envs publish (in the observation dict or the info), or None."""
    for source in (observation, info):
        if isinstance(source, dict) and "action_mask" in source:
            return source["action_mask"]
    return None


def mask_allows(mask: Any, action: Any) -> bool:
    """True when ``mask`` (a sequence of 0/1 per discrete action, or None) allows ``action``."""
    if mask is None:
        return True
    try:
        return bool(mask[int(action)])
    except (TypeError, ValueError, IndexError):
        return True  # masks over non-discrete actions are the env's business


def plain_action(space: Any, action: Any) -> Any:
    """For a mugkit (numpy-free) space, numpy values become plain Python (``np.int64(2)`` → ``2``,
    arrays → lists), as a browser env expects; for a gymnasium space the action is kept."""
    if isinstance(space, Space) and type(action).__module__ == "numpy" and hasattr(action, "tolist"):
        return action.tolist()
    return action


class Policy:
    """Base class. Subclasses implement :meth:`act`."""

    name = "policy"

    def act(self, observation: Any, *, agent: str, frame: int, seed: int, space: Any, info: Any = None) -> Any:
        """The action for ``agent`` at ``frame``, a pure function of its arguments."""
        raise NotImplementedError


def sample_action(space: Any, rng, mask: Any = None) -> Any:
    """A member of ``space`` (a mugkit or gymnasium space) drawn with ``rng`` (a ``random.Random``),
    within ``mask``; the space's own generator is never advanced."""
    if isinstance(space, Space):
        return space.sample(rng, mask)
    if is_gymnasium_space(space):
        import numpy as np

        local = copy.deepcopy(space)  # never advance the env's own space generator
        local.seed(rng.getrandbits(32))
        if mask is not None:
            mask = np.asarray(mask, dtype=np.int8)
            return local.sample(mask=mask)
        return local.sample()
    raise PolicyError(f"cannot sample from {type(space).__name__}: use mugkit.spaces or gymnasium.spaces")


class RandomPolicy(Policy):
    """``"random"``: uniform over the action space, restricted to the action mask where there is one."""

    name = "random"

    def act(self, observation, *, agent, frame, seed, space, info=None):
        return sample_action(space, derive_rng(seed, frame, agent, "random"), action_mask(observation, info))


class CallablePolicy(Policy):
    """A plain callable ``obs -> action``, given the context parameters it names."""

    def __init__(self, fn: Callable, name: str = ""):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        self._wants = [p for p in _CONTEXT if p in params]

    def act(self, observation, *, agent, frame, seed, space, info=None):
        context = {"agent": agent, "frame": frame, "seed": seed, "space": space, "info": info,
                   "mask": action_mask(observation, info)}
        kwargs = {k: context[k] for k in self._wants if k != "rng"}
        if "rng" in self._wants:
            kwargs["rng"] = derive_rng(seed, frame, agent, self.name)
        return plain_action(space, self.fn(observation, **kwargs))


class Onnx(Policy):
    """An ONNX model as a policy, run with onnxruntime (on the server and in checks).

    Input: the observation flattened to float32 of shape ``[1, n]`` (a dict observation with an
    ``"observation"`` entry uses that entry). Output: for a discrete action space, action logits
    ``[1, n_actions]``: the action is the argmax, or with ``sample=True`` drawn from
    ``softmax(logits / temperature)`` with a generator seeded by (seed, frame, agent). Masked
    actions are never chosen. For a ``Box`` action space the output is the action, clipped.

    Args:
        path: the ``.onnx`` file; a relative path is relative to the module that calls ``Onnx``.
        sample: draw from the distribution instead of taking the argmax.
        temperature: softmax temperature when sampling.
    """

    def __init__(self, path: str, *, sample: bool = False, temperature: float = 1.0):
        if not os.path.isabs(path):
            caller = sys._getframe(1).f_globals.get("__file__")
            if caller:
                path = os.path.join(os.path.dirname(os.path.abspath(caller)), path)
        self.path = path
        self.sample = sample
        self.temperature = temperature
        self.name = os.path.basename(path)
        self._session = None

    def load(self) -> None:
        """Opens the model now (instead of on the first action).

        Raises:
            PolicyError: the file is missing, onnxruntime is not installed, or the model is invalid.
        """
        if self._session is not None:
            return
        if not os.path.exists(self.path):
            raise PolicyError(f"mk.Onnx: no model file at {self.path}")
        try:
            import onnxruntime
        except ImportError as exc:
            raise PolicyError("mk.Onnx needs onnxruntime: pip install 'mugkit[onnx]'") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # games run many policies side by side
        try:
            self._session = onnxruntime.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise PolicyError(f"mk.Onnx: cannot load {self.path}: {exc}") from exc
        self._input = self._session.get_inputs()[0].name

    def logits(self, observation: Any) -> Any:
        """The model's raw output for one observation, as a flat numpy array."""
        import numpy as np

        self.load()
        if isinstance(observation, dict) and "observation" in observation:
            observation = observation["observation"]
        x = np.asarray(observation, dtype=np.float32).reshape(1, -1)
        return np.asarray(self._session.run(None, {self._input: x})[0]).reshape(-1)

    def act(self, observation, *, agent, frame, seed, space, info=None):
        import numpy as np

        out = self.logits(observation)
        if _is_box(space):
            low, high = _bounds(space)
            return np.clip(out.reshape(np.shape(low)), low, high).tolist()
        n = getattr(space, "n", None)
        start = int(getattr(space, "start", 0))
        if n is None or out.shape[0] != n:
            raise PolicyError(f"{self.name}: the model gives {out.shape[0]} outputs but the action "
                              f"space {space!r} needs one logit per action")
        logits = out.astype(np.float64)
        mask = action_mask(observation, info)
        if mask is not None:
            logits = np.where(np.asarray(mask, dtype=bool), logits, -np.inf)
        if not self.sample:
            return start + int(np.argmax(logits))
        z = logits / self.temperature
        p = np.exp(z - np.max(z))
        p = p / p.sum()
        u = derive_rng(seed, frame, agent, self.name).random()
        return start + min(int(np.searchsorted(np.cumsum(p), u, side="right")), n - 1)


def _is_box(space: Any) -> bool:
    return type(space).__name__ == "Box"


def _bounds(space: Any):
    import numpy as np

    return np.asarray(space.low, dtype=np.float64), np.asarray(space.high, dtype=np.float64)


def as_policy(value: Any, name: str = "") -> Policy:
    """``"random"``, a :class:`Policy` or a callable, as a :class:`Policy`.

    Raises:
        PolicyError: ``value`` is none of these.
    """
    if value == "random":
        return RandomPolicy()
    if isinstance(value, Policy):
        return value
    if callable(value):
        return CallablePolicy(value, name)
    raise PolicyError(f"a policy must be mk.Onnx(...) or a callable obs -> action, got {type(value).__name__}")


def policy_seed(game_seed: int, agent: str) -> int:
    """The seed a policy acts with in a game: one per (game seed, agent)."""
    return derive_seed(game_seed, "policy", agent)
