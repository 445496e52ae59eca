"""Build ``chaser.onnx``, the AI chaser of ``experiments/chase.py``, and measure how well it plays.

Run from anywhere (it writes next to itself):

    .venv/bin/python experiments/models/build_chaser.py            # build, then evaluate
    .venv/bin/python experiments/models/build_chaser.py --no-eval  # build only

Input/output convention (what ``mk.Onnx`` feeds and reads):

- input ``obs``: float32 ``[1, 4]``, the chaser's observation from ``envs.chase.ChaseEnv``
  flattened: ``[chaser_x, chaser_y, runner_x, runner_y]`` in pixels.
- output ``logits``: float32 ``[1, 9]``, one score per action of ``envs.motion`` (0 stay, 1 up,
  2 down, 3 left, 4 right, 5 up-left, 6 up-right, 7 down-left, 8 down-right). The chaser plays
  the argmax.

The network is a one-hidden-layer MLP with hand-set weights, no training. Its four ReLU units
are the distance to the runner in each direction: ``relu(dx)``, ``relu(-dx)``, ``relu(dy)``,
``relu(-dy)`` with ``dx = runner_x - chaser_x`` (``y`` grows downwards). A straight move scores
its unit; a diagonal scores ``cos 45° × (sum of its two units)``, so it wins exactly when the
runner is more than 22.5° off the axis. "Stay" has a constant score of 2, so the chaser does not
jitter once on top of the runner. In short: pure pursuit in eight directions.

Measured with onnxruntime on ``ChaseEnv`` (30-second rounds of 900 frames, seeds 0-199, runner
actions seeded per round), printed by the evaluation at the end of this script:

=======================================  ======================  =====================
runner (scripted)                        ONNX chaser catches     random chaser catches
=======================================  ======================  =====================
presses random keys                      200/200 (median 95)     0/200
flees straight away from the chaser      200/200 (median 135)    0/200
circles the arena centre, away from it   0/200                   0/200
=======================================  ======================  =====================

(median = frame of the catch; 30 frames a second.) The chaser is slower than the runner (3.25 vs
4 px per frame), so a runner that panics into a corner is caught within ~5 s, while one that
keeps moving round the open middle, as an attentive human learns to, escapes: the game is
winnable, and coins near the walls make it a risk decision.
"""

from __future__ import annotations

import math
import os
import random
import statistics
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))      # experiments/, for `envs`
from envs.motion import DIRECTIONS  # noqa: E402  (the action order the logits follow)
OUT = os.path.join(HERE, "chaser.onnx")
DIAGONAL = 0.70710677   # cos 45°
STAY = 2.0              # score of "stay": beats moving only when within 2 px on both axes

# Hidden units (rows of W1ᵀ): right = relu(rx - cx), left = relu(cx - rx), down, up.
#                 cx   cy   rx   ry
W1 = np.array([[-1.0, 0.0, 1.0, 0.0],     # right: dx
               [1.0, 0.0, -1.0, 0.0],     # left: -dx
               [0.0, -1.0, 0.0, 1.0],     # down: dy
               [0.0, 1.0, 0.0, -1.0]],    # up: -dy
              dtype=np.float32).T        # [4 inputs, 4 hidden]
RIGHT, LEFT, DOWN, UP = range(4)
# Which hidden units each of the 9 actions adds up, and with what weight.
ACTION_UNITS = [(), (UP,), (DOWN,), (LEFT,), (RIGHT,), (UP, LEFT), (UP, RIGHT), (DOWN, LEFT), (DOWN, RIGHT)]


