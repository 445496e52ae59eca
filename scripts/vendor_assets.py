#!/usr/bin/env python3
"""Copy the browser client's third-party assets from node_modules into mugkit/web/static/vendor/.

The participant's page loads socket.io-client and SurveyJS from mugkit's own server, never from a
CDN, so the files travel in the wheel (committed here; a wheel is built without npm). Versions are
pinned exactly in package.json; this script copies the files of the installed versions, writes
``mugkit/web/static/vendor/manifest.json`` (package, version, source, file, bytes and the SHA-384
SRI hash of each file) and puts those hashes into the ``integrity`` attributes of
``mugkit/web/templates/page.html``. It also writes ``mugkit/web/browser/pins.json``: the browser
runtime's packages (Pyodide, onnxruntime-web), each with its tarball's ``integrity`` from
package-lock.json and the SHA-256 of each file the browser loads. package-lock.json is the one
source of the pins; an installed mugkit fetches those tarballs and checks them against pins.json.

Usage (from the repository root, after ``npm ci``)::

    python scripts/vendor_assets.py           # copy, write the manifest, update the template
    python scripts/vendor_assets.py --check   # change nothing; exit 1 if anything is out of date

To upgrade: change the exact versions in package.json, ``npm install``, run this script, commit
package.json, package-lock.json, the vendored files, the manifest, pins.json and the template
together.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "mugkit" / "web" / "static" / "vendor"
TEMPLATE = ROOT / "mugkit" / "web" / "templates" / "page.html"
MANIFEST = VENDOR / "manifest.json"

#: (npm package, file inside the package, name under vendor/). Order is the manifest's order.
ASSETS = [
    # The browser build (UMD, defines the global `io`): engine.io and the parser are bundled in.
    ("socket.io-client", "dist/socket.io.min.js", "socket.io.min.js"),
    ("socket.io-client", "LICENSE", "socket.io-client.LICENSE"),
    # SurveyJS: the model (UMD, global `Survey`) and the vanilla-JS UI (global `SurveyUI`, Preact
    # bundled in). The "fontless" stylesheet is the default theme without its Google Fonts
    # @font-face rules (the only external URLs in survey-core.css); the page sets its own fonts.
    ("survey-core", "survey.core.min.js", "survey.core.min.js"),
    ("survey-js-ui", "survey-js-ui.min.js", "survey-js-ui.min.js"),
    ("survey-core", "survey-core.fontless.min.css", "survey-core.fontless.min.css"),
]

#: The browser runtime's large assets, not vendored (27 MB): their pins — version, the tarball's
#: integrity from package-lock.json, the SHA-256 of each file the browser loads — go into
#: mugkit/web/browser/pins.json, from which an installed mugkit fetches and checks them
#: (mugkit/web/browser/assets.py). (npm package, folder inside it, files the browser loads.)
RUNTIME = [
    ("pyodide", "", ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip",
                     "pyodide-lock.json"]),
    # The wasm-only build, one thread (mugkit/web/static/client/runtime/onnx.js says why).
    ("onnxruntime-web", "dist", ["ort.wasm.bundle.min.mjs", "ort-wasm-simd-threaded.wasm"]),
]
PINS = ROOT / "mugkit" / "web" / "browser" / "pins.json"


def sri(data: bytes) -> str:
    """The Subresource Integrity value of ``data``: ``sha384-`` and the base64 digest."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def pinned_versions() -> dict[str, str]:
    """package.json's dependencies, which must all be exact versions."""
    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    loose = {p: v for p, v in deps.items() if not re.fullmatch(r"\d+\.\d+\.\d+", v)}
    if loose:
        raise SystemExit(f"package.json must pin exact versions, found ranges: {loose}")
    return deps


def locked_versions() -> dict[str, str]:
    """Top-level package versions in package-lock.json."""
    packages = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    return {k.removeprefix("node_modules/"): v["version"] for k, v in packages.items()
            if k.startswith("node_modules/") and "/node_modules/" not in k[len("node_modules/"):]}


def build_manifest() -> tuple[dict, dict[str, bytes]]:
    """The manifest and the bytes of each vendored file, read from node_modules."""
    pinned, locked = pinned_versions(), locked_versions()
    files, contents = [], {}
    for package, source, name in ASSETS:
        if package not in pinned:
            raise SystemExit(f"{package} is not a dependency in package.json")
        installed = NODE_MODULES / package / "package.json"
        if not installed.exists():
            raise SystemExit(f"{package} is not installed: run `npm ci` first")
        version = json.loads(installed.read_text())["version"]
        if version != pinned[package] or locked.get(package) != pinned[package]:
            raise SystemExit(f"{package}: package.json pins {pinned[package]}, package-lock.json has "
                             f"{locked.get(package)}, node_modules has {version}: run `npm ci`")
        data = (NODE_MODULES / package / source).read_bytes()
        contents[name] = data
        files.append({"package": package, "version": version, "source": source, "file": name,
                      "bytes": len(data), "integrity": sri(data)})
    manifest = {
        "about": "Third-party browser assets vendored by scripts/vendor_assets.py from npm "
                 "(versions pinned in package.json). Do not edit by hand.",
        "files": files,
    }
    return manifest, contents


