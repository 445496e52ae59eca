"""The wheels the browser runtime installs: mugkit's pure-Python runtime, the experiment's own
folder, and the pure-Python ``packages=`` a step names — built by the server from the very files
it runs, so the browser runs exactly the server's versions.

Each wheel is built reproducibly (sorted entries, fixed timestamps) and served under the SHA-256
of its bytes (``/runtime/wheels/<sha256>/<file name>``): a URL never changes meaning, so it is
cached for good, and the browser checks the bytes against the hash in the URL.

- **mugkit**: every module of the ``mugkit`` package except the server (``mugkit/web``).
- **the experiment**: only the files one browser step needs — the modules its experiment imports,
  its ``mk.Onnx`` models and the files it declares (:mod:`mugkit.web.browser.shipping` chooses them and
  :mod:`mugkit.web.browser.public_files` refuses secrets and data). In Pyodide it is unpacked into a
  study folder, not ``site-packages``, so that the module loads from the same relative paths as
  on the server (``mk.Onnx("models/chaser.onnx")`` finds its file).
- **packages**: ``packages=("chess==1.11.2",)`` names pinned requirements. One that Pyodide
  builds itself (numpy …: listed in Pyodide's lock file) loads from the Pyodide package base URL;
  any other must be installed on the server in exactly that version and be pure Python: its
  installed files are packed into a wheel, and its dependencies are resolved the same way.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from typing import Iterable

from ...paths import MUGKIT_DIR
from .public_files import public_path, refusal

__all__ = ["Wheel", "WheelError", "BrowserBundle", "mugkit_wheel", "experiment_wheel", "package_wheels",
           "build_wheel"]
#: Largest experiment wheel, in bytes: participants download it before the game starts.
MAX_EXPERIMENT_BYTES = 64 * 1024 * 1024
_DATE = (1980, 1, 1, 0, 0, 0)
_WHEEL_META = "Wheel-Version: 1.0\nGenerator: mugkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


class WheelError(Exception):
    """A wheel cannot be built or a package cannot be served to the browser; the message says
    what to change."""


@dataclass(frozen=True)
class Wheel:
    """One built wheel: its file name, bytes and SHA-256 (hex)."""

    filename: str
    data: bytes
    sha256: str
    kind: str  # "mugkit", "experiment" or "package"

    @property
    def url(self) -> str:
        """Where the server serves it (content-addressed)."""
        return f"/runtime/wheels/{self.sha256}/{self.filename}"

    @property
    def integrity(self) -> str:
        """The Subresource Integrity value of its bytes (``fetch(url, {integrity})``)."""
        return "sha256-" + base64.b64encode(hashlib.sha256(self.data).digest()).decode()

    def describe(self) -> dict:
        """What the browser needs to fetch and install it."""
        return {"url": self.url, "file": self.filename, "bytes": len(self.data), "integrity": self.integrity,
                "kind": self.kind}


@dataclass
class BrowserBundle:
    """What one browser-runtime step installs: its wheels (mugkit first), the Pyodide packages it
    loads from the package base URL, and where its module lies inside the experiment wheel."""

    wheels: list[Wheel]
    pyodide_packages: list[str] = field(default_factory=list)
    module_path: str = ""   # the experiment module, relative to the unpacked experiment folder
    #: The experiment wheel's files: path → (bytes, why it ships: "module", "model", "declared").
    shipped: dict = field(default_factory=dict)
    #: Files under a declared folder that never ship: path → why.
    left_out: dict = field(default_factory=dict)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def build_wheel(name: str, version: str, files: dict[str, bytes], kind: str) -> Wheel:
    """A pure-Python wheel of ``files`` (archive path → bytes), built reproducibly."""
    dist = f"{_normalize(name)}-{version}"
    info = f"{dist}.dist-info"
    entries = dict(files)
    entries[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    entries[f"{info}/WHEEL"] = _WHEEL_META.encode()
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in sorted(entries.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        writer.writerow([path, f"sha256={digest}", len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    entries[f"{info}/RECORD"] = record.getvalue().encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(entries):
            item = zipfile.ZipInfo(path, _DATE)
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o644 << 16
            zf.writestr(item, entries[path])
    data = buffer.getvalue()
    return Wheel(f"{dist}-py3-none-any.whl", data, hashlib.sha256(data).hexdigest(), kind)


def _read_tree(root: str, prefix: str, keep) -> dict[str, bytes]:
    out = {}
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if keep(d, True))
        for name in sorted(names):
            if keep(name, False):
                path = os.path.join(folder, name)
                out[prefix + os.path.relpath(path, root).replace(os.sep, "/")] = _read(path)
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def mugkit_wheel() -> Wheel:
    """mugkit's own modules without the server: what an experiment imports in the browser."""
    from ... import __version__

    def keep(name: str, is_dir: bool) -> bool:
        if is_dir:
            return name not in {"web", "__pycache__"}
        return name.endswith(".py")

    return build_wheel("mugkit", __version__, _read_tree(MUGKIT_DIR, "mugkit/", keep), "mugkit")


