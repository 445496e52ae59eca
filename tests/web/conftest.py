"""tests/web: helpers (serving.py, browser_data.py) imported by name, and Debian's Chromium."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


import pytest
from browsers import chromium  # noqa: F401  (a fixture, shared with tests/security)


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    """Fails a test whose ``server`` logged a report of something the pages' Content-Security-
    Policy blocked (browsers report every violation, in workers too, to ``/csp-report``)."""
    yield
    served = request.node.funcargs.get("server")
    if served is not None and hasattr(served, "output"):
        from mugkit.web.headers import BLOCKED

        assert not [line for line in served.output if BLOCKED in line], "".join(served.output)


@pytest.fixture
def server(tmp_path):
    """A ``mugkit serve`` of the walk and duo studies (a test module may serve others under the
    same name)."""
    from serving import DUO, WALK, serve

    served = serve(WALK, DUO, data=str(tmp_path / "data"))
    yield served
    served.stop()
