"""Test helpers for mk.Onnx through the browser runtime's prefetch path (mugkit.runtime.browser_ai):
the chase example's driver, a recurrent chaser model, and a game played either the normal way
(``act`` runs onnxruntime itself) or by prefetching, with the outputs computed by any engine —
Python onnxruntime here, onnxruntime-web in Chromium in tests/web/test_onnx_web.py."""

from __future__ import annotations

import random
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from checkrun import ROOT
from mugkit.collect import load_step
from mugkit.games import build_game
from mugkit.runtime import browser_ai
from mugkit.runtime.ai import AIPlayer
from mugkit.runtime.keys import KeyInput
from mugkit.runtime.onnx import Onnx

CHASE = "experiments/chase.py::chase"
CHASER = f"{ROOT}/experiments/models/chaser.onnx"
ARROWS = ("ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight")


def save_recurrent(path: str) -> str:
    """A recurrent chaser: ``h_out = tanh(obs/100 @ W + h_in @ U)``, ``logits = h_out @ V``
    (4 observations, 8 hidden, 9 actions; seeded weights), with a symbolic batch dim on ``h_in``."""
    rng = np.random.default_rng(5)
    w = rng.normal(0, 0.5, (4, 8)).astype(np.float32)
    u = rng.normal(0, 0.6, (8, 8)).astype(np.float32)
    v = rng.normal(0, 1.0, (8, 9)).astype(np.float32)
    scale = np.full((1, 4), 0.01, dtype=np.float32)
    nodes = [helper.make_node("Mul", ["obs", "scale"], ["scaled"]),
             helper.make_node("MatMul", ["scaled", "W"], ["a"]),
             helper.make_node("MatMul", ["h_in", "U"], ["b"]),
             helper.make_node("Add", ["a", "b"], ["pre"]),
             helper.make_node("Tanh", ["pre"], ["h_out"]),
             helper.make_node("MatMul", ["h_out", "V"], ["logits"])]
    graph = helper.make_graph(
        nodes, "recurrent_chaser",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("h_in", TensorProto.FLOAT, ["batch", 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 9]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 8])],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w, "W"), (u, "U"), (v, "V"), (scale, "scale"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # newer IR versions are untested in onnxruntime-web
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def chase_driver(seed: int, policy: Onnx | None = None):
    """The chase example's game as a study builds it; ``policy`` replaces the chaser's."""
    experiment, step = load_step(CHASE, ROOT)
    game = build_game(step, experiment.policies, seed=seed)
    if policy is not None:
        game.ais["chaser"] = AIPlayer(policy)
    return game.driver()


def key_plan(seed: int, frames: int) -> list[KeyInput]:
    """Held arrow keys that change every few frames, seeded."""
    rng = random.Random(seed)
    plan, held = [], frozenset()
    for _ in range(frames):
        if rng.random() < 0.2:
            held = frozenset(rng.sample(ARROWS, rng.choice((0, 1, 1, 2))))
        plan.append(KeyInput.of(held=held))
    return plan


def onnxruntime_engine(path_by_key: dict) -> Callable[[dict], dict]:
    """``run plain -> outputs plain`` by Python onnxruntime, shaped as onnx.js's runModels answers."""
    import onnxruntime

    sessions = {k: onnxruntime.InferenceSession(p, providers=["CPUExecutionProvider"]) for k, p in path_by_key.items()}

    def run(plain: dict) -> dict:
        feeds = {n: np.asarray(t["data"], dtype=t["type"]).reshape(t["dims"]) for n, t in plain["feeds"].items()}
        got = sessions[plain["key"]].run(plain["fetch"], feeds)
        return {n: {"dims": list(a.shape), "type": str(a.dtype), "data": a.reshape(-1).tolist()}
                for n, a in zip(plain["fetch"], got)}

    return run


def onnxruntime_metadata(path: str) -> dict:
    """A model's inputs and outputs as onnx.js's createSessions describes them."""
    import onnxruntime

    s = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    kinds = {"tensor(float)": "float32", "tensor(int64)": "int64"}
    return {side: [{"name": a.name, "type": kinds[a.type], "shape": list(a.shape)} for a in args]
            for side, args in (("inputs", s.get_inputs()), ("outputs", s.get_outputs()))}


def attach_all(driver, metadata: Callable[[browser_ai.ModelFile], dict]) -> dict:
    """Attaches every model of ``driver``; returns key -> ModelFile."""
    files = {f.key: f for f in browser_ai.model_files(driver)}
    for key, f in files.items():
        browser_ai.attach(driver, key, metadata(f))
    return files


def rows_of(result) -> list:
    return [(r.episode, r.frame, r.agent, r.action, r.filled, r.decided_at, r.reward) for r in result.rows]


def play(driver, plan: list[KeyInput], engine: Callable[[dict], dict] | None = None, start: int = 0) -> list:
    """Ticks ``driver`` through ``plan[start:]`` (the runner's keys); with ``engine``, prefetches
    each frame's model runs through it first. Returns each frame's rows and checksum."""
    out = []
    for keys in plan[start:]:
        if engine is not None:
            for run in browser_ai.model_runs(driver):
                browser_ai.supply(driver, run, engine(run.plain()))
        result = driver.tick({"runner": keys})
        if result is None:  # every episode is over
            break
        out.append((rows_of(result), driver.checksum()))
    return out
