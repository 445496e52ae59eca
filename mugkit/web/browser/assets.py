"""The browser runtime's large pinned assets — Pyodide and onnxruntime-web — served by our own
server from the npm packages installed next to the project (``node_modules/``).

They are too large to travel in the repository or the wheel (Pyodide alone is 14 MB), so
``npm ci`` installs the exact versions package.json pins, and ``scripts/vendor_assets.py``
records the SHA-256 of every file the browser needs in ``vendor/runtime.json``. The server checks
each file against that record once, at start, and serves only those files, at
``/runtime/<package>/<version>/<file>`` with long-lived immutable caching: a version's URL never
changes meaning, so a participant's second game (or a reload) loads from the browser cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ...paths import MUGKIT_DIR

__all__ = ["RuntimeAssets", "RuntimeAssetError", "MANIFEST", "CONTENT_TYPES", "find_node_modules"]

MANIFEST = Path(MUGKIT_DIR) / "web" / "static" / "vendor" / "runtime.json"
CONTENT_TYPES = {".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                 ".json": "application/json", ".zip": "application/zip", ".whl": "application/zip"}
#: Cache-Control of content-pinned URLs (a year; never revalidated).
IMMUTABLE = "public, max-age=31536000, immutable"


class RuntimeAssetError(Exception):
    """A pinned runtime asset is missing or differs from its recorded hash; the message says how
    to install it."""


@dataclass(frozen=True)
class _Asset:
    path: Path
    sha256: str
    bytes: int


def find_node_modules() -> Path | None:
    """Where the npm packages are: ``$MUGKIT_NODE_MODULES``, else ``node_modules`` in the working
    directory, else next to the mugkit package (a checkout of the repository)."""
    candidates = [os.environ.get("MUGKIT_NODE_MODULES"), os.path.join(os.getcwd(), "node_modules"),
                  os.path.join(os.path.dirname(MUGKIT_DIR), "node_modules")]
    for c in candidates:
        if c and os.path.isdir(c):
            return Path(c)
    return None


class RuntimeAssets:
    """The pinned runtime files, checked and ready to serve.

    Attributes:
        versions: npm package → pinned version.
    """

    def __init__(self, manifest: dict, node_modules: Path | None):
        self.versions = {p["package"]: p["version"] for p in manifest["packages"]}
        self._assets: dict[tuple[str, str, str], _Asset] = {}
        self.problems: list[str] = []
        for package in manifest["packages"]:
            self._add(package, node_modules)

    @classmethod
    def load(cls, node_modules: Path | None = None) -> "RuntimeAssets":
        """The assets of :data:`MANIFEST`, looked for in ``node_modules`` (default:
        :func:`find_node_modules`)."""
        manifest = json.loads(MANIFEST.read_text())
        return cls(manifest, node_modules if node_modules is not None else find_node_modules())

    def _add(self, package: dict, node_modules: Path | None) -> None:
        name, version = package["package"], package["version"]
        base = None if node_modules is None else node_modules / name / package.get("dir", "")
        for f in package["files"]:
            path = None if base is None else base / f["file"]
            if path is None or not path.is_file():
                self.problems.append(f"{name} {version}: {f['file']} is missing (looked in "
                                     f"{base or 'no node_modules folder'})")
                continue
            digest = _sha256(path)
            if digest != f["sha256"]:
                self.problems.append(f"{name}: {path} is not the pinned {version} (its SHA-256 differs)")
                continue
            self._assets[(name, version, f["file"])] = _Asset(path, digest, f["bytes"])

    def require(self) -> None:
        """Raises :class:`RuntimeAssetError` unless every pinned file is present and intact."""
        if self.problems:
            raise RuntimeAssetError("the browser runtime's files are not installed as pinned:\n  "
                                    + "\n  ".join(self.problems[:6])
                                    + "\nInstall them with `npm ci` in the project folder (./dev does it), or "
                                      "point MUGKIT_NODE_MODULES at a node_modules folder holding them")

    def url(self, package: str) -> str:
        """The folder URL of ``package`` (ends with ``/``)."""
        return f"/runtime/{package}/{self.versions[package]}/"

    def path(self, package: str, version: str, file: str) -> Path | None:
        """The checked file behind a ``/runtime/<package>/<version>/<file>`` URL, or None."""
        asset = self._assets.get((package, version, file))
        return None if asset is None else asset.path

    def sizes(self, package: str) -> dict[str, int]:
        """Bytes per file of ``package`` (the loading screen's totals)."""
        return {k[2]: a.bytes for k, a in self._assets.items() if k[0] == package}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
