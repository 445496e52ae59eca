"""Where the game runs: one participant plays Fruit Catch once on the server and once in their
browser, in counterbalanced order, and says which round felt more responsive.

A between-runtime comparison with one human in each game, so each condition really runs where it
says: on the server, every key press travels to the server and the new frame travels back (the
participant feels their network's round trip); in the browser (Pyodide), the frame is computed on
their own computer with no network in the loop. Everything else is equal: the same env, keys, fps
and round length. Each round's seed derives from its step's name, so the fruit fall differently in
the two rounds and the second round is not a replay the participant has learnt.

The data: ``games.runtime`` says where each game ran, ``steps.t_client``/``t_server`` time every
frame, the flow events give the order each participant had, and the survey answers which round
felt more responsive. ``mk.data.summary(DIR)`` puts each participant's score per round beside the
runtime in one table.
"""

import mugkit as mk
from envs.catch import ROUND_FRAMES, CatchEnv

GAME = dict(players={"player": mk.HUMAN}, fps=30, episodes=1, max_steps=ROUND_FRAMES,
            keys={"ArrowLeft": 1, "ArrowRight": 2, "a": 1, "d": 2}, default_action=0)


@mk.scene
def welcome():
    return mk.Page(
        title="Fruit Catch, twice",
        body="Thank you for taking part! This study takes about **4 minutes**: you play a short "
             "game twice, then answer a few questions.\n\nPlease use a computer with a keyboard.",
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
             "You play two rounds of 60 seconds. Pay attention to how quickly the basket "
             "answers your keys in each round: we will ask you about it.",
        button="Play",
    )


@mk.scene(runtime="server", **GAME)
def catch_on_server(seed):
    return CatchEnv(render_mode="mug")


@mk.scene(runtime="browser", **GAME)
def catch_in_browser(seed):
    return CatchEnv(render_mode="mug")


@mk.survey
def after_game():
    return [
        mk.Choice("responsive", "Which round felt more responsive to your key presses?",
                  ["the first round", "the second round", "no difference"]),
        mk.Likert("control", "I felt in control of the basket in both rounds.", points=7),
        mk.Text("comments", "Anything else you want to tell us?", required=False),
    ]


@mk.scene
def done():
    return mk.Completion(code="C9R8T7Y6",
                         redirect="https://app.prolific.com/submissions/complete?cc={code}")


# The two rounds in both orders, balanced across participants; the rest in definition order.
FLOW = [welcome, consent, instructions, mk.counterbalance(catch_on_server, catch_in_browser), after_game, done]
