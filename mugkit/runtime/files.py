"""Naming a missing file so that the researcher can fix it: "did you mean `instructions.md`?".

Pure Python (the browser runtime loads this package too).
"""

from __future__ import annotations

import difflib
import os

__all__ = ["did_you_mean", "missing_file"]


def did_you_mean(path: str) -> str:
    """`` (did you mean `instructions.md`?)`` for the files in ``path``'s folder whose names are
    close to its name, or "" when none is (or the folder does not exist)."""
    folder, name = os.path.split(path)
    try:
        names = sorted(os.listdir(folder or "."))
    except OSError:
        return ""
    close = difflib.get_close_matches(name, names, n=2, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(f"`{c}`" for c in close) + "?)"


def missing_file(what: str, path: str) -> str:
    """The message for a missing file: ``{what} not found: {path}``, with a "did you mean" when a
    file of a close name is in its folder."""
    return f"{what} not found: {path}{did_you_mean(path)}"
