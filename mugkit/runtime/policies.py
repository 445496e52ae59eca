"""AI players: seeded random play, plain callables and ONNX models.

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
import os
import sys
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


# onnxruntime's type names -> numpy dtypes, for the zeros a recurrent state starts from
_ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
    "tensor(int8)": "int8", "tensor(int16)": "int16", "tensor(int32)": "int32", "tensor(int64)": "int64",
    "tensor(uint8)": "uint8", "tensor(uint16)": "uint16", "tensor(uint32)": "uint32", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
}

_UNBOUND = object()  # a recurrent Onnx that has not acted for any agent yet


class Onnx(Policy):
    """An ONNX model as a policy, run with onnxruntime (on the server and in checks).

    Input: the observation flattened to float32 of shape ``[1, n]`` (a dict observation with an
    ``"observation"`` entry uses that entry), fed to the model input named ``input``. Output: the
    model output named ``output``; for a discrete action space, action logits ``[1, n_actions]``:
    the action is the argmax, or with ``sample=True`` drawn from ``softmax(logits / temperature)``
    with a generator seeded by (seed, frame, agent). Masked actions are never chosen. For a
    ``Box`` action space the output is the action, clipped.

    Recurrent models: ``state`` maps each state input to the output that gives its next value,
    e.g. ``{"h_in": "h_out"}``. The state starts as zeros of the input's declared shape (a symbolic
    or unknown dimension counts as 1) and type (float32 when unknown), is fed with each
    observation and replaced by the output. **The state advances once per frame**: asking again
    for the frame asked last (the ``policy`` check does, to test determinism) recomputes from the
    state before that frame, so it gives the same answer and does not advance twice; asking for
    any other frame advances from the current state. :meth:`reset` (called each episode) returns
    to zeros; :meth:`get_state`/:meth:`set_state` save and restore the state, with the frame it
    was last advanced for, as plain data. The state belongs to one agent, so an instance serves
    one agent: ``@mk.policy`` factories are called once per agent, so create the ``mk.Onnx`` in
    the factory; asking one recurrent instance for a second agent raises :class:`PolicyError`.

    Args:
        path: the ``.onnx`` file; a relative path is relative to the module that calls ``Onnx``.
        input: the model input that takes the observation; default: the first input that is not
            a state input.
        output: the model output holding the logits (or the Box action); default: the first
            output that is not a state output.
        state: ``{state input: state output}`` for a recurrent model; default: no state.
        sample: draw from the distribution instead of taking the argmax.
        temperature: softmax temperature when sampling.

    Raises:
        PolicyError: at :meth:`load` (or the first action): the file is missing, onnxruntime is
            not installed, the model is invalid, a name given is not one of the model's inputs or
            outputs (the message lists them), or a model input is neither ``input`` nor in ``state``.
    """

    def __init__(self, path: str, *, input: str | None = None, output: str | None = None,
                 state: dict[str, str] | None = None, sample: bool = False, temperature: float = 1.0):
        if not os.path.isabs(path):
            caller = sys._getframe(1).f_globals.get("__file__")
            if caller:
                path = os.path.join(os.path.dirname(os.path.abspath(caller)), path)
        self.path = path
        self.input = input
        self.output = output
        self.state = dict(state or {})
        self.sample = sample
        self.temperature = temperature
        self.name = os.path.basename(path)
        self._session = None
        self._agent = _UNBOUND
        self.reset()

    def load(self) -> None:
        """Opens the model now (instead of on the first action) and resolves the tensor names.

        Raises:
            PolicyError: see the class docstring.
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
            session = onnxruntime.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise PolicyError(f"mk.Onnx: cannot load {self.path}: {exc}") from exc
        self._resolve_names(session)
        self._session = session  # only once the names fit, so a failed load fails again

    def _resolve_names(self, session) -> None:
        """Sets ``_input``, ``_output`` and the zero-state specs, or raises PolicyError."""
        inputs = {arg.name: arg for arg in session.get_inputs()}
        outputs = [arg.name for arg in session.get_outputs()]

        def unknown(kind: str, name: str) -> PolicyError:
            return PolicyError(f"{self.name}: the model has no {kind} named {name!r}; its inputs are "
                               f"{_listed(inputs)} and its outputs {_listed(outputs)}")

        for state_in, state_out in self.state.items():
            if state_in not in inputs:
                raise unknown("input", state_in)
            if state_out not in outputs:
                raise unknown("output", state_out)
        free_inputs = [n for n in inputs if n not in self.state]
        free_outputs = [n for n in outputs if n not in self.state.values()]
        self._input = self.input if self.input is not None else (free_inputs or [None])[0]
        self._output = self.output if self.output is not None else (free_outputs or [None])[0]
        if self._input is None:
            raise PolicyError(f"{self.name}: every model input is a state input; none is left for the observation")
        if self._output is None:
            raise PolicyError(f"{self.name}: every model output is a state output; none is left for the action")
        if self._input not in inputs:
            raise unknown("input", self._input)
        if self._output not in outputs:
            raise unknown("output", self._output)
        unfed = [n for n in free_inputs if n != self._input]
        if unfed:
            raise PolicyError(f"{self.name}: nothing feeds the model input {unfed[0]!r}: the observation goes to "
                              f"{self._input!r}; name state inputs with state={{input: output}}")
        self._specs = {n: (tuple(d if isinstance(d, int) else 1 for d in inputs[n].shape),
                           _ORT_DTYPES.get(inputs[n].type, "float32")) for n in self.state}

    def reset(self) -> None:
        """Returns a recurrent model's state to zeros (a new episode); no-op for other models."""
        self._state = None  # None stands for zeros, which need the model's shapes (made on demand)
        self._before = None  # the state before the last frame's act, for a repeated ask
        self._frame = None  # the frame the state last advanced for

    def get_state(self) -> Any:
        """The recurrent state as plain data (None for a model without state):
        ``{"frame": int | None, "state": S, "before": S}``, where each ``S`` is None (zeros) or
        ``{input name: (shape tuple, numpy dtype str, bytes)}``. Immutable inside a fresh dict, so
        later actions never change it."""
        if not self.state:
            return None
        return {"frame": self._frame, "state": _packed(self._state), "before": _packed(self._before)}

    def set_state(self, state: Any) -> None:
        """Restores a value :meth:`get_state` returned (None: zeros, as after :meth:`reset`).

        Raises:
            PolicyError: ``state`` names other state inputs than this model's."""
        if not self.state:
            return
        if state is None:
            self.reset()
            return
        self._state = self._unpacked(state["state"])
        self._before = self._unpacked(state["before"])
        self._frame = state["frame"]

    def _unpacked(self, packed: Any) -> Any:
        import numpy as np

        if packed is None:
            return None
        if set(packed) != set(self.state):
            raise PolicyError(f"{self.name}: a saved state for inputs {_listed(packed)} does not fit the state "
                              f"inputs {_listed(self.state)}")
        return {n: np.frombuffer(raw, dtype=dtype).reshape(shape).copy() for n, (shape, dtype, raw) in packed.items()}

    def _current(self) -> dict:
        """The state the next frame starts from (zeros at the start of an episode)."""
        import numpy as np

        if self._state is None:
            self.load()
            self._state = {n: np.zeros(shape, dtype=dtype) for n, (shape, dtype) in self._specs.items()}
        return self._state

    def _run(self, observation: Any, state: dict) -> tuple[Any, dict]:
        """The flat output for ``observation`` from ``state``, and the next state."""
        import numpy as np

        self.load()
        if isinstance(observation, dict) and "observation" in observation:
            observation = observation["observation"]
        feeds = {self._input: np.asarray(observation, dtype=np.float32).reshape(1, -1), **state}
        fetch = list(dict.fromkeys([self._output, *self.state.values()]))
        try:
            got = dict(zip(fetch, self._session.run(fetch, feeds)))
        except Exception as exc:
            shapes = ", ".join(f"{n} {list(np.shape(v))}" for n, v in feeds.items())
            raise PolicyError(f"{self.name}: the model failed on inputs {shapes}: {exc}") from exc
        after = {n: np.asarray(got[out], dtype=self._specs[n][1]) for n, out in self.state.items()}
        return np.asarray(got[self._output]).reshape(-1), after

    def logits(self, observation: Any) -> Any:
        """The model's raw output for one observation, as a flat numpy array. A recurrent model
        reads its current state and does not advance it.

        Raises:
            PolicyError: the model does not load or fails on the observation."""
        return self._run(observation, self._current() if self.state else {})[0]

    def act(self, observation, *, agent, frame, seed, space, info=None, env=None):
        out = self._advance(observation, agent, frame) if self.state else self.logits(observation)
        return self._choose(out, observation, info, space, (seed, frame, agent, self.name))

    def _advance(self, observation: Any, agent: Hashable, frame: int) -> Any:
        """Runs a recurrent model for ``frame``, advancing the state once per frame (the class's rule)."""
        if self._agent is _UNBOUND:
            self._agent = agent
        elif agent != self._agent:
            raise PolicyError(f"{self.name}: this recurrent model keeps the state of agent {self._agent!r} and "
                              f"cannot also play {agent!r}: return a new mk.Onnx from the @mk.policy factory")
        before = self._before if frame == self._frame else self._current()
        out, self._state = self._run(observation, before)
        self._before, self._frame = before, frame
        return out

    def _choose(self, out: Any, observation: Any, info: Any, space: Any, seed_parts: tuple) -> Any:
        """The action the output ``out`` gives in ``space`` (argmax or seeded sample, within the mask)."""
        import numpy as np

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
        u = derive_rng(*seed_parts).random()
        return start + min(int(np.searchsorted(np.cumsum(p), u, side="right")), n - 1)


def _listed(names) -> str:
    return ", ".join(repr(n) for n in names) or "(none)"


def _packed(state: dict | None) -> Any:
    """A state of numpy arrays as immutable plain data (see :meth:`Onnx.get_state`)."""
    if state is None:
        return None
    return {n: (tuple(a.shape), a.dtype.str, a.tobytes()) for n, a in state.items()}


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


def policy_seed(game_seed: int, agent: Hashable) -> int:
    """The seed a policy acts with in a game: one per (game seed, agent)."""
    return derive_seed(game_seed, "policy", agent)
