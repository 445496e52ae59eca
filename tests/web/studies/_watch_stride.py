"""One human in a monitored browser-runtime game (Pyodide in their page): a hidden tab (3 s) or
idleness (6 s) excludes them; the server sees the page's heartbeats and the keys in its rows."""

import mugkit as mk

from _stride import Stride


@mk.scene(players={"walker": mk.HUMAN}, runtime="browser", keys={"ArrowLeft": 0, "ArrowRight": 2},
          default_action=1, fps=30, max_steps=1800, monitor=mk.Monitor(hidden_seconds=3, idle_seconds=6,
                                                                      warn_seconds=2))
def stride(seed):
    return Stride()


@mk.scene
def done():
    return mk.Completion(code="STRIDE1", exclusion_code="EXCL9")
