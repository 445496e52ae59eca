"""A screening that asks for a window of 900 × 650 and gives the page 20 s (tests of the page
asking a participant to make a small window larger before it reports)."""

import mugkit as mk


@mk.screen(min_window=(900, 650), timeout=20)
def entry():
    pass


@mk.scene
def inside():
    return mk.Page(title="Inside", body="Your window is large enough.", button="Finish")


@mk.scene
def done():
    return mk.Completion(code="CROOMY1", screening_code="SROOMY1")
