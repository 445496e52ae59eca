"""``mk.Onnx`` in the browser: the runs onnxruntime-web makes before each frame.

onnxruntime-web's ``run()`` is asynchronous, and a frame's ``act`` is synchronous Python inside
Pyodide, so the browser runtime *prefetches* (JavaScript side:
``mugkit/web/static/client/runtime/onnx.js``):

1. Once per game, :func:`model_files` gives each ONNX model's bytes (the file travels inside the
   experiment's wheel); JavaScript opens a session per model and gives its inputs and outputs
   (``session.inputMetadata``/``outputMetadata``) to :func:`attach`, which puts a
   :class:`~mugkit.runtime.onnx.PrefetchSession` into every ``mk.Onnx`` using that model.
2. Before every ``driver.tick``, :func:`model_runs` lists the runs the tick's ``act`` calls will
   make — built by :meth:`Onnx.prefetch <mugkit.runtime.onnx.Onnx.prefetch>`, the very code
   ``act`` builds its feeds with; JavaScript runs them and hands each one's outputs to
   :func:`supply`. The tick then acts on exactly those outputs; a run that was not prefetched
   raises :class:`~mugkit.runtime.errors.InternalError` instead of guessing.

Everything crossing to JavaScript is plain data (``plain()``). Pure Python, no numpy: this runs in
Pyodide, and in CPython for the tests and the checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import InternalError
from .onnx import Onnx, PrefetchSession, TensorInfo
from .policies import PolicyError
from .tensors import Tensor, as_list, tensor

__all__ = ["ModelFile", "ModelRun", "onnx_players", "model_files", "attach", "model_runs", "supply"]


@dataclass(frozen=True)
class ModelFile:
    """One ONNX model the game's AIs use.

    Attributes:
        key: the model's id: the start of the SHA-256 of its bytes (players sharing a model share it).
        name: the file name, for messages.
        data: the file's bytes.
    """

    key: str
    name: str
    data: bytes

    def plain(self) -> dict:
        """``{"key", "name", "data"}`` for JavaScript (``data`` becomes a ``Uint8Array``)."""
        return {"key": self.key, "name": self.name, "data": self.data}


@dataclass(frozen=True)
class ModelRun:
    """A model run the coming tick needs: AI ``agent`` acts at ``frame`` of ``episode`` through the
    model ``key``, fed ``feeds`` (name → ``(dims, type, flat data)``), reading the outputs ``fetch``."""

    agent: Hashable
    key: str
    episode: int
    frame: int
    feeds: dict
    fetch: tuple

    def plain(self) -> dict:
        """The run as JavaScript's ``runModels`` takes it: ``{"agent", "key", "episode", "frame",
        "feeds": {name: {"dims": [...], "type": "float32", "data": [...]}}, "fetch": [...]}``."""
        feeds = {n: {"dims": list(dims), "type": type, "data": as_list(data)}
                 for n, (dims, type, data) in self.feeds.items()}
        return {"agent": self.agent, "key": self.key, "episode": self.episode, "frame": self.frame, "feeds": feeds,
                "fetch": list(self.fetch)}


def onnx_players(driver: Any) -> dict[Hashable, Onnx]:
    """The game's AI agents whose policy is an ``mk.Onnx``, with that policy."""
    return {agent: ai.policy for agent, ai in driver.ais.items() if isinstance(ai.policy, Onnx)}


def _key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def model_files(driver: Any) -> list[ModelFile]:
    """Each distinct ONNX model of the game once, in the order of the agents that use it.

    Raises:
        PolicyError: a model file is missing."""
    files: dict[str, ModelFile] = {}
    for policy in onnx_players(driver).values():
        data = policy.model_bytes()
        key = _key(data)
        files.setdefault(key, ModelFile(key, policy.name, data))
    return list(files.values())


