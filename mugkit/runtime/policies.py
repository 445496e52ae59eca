"""AI players: seeded random play, plain callables and ONNX models (:mod:`mugkit.runtime.onnx`).

Every policy is called through :class:`Policy.act` with the observation and the context of the
frame. Randomness is a function of (seed, frame, agent) — never of how often the policy was
called — so a replayed or rolled-back frame gets the same AI action.

A ``@mk.policy`` factory returns either an :class:`Onnx` or any callable. A callable receives
the observation, plus whichever of these keyword parameters it names: ``agent``, ``frame``,
``seed``, ``rng`` (a ``random.Random`` for this (seed, frame, agent)), ``mask`` (the action
mask, or None), ``space`` (the action space), ``info``, ``env`` (the unwrapped env, read-only,
for scripted partners that read what observations do not carry).

Agent ids are whatever the env uses (``"runner"``, or ints like CoGrid's ``0`` and ``1``): any
hashable plain data. A policy with memory (a recurrent ONNX model) keeps it between calls; the
frame driver calls :meth:`Policy.reset` at the start of each episode and keeps
:meth:`Policy.get_state` in its snapshots, so a rollback restores the memory with the env.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Hashable
from typing import Any, Callable

from .seeding import derive_rng, derive_seed
from .spaces import Space, is_gymnasium_space

__all__ = ["Policy", "RandomPolicy", "CallablePolicy", "Onnx", "action_mask", "mask_allows", "sample_action",
           "as_policy", "policy_seed", "PolicyError"]

_CONTEXT = ("agent", "frame", "seed", "rng", "mask", "space", "info", "env")


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
    """Base class. Subclasses implement :meth:`act`; a policy with memory also overrides
    :meth:`reset`, :meth:`get_state` and :meth:`set_state` (by default it has none)."""

    name = "policy"

    def act(self, observation: Any, *, agent: Hashable, frame: int, seed: int, space: Any, info: Any = None,
            env: Any = None) -> Any:
        """The action for ``agent`` at ``frame``.

        Args:
            observation: ``agent``'s observation at ``frame``.
            agent: the agent's id (any hashable plain data: a str, or an int like ``0``).
            frame: the frame index within the episode.
            seed: the policy's seed for this game (:func:`policy_seed`).
            space: ``agent``'s action space (mugkit or gymnasium).
            info: ``agent``'s info dict, or None.
            env: the unwrapped env, for reading only; None when the caller has none to give.

        Returns:
            An action in ``space``: a function of the arguments (and, for a policy with memory, of
            its state), so asking again for the same (seed, frame, agent) gives the same answer.
        """
        raise NotImplementedError

    def reset(self) -> None:
        """Forgets the previous episode; called at the start of each episode. No-op by default."""

    def get_state(self) -> Any:
        """The policy's memory as plain data, for a snapshot (None by default: no memory).

        The value never changes afterwards, whatever the policy does next."""
        return None

    def set_state(self, state: Any) -> None:
        """Restores a value :meth:`get_state` returned. No-op by default."""


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

    def act(self, observation, *, agent, frame, seed, space, info=None, env=None):
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

    def act(self, observation, *, agent, frame, seed, space, info=None, env=None):
        context = {"agent": agent, "frame": frame, "seed": seed, "space": space, "info": info, "env": env,
                   "mask": action_mask(observation, info)}
        kwargs = {k: context[k] for k in self._wants if k != "rng"}
        if "rng" in self._wants:
            kwargs["rng"] = derive_rng(seed, frame, agent, self.name)
        return plain_action(space, self.fn(observation, **kwargs))


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


def policy_seed(game_seed: int, agent: Hashable) -> int:
    """The seed a policy acts with in a game: one per (game seed, agent)."""
    return derive_seed(game_seed, "policy", agent)


# Onnx lives in its own module (it runs in the browser too) and needs Policy from this one: imported
# last, once everything it takes from here exists.
from .onnx import Onnx  # noqa: E402
