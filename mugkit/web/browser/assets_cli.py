"""``mugkit assets fetch [--into DIR]``: the browser runtime's pinned files (Pyodide,
onnxruntime-web) downloaded now rather than at the first ``mugkit serve`` — into the user's cache,
or into ``DIR`` for a lab without internet (copy it there and serve with ``--assets DIR``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .assets import ASSETS_ENV, RuntimeAssetError, cache_dir, fetch_into

__all__ = ["main", "use_folder"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mugkit assets", description="the browser runtime's pinned files")
    commands = p.add_subparsers(dest="command", required=True, metavar="fetch")
    fetch = commands.add_parser("fetch", help="download and check them (once; later runs find them in place)")
    fetch.add_argument("--into", metavar="DIR", default=None,
                       help="put them in DIR (a lab without internet: copy DIR there and serve with --assets DIR); "
                            f"default: the cache, {cache_dir()}")
    return p


def main(argv: list[str]) -> int:
    """The ``mugkit assets`` command; returns its exit code."""
    args = _parser().parse_args(argv)
    root = Path(args.into).expanduser().resolve() if args.into else cache_dir()
    try:
        assets = fetch_into(root, say=print)
    except RuntimeAssetError as exc:
        print(f"mugkit assets: {exc}", file=sys.stderr)
        return 1
    for package, version in assets.versions.items():
        total = sum(assets.sizes(package).values())
        print(f"{package} {version}: {len(assets.sizes(package))} files, {total / 1e6:.1f} MB, checked, in "
              f"{assets.folder(package)}")
    if args.into:
        print(f"Serve without internet with: mugkit serve PATH --assets {args.into}  (or MUGKIT_ASSETS={args.into})")
    return 0


def use_folder(folder: str | None) -> None:
    """``--assets DIR`` of ``serve`` and ``check``: the assets come from ``folder`` only, in this
    process and the ones it starts (it sets ``$MUGKIT_ASSETS``, which they all read)."""
    if folder:
        os.environ[ASSETS_ENV] = os.path.abspath(os.path.expanduser(folder))
