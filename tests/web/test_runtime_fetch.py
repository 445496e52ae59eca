"""The browser runtime's pinned files (Pyodide, onnxruntime-web) without a project folder: fetched
once from the npm registry into the user's cache, checked against pins.json; `mugkit assets fetch
--into DIR` and `serve --assets DIR` for labs without internet; a clear error naming the command
when the registry cannot be reached; a tampered tarball is refused and nothing is kept.

These tests reach the npm registry (registry.npmjs.org, as CI does) and point the cache
(XDG_CACHE_HOME) and node_modules (MUGKIT_NODE_MODULES) at empty folders of their own, so they
really download."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from serving import ROOT, STUDIES, free_port, serve

STRIDE = os.path.join(STUDIES, "_stride.py")
PINS = json.loads((Path(ROOT) / "mugkit" / "web" / "browser" / "pins.json").read_text())
PYODIDE = next(p["version"] for p in PINS["packages"] if p["package"] == "pyodide")


@pytest.fixture
def no_local_assets(tmp_path, monkeypatch):
    """An empty cache and an empty node_modules: nothing but the registry has the files."""
    (tmp_path / "empty_node_modules").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MUGKIT_NODE_MODULES", str(tmp_path / "empty_node_modules"))
    monkeypatch.delenv("MUGKIT_ASSETS", raising=False)
    monkeypatch.delenv("MUGKIT_NPM_REGISTRY", raising=False)
    return tmp_path / "cache" / "mugkit" / "runtime"


def mugkit(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mugkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_intact(root: Path) -> None:
    for pin in PINS["packages"]:
        folder = root / pin["package"] / pin["version"]
        assert sorted(p.name for p in folder.iterdir()) == sorted(f["file"] for f in pin["files"])
        for f in pin["files"]:
            assert sha256(folder / f["file"]) == f["sha256"], f["file"]


def test_the_first_use_fetches_into_the_cache_and_later_ones_find_it_there(no_local_assets, monkeypatch):
    from mugkit.web.browser.assets import RuntimeAssets

    said = []
    assets = RuntimeAssets.load(say=said.append)
    assets.require()
    assert_intact(no_local_assets)
    assert [line.split(",")[0] for line in said] == [
        f"mugkit: fetching the browser runtime's {p['package']} {p['version']}" for p in PINS["packages"]]
    wasm = no_local_assets / "pyodide" / PYODIDE / "pyodide.asm.wasm"
    assert assets.path("pyodide", PYODIDE, "pyodide.asm.wasm") == wasm
    monkeypatch.setenv("MUGKIT_NPM_REGISTRY", f"http://127.0.0.1:{free_port()}/")  # the registry gone: not needed
    again = RuntimeAssets.load(say=said.append)
    again.require()
    assert len(said) == 2


def test_offline_with_nothing_cached_serve_refuses_and_names_the_command(no_local_assets, monkeypatch, tmp_path):
    monkeypatch.setenv("MUGKIT_NPM_REGISTRY", f"http://127.0.0.1:{free_port()}/")  # nothing listens
    out = mugkit("serve", STRIDE, "--port", str(free_port()), "--data", str(tmp_path / "data"), cwd=str(tmp_path))
    assert out.returncode != 0
    assert "could not download" in out.stderr and f"pyodide-{PYODIDE}.tgz" in out.stderr
    assert "mugkit assets fetch --into DIR" in out.stderr and "--assets DIR" in out.stderr, out.stderr
    assert "admin:" not in out.stdout


def test_a_tarball_that_is_not_the_pinned_one_is_refused_and_nothing_kept(no_local_assets, monkeypatch):
    from mugkit.web.browser.assets import RuntimeAssets

    class Tampered(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's name)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"not the tarball package-lock.json pinned")

        def log_message(self, *args):
            pass

    mirror = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tampered)
    threading.Thread(target=mirror.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MUGKIT_NPM_REGISTRY", f"http://127.0.0.1:{mirror.server_address[1]}")
        assets = RuntimeAssets.load(say=lambda line: None)
    finally:
        mirror.shutdown()
    assert len(assets.problems) == 2
    assert "is not the pinned tarball: its sha512 differs from package-lock.json's integrity" in assets.problems[0]
    assert not (no_local_assets / "pyodide" / PYODIDE).exists()


@pytest.mark.slow
def test_a_lab_without_internet_serves_from_the_folder_fetch_filled(no_local_assets, monkeypatch, tmp_path):
    lab = tmp_path / "lab"
    fetched = mugkit("assets", "fetch", "--into", str(lab), cwd=str(tmp_path))
    assert fetched.returncode == 0, fetched.stderr
    assert f"mugkit serve PATH --assets {lab}" in fetched.stdout
    assert_intact(lab)
    assert not no_local_assets.exists()  # --into: not the cache

    monkeypatch.setenv("MUGKIT_NPM_REGISTRY", f"http://127.0.0.1:{free_port()}/")  # offline from now on
    served = serve(STRIDE, data=str(tmp_path / "data"), extra=["--assets", str(lab)])
    try:
        wasm = PINS["packages"][0]["files"][2]
        with urllib.request.urlopen(f"{served.url}/runtime/pyodide/{PYODIDE}/{wasm['file']}") as reply:
            assert hashlib.sha256(reply.read()).hexdigest() == wasm["sha256"]
    finally:
        served.stop()

    # The folder given is the only source: a damaged file there is refused, with how to refill it.
    (lab / "pyodide" / PYODIDE / "pyodide.mjs").write_text("tampered")
    out = mugkit("serve", STRIDE, "--port", str(free_port()), "--data", str(tmp_path / "data2"), "--assets",
                 str(lab), cwd=str(tmp_path))
    assert out.returncode != 0
    assert f"{lab}/pyodide/{PYODIDE}/pyodide.mjs is not the pinned {PYODIDE}" in out.stderr
    assert f"`mugkit assets fetch --into {lab}`" in out.stderr, out.stderr


def test_check_takes_assets_too(no_local_assets, tmp_path):
    """`mugkit check --assets DIR` reads the runtime's files from DIR only (here an empty one, so
    the parity item says what to do rather than downloading)."""
    out = mugkit("check", STRIDE + "::stride::parity", "--assets", str(tmp_path / "nothing"), cwd=str(tmp_path))
    assert out.returncode == 1
    assert f"`mugkit assets fetch --into {tmp_path / 'nothing'}`" in out.stdout + out.stderr
