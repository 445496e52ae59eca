"""A study with an entry screening after a survey (tests of mugkit/web/screening.py): adults only,
no Firefox or Internet Explorer, desktops only, a window of 800 × 600 at least, 250 ms at most."""

import mugkit as mk

TITLE = "Gate"


@mk.survey
def about():
    return [mk.Number("age", "How old are you?", min=0, max=120, integer=True)]


@mk.screen(block_browsers=["firefox", "ie"], devices=["desktop"], min_window=(800, 600), max_rtt_ms=250, pings=3,
           timeout=4)
def entry(answers):
    if answers.get("age", 99) < 18:
        return "This study is for adults only."


@mk.scene
def inside():
    return mk.Page(title="Inside", body="You passed the entry check.", button="Finish")


@mk.scene
def done():
    return mk.Completion(code="CGATE1", screening_code="SGATE1", exclusion_code="XGATE1")
