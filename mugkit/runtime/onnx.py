"""``mk.Onnx``: an ONNX model as a policy, the same on the server, in the checks and in the browser.

The policy never calls an inference engine directly: it builds the model's feeds as plain
:mod:`~mugkit.runtime.tensors` and hands them to a *session* — anything with
``get_inputs()``, ``get_outputs()`` (each item with ``name``, ``shape`` and ``type``) and
``run(fetch, feeds) -> [Tensor]``. On the server and in ``mugkit check`` the session is
:class:`NativeSession` (Python onnxruntime). In the browser, onnxruntime-web's ``run()`` is
asynchronous and cannot be awaited inside a synchronous ``act``, so the runtime *prefetches*: before
each frame it asks :meth:`Onnx.prefetch` which run the coming ``act`` will make, runs it in
JavaScript, and supplies the outputs to a :class:`PrefetchSession` (see
:mod:`mugkit.runtime.browser_ai`). Feeds, state handling and the choice of action are this one
module's code in both places, so the two cannot drift; the choice is pure Python (no numpy), so
Pyodide runs it as CPython does.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import InternalError
from .files import did_you_mean
from .policies import Policy, PolicyError, action_mask
from .seeding import derive_rng
from .spaces import _flat, _nest
from .tensors import Tensor, as_list, cast, observation_tensor, pack, tensor_key, unpack, web_type, zeros

__all__ = ["Onnx", "TensorInfo", "NativeSession", "PrefetchSession", "Logits"]

_UNBOUND = object()  # a recurrent Onnx that has not acted for any agent yet


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as a session describes it: onnxruntime's ``NodeArg`` has the same
    three attributes; onnxruntime-web's ``session.inputMetadata`` gives them in the browser.

    Attributes:
        name: the tensor's name in the model.
        shape: its declared dims; a symbolic or unknown dim is a str or None.
        type: ``"tensor(float)"`` (onnxruntime) or ``"float32"`` (onnxruntime-web).
    """

    name: str
    shape: tuple = ()
    type: str = "float32"


class Logits(list):
    """A model's flat output as a list of floats; ``tolist()`` as numpy arrays have it (``logits``
    returned a numpy array before mk.Onnx ran in the browser)."""

    def tolist(self) -> list:
        """The values as a plain list."""
        return list(self)


class NativeSession:
    """Python onnxruntime behind the session interface :class:`Onnx` uses (server and checks).

    Raises:
        PolicyError: onnxruntime is not installed, or the file is not a model it can load."""

    def __init__(self, path: str):
        try:
            import onnxruntime
        except ImportError as exc:
            raise PolicyError("mk.Onnx needs onnxruntime: pip install 'mugkit[onnx]'") from exc
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # games run many policies side by side
        try:
            self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise PolicyError(f"mk.Onnx: cannot load {path}: {exc}") from exc

    def get_inputs(self) -> list:
        """onnxruntime's inputs (``name``, ``shape``, ``type``)."""
        return self._session.get_inputs()

    def get_outputs(self) -> list:
        """onnxruntime's outputs (``name``, ``shape``, ``type``)."""
        return self._session.get_outputs()

    def run(self, fetch: Sequence[str], feeds: dict[str, Tensor]) -> list[Tensor]:
        """The ``fetch`` outputs for ``feeds``, as tensors (the values exactly onnxruntime's)."""
        import numpy as np

        arrays = {n: np.asarray(data, dtype=web_type(type)).reshape(dims) for n, (dims, type, data) in feeds.items()}
        got = self._session.run(list(fetch), arrays)
        return [(tuple(a.shape), web_type(a.dtype.name), np.asarray(a).reshape(-1).tolist()) for a in got]


