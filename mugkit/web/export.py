"""``mugkit data export DIR``: a data folder's tables as files, ``<table>.parquet`` or ``<table>.csv``.

The files hold what :func:`mugkit.data.load` gives, written so that any tool can read them: a
column whose values are all of one kind (ints, numbers, bools, strings) is written as that type;
any other column (tuples, dicts, mixed kinds) as *tagged JSON* text — plain JSON where JSON is
exact, ``{"$tuple": [...]}`` and the like where it is not — which ``mk.data.decode(text)`` turns
back into the value. Observations are always tagged JSON text; arrays keep their dtype and shape,
small ones as numbers (``{"$ndarray": {"dtype": "<f4", "shape": [4], "data": [...]}}``), larger
ones as base64 of their zstd-compressed bytes.

In CSV, a text cell that a spreadsheet would run as a formula — one starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, and not a plain number — gets a ``'`` in front
(:func:`csv_safe`): participants type answers, URL parameters and user agents, and
``=HYPERLINK(...)`` must not become a live formula on the researcher's machine. Parquet keeps
every value as it is.

The export reads every table into memory first (it is :func:`mugkit.data.load` underneath).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["export", "main", "FORMATS", "csv_safe", "FORMULA_STARTS"]

#: What a spreadsheet takes as the start of a formula (OWASP's list of CSV injection triggers).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: The formats ``--format`` takes (the first is the default).
FORMATS = ("parquet", "csv")


def export(directory: str | os.PathLike, out: str | os.PathLike, fmt: str = "parquet") -> dict[str, int]:
    """Writes each table of the data folder ``directory`` to ``out/<table>.<fmt>``.

    Returns:
        ``{path written: number of rows}``, in table order.

    Raises:
        ValueError: an unknown ``fmt``, or a file that is not a mugkit database.
        FileNotFoundError: ``directory`` does not exist or holds no mugkit database.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; the formats: {', '.join(FORMATS)}")
    import pandas as pd

    from ..data import read_columns, series

    tables = read_columns(directory, observations="stored")  # observations as text, not decoded
    os.makedirs(out, exist_ok=True)
    written = {}
    for table, columns in tables.items():
        if "keys" in columns:  # key names: a JSON list reads better than a tagged tuple
            columns["keys"] = [None if k is None else list(k) for k in columns["keys"]]
        frame = pd.DataFrame({name: _as_text(series(values)) for name, values in columns.items()})
        path = os.path.join(os.fspath(out), f"{table}.{fmt}")
        if fmt == "parquet":
            frame.to_parquet(path, index=False, engine="pyarrow")
        else:
            frame = frame.apply(lambda column: column.map(csv_safe) if column.dtype == object
                                or pd.api.types.is_string_dtype(column) else column)
            frame.to_csv(path, index=False)
        written[path] = len(frame)
    return written


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


def _as_text(column: Any) -> Any:
    """A column of Python objects as tagged JSON text (None stays missing); typed columns as they are."""
    if column.dtype != object:
        return column
    import pandas as pd

    from ..runtime.values import to_json

    return pd.Series([None if v is None else to_json(v) for v in column], dtype=object)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mugkit data export",
                                     description="Writes each table of a data folder (mugkit serve --data DIR) as "
                                                 "<table>.parquet or <table>.csv.")
    parser.add_argument("directory", metavar="DIR", help="the data folder")
    parser.add_argument("--out", metavar="DIR", help="where the files go (default: DIR/export)")
    parser.add_argument("--format", choices=FORMATS, default=FORMATS[0], help="parquet (default) or csv")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``mugkit data export DIR [--out DIR] [--format parquet|csv]``; ``argv`` is what follows
    ``data export`` (default: the process's arguments). Returns the exit code: 0 when every file
    was written, 1 on an error, 2 on a usage error."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage error (or --help)
        return int(exc.code or 0)
    out = args.out if args.out is not None else os.path.join(args.directory, "export")
    try:
        written = export(args.directory, out, args.format)
    except (FileNotFoundError, ValueError, ImportError, OSError) as exc:
        print(f"mugkit data export: error: {exc}", file=sys.stderr)
        return 1
    for path, rows in written.items():
        print(f"{path}: {rows} row{'s' if rows != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
