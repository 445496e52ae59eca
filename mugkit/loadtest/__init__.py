"""``mugkit loadtest``: simulated participants through whole studies, with a report and a data audit.

Protocol bots (:mod:`.bot`) speak the browser client's socket.io protocol; ``--browser K`` bots are
real headless Chromium pages (:mod:`.browser_bot`). :func:`run_loadtest` starts a ``mugkit serve``
process (or targets a running one), ramps the bots up, watches the server, audits the database
against the bots' own logs (:mod:`.audit`) and returns a :class:`Report`. docs/loadtest.md is the
guide.
"""

from .report import Report
from .run import LoadTestConfig, LoadTestError, run_loadtest

__all__ = ["LoadTestConfig", "LoadTestError", "Report", "run_loadtest"]
