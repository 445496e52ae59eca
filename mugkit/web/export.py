"""``mugkit data export DIR``: a data folder's tables as files, ``<table>.parquet`` or ``<table>.csv``.
``mugkit data export postgresql://… --out DIR``: a PostgreSQL database's (docs/postgres.md).

The files hold what :func:`mugkit.data.load` gives (its column names; no secret: see
:data:`mugkit.data.SECRET_META_KEYS`), written as plain values any tool reads without cleaning:

- a column whose values are all of one kind (ints, numbers, bools, strings) is written as that type;
- in Parquet, a column of lists of one kind (``steps.active_keys``: key names) stays a list column;
- in any other column — answers of several question types, dicts, tuples — each cell is plain
  text (:func:`plain_text`): a string as itself, a number as its digits, a bool as ``True`` or
  ``False``, a list, tuple or dict as JSON (tagged JSON only for what JSON cannot hold: NaN,
  bytes, arrays, dicts with keys that are not strings; ``mk.data.decode`` reads it).

Observations are always tagged JSON text; arrays keep their dtype and shape, small ones as
numbers (``{"$ndarray": {"dtype": "<f4", "shape": [4], "data": [...]}}``), larger ones as base64
of their zstd-compressed bytes.

In CSV, a text cell that a spreadsheet would run as a formula — one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, and not a plain number — gets a ``'`` in front
(:func:`csv_safe`): participants type answers, URL parameters and user agents, and
``=HYPERLINK(...)`` must not become a live formula on the researcher's machine. Parquet keeps
every value as it is.

``--anonymize`` writes pseudonyms for panel ids and leaves out user agents and tokens
(:mod:`mugkit.web.anonymize`).

The export reads every table into memory first (it is :func:`mugkit.data.load` underneath).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["export", "main", "FORMATS", "csv_safe", "plain_text", "FORMULA_STARTS"]

#: What a database URL lacks, for messages.
NO_FOLDER = "a PostgreSQL database has no data folder"


def is_database_url(location: Any) -> bool:
    """Whether ``location`` is a PostgreSQL URL (see :mod:`mugkit.web.storage.postgres`)."""
    from .storage.postgres import is_database_url as is_url

    return is_url(location)

#: What a spreadsheet takes as the start of a formula (OWASP's list of CSV injection triggers).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: The formats ``--format`` takes (the first is the default).
FORMATS = ("parquet", "csv")


def export(directory: str | os.PathLike, out: str | os.PathLike, fmt: str = "parquet", *,
           anonymize: bool = False, salt: str | None = None) -> dict[str, int]:
    """Writes each table of the data folder ``directory`` (or of the PostgreSQL database whose URL
    it is) to ``out/<table>.<fmt>``.

    Args:
        anonymize: panel ids and URL parameters as pseudonyms, no user agents, no tokens
            (:mod:`mugkit.web.anonymize`).
        salt: the pseudonyms' salt; default: the data folder's own (made at the first anonymized
            export). Only with ``anonymize``; needed for a database URL (it has no folder to keep
            a salt in).

    Returns:
        ``{path written: number of rows}``, in table order.

    Raises:
        ValueError: an unknown ``fmt``, a file that is not a mugkit database, or a salt without
            ``anonymize``.
        FileNotFoundError: ``directory`` does not exist or holds no mugkit database.
        OSError: the data folder's salt cannot be read or made.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; the formats: {', '.join(FORMATS)}")
    if salt is not None and not anonymize:
        raise ValueError("a salt is for --anonymize; add --anonymize or leave out --salt")
    if anonymize and salt is None and is_database_url(directory):
        raise ValueError(f"{NO_FOLDER}: give the salt of its anonymized exports with --salt TEXT (keep it: the same "
                         f"salt gives the same pseudonyms; whoever has it can test a panel id)")
    import pandas as pd

    from ..data import read_columns

    tables = read_columns(directory, observations="stored")  # observations as text, not decoded
    if anonymize:
        from .anonymize import anonymize as anonymized, folder_salt

        tables = anonymized(tables, salt if salt is not None else folder_salt(directory))
    os.makedirs(out, exist_ok=True)
    written = {}
    for table, columns in tables.items():
        frame = pd.DataFrame({name: _column(values, fmt) for name, values in columns.items()})
        path = os.path.join(os.fspath(out), f"{table}.{fmt}")
        if fmt == "parquet":
            frame.to_parquet(path, index=False, engine="pyarrow")
        else:
            frame = frame.apply(lambda column: column.map(csv_safe) if column.dtype == object
                                or pd.api.types.is_string_dtype(column) else column)
            frame.to_csv(path, index=False)
        written[path] = len(frame)
    return written