def locked_integrity() -> dict[str, str]:
    """Top-level package -> the ``integrity`` (sha512 of its tarball) package-lock.json records."""
    packages = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    return {k.removeprefix("node_modules/"): v["integrity"] for k, v in packages.items()
            if k.startswith("node_modules/") and "integrity" in v}


def tarball_path(package: str, version: str) -> str:
    """The tarball's path on an npm registry (``@scope/name/-/name-1.0.0.tgz`` for a scoped one)."""
    return f"{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"


def build_pins() -> dict:
    """pins.json: per runtime package its version and tarball integrity (from package-lock.json)
    and the bytes and SHA-256 of each file the browser loads (read from node_modules)."""
    pinned, locked, integrity = pinned_versions(), locked_versions(), locked_integrity()
    packages = []
    for package, folder, names in RUNTIME:
        base = NODE_MODULES / package / folder
        version = json.loads((NODE_MODULES / package / "package.json").read_text())["version"]
        if not (version == pinned.get(package) == locked.get(package)):
            raise SystemExit(f"{package}: package.json pins {pinned.get(package)}, package-lock.json has "
                             f"{locked.get(package)}, node_modules has {version}: run `npm ci`")
        files = [{"file": n, "bytes": (base / n).stat().st_size,
                  "sha256": hashlib.sha256((base / n).read_bytes()).hexdigest()} for n in names]
        packages.append({"package": package, "version": version, "tarball": tarball_path(package, version),
                         "integrity": integrity[package], "dir": folder, "files": files})
    return {"about": "The browser runtime's pinned npm packages and the files of each it serves, written by "
                     "scripts/vendor_assets.py from package-lock.json and node_modules. Do not edit by hand.",
            "packages": packages}


_TAG = re.compile(r'<(?:script|link)\b[^>]*?(?:src|href)="/static/vendor/([^"]+)"[^>]*>')
_INTEGRITY = re.compile(r'integrity="[^"]*"')


def template_with_hashes(template: str, manifest: dict) -> str:
    """``template`` with each vendored asset's ``integrity`` attribute set from the manifest."""
    hashes = {f["file"]: f["integrity"] for f in manifest["files"]}

    def fix(match: re.Match) -> str:
        tag, name = match.group(0), match.group(1)
        if name not in hashes:
            raise SystemExit(f"{TEMPLATE.relative_to(ROOT)} loads /static/vendor/{name}, "
                             f"which is not vendored")
        if not _INTEGRITY.search(tag):
            raise SystemExit(f"{TEMPLATE.relative_to(ROOT)}: the tag for {name} has no integrity attribute")
        return _INTEGRITY.sub(f'integrity="{hashes[name]}"', tag)

    return _TAG.sub(fix, template)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when out of date")
    args = parser.parse_args(argv)

    manifest, contents = build_manifest()
    manifest_text = json.dumps(manifest, indent=2) + "\n"
    template = TEMPLATE.read_text()
    new_template = template_with_hashes(template, manifest)

    pins_text = json.dumps(build_pins(), indent=2) + "\n"
    stale = [name for name, data in contents.items()
             if not (VENDOR / name).exists() or (VENDOR / name).read_bytes() != data]
    if not MANIFEST.exists() or MANIFEST.read_text() != manifest_text:
        stale.append(MANIFEST.name)
    if new_template != template:
        stale.append(str(TEMPLATE.relative_to(ROOT)))
    if not PINS.exists() or PINS.read_text() != pins_text:
        stale.append(str(PINS.relative_to(ROOT)))
    expected = set(contents) | {MANIFEST.name}
    extra = sorted(p.name for p in VENDOR.iterdir() if p.name not in expected) if VENDOR.exists() else []

    if args.check:
        for name in stale:
            print(f"out of date: {name}")
        for name in extra:
            print(f"not in the manifest: vendor/{name}")
        return 1 if stale or extra else 0

    VENDOR.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (VENDOR / name).write_bytes(data)
    MANIFEST.write_text(manifest_text)
    TEMPLATE.write_text(new_template)
    PINS.write_text(pins_text)
    for name in extra:
        (VENDOR / name).unlink()
        print(f"removed vendor/{name}")
    for f in manifest["files"]:
        print(f"{f['package']}@{f['version']} {f['source']} -> vendor/{f['file']} ({f['bytes']:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
