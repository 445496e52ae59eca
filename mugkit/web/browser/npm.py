"""Fetching one pinned npm package's runtime files from the npm registry, with no npm.

:func:`download` gets the package's tarball (``https://registry.npmjs.org/<name>/-/<name>-<version>.tgz``,
or the registry ``$MUGKIT_NPM_REGISTRY`` names), checks it against the ``integrity`` (SHA-512)
that package-lock.json recorded and ``pins.json`` ships inside mugkit, and unpacks only the files
the browser loads — each checked against its own SHA-256 — into ``<root>/<name>/<version>/``. The
folder appears whole or not at all (unpacked beside it, then renamed), so an interrupted download
leaves nothing half-written behind.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

__all__ = ["download", "registry", "tarball_url", "FetchError", "REGISTRY_ENV", "DEFAULT_REGISTRY"]

DEFAULT_REGISTRY = "https://registry.npmjs.org/"
#: Another registry with the same tarballs (a company mirror); the integrity check still applies.
REGISTRY_ENV = "MUGKIT_NPM_REGISTRY"
#: Seconds without a byte before a download is given up.
TIMEOUT = 60


class FetchError(Exception):
    """A pinned package could not be downloaded, or what came is not what package-lock.json pinned."""


def registry() -> str:
    """The registry's base URL (ends with ``/``)."""
    base = os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
    return base if base.endswith("/") else base + "/"


def tarball_url(pin: dict) -> str:
    """Where ``pin``'s tarball is (``pin["tarball"]`` is its path on any npm registry)."""
    return registry() + pin["tarball"]


def download(pin: dict, root: Path, say: Callable[[str], None] = print) -> Path:
    """Downloads ``pin`` (an entry of pins.json) and unpacks its files into ``root/<name>/<version>/``.

    Returns:
        That folder.

    Raises:
        FetchError: the registry cannot be reached, or the tarball or a file differs from its pin.
    """
    url = tarball_url(pin)
    name, version = pin["package"], pin["version"]
    say(f"mugkit: fetching the browser runtime's {name} {version}, once: {url} -> {root} (checked against its "
        f"pinned hash; {_megabytes(pin)} MB kept)")
    final = root / name / version
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as tarball:
        _fetch(url, tarball, pin["integrity"])
        tarball.seek(0)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=final.parent))
        try:
            _unpack(tarball, pin, staging)
            if final.exists():
                shutil.rmtree(final)  # a folder that failed its check: replaced whole
            try:
                os.replace(staging, final)
            except OSError:
                if not final.is_dir():
                    raise
                # Another process (a second server, a check) put the pinned files there meanwhile;
                # the caller checks them like any other.
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return final


def _fetch(url: str, out, integrity: str) -> None:
    """Streams ``url`` into the file ``out``, checking the SRI ``integrity`` (``sha512-<base64>``)."""
    algorithm, _, expected = integrity.partition("-")
    digest = hashlib.new(algorithm)
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(f"could not download {url} ({reason})") from None
    if base64.b64encode(digest.digest()).decode() != expected:
        raise FetchError(f"{url} is not the pinned tarball: its {algorithm} differs from package-lock.json's "
                         f"integrity (a proxy or mirror changed it?); nothing was kept")


def _unpack(tarball, pin: dict, into: Path) -> None:
    """Writes the files ``pin`` lists from the tarball into ``into`` (read member by member, never
    extracted by the archive's own paths), each checked against its SHA-256."""
    wanted = {"/".join(p for p in (pin["dir"], f["file"]) if p): f for f in pin["files"]}
    found = set()
    with tarfile.open(fileobj=tarball, mode="r:gz") as archive:
        for member in archive:
            inner = member.name.split("/", 1)[-1]  # npm tarballs hold one top folder, usually package/
            entry = wanted.get(inner)
            if entry is None or not member.isfile():
                continue
            data = archive.extractfile(member).read()
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise FetchError(f"{pin['package']} {pin['version']}: {inner} in the tarball differs from its pin")
            (into / entry["file"]).write_bytes(data)
            found.add(inner)
    missing = sorted(set(wanted) - found)
    if missing:
        raise FetchError(f"{pin['package']} {pin['version']}: the tarball lacks {', '.join(missing)}")


def _megabytes(pin: dict) -> str:
    return f"{sum(f['bytes'] for f in pin['files']) / 1e6:.1f}"
