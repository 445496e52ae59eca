"""A consent page with a ``timeout`` (tests/web/test_timeouts.py): not agreeing in time ends the
study, with the consent's decline code."""

import mugkit as mk


@mk.scene(timeout=2)
def consent():
    return mk.Consent(body="You agree that your answers are recorded.", decline_code="CDECLINE")


@mk.scene
def done():
    return mk.Completion(code="TIMED2", timeout_code="WAITED")