def build() -> onnx.ModelProto:
    """The MLP as an ONNX model (IR version 8, opset 13: Gemm and Relu only)."""
    w2 = np.zeros((4, 9), dtype=np.float32)
    for action, units in enumerate(ACTION_UNITS):
        for unit in units:
            w2[unit, action] = 1.0 if len(units) == 1 else DIAGONAL
    b2 = np.zeros(9, dtype=np.float32)
    b2[0] = STAY
    graph = helper.make_graph(
        nodes=[
            helper.make_node("Gemm", ["obs", "W1", "b1"], ["pre"], name="hidden"),
            helper.make_node("Relu", ["pre"], ["h"], name="relu"),
            helper.make_node("Gemm", ["h", "W2", "b2"], ["logits"], name="out"),
        ],
        name="chaser",
        inputs=[helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 4])],
        outputs=[helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 9])],
        initializer=[
            numpy_helper.from_array(W1, "W1"),
            numpy_helper.from_array(np.zeros(4, dtype=np.float32), "b1"),
            numpy_helper.from_array(w2, "W2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="mugkit-examples")
    model.ir_version = 8            # newer IR versions are untested in onnxruntime-web
    model.doc_string = "Chaser: input obs float32 [1,4] = [chaser_x, chaser_y, runner_x, runner_y]; output logits [1,9]; argmax."
    onnx.checker.check_model(model)
    return model


# --- evaluation -----------------------------------------------------------------------------

def _random_runner(rng: random.Random):
    return lambda obs: rng.randrange(9)


def _fleeing_runner(obs: list[int]) -> int:
    """Move straight away from the chaser; along a wall, slide along it (the env clamps)."""
    rx, ry, cx, cy = obs[:4]
    dx, dy = rx - cx, ry - cy
    horizontal = 4 if dx >= 0 else 3
    vertical = 2 if dy >= 0 else 1
    diagonal = {(4, 2): 8, (4, 1): 6, (3, 2): 7, (3, 1): 5}[(horizontal, vertical)]
    if abs(dx) > 2 * abs(dy):
        return horizontal
    if abs(dy) > 2 * abs(dx):
        return vertical
    return diagonal


def _circling_runner(obs: list[int], radius: int = 150) -> int:
    """Run round the arena's centre on a circle, in the direction away from the chaser.

    A slower pure-pursuit chaser can never catch a runner on a large enough circle: the
    strategy of an attentive human. Floats are fine here: this is an evaluation, not the env.
    """
    rx, ry, cx, cy = obs[:4]
    vx, vy = rx - 300, ry - 218
    d = math.hypot(vx, vy) or 1.0
    ux, uy = vx / d, vy / d
    tx, ty = -uy, ux
    if tx * (rx - cx) + ty * (ry - cy) < 0:
        tx, ty = -tx, -ty
    k = max(-1.0, min(1.0, (radius - d) / 40))          # steer back onto the circle
    wx, wy = tx + k * ux, ty + k * uy
    return max(range(1, 9), key=lambda a: (DIRECTIONS[a][0] * wx + DIRECTIONS[a][1] * wy)
               / math.hypot(*DIRECTIONS[a]))


def evaluate(rounds: int = 200) -> None:
    """Catch rates of the ONNX chaser and of a random chaser against two scripted runners."""
    import onnxruntime

    from envs.chase import ChaseEnv

    session = onnxruntime.InferenceSession(OUT, providers=["CPUExecutionProvider"])

    def onnx_chaser(obs):
        logits = session.run(None, {"obs": np.asarray([obs], dtype=np.float32)})[0]
        return int(np.argmax(logits[0]))

    runners = {"fleeing": _fleeing_runner, "circling": _circling_runner}
    for runner_name in ("random", "fleeing", "circling"):
        for chaser_name in ("onnx", "random"):
            frames = []
            for seed in range(rounds):
                rng = random.Random(seed)
                runner = _random_runner(rng) if runner_name == "random" else runners[runner_name]
                chaser = onnx_chaser if chaser_name == "onnx" else _random_runner(random.Random(-seed - 1))
                env = ChaseEnv(render_mode=None)
                obs, _ = env.reset(seed=seed)
                while env.agents:
                    obs, *_ = env.step({"runner": runner(obs["runner"]), "chaser": chaser(obs["chaser"])})
                if env.caught:
                    frames.append(env.frame)
            median = statistics.median(frames) if frames else "-"
            print(f"{runner_name} runner vs {chaser_name} chaser: caught in {len(frames)}/{rounds} "
                  f"rounds of {env.round_frames} frames, median frame {median}")


if __name__ == "__main__":
    model = build()
    onnx.save(model, OUT)
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")
    if "--no-eval" not in sys.argv:
        evaluate()
