"""Fruit Catch: one participant, a real-time game in the browser.

Flow: welcome, consent, instructions, three 60-second rounds of the game, a short survey, and the
completion page. Every frame of every round is recorded (key held, action, reward, score in
``info``), so the data show how fast people react and how they trade fruit against bombs.
"""

import mugkit as mk
from envs.catch import ROUND_FRAMES, CatchEnv


@mk.scene
def welcome():
    return mk.Page(
        title="Fruit Catch",
        body="Thank you for taking part! This study takes about **5 minutes**: a short game, "
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
        body="Move the basket with **←** and **→** (or **A** and **D**).\n\n"
             "- Red fruit: **+1**\n- Golden fruit: **+3**\n"
             "- Bombs: **−5** and you lose one of your three lives.\n\n"
             "A round lasts 60 seconds or until your lives run out, and it speeds up as it goes. "
             "You will play three rounds.",
        button="Play",
    )


@mk.scene(
    players={"player": mk.HUMAN},
    runtime="browser",
    fps=30,
    episodes=3,
    max_steps=ROUND_FRAMES,
    keys={"ArrowLeft": 1, "ArrowRight": 2, "a": 1, "d": 2},
    default_action=0,
)
def catch(seed):
    return CatchEnv(render_mode="mug")


@mk.playthrough(catch)
def sweep_the_ground():
    """Long enough for fruit and bombs to land (generated runs are 40 frames): the basket sweeps
    left and right, so some items are caught, some missed, some bombs hit."""
    return (mk.hold({}, 60) + mk.hold({"player": "ArrowLeft"}, 45) + mk.hold({"player": "ArrowRight"}, 90)
            + mk.hold({"player": "ArrowLeft"}, 90) + mk.hold({}, 60))


@mk.survey
def after_game():
    return [
        mk.Likert("fun", "The game was fun.", points=7),
        mk.Likert("difficulty", "The game was hard.", points=7),
        mk.Choice("focus", "What did you mostly try to do?",
                  ["catch every fruit", "go for golden fruit", "avoid bombs", "no particular plan"]),
        mk.Text("comments", "Anything else you want to tell us?", required=False),
    ]


@mk.scene
def done():
    return mk.Completion(code="C1A2B3C4",
                         redirect="https://app.prolific.com/submissions/complete?cc={code}")
