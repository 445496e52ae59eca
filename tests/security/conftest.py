"""tests/security: attacks on a real `mugkit serve`, kept as tests. Helpers come from tests/web."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "web"))

from browsers import chromium  # noqa: E402,F401  (a fixture)