def plain_text(value: Any) -> str | None:
    """A cell of a column of mixed kinds as plain text: None stays missing, a string is itself, a
    bool ``True``/``False``, a number its shortest digits (``nan``, ``inf`` for those); lists,
    tuples (as lists) and dicts JSON, tagged only where JSON cannot hold a value exactly."""
    from ..runtime.values import to_json

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value)
    return to_json(_as_lists(value))


def _as_lists(value: Any) -> Any:
    """``value`` with its tuples as lists, inside lists and dicts too (plain JSON arrays)."""
    if isinstance(value, (list, tuple)):
        return [_as_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_lists(v) for k, v in value.items()}
    return value


def _column(values: list, fmt: str) -> Any:
    """A column as written: typed when its values are of one kind (see the module docstring),
    a list column in Parquet when they are lists of one kind, plain text otherwise."""
    import pandas as pd

    from ..data import series

    column = series(values)
    if column.dtype != object:
        return column
    if fmt == "parquet" and _list_kind(values) is not None:
        return pd.Series([None if v is None else list(v) for v in values], dtype=object)
    return pd.Series([plain_text(v) for v in values], dtype=object)


def _list_kind(values: list) -> type | None:
    """The one kind (str, int, float, bool) of the items of ``values``, when every value is a
    list or tuple (or missing), at least one is, and every item is of that kind; else None."""
    lists = [v for v in values if v is not None]
    if not lists or not all(isinstance(v, (list, tuple)) for v in lists):
        return None
    kinds = {type(item) for v in lists for item in v}
    if len(kinds) > 1 or kinds - {str, int, float, bool}:
        return None
    if kinds == {int} and not all(-2**63 <= item < 2**63 for v in lists for item in v):
        return None
    return next(iter(kinds), str)  # only empty lists: lists of strings


def csv_safe(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would run as a formula (it
    starts with one of :data:`FORMULA_STARTS` and is not a plain number, like ``-3.5``); any other
    value as it is."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        float(value)
        if value == value.strip():
            return value  # a number, never a formula
    except ValueError:
        pass
    return "'" + value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mugkit data export",
                                     description="Writes each table of a data folder (mugkit serve --data DIR), or of "
                                                 "a PostgreSQL database (mugkit serve --database URL), as "
                                                 "<table>.parquet or <table>.csv.")
    parser.add_argument("directory", metavar="DIR|URL", help="the data folder, or the database's postgresql:// URL")
    parser.add_argument("--out", metavar="DIR",
                        help="where the files go (default: DIR/export, or DIR/export-anonymized with --anonymize; "
                             "needed for a URL)")
    parser.add_argument("--format", choices=FORMATS, default=FORMATS[0], help="parquet (default) or csv")
    parser.add_argument("--anonymize", action="store_true",
                        help="panel ids and URL parameters as salted hashes; no user agents, no tokens")
    parser.add_argument("--salt", metavar="TEXT",
                        help="the hashes' salt (default: the data folder's own, kept in DIR/mugkit-export-salt)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``mugkit data export DIR [--out DIR] [--format parquet|csv] [--anonymize [--salt TEXT]]``;
    ``argv`` is what follows ``data export`` (default: the process's arguments). Returns the exit
    code: 0 when every file was written, 1 on an error, 2 on a usage error."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.salt is not None and not args.anonymize:
            parser.error("--salt is the salt of --anonymize's hashes: add --anonymize, or leave out --salt")
        if args.salt is not None and not args.salt.strip():
            parser.error("--salt is empty: give the salt's text (or leave it out to use the data folder's own)")
        if args.out is None and is_database_url(args.directory):
            parser.error(f"{NO_FOLDER} to write the files into: give --out DIR")
    except SystemExit as exc:  # argparse printed the usage error (or --help)
        return int(exc.code or 0)
    # An anonymized export has its own default folder: a later plain export never overwrites it.
    default = "export-anonymized" if args.anonymize else "export"
    out = args.out if args.out is not None else os.path.join(args.directory, default)
    try:
        written = export(args.directory, out, args.format, anonymize=args.anonymize, salt=args.salt)
    except (FileNotFoundError, ValueError, ImportError, OSError) as exc:
        print(f"mugkit data export: error: {exc}", file=sys.stderr)
        return 1
    for path, rows in written.items():
        print(f"{path}: {rows} row{'s' if rows != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
