"""The browser client's vendored assets: pinned in package.json and package-lock.json, copied by
scripts/vendor_assets.py, each file's SHA-384 in the manifest and in the page template's
`integrity` attributes; nothing loaded from another origin; everything in the wheel. The browser
runtime's pins (pins.json) agree with package-lock.json."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "mugkit" / "web" / "static"
VENDOR = STATIC / "vendor"
TEMPLATE = ROOT / "mugkit" / "web" / "templates" / "page.html"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())


def sri(path: Path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def test_every_vendored_file_matches_its_manifest_hash_and_size():
    assert MANIFEST["files"], "the manifest lists no files"
    for entry in MANIFEST["files"]:
        path = VENDOR / entry["file"]
        assert path.is_file(), f"vendor/{entry['file']} is missing"
        assert sri(path) == entry["integrity"], f"vendor/{entry['file']} was changed after vendoring"
        assert path.stat().st_size == entry["bytes"]


def test_the_vendor_folder_holds_only_the_manifests_files():
    listed = {e["file"] for e in MANIFEST["files"]} | {"manifest.json"}
    assert {p.name for p in VENDOR.iterdir()} == listed


def test_the_browser_runtime_files_are_served_only_as_pinned(tmp_path):
    """Pyodide and onnxruntime-web come from node_modules here (./dev runs npm ci), checked against
    mugkit/web/browser/pins.json: a file that differs is refused with what to do, and only pinned
    files are served."""
    from mugkit.web.browser.assets import PINS, RuntimeAssetError, RuntimeAssets, find_node_modules

    assets = RuntimeAssets.load(fetch=False)
    assets.require()
    version = assets.versions["pyodide"]
    assert assets.path("pyodide", version, "pyodide.asm.wasm").is_file()
    assert assets.path("pyodide", version, "package.json") is None  # present on disk, not pinned: not served
    assert assets.path("pyodide", "0.0.1", "pyodide.asm.wasm") is None
    pins = json.loads(PINS.read_text())
    fake = tmp_path / "node_modules" / "pyodide"
    fake.mkdir(parents=True)
    for f in pins["packages"][0]["files"]:
        (fake / f["file"]).write_bytes(b"not the pinned file")
    broken = RuntimeAssets(pins, {"pyodide": [fake]}, advice="run npm ci")
    with pytest.raises(RuntimeAssetError, match=f"pyodide: .*pyodide.mjs is not the pinned {version}"):
        broken.require()
    assert find_node_modules() is not None


def test_the_runtime_pins_are_package_locks():
    """pins.json (in the package) repeats package-lock.json's versions and tarball integrity: one
    source of truth, checked here."""
    pins = json.loads((ROOT / "mugkit" / "web" / "browser" / "pins.json").read_text())
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert [p["package"] for p in pins["packages"]] == ["pyodide", "onnxruntime-web"]
    for p in pins["packages"]:
        lock = locked[f"node_modules/{p['package']}"]
        assert p["version"] == lock["version"] == pinned[p["package"]], p["package"]
        assert p["integrity"] == lock["integrity"] and p["integrity"].startswith("sha512-"), p["package"]
        assert p["tarball"] == f"{p['package']}/-/{p['package']}-{p['version']}.tgz"
        assert p["files"] and all(len(f["sha256"]) == 64 and f["bytes"] > 0 for f in p["files"])


def test_versions_are_pinned_exactly_and_match_the_lockfile():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]
    assert locked[""]["dependencies"] == pinned
    for entry in MANIFEST["files"]:
        package, version = entry["package"], entry["version"]
        assert re.fullmatch(r"\d+\.\d+\.\d+", pinned[package]), f"{package} is not pinned exactly"
        assert pinned[package] == version, f"{package}: package.json pins {pinned[package]}, vendored {version}"
        assert locked[f"node_modules/{package}"]["version"] == version
    assert {e["package"] for e in MANIFEST["files"]} == {"socket.io-client", "survey-core", "survey-js-ui"}
    assert pinned["socket.io-client"].startswith("4.8.")
    assert pinned["survey-core"] == pinned["survey-js-ui"]      # survey-js-ui requires its own survey-core


def test_the_vendored_files_are_the_builds_their_banners_name():
    for entry in MANIFEST["files"]:
        if entry["file"].endswith((".js", ".css")):
            head = (VENDOR / entry["file"]).read_text(encoding="utf-8", errors="replace")[:400]
            assert entry["version"] in head, f"vendor/{entry['file']}: version {entry['version']} not in its banner"


def template_assets() -> dict[str, str]:
    """/static/vendor/<file> -> the integrity attribute the template gives it."""
    page = TEMPLATE.read_text()
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page)
    out = {}
    for tag in tags:
        m = re.search(r'(?:src|href)="/static/vendor/([^"]+)"', tag)
        if m:
            integrity = re.search(r'integrity="([^"]+)"', tag)
            out[m.group(1)] = integrity.group(1) if integrity else None
    return out


def test_the_template_loads_every_vendored_script_and_stylesheet_with_its_integrity():
    assets = template_assets()
    hashes = {e["file"]: e["integrity"] for e in MANIFEST["files"]}
    loadable = {f for f in hashes if f.endswith((".js", ".css"))}
    assert set(assets) == loadable
    for name, integrity in assets.items():
        assert integrity == hashes[name] == sri(VENDOR / name), name


def test_the_template_has_its_two_placeholders_and_no_template_syntax():
    page = TEMPLATE.read_text()
    assert "__EXPERIMENT__" in page and "__TITLE__" in page
    assert "{{" not in page and "{%" not in page
    assert re.search(r'<script type="module" src="/static/client/main\.js"></script>', page)


def client_files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file() and VENDOR not in p.parents)


def test_nothing_is_loaded_from_another_origin():
    """No http(s) or protocol-relative URL in the template, the client or its stylesheet."""
    for path in [TEMPLATE, *client_files()]:
        text = path.read_text()
        found = re.findall(r"https?://\S+|(?:src|href)\s*=\s*[\"']//\S+|url\(\s*[\"']?//\S+", text, re.I)
        assert not found, f"{path.relative_to(ROOT)} references {found}"


def test_the_client_is_plain_modules_without_a_build_step():
    scripts = [p for p in client_files() if p.suffix == ".js"]
    assert scripts
    for path in scripts:
        text = path.read_text()
        for spec in re.findall(r'^\s*import\b[^"\']*["\']([^"\']+)["\']', text, re.M):
            assert spec.startswith("."), f"{path.name} imports {spec!r}: only relative module paths (no bundler)"
            assert (path.parent / spec).resolve().is_file(), f"{path.name} imports {spec}, which does not exist"


def test_the_static_files_and_the_template_travel_in_the_wheel():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = data["tool"]["setuptools"]["package-data"]["mugkit"]
    assert "web/templates/*.html" in patterns
    assert any(p.startswith("web/static/") for p in patterns)
    covered = set()
    for pattern in patterns:
        covered |= {p for p in (ROOT / "mugkit").glob(pattern) if p.is_file()}
    missing = [str(p.relative_to(ROOT)) for p in [TEMPLATE, *client_files(), *VENDOR.iterdir()] if p not in covered]
    assert not missing, f"not in package-data: {missing}"


def test_the_vendoring_script_finds_everything_up_to_date():
    if not (ROOT / "node_modules" / "socket.io-client" / "package.json").exists():
        pytest.skip("node_modules not installed (npm ci)")
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "vendor_assets.py"), "--check"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
