"""Running one failing example of a check again, as a failure report prints it.

Every check failure ends with a program like::

    from mugkit.checks.reproduce import reproduce
    reproduce('experiments/walk.py::walk::synctest', seed=7, keys={'player': [('ArrowLeft',)] * 12})

Run as printed, from the folder where the check ran, it plays that example again through the
same check and raises the same :class:`~mugkit.checks.report.CheckFailure` (the same frame and
differences), so the interpreter exits non-zero. When the example passes (the env was fixed), it
says so and returns. Edit the keys to explore.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..collect import load_step
from ..nodeid import NodeId
from .base import CheckContext
from .inputs import KeyPlan
from .report import DEFAULT_FRAMES

__all__ = ["reproduce"]

#: Checks whose examples can be run again, and the module that does it.
_MODULES = {"determinism": "determinism", "synctest": "synctest", "policy": "policy", "rollback": "rollback",
            "contract": "contract", "parity": "parity"}


def reproduce(nodeid: str, *, seed: int = 0, keys: dict | None = None, frames: int = DEFAULT_FRAMES,
              rootdir: str | None = None, **scenario: Any) -> None:
    """Runs check ``nodeid`` (``file.py::step::check``) on one example.

    Args:
        seed: the game seed.
        keys: human → the keys held per frame (a key name, a tuple of names, or None per frame).
        frames: frames per run, as ``--mugkit-frames``.
        rootdir: the folder node ids are relative to (default: the working directory).
        scenario: the check's own facts of the example, as printed (e.g. the rollback check's
            network).

    Raises:
        CheckFailure: the example still fails.
        ValueError: ``nodeid`` does not name a check that can be reproduced.
    """
    node = NodeId.parse(nodeid)
    if node.check not in _MODULES:
        raise ValueError(f"{nodeid}: name a check to reproduce: file.py::step::{'|'.join(_MODULES)}")
    rootdir = os.path.abspath(rootdir or os.getcwd())
    experiment, step = load_step(str(node.step_id), rootdir)
    ctx = CheckContext(experiment, step, node, rootdir, frames=frames)
    module = importlib.import_module(f"{__package__}.{_MODULES[node.check]}")
    module.reproduce(ctx, seed, KeyPlan.of(keys or {}), **scenario)
    print(f"{nodeid}: this example passes now")
