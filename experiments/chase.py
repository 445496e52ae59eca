"""Coin Chase: one participant against an AI chaser (an ONNX model), in the browser.

Flow: welcome, consent, instructions, three 30-second rounds, a survey about the game and the
opponent, and the completion page. The chaser is ``models/chaser.onnx`` (built and evaluated by
``models/build_chaser.py``). The data show risk taking under threat: how close participants let
the chaser come for a coin, and how long they survive (``coins`` and ``caught`` in ``info``).
"""

import mugkit as mk
from envs.chase import ROUND_FRAMES, ChaseEnv
from envs.motion import KEYS


@mk.scene
def welcome():
    return mk.Page(
        title="Coin Chase",
        body="Thank you for taking part! This study takes about **4 minutes**: a short game, "
             "played three times, and a few questions.\n\nPlease use a computer with a keyboard.",
        button="Start",
    )


@mk.scene
def consent():
    return mk.Consent(body="pages/consent.md", decline_code="CDECLINE")


@mk.scene
def instructions():
    return mk.Page(
        title="How to play",
        body="You are the **blue circle**. Move with the **arrow keys** (or **W A S D**); hold "
             "two keys to move diagonally.\n\n"
             "- Collect the **gold coins**: +1 each.\n"
             "- The **red square** is hunting you. If it catches you, the round ends and you "
             "lose 5 points.\n\n"
             "You are a little faster than the chaser, but watch out for corners. "
             "Each round lasts 30 seconds; you will play three.",
        button="Play",
    )


@mk.policy
def chaser():
    return mk.Onnx("models/chaser.onnx")


@mk.scene(
    players={"runner": mk.HUMAN, "chaser": "chaser"},
    runtime="browser",
    fps=30,
    episodes=3,
    max_steps=ROUND_FRAMES,
    keys=KEYS,
    default_action=0,
)
def chase(seed):
    return ChaseEnv(render_mode="mug")


@mk.survey
def after_game():
    return [
        mk.Likert("fun", "The game was fun.", points=7),
        mk.Likert("smart", "The chaser played cleverly.", points=7),
        mk.Choice("partner", "The chaser was controlled by…", ["a human", "a computer", "not sure"]),
        mk.Text("comments", "Anything else you want to tell us?", required=False),
    ]


@mk.scene
def done():
    return mk.Completion(code="C9D8E7F6",
                         redirect="https://app.prolific.com/submissions/complete?cc={code}")
