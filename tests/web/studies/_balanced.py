"""Two between-subject conditions and one page (several server processes: the conditions stay
balanced across every process)."""

import mugkit as mk

CONDITIONS = ["red", "blue", "green"]


@mk.scene
def welcome(participant):
    return mk.Page(title="Welcome", body=f"You are in the {participant.condition} group.", button="Start")


@mk.scene
def done():
    return mk.Completion(code="BAL1")
