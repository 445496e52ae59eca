"""Berry Commons: one participant forages on a numpy Gymnasium env that runs on the server.

Flow: welcome, consent, an entry screening (a desktop or laptop, a window of 720 × 560 at least, a
round trip to the server under 300 ms), instructions, two 75-second rounds, a survey about harvesting strategy,
and the completion page. Berries regrow only next to berries, so the data (the grid in every
observation, ``berries_left`` in ``info``) show whether participants sustain the patches or pick
them clean: a one-person commons dilemma.

The env (``envs/orchard.py``) imports numpy and gymnasium, which is fine because this experiment
has no browser step: the game runs on the server and its frames stream to the participant.
"""

import mugkit as mk
from envs.orchard import ROUND_STEPS, OrchardEnv


@mk.scene
def welcome():
    return mk.Page(
        title="Berry Commons",
        body="Thank you for taking part! This study takes about **4 minutes**: a short foraging "
             "game, played twice, and a few questions.\n\nPlease use a computer with a keyboard.",
        button="Start",
    )


@mk.scene
def consent():
    return mk.Consent(body="pages/consent.md", decline_code="CDECLINE")


@mk.screen(devices=["desktop"], block_browsers=["ie"], min_window=(720, 560), max_rtt_ms=300)
def entry():
    """The game needs arrow keys, a window the field fits in, and a connection quick enough for
    frames streamed from the server at 8 a second: checked by the server before the instructions
    (docs/screening.md). Turned away: the completion's screening_code."""


@mk.scene
def instructions():
    return mk.Page(
        title="How to play",
        body="You are the **yellow circle** in a field of berry bushes. Move one square at a time "
             "with the **arrow keys** (or **W A S D**); stepping on a bush picks its berries "
             "(**+1**).\n\n"
             "Berries **regrow only next to other berries**: the more berries around an empty "
             "square, the sooner it grows back. A patch that is picked clean never comes back.\n\n"
             "Each round lasts 75 seconds; you will play two. Try to pick as many berries as you can.",
        button="Play",
    )


@mk.scene(
    players={"forager": mk.HUMAN},
    runtime="server",
    fps=8,
    episodes=2,
    max_steps=ROUND_STEPS,
    keys={"ArrowUp": 1, "ArrowDown": 2, "ArrowLeft": 3, "ArrowRight": 4, "w": 1, "s": 2, "a": 3, "d": 4},
    default_action=0,
)
def forage(seed):
    return OrchardEnv(render_mode="mug")


@mk.survey
def after_game():
    return [
        mk.Choice("strategy", "How did you pick berries?",
                  ["as fast as I could", "I left some berries so the bushes would regrow",
                   "I changed my strategy in the second round", "no particular plan"]),
        mk.Likert("future", "I thought about how many berries would be left later in the round.",
                  points=7),
        mk.Likert("fun", "The game was fun.", points=7),
        mk.Text("comments", "Anything else you want to tell us?", required=False),
    ]


@mk.scene
def done():
    return mk.Completion(code="C2B4D6F8", screening_code="S7E9N2Q4",
                         redirect="https://app.prolific.com/submissions/complete?cc={code}")
