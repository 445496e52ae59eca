"""A wheel built from the repository serves everything: the client and its vendored assets travel
inside the package, and `pip install mugkit` then `mugkit serve` plays a browser-runtime step —
in a fresh venv, from a folder outside the repository, with no node_modules anywhere and an empty
cache, the installed package fetching Pyodide itself from the npm registry (as CI reaches it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from browser_data import wait_loaded
from serving import ROOT, STUDIES, free_port

pytestmark = pytest.mark.slow

SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built by pip (setuptools from the index, as anyone's pip builds it) from a copy of
    what the build reads, so no build/ folder is left in the repository nor read from it."""
    work = tmp_path_factory.mktemp("build")
    source = work / "mugkit-source"
    shutil.copytree(os.path.join(ROOT, "mugkit"), source / "mugkit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), source / name)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(work / "wheels"), str(source)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "BuildBackendWarning" not in out.stdout + out.stderr  # no deprecation of ours at build time
    (built,) = (work / "wheels").glob("mugkit-*.whl")
    return built


def clean_env(**extra: str) -> dict:
    """This environment without anything that points at the repository or its node_modules."""
    drop = ("PYTHONPATH", "MUGKIT_NODE_MODULES", "MUGKIT_ASSETS", "MUGKIT_NPM_REGISTRY", "XDG_CACHE_HOME")
    return {**{k: v for k, v in os.environ.items() if k not in drop}, "PYTHONUNBUFFERED": "1", **extra}


def test_a_wheel_holds_the_client_and_serves_it(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("mugkit/web/templates/page.html", "mugkit/web/static/client/main.js",
                   "mugkit/web/static/vendor/socket.io.min.js", "mugkit/web/static/vendor/manifest.json",
                   "mugkit/web/browser/pins.json"):
        assert needed in names, needed
    assert not [n for n in names if n.endswith((".wasm", "python_stdlib.zip"))]  # fetched, not shipped
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import mugkit; print(mugkit.__file__)"], env=env, cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))  # the installed wheel, not the repository
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mugkit.cli", "serve", os.path.join(STUDIES, "_walk.py"),
                               "--port", str(port), "--data", str(tmp_path / "data")], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if line.startswith("admin:"):
                break
        for _ in range(100):
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/_walk/").read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert 'src="/static/client/main.js"' in page
        for asset in ("/static/client/main.js", "/static/vendor/socket.io.min.js", "/static/mugkit.css"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{asset}") as r:
                assert r.status == 200 and len(r.read()) > 100, asset
    finally:
        server.terminate()
        server.wait(timeout=20)


def start(command: list[str], cwd: Path, env: dict, timeout: float = 180) -> tuple[subprocess.Popen, list[str]]:
    """Starts ``mugkit serve`` and waits for its admin link; its output keeps coming into the list."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        lines.append(line)
        if line.startswith("admin:") or time.monotonic() > deadline:
            break
    assert lines and lines[-1].startswith("admin:"), "".join(lines)
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()
    return process, lines


@pytest.mark.browser
def test_pip_install_then_serve_plays_a_browser_step_with_no_other_step(wheel, chromium, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                               env=clean_env(), capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    study = tmp_path / "lab"   # the researcher's folder, outside the repository
    study.mkdir()
    shutil.copy(os.path.join(STUDIES, "_stride.py"), study / "stride.py")
    site = next((venv / "lib").glob("python3*/site-packages"))
    for folder in (study, *study.parents, site, *site.parents):
        assert not (folder / "node_modules").exists(), folder
    cache = tmp_path / "cache"
    port = free_port()
    server, output = start([str(venv / "bin" / "mugkit"), "serve", "stride.py", "--port", str(port), "--data", "data",
                            "--seed", "7"], cwd=study, env=clean_env(XDG_CACHE_HOME=str(cache)))
    try:
        said = "".join(output)
        pyodide = json.loads((Path(ROOT) / "mugkit" / "web" / "browser" / "pins.json").read_text())["packages"][0]
        assert f"fetching the browser runtime's pyodide {pyodide['version']}" in said, said
        assert (cache / "mugkit" / "runtime" / "pyodide" / pyodide["version"] / "pyodide.asm.wasm").is_file()

        os.makedirs(SHOTS, exist_ok=True)
        page = chromium.new_page(viewport={"width": 1000, "height": 700})
        page.goto(f"http://127.0.0.1:{port}/stride/")
        wait_loaded(page)  # Pyodide from the cache, through the installed package's server
        page.keyboard.down("ArrowRight")
        page.wait_for_timeout(600)
        page.screenshot(path=os.path.join(SHOTS, "wheel-browser-game.png"))
        page.keyboard.up("ArrowRight")
        page.wait_for_selector("text=STRIDE9", timeout=60_000)   # the game ended: the completion page
    finally:
        server.terminate()
        server.wait(timeout=30)
    with sqlite3.connect(study / "data" / "mugkit.sqlite") as db:
        assert db.execute("select runtime, outcome from games").fetchall() == [("browser", "completed")]
        frames = [f for (f,) in db.execute("select frame from steps order by frame")]
        keys = [k for (k,) in db.execute("select keys from steps where keys is not null")]
    assert frames == list(range(61))   # the first observation, then 60 steps (max_steps)
    assert any("ArrowRight" in k for k in keys)   # the key press was played
    assert mugkit_file(venv, study).startswith(str(site))
    assert re.search(r"stride::stride ships 1 file", "".join(output))  # printed after the admin link


def mugkit_file(venv: Path, cwd: Path) -> str:
    return subprocess.run([str(venv / "bin" / "python"), "-c", "import mugkit; print(mugkit.__file__)"], cwd=cwd,
                          env=clean_env(), capture_output=True, text=True, check=True).stdout.strip()
