"""The smallest screening: a window of 800 × 600, no pings, no own check (mugkit/web/screening.py),
and no screening_code: the screened-out page asks the participant to return the study."""

import mugkit as mk


@mk.screen(min_window=(800, 600), timeout=3)
def entry():
    pass


@mk.scene
def done():
    return mk.Completion(code="CBARE1")