def experiment_wheel(basedir: str, module_name: str, files: Iterable[str]) -> Wheel:
    """A wheel of ``files`` (paths relative to ``basedir``, the folder the experiment module is
    imported from), as :func:`mugkit.web.browser.shipping.step_files` chose them. Each is checked against
    :func:`mugkit.web.browser.public_files.refusal` again as it is read.

    Raises:
        WheelError: a file may not leave the server, or the files are larger than
            :data:`MAX_EXPERIMENT_BYTES`.
    """
    contents = {}
    for rel in files:
        path = public_path(basedir, rel)
        if path is None:
            raise WheelError(f"{rel} may not be shipped to browsers: {refusal(basedir, rel)}")
        contents[rel] = _read(path)
    size = sum(len(v) for v in contents.values())
    if size > MAX_EXPERIMENT_BYTES:
        biggest = sorted(contents, key=lambda k: -len(contents[k]))[:3]
        raise WheelError(f"{basedir}: {size / 1e6:.0f} MB of files would go to every participant's browser "
                         f"(largest: {', '.join(biggest)}); ship only what the browser needs")
    digest = hashlib.sha256(b"".join(k.encode() + v for k, v in sorted(contents.items()))).hexdigest()[:12]
    return build_wheel(f"mugkit-study-{module_name}", f"0+{digest}", contents, "experiment")


def _pyodide_lock_packages(lock: dict | None) -> dict[str, str]:
    """Pyodide's own packages: normalized name → version."""
    if not lock:
        return {}
    return {_normalize(k): v.get("version", "") for k, v in lock.get("packages", {}).items()}


def package_wheels(requirements: Iterable[str], pyodide_lock: dict | None) -> tuple[list[Wheel], list[str]]:
    """Wheels of the pure-Python ``requirements`` and their dependencies, and the names of the
    Pyodide-built packages among them (loaded from the package base URL).

    Raises:
        WheelError: a requirement is not installed on the server in the pinned version, or is not
            pure Python and not one of Pyodide's packages.
    """
    pyodide = _pyodide_lock_packages(pyodide_lock)
    wheels: list[Wheel] = []
    native: list[str] = []
    seen: set = set()
    todo = [(r, None) for r in requirements]
    while todo:
        requirement, wanted_by = todo.pop(0)
        name, version = _split(requirement)
        key = _normalize(name)
        if key in seen:
            continue
        seen.add(key)
        if key in pyodide:
            native.append(name)
            continue
        dist = _installed(name, version, wanted_by)
        wheels.append(_repack(dist))
        todo.extend((dep, name) for dep in _browser_dependencies(dist))
    return wheels, native


def _split(requirement: str) -> tuple[str, str | None]:
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;,]+))?.*", requirement)
    if not match:
        raise WheelError(f"packages: cannot read the requirement {requirement!r}; write it as 'name==version'")
    return match.group(1), match.group(2)


def _installed(name: str, version: str | None, wanted_by: str | None) -> metadata.Distribution:
    why = f" (needed by {wanted_by})" if wanted_by else ""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        pin = f"=={version}" if version else ""
        raise WheelError(f"packages: {name}{why} is not installed on the server, so it cannot be served to the "
                         f"browser: pip install '{name}{pin}' into the server's Python") from None
    if version is not None and dist.version != version:
        raise WheelError(f"packages: {name}=={version}{why} is pinned but the server has {name} {dist.version}: "
                         f"install the pinned version, or pin {dist.version}")
    return dist


def _repack(dist: metadata.Distribution) -> Wheel:
    """The installed files of a pure-Python distribution as a wheel."""
    name = dist.metadata["Name"]
    files = {}
    for entry in dist.files or []:
        path = str(entry).replace(os.sep, "/")
        if path.startswith("..") or ".dist-info/" in path or "__pycache__" in path or path.endswith(".pyc"):
            continue
        if path.endswith((".so", ".pyd", ".dylib", ".dll")):
            raise WheelError(f"packages: {name} {dist.version} has compiled code ({path}) and is not one of "
                             f"Pyodide's packages, so the browser cannot load it; use a pure-Python package")
        files[path] = _read(str(entry.locate()))
    if not files:
        raise WheelError(f"packages: {name} {dist.version} lists no installed files to serve")
    return build_wheel(name, dist.version, files, "package")


def _browser_dependencies(dist: metadata.Distribution) -> list[str]:
    """The distribution's requirements that apply in Pyodide (emscripten, no extras)."""
    out = []
    for req in dist.requires or []:
        requirement, _, marker = req.partition(";")
        if marker and not _marker_applies(marker):
            continue
        name, _ = _split(requirement)
        out.append(name)
    return out


def _marker_applies(marker: str) -> bool:
    try:
        from packaging.markers import Marker
    except ImportError:  # without packaging: skip extras, keep the rest
        return "extra" not in marker
    env = {"sys_platform": "emscripten", "platform_system": "Emscripten", "os_name": "posix",
           "platform_machine": "wasm32", "python_version": "3.14", "python_full_version": "3.14.2",
           "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
    try:
        return Marker(marker.strip()).evaluate(env)
    except Exception:
        return False
