"""The browser runtime's large pinned assets — Pyodide and onnxruntime-web — found, checked and
served by our own server.

Why fetched, not shipped: the browser needs 27.6 MB of them (Pyodide's interpreter and standard
library 13.5 MB, onnxruntime-web's wasm build 14.3 MB; 10 MB compressed). In the wheel they would
make every install, upgrade and CI run carry 10 MB that a study without browser steps never uses,
and building the wheel would need npm. So the wheel carries only their pins,
``pins.json`` (each package's version and tarball ``integrity`` from package-lock.json, and the
SHA-256 of each file the browser loads: ``scripts/vendor_assets.py`` writes it), and the files are
fetched from the npm registry the first time they are needed — 40 MB of tarballs, once — checked
against those hashes and kept in the user's cache directory (``platformdirs``, e.g.
``~/.cache/mugkit/runtime/<package>/<version>/``), where every later start finds them.

Where they are taken from, first match wins:

1. ``--assets DIR`` (``$MUGKIT_ASSETS``): that folder only, never the network — for labs without
   internet, filled beforehand by ``mugkit assets fetch --into DIR`` on a machine with it;
2. a ``node_modules`` folder (``npm ci`` in a checkout, as ``./dev`` does: no download at all);
3. the cache, downloading into it what is missing.

The server checks each file against its pin once, at start, and serves only those files, at
``/runtime/<package>/<version>/<file>`` with long-lived immutable caching: a version's URL never
changes meaning, so a participant's second game (or a reload) loads from the browser cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...paths import MUGKIT_DIR
from . import npm

__all__ = ["RuntimeAssets", "RuntimeAssetError", "PINS", "ASSETS_ENV", "CONTENT_TYPES", "cache_dir",
           "find_node_modules", "read_pins", "fetch_into"]

PINS = Path(__file__).with_name("pins.json")
#: A folder holding the assets (``mugkit assets fetch --into DIR``): used instead of anything else.
ASSETS_ENV = "MUGKIT_ASSETS"
CONTENT_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                 ".json": "application/json", ".zip": "application/zip", ".whl": "application/zip"}
#: Cache-Control of content-pinned URLs (a year; never revalidated).
IMMUTABLE = "public, max-age=31536000, immutable"


class RuntimeAssetError(Exception):
    """A pinned runtime asset is missing or differs from its pin; the message says how to get it."""


@dataclass(frozen=True)
class _Asset:
    path: Path
    sha256: str
    bytes: int


def read_pins() -> dict:
    """pins.json: the runtime's npm packages, each with its version, tarball, integrity and files."""
    return json.loads(PINS.read_text())


