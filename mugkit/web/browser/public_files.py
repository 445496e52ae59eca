"""Which files of an experiment's folder may ever leave the server.

Two doors open onto an experiment's folder: the experiment wheel a browser-runtime step installs
(:mod:`mugkit.web.browser.shipping`) and the ``/<experiment>/files/…`` route (images, sounds, sprite
atlases). Both ask :func:`refusal`, so one set of rules holds for both. Never out, even when a
step declares the file:

- anything whose path inside the folder has a hidden part (``.env``, ``.git/``, ``.secret/x``);
- anything reached through a symlink that leaves the folder (or lands on a refused path);
- databases (``.db``, ``.sqlite*``, ``-wal``, ``-shm``, ``-journal``), backups (``.bak``, ``~``,
  ``.orig``, ``.swp`` …) and data exports (``.csv``, ``.parquet``, ``.xlsx`` …, in any case);
- anything in a folder named ``data``, ``export(s)``, ``tests``, ``__pycache__``, ``node_modules``,
  a virtual environment or a build folder, or in a folder that holds a database or an export
  (a study's data folder: its JSON is data too).

The rules look at names, not contents: a secret in a file with an innocent name (``config.py``)
is kept out only because nothing imports it for the browser (see :mod:`mugkit.web.browser.imports`).
"""

from __future__ import annotations

import os

__all__ = ["refusal", "public_path", "REFUSED_DIRS", "DATABASE_SUFFIXES", "BACKUP_SUFFIXES", "EXPORT_SUFFIXES"]

#: Folders whose files never leave the server, wherever they are in the experiment's folder.
REFUSED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build", "dist", "data",
                          "export", "exports", "tests"})
DATABASE_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".db3", "-wal", "-shm", "-journal")
BACKUP_SUFFIXES = (".bak", "~", ".orig", ".old", ".swp", ".swo", ".tmp", ".backup")
EXPORT_SUFFIXES = (".csv", ".tsv", ".parquet", ".feather", ".arrow", ".xlsx", ".xls", ".ods", ".jsonl", ".ndjson",
                   ".sav", ".dta", ".rds", ".rdata", ".h5", ".hdf5")


#: The files of a mugkit data folder besides its database (a folder served with ``--data`` inside
#: the experiment's folder must not give them away).
DATA_FOLDER_FILES = frozenset({"mugkit-study.json", "mugkit.running"})


def _kind(name: str) -> str | None:
    """What a file name says the file is, when it is something that never leaves the server."""
    lower = name.lower()
    if lower.endswith(DATABASE_SUFFIXES) or ".sqlite" in lower or lower in DATA_FOLDER_FILES:
        return "a database"
    if lower.endswith(BACKUP_SUFFIXES):
        return "a backup"
    if lower.endswith(EXPORT_SUFFIXES):
        return "a data export"
    return None


def _path_refusal(parts: list[str], root: str) -> str | None:
    """Why the path ``parts`` (inside ``root``, not resolved) is refused by its names, or None."""
    for i, part in enumerate(parts):
        if part.startswith("."):
            return f"{part!r} is hidden"
        if i < len(parts) - 1 and part in REFUSED_DIRS:
            return f"the folder {part!r} is never shipped"
    if (kind := _kind(parts[-1])) is not None:
        return f"it is {kind} (by its name)"
    folder = root
    for part in parts[:-1]:  # a folder below the root that holds data is a data folder
        folder = os.path.join(folder, part)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        data = sorted(n for n in names if _kind(n) in ("a database", "a data export"))
        if data:
            return f"the folder {part!r} holds data ({data[0]})"
    return None


def _split(relative: str) -> list[str] | None:
    parts = [p for p in relative.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or os.path.isabs(relative) or ":" in parts[0]:
        return None
    return parts


def refusal(root: str, relative: str) -> str | None:
    """Why ``relative`` (a ``/``-separated path inside the experiment folder ``root``) may never
    leave the server, or None when it may. A path that does not name an existing file is refused
    too ("no such file")."""
    parts = _split(relative)
    if parts is None:
        return "it is not a path inside the experiment's folder"
    real_root = os.path.realpath(root)
    given = os.path.join(real_root, *parts)
    why = _path_refusal(parts, real_root)
    if why is not None:
        return why
    real = os.path.realpath(given)
    if not real.startswith(real_root + os.sep):
        return "it is a symlink that leads out of the experiment's folder"
    if real != given:  # a symlink inside the folder: where it lands must pass the same rules
        why = _path_refusal(os.path.relpath(real, real_root).split(os.sep), real_root)
        if why is not None:
            return f"it is a symlink to {os.path.relpath(real, real_root)}, and {why}"
    if not os.path.isfile(real):
        return "no such file"
    return None


def public_path(root: str, relative: str) -> str | None:
    """The real path of ``relative`` under ``root`` when it may leave the server, else None."""
    if refusal(root, relative) is not None:
        return None
    return os.path.realpath(os.path.join(root, *_split(relative)))