class PrefetchSession:
    """A session whose outputs were computed before the frame, by onnxruntime-web in the browser.

    :meth:`supply` gives it the outputs of one run; :meth:`run` returns them when asked with exactly
    those feeds (bit for bit), any number of times, until the next :meth:`supply`.

    Args:
        key: the model's id (the content hash the browser runtime names its file by).
        name: the model's file name, for messages.
        inputs, outputs: the model's tensors, as onnxruntime-web describes them.
    """

    def __init__(self, key: str, name: str, inputs: Sequence[TensorInfo], outputs: Sequence[TensorInfo]):
        self.key, self.name = key, name
        self._inputs, self._outputs = list(inputs), list(outputs)
        self._supplied: tuple | None = None

    def get_inputs(self) -> list[TensorInfo]:
        """The model's inputs."""
        return list(self._inputs)

    def get_outputs(self) -> list[TensorInfo]:
        """The model's outputs."""
        return list(self._outputs)

    def supply(self, feeds: dict[str, Tensor], outputs: dict[str, Tensor]) -> None:
        """The outputs the model gave for ``feeds``; they replace the previous supply."""
        self._supplied = (_feeds_key(feeds), dict(outputs))

    def run(self, fetch: Sequence[str], feeds: dict[str, Tensor]) -> list[Tensor]:
        """The supplied outputs named in ``fetch``.

        Raises:
            InternalError: nothing was supplied for these feeds (the runtime did not prefetch the
                run this act makes: a bug in mugkit, not in the model)."""
        if self._supplied is None or self._supplied[0] != _feeds_key(feeds):
            what = "nothing was supplied" if self._supplied is None else "other feeds were supplied"
            raise InternalError(f"{self.name}: the model was asked for a run that was not prefetched ({what}); "
                                f"the browser runtime must supply browser_ai.model_runs(driver) before each tick")
        missing = [n for n in fetch if n not in self._supplied[1]]
        if missing:
            raise InternalError(f"{self.name}: the prefetched run lacks the outputs {missing}")
        return [self._supplied[1][n] for n in fetch]


def _feeds_key(feeds: dict[str, Tensor]) -> tuple:
    return tuple(sorted((n, tensor_key(t)) for n, t in feeds.items()))


