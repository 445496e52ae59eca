"""Gem Gatherers: two participants cooperate in real time, once on the server, once in the browser.

Flow: welcome, consent, instructions, two 60-second rounds with the same partner (one round's
game runs on the server and streams to both browsers; the other runs in both browsers with
rollback netcode; the order is counterbalanced across groups), a survey comparing the rounds,
and the completion page.

The data answer two questions at once: how pairs coordinate (small gems alone vs. the big gem
together: ``small_gems`` and ``big_gems`` in ``info``, positions in the observations), and
whether the two runtimes feel different to participants (the survey asks which round felt more
responsive; the step order is stored per participant).

The browser round runs one rollback peer in each participant's browser; the peers exchange
their inputs over WebRTC data channels, or through the server when a channel does not open
(``mugkit serve`` says where each step runs before it opens). ``responsiveness.py`` compares the
runtimes with one human per game.
"""

import mugkit as mk
from envs.gather import ROUND_FRAMES, GatherEnv
from envs.motion import KEYS

PLAYERS = {"p0": mk.HUMAN, "p1": mk.HUMAN}
GAME = dict(players=PLAYERS, fps=30, episodes=1, max_steps=ROUND_FRAMES, keys=KEYS, default_action=0)


@mk.scene
def welcome():
    return mk.Page(
        title="Gem Gatherers",
        body="Thank you for taking part! In this study of about **6 minutes** you play two short "
             "rounds of a game **together with another participant**, then answer a few "
             "questions.\n\nAfter you start, please wait a moment while we find your partner.",
        button="Start",
    )


@mk.scene
def consent():
    return mk.Consent(body="pages/consent.md", decline_code="CDECLINE")


@mk.scene
def instructions():
    return mk.Page(
        title="How to play",
        body="You and your partner are the two circles, **Blue** and **Orange**: press a key to "
             "see which one is you. Move with the **arrow keys** (or **W A S D**); hold two keys "
             "to move diagonally.\n\n"
             "- Small blue gems: **+1** for the team; either of you can pick them up.\n"
             "- The big gold gem: **+5**, but only when **both of you** touch it at the same time. "
             "It comes back somewhere else a few seconds later.\n\n"
             "You share one team score. Each round lasts 60 seconds.",
        button="Find a partner",
    )


@mk.scene(runtime="server", **GAME)
def round_on_server(seed):
    return GatherEnv(render_mode="mug")


@mk.scene(runtime="browser", **GAME)
def round_in_browser(seed):
    return GatherEnv(render_mode="mug")


@mk.survey
def after_game():
    return [
        mk.Likert("teamwork", "My partner and I worked well together.", points=7),
        mk.Likert("fun", "The game was fun.", points=7),
        mk.Choice("responsive", "Which round felt more responsive to your key presses?",
                  ["the first round", "the second round", "no difference"]),
        mk.Choice("partner", "Your partner was…", ["a human", "a computer", "not sure"]),
        mk.Text("comments", "Anything else you want to tell us?", required=False),
    ]


@mk.scene
def done():
    return mk.Completion(code="C5G6T7H8",
                         redirect="https://app.prolific.com/submissions/complete?cc={code}")


# The two rounds in both orders, balanced across groups; everything else in definition order.
FLOW = [welcome, consent, instructions, mk.counterbalance(round_on_server, round_in_browser),
        after_game, done]
