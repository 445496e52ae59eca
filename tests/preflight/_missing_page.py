"""A study whose page names a body file that is not there (``instructions.md`` is)."""

import mugkit as mk


@mk.scene
def instructions():
    return mk.Page(title="How to play", body="instruction.md")


@mk.scene
def done():
    return mk.Completion(code="C0DE42")
