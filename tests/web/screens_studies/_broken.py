"""Failures on the study's side: a game that cannot start, a game that crashes mid-play (server),
then a page whose body file is missing."""

import mugkit as mk

from _envs import KEYS, Walk

TITLE = "A study with bugs"


@mk.scene(players={"me": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=90, ready=False, countdown=0)
def cannot_start(seed):
    raise ValueError("the researcher's env needs a map file that is not there")


@mk.scene(players={"me": mk.HUMAN}, keys=KEYS, default_action=1, fps=30, max_steps=90, countdown=0)
def crashes(seed):
    return Walk(crash_at=50)


@mk.scene
def missing():
    return mk.Page(title="Instructions", body="instructions_that_do_not_exist.md")


@mk.scene
def done():
    return mk.Completion(code="BUGGY1", error_code="BUGERR", redirect="https://app.prolific.com/submissions/complete?cc={code}")