class Onnx(Policy):
    """An ONNX model as a policy: onnxruntime on the server and in checks, onnxruntime-web in the
    browser, with the same feeds and the same choice of action in all three.

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
        self._session: Any = None
        self._agent = _UNBOUND
        self.reset()

    # -- the model ---------------------------------------------------------------------------

    def load(self) -> None:
        """Opens the model with onnxruntime now (instead of on the first action) and resolves the
        tensor names; does nothing once a session is open (or was given by :meth:`use_session`).

        Raises:
            PolicyError: see the class docstring.
        """
        if self._session is not None:
            return
        if not os.path.exists(self.path):
            raise PolicyError(f"mk.Onnx: no model file at {self.path}{did_you_mean(self.path)}")
        self.use_session(NativeSession(self.path))

    def use_session(self, session: Any) -> None:
        """Runs the model through ``session`` from now on (the browser runtime gives a
        :class:`PrefetchSession`), after resolving the tensor names against its inputs and outputs.

        Raises:
            PolicyError: the names do not fit the model (see the class docstring); the previous
                session is kept."""
        self._resolve_names(session)
        self._session = session  # only once the names fit, so a failed load fails again

    @property
    def session(self) -> Any:
        """The session the model runs in (None until :meth:`load` or :meth:`use_session`)."""
        return self._session

    def model_bytes(self) -> bytes:
        """The model file's bytes, for an engine outside Python (onnxruntime-web).

        Raises:
            PolicyError: the file is missing."""
        try:
            with open(self.path, "rb") as f:
                return f.read()
        except OSError as exc:
            raise PolicyError(f"mk.Onnx: no model file at {self.path}{did_you_mean(self.path)}") from exc

    def _resolve_names(self, session: Any) -> None:
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
        # a symbolic (str) or unknown (None; -1 in some builds of onnxruntime-web) dim counts as 1
        self._specs = {n: (tuple(d if isinstance(d, int) and d >= 0 else 1 for d in (inputs[n].shape or ())),
                           web_type(inputs[n].type)) for n in self.state}

    # -- recurrent state -----------------------------------------------------------------------

    def reset(self) -> None:
        """Returns a recurrent model's state to zeros (a new episode); no-op for other models."""
        self._state = None  # None stands for zeros, which need the model's shapes (made on demand)
        self._before = None  # the state before the last frame's act, for a repeated ask
        self._frame = None  # the frame the state last advanced for

    def get_state(self) -> Any:
        """The recurrent state as plain data (None for a model without state):
        ``{"frame": int | None, "state": S, "before": S}``, where each ``S`` is None (zeros) or
        ``{input name: (shape tuple, numpy dtype str, bytes)}`` — the same bytes on the server and
        in the browser. Immutable inside a fresh dict, so later actions never change it."""
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

    def _unpacked(self, packed: Any) -> dict | None:
        if packed is None:
            return None
        if set(packed) != set(self.state):
            raise PolicyError(f"{self.name}: a saved state for inputs {_listed(packed)} does not fit the state "
                              f"inputs {_listed(self.state)}")
        return {n: unpack(p) for n, p in packed.items()}

    def _current(self) -> dict:
        """The state the next frame starts from (zeros at the start of an episode)."""
        if self._state is None:
            self.load()
            self._state = {n: zeros(dims, type) for n, (dims, type) in self._specs.items()}
        return self._state

    def _start(self, frame: int) -> dict:
        """The state ``frame``'s act starts from: the state before the frame asked last when it is
        asked again, the current state otherwise (the class's once-per-frame rule)."""
        return self._before if frame == self._frame else self._current()

    # -- running -------------------------------------------------------------------------------

    def feeds(self, observation: Any, state: dict | None = None) -> dict[str, Tensor]:
        """The model's feeds for ``observation`` (and a recurrent model's ``state``): the one place
        they are built, for onnxruntime and for onnxruntime-web alike.

        Raises:
            PolicyError: the model does not load, or the observation is not numbers."""
        self.load()
        try:
            obs = observation_tensor(observation)
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"{self.name}: cannot feed the observation to the model: {exc}") from exc
        return {self._input: obs, **(state or {})}

    def fetch(self) -> list[str]:
        """The model outputs a run reads: the action output, then the state outputs."""
        self.load()
        return list(dict.fromkeys([self._output, *self.state.values()]))

    def prefetch(self, observation: Any, *, frame: int) -> tuple[dict[str, Tensor], list[str]]:
        """``(feeds, fetch)`` of the run :meth:`act` will make for ``observation`` at ``frame``,
        without running it or changing the policy: what the browser runtime runs in
        onnxruntime-web before the frame.

        Raises:
            PolicyError: as :meth:`feeds`."""
        return self.feeds(observation, self._start(frame) if self.state else None), self.fetch()

    def _run(self, observation: Any, state: dict) -> tuple[list, dict]:
        """The flat output for ``observation`` from ``state``, and the next state."""
        feeds, fetch = self.feeds(observation, state), self.fetch()
        try:
            got = dict(zip(fetch, self._session.run(fetch, feeds)))
        except InternalError:
            raise  # mugkit's own bug (a run not prefetched), not the model's
        except Exception as exc:
            shapes = ", ".join(f"{n} {list(t[0])}" for n, t in feeds.items())
            raise PolicyError(f"{self.name}: the model failed on inputs {shapes}: {exc}") from exc
        # the state keeps the state input's type (numpy's astype), in the output's shape
        after = {n: cast(got[out], self._specs[n][1]) for n, out in self.state.items()}
        return Logits(as_list(got[self._output][2])), after

    def logits(self, observation: Any) -> Logits:
        """The model's raw output for one observation, flat (a list of floats with ``tolist()``).
        A recurrent model reads its current state and does not advance it.

        Raises:
            PolicyError: the model does not load or fails on the observation."""
        return self._run(observation, self._current() if self.state else {})[0]

    def act(self, observation, *, agent, frame, seed, space, info=None, env=None):
        out = self._advance(observation, agent, frame) if self.state else self.logits(observation)
        return self._choose(out, observation, info, space, (seed, frame, agent, self.name))

    def _advance(self, observation: Any, agent: Hashable, frame: int) -> list:
        """Runs a recurrent model for ``frame``, advancing the state once per frame (the class's rule)."""
        if self._agent is _UNBOUND:
            self._agent = agent
        elif agent != self._agent:
            raise PolicyError(f"{self.name}: this recurrent model keeps the state of agent {self._agent!r} and "
                              f"cannot also play {agent!r}: return a new mk.Onnx from the @mk.policy factory")
        before = self._start(frame)
        out, self._state = self._run(observation, before)
        self._before, self._frame = before, frame
        return out

    # -- choosing ------------------------------------------------------------------------------

    def _choose(self, out: list, observation: Any, info: Any, space: Any, seed_parts: tuple) -> Any:
        """The action the output ``out`` gives in ``space`` (argmax or seeded sample, within the
        mask). Pure Python, so the browser chooses as the server does."""
        if type(space).__name__ == "Box":
            return self._box_action(out, space)
        n = getattr(space, "n", None)
        start = int(getattr(space, "start", 0))
        if n is None or len(out) != int(n):
            raise PolicyError(f"{self.name}: the model gives {len(out)} outputs but the action "
                              f"space {space!r} needs one logit per action")
        logits = [float(v) for v in out]
        mask = action_mask(observation, info)
        if mask is not None:
            allowed = as_list(mask)
            logits = [v if bool(m) else -math.inf for v, m in zip(logits, allowed)]
        if not self.sample:
            return start + _argmax(logits)
        return start + _sample(logits, self.temperature, derive_rng(*seed_parts).random())

    def _box_action(self, out: list, space: Any) -> Any:
        """The output as an action of the Box ``space``: in its shape, clipped to its bounds."""
        shape = tuple(int(d) for d in space.shape)
        low, high = (_flat(v.tolist() if hasattr(v, "tolist") else v) for v in (space.low, space.high))
        if len(out) != len(low):
            raise PolicyError(f"{self.name}: the model gives {len(out)} outputs but the action space {space!r} "
                              f"holds {len(low)} numbers")
        # min(max()) is np.clip's result, NaN included
        clipped = [min(max(float(v), float(lo)), float(hi)) for v, lo, hi in zip(out, low, high)]
        return _nest(clipped, shape)


