"""Paths as mugkit shows them: relative to the root folder (the working directory by default)."""

from __future__ import annotations

import os
import sysconfig
import traceback

__all__ = ["nodeid_of", "MUGKIT_DIR", "is_mugkit_file", "user_frames", "passes_through_user_code"]

#: The folder of the mugkit package itself.
MUGKIT_DIR = os.path.dirname(os.path.abspath(__file__))


def nodeid_of(path: str, rootdir: str | None = None) -> str:
    """``path`` relative to ``rootdir`` (default: the working directory) with ``/`` separators;
    absolute when it lies outside."""
    rootdir = os.path.abspath(rootdir or os.getcwd())
    try:
        rel = os.path.relpath(os.path.abspath(path), rootdir)
    except ValueError:  # another drive
        return os.path.abspath(path)
    if rel.startswith(".."):
        return os.path.abspath(path)
    return rel.replace(os.sep, "/")


def is_mugkit_file(path: str) -> bool:
    """True for a file of the mugkit package (not of a user's folder that happens to be named so)."""
    return os.path.abspath(path).startswith(MUGKIT_DIR + os.sep)


_STDLIB = os.path.normcase(sysconfig.get_paths()["stdlib"])


def passes_through_user_code(exc: BaseException) -> bool:
    """True when the traceback of ``exc`` runs through code that is neither mugkit's nor the
    standard library's (nor the import or test machinery): the env's, a policy's or a library's
    they call. Otherwise the exception is mugkit's own."""
    for f in traceback.extract_tb(exc.__traceback__):
        name = f.filename
        if name.startswith("<") or is_mugkit_file(name) or os.path.normcase(os.path.abspath(name)).startswith(_STDLIB):
            continue
        if not any(part in name for part in ("_pytest", "pluggy", "hypothesis")):
            return True
    return False


def user_frames(exc: BaseException, limit: int = 4) -> list[str]:
    """The innermost traceback entries of ``exc`` outside mugkit and the import/test machinery,
    as ``file:line in function: code`` (most recent last, at most ``limit``)."""
    out = []
    for f in traceback.extract_tb(exc.__traceback__):
        name = f.filename
        if is_mugkit_file(name) or name.startswith("<") or any(
                part in name for part in ("importlib", "_pytest", "pluggy")):
            continue
        out.append(f"{nodeid_of(name)}:{f.lineno} in {f.name}: {(f.line or '').strip()}")
    return out[-limit:]