def attach(driver: Any, key: str, metadata: Mapping[str, Any]) -> None:
    """Gives every ``mk.Onnx`` of the game that uses model ``key`` a session run by prefetching.

    Args:
        driver: the game's :class:`~mugkit.runtime.driver.FrameDriver`.
        key: a :attr:`ModelFile.key`.
        metadata: what JavaScript's ``createSessions`` gives for the model (a JsProxy is converted): ``{"inputs": [...],
            "outputs": [...]}``, each item ``{"name", "type", "shape"}``; or ``{"error": message}``
            when onnxruntime-web could not open it.

    Raises:
        PolicyError: onnxruntime-web could not open the model, or its tensors do not fit the
            ``mk.Onnx`` (the same messages as on the server).
    """
    metadata = _py(metadata)
    users = [p for p in onnx_players(driver).values() if _key(p.model_bytes()) == key]
    if not users:
        raise InternalError(f"attach: no mk.Onnx of {driver.name} uses the model {key}")
    if metadata.get("error"):
        raise PolicyError(f"mk.Onnx: cannot load {users[0].name} in the browser (onnxruntime-web): "
                          f"{metadata['error']}")
    inputs = [_info(m) for m in metadata["inputs"]]
    outputs = [_info(m) for m in metadata["outputs"]]
    for policy in users:  # a session each: a supply belongs to one agent's act
        policy.use_session(PrefetchSession(key, policy.name, inputs, outputs))


def _info(m: Mapping[str, Any]) -> TensorInfo:
    shape = m.get("shape")
    return TensorInfo(str(m["name"]), tuple(shape) if shape is not None else (), str(m.get("type") or "float32"))


def model_runs(driver: Any) -> list[ModelRun]:
    """The model runs the driver's next ``tick`` makes: one per AI that decides at the current
    frame with an ``mk.Onnx`` (its schedule, as the tick decides it), feeds built exactly as its
    ``act`` builds them (the observation, and the recurrent state the act starts from). Empty when
    the tick plays no frame (before the start, between episodes, after the last).

    Raises:
        InternalError: an ``mk.Onnx`` has no prefetch session (:func:`attach` was not called).
        PolicyError: an observation cannot be fed to its model (as ``act`` would raise).
    """
    f = driver.frame
    if driver.episode == -1 or driver.finished or f is None or f.done:
        return []
    runs = []
    for agent in getattr(f, "acting", driver.agents):
        ai = driver.ais.get(agent)
        if agent in driver.mappers or ai is None or ai.run_async or not ai.decides_at(f.index):
            continue
        if not isinstance(ai.policy, Onnx):
            continue
        session = ai.policy.session
        if not isinstance(session, PrefetchSession):
            raise InternalError(f"{driver.name}: {ai.policy.name} of {agent!r} runs without a prefetch session; "
                                f"call browser_ai.attach for each of model_files(driver) first")
        feeds, fetch = ai.policy.prefetch(f.observations.get(agent), frame=f.index)
        runs.append(ModelRun(agent, session.key, driver.episode, f.index, feeds, tuple(fetch)))
    return runs


def supply(driver: Any, run: ModelRun, outputs: Mapping[str, Any]) -> None:
    """The outputs onnxruntime-web gave for ``run``, for the coming tick's ``act`` to use.

    Args:
        driver: the game's driver, still at the frame ``run`` was listed for.
        run: one of :func:`model_runs`' runs.
        outputs: output name → ``{"dims", "type", "data"}`` (what JavaScript's ``runModels`` gives;
            a JsProxy is converted)
            or a ``(dims, type, data)`` tuple; at least the names in ``run.fetch``.

    Raises:
        InternalError: the driver moved on since ``run`` was listed, or an output is missing.
    """
    outputs = _py(outputs)
    if (driver.episode, driver.frame.index) != (run.episode, run.frame):
        raise InternalError(f"{driver.name}: outputs for episode {run.episode}, frame {run.frame} supplied at "
                            f"episode {driver.episode}, frame {driver.frame.index}")
    missing = [n for n in run.fetch if n not in outputs]
    if missing:
        raise InternalError(f"{driver.name}: the outputs supplied for {run.agent!r} lack {missing}")
    driver.ais[run.agent].policy.session.supply(run.feeds, {n: _tensor(outputs[n]) for n in run.fetch})


def _py(value: Any) -> Any:
    """A JavaScript object Pyodide hands over (a JsProxy) as Python dicts and lists; else as is."""
    to_py = getattr(value, "to_py", None)
    return to_py() if callable(to_py) else value


def _tensor(value: Any) -> Tensor:
    if isinstance(value, Mapping):
        value = (value["dims"], value["type"], value["data"])
    dims, type, data = value
    return tensor(dims, str(type), list(data))