def _argmax(values: list[float]) -> int:
    """numpy's argmax: the first maximum, or the first NaN."""
    best = 0
    for i, v in enumerate(values):
        if v != v:
            return i
        if v > values[best]:
            best = i
    return best


def _sample(logits: list[float], temperature: float, u: float) -> int:
    """The index ``u`` (uniform in [0, 1)) picks from ``softmax(logits / temperature)``, as
    ``searchsorted(cumsum(p), u, side="right")`` picks it, with numpy's sums."""
    z = [v / temperature for v in logits]
    top = _max(z)
    p = [math.exp(v - top) for v in z]
    total = _pairwise_sum(p)
    p = [v / total for v in p]
    acc, index = 0.0, 0
    for v in p:
        acc += v
        if acc <= u:
            index += 1  # searchsorted "right": the count of cumulative sums <= u
        else:
            break
    return min(index, len(logits) - 1)


def _max(values: list[float]) -> float:
    """numpy's max: NaN when any value is NaN."""
    return math.nan if any(v != v for v in values) else max(values)


def _pairwise_sum(values: list[float]) -> float:
    """numpy's float64 ``sum`` of a contiguous array, bit for bit: eight interleaved partial sums
    over blocks of up to 128 values, halved recursively above that."""
    n = len(values)
    if n < 8:
        total = 0.0  # numpy starts from -0.0 only for an empty sum, which softmax never has
        for v in values:
            total += v
        return total
    if n <= 128:
        r = list(values[:8])
        full = n - n % 8
        for i in range(8, full, 8):
            for j in range(8):
                r[j] += values[i + j]
        total = (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
        for v in values[full:]:
            total += v
        return total
    half = (n // 2) - (n // 2) % 8
    return _pairwise_sum(values[:half]) + _pairwise_sum(values[half:])


def _listed(names) -> str:
    return ", ".join(repr(n) for n in names) or "(none)"


def _packed(state: dict | None) -> Any:
    """A state of tensors as immutable plain data (see :meth:`Onnx.get_state`)."""
    if state is None:
        return None
    return {n: pack(t) for n, t in state.items()}