def cache_dir() -> Path:
    """Where downloaded assets are kept: the user's cache directory, ``runtime/`` under mugkit's."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("mugkit", appauthor=False)) / "runtime"


def find_node_modules() -> Path | None:
    """Where the npm packages are: ``$MUGKIT_NODE_MODULES``, else ``node_modules`` in the working
    directory, else next to the mugkit package (a checkout of the repository)."""
    candidates = [os.environ.get("MUGKIT_NODE_MODULES"), os.path.join(os.getcwd(), "node_modules"),
                  os.path.join(os.path.dirname(MUGKIT_DIR), "node_modules")]
    for c in candidates:
        if c and os.path.isdir(c):
            return Path(c)
    return None


def fetch_into(root: Path, say: Callable[[str], None] = print) -> "RuntimeAssets":
    """Makes ``root`` hold every pinned package intact (``root/<package>/<version>/``), downloading
    what is missing or differs.

    Raises:
        RuntimeAssetError: a download failed; the message says which and what to do.
    """
    advice = (f"Check that this machine reaches the npm registry ({npm.registry()}; a mirror with the same tarballs "
              f"can be named by ${npm.REGISTRY_ENV})")
    assets = RuntimeAssets.in_folder(root, advice=advice)
    if assets.problems:
        assets.download_missing(Path(root).expanduser().resolve(), say)
    assets.require()
    return assets


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _offline_advice(cache: Path) -> str:
    return (f"mugkit downloads them once, from the npm registry, into {cache}: run `mugkit assets fetch` when this "
            f"machine is online. Without internet here: run `mugkit assets fetch --into DIR` on a machine that has "
            f"it, copy DIR here, and give `--assets DIR` to `mugkit serve` and `mugkit check` (or set {ASSETS_ENV}=DIR)")


class RuntimeAssets:
    """The pinned runtime files, checked and ready to serve.

    Attributes:
        versions: npm package → pinned version.
        problems: why a package is not available (empty when all are).
    """

    def __init__(self, pins: dict, candidates: dict[str, list[Path]], advice: str):
        """Takes each package of ``pins`` from the first of its ``candidates`` folders that holds
        all its files intact; ``advice`` ends the error when none does."""
        self.versions = {p["package"]: p["version"] for p in pins["packages"]}
        self._pins = {p["package"]: p for p in pins["packages"]}
        self._assets: dict[tuple[str, str, str], _Asset] = {}
        self.problems: list[str] = []
        self._advice = advice
        for package in pins["packages"]:
            self._take(package, candidates.get(package["package"], []))

    @classmethod
    def load(cls, node_modules: Path | None = None, fetch: bool = True,
             say: Callable[[str], None] = _stderr) -> "RuntimeAssets":
        """The pinned assets: from ``$MUGKIT_ASSETS`` only when it is set; else from
        ``node_modules`` (default :func:`find_node_modules`) or the cache, downloading into the
        cache what neither holds (unless ``fetch`` is false)."""
        pins = read_pins()
        folder = os.environ.get(ASSETS_ENV)
        if folder:
            return cls.in_folder(folder, pins)
        node_modules = node_modules if node_modules is not None else find_node_modules()
        cache = cache_dir()
        candidates = {pin["package"]: ([node_modules / pin["package"] / pin["dir"]] if node_modules else [])
                      + [cache / pin["package"] / pin["version"]] for pin in pins["packages"]}
        assets = cls(pins, candidates, _offline_advice(cache))
        return assets.download_missing(cache, say) if fetch and assets.problems else assets

    @classmethod
    def in_folder(cls, folder: str | Path, pins: dict | None = None, advice: str | None = None) -> "RuntimeAssets":
        """The pinned assets from ``folder`` only (``--assets DIR``): nothing is downloaded."""
        pins = pins or read_pins()
        root = Path(folder).expanduser().resolve()
        advice = advice or (f"Fill that folder with `mugkit assets fetch --into {folder}` on a machine with internet, and copy "
                  f"it here (`serve` and `check` never download into a folder given by --assets or {ASSETS_ENV})")
        return cls(pins, {p["package"]: [root / p["package"] / p["version"]] for p in pins["packages"]}, advice)

    def download_missing(self, root: Path, say: Callable[[str], None] = _stderr) -> "RuntimeAssets":
        """Downloads the packages not found intact into ``root`` (``root/<package>/<version>/``)
        and takes them from there; :attr:`problems` then lists only what failed. Returns self."""
        missing = [p for p in self._pins if not any(k[0] == p for k in self._assets)]
        self.problems = []
        for package in missing:
            pin = self._pins[package]
            try:
                folder = npm.download(pin, root, say)
            except npm.FetchError as exc:
                self.problems.append(f"{package} {pin['version']}: {exc}")
                continue
            except OSError as exc:  # the cache cannot be written (full disk, read-only home)
                self.problems.append(f"{package} {pin['version']}: could not write {root}: {exc}")
                continue
            self._take(pin, [folder])
        return self

    def _take(self, package: dict, candidates: list[Path]) -> None:
        """The package's files from the first candidate folder holding them all intact; else the
        first folder's problem."""
        problems = []
        for base in candidates:
            found, problem = _check_folder(package, base)
            if problem is None:
                self._assets.update({(package["package"], package["version"], f): a for f, a in found.items()})
                return
            problems.append(problem)
        self.problems.append(problems[0] if problems else f"{package['package']}: no folder to look in")

    def require(self) -> None:
        """Raises :class:`RuntimeAssetError` unless every pinned file is present and intact."""
        if self.problems:
            raise RuntimeAssetError("the browser runtime's files (Pyodide, onnxruntime-web) are not available:\n  "
                                    + "\n  ".join(self.problems[:6]) + "\n" + self._advice)

    def url(self, package: str) -> str:
        """The folder URL of ``package`` (ends with ``/``)."""
        return f"/runtime/{package}/{self.versions[package]}/"

    def path(self, package: str, version: str, file: str) -> Path | None:
        """The checked file behind a ``/runtime/<package>/<version>/<file>`` URL, or None."""
        asset = self._assets.get((package, version, file))
        return None if asset is None else asset.path

    def folder(self, package: str) -> Path | None:
        """The folder ``package``'s checked files are served from, or None."""
        for (name, _, _), asset in self._assets.items():
            if name == package:
                return asset.path.parent
        return None

    def sizes(self, package: str) -> dict[str, int]:
        """Bytes per file of ``package`` (the loading screen's totals)."""
        return {k[2]: a.bytes for k, a in self._assets.items() if k[0] == package}


def _check_folder(package: dict, base: Path) -> tuple[dict[str, _Asset], str | None]:
    """The package's files in ``base``, each checked against its pin, and the first problem (None
    when every file is there and intact)."""
    name, version = package["package"], package["version"]
    found = {}
    for f in package["files"]:
        path = base / f["file"]
        if not path.is_file():
            return {}, f"{name} {version}: {f['file']} is missing (looked in {base})"
        if path.stat().st_size != f["bytes"] or _sha256(path) != f["sha256"]:
            return {}, f"{name}: {path} is not the pinned {version} (its SHA-256 differs)"
        found[f["file"]] = _Asset(path, f["sha256"], f["bytes"])
    return found, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
