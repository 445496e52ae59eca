"""A study with an entry screening for the load-test tests (mugkit/loadtest/screening.py): bots
pass it, and ``--screen-fail`` bots fail it each way it declares (named with _ so checks skip it)."""

import mugkit as mk


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="A short study.", button="Start")


@mk.survey
def about():
    return [mk.Choice("hand", "Which hand do you write with?", ["left", "right", "both"])]


@mk.screen(block_browsers=["ie"], devices=["desktop"], min_window=(800, 600), max_rtt_ms=500, pings=3, timeout=3)
def entry(participant, answers):
    if answers.get("hand") not in ("left", "right", "both"):
        return "The entry check could not read your answers."


@mk.scene
def done():
    return mk.Completion(code="CSCRN1", screening_code="SSCRN1")
