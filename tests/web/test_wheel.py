"""A wheel built from the repository serves everything: the client and its vendored assets travel
inside the package (no npm where it is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from serving import ROOT, STUDIES, free_port

pytestmark = pytest.mark.slow


def test_a_wheel_holds_the_client_and_serves_it(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), ROOT],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("mugkit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("mugkit/web/templates/page.html", "mugkit/web/static/client/main.js",
                   "mugkit/web/static/vendor/socket.io.min.js", "mugkit/web/static/vendor/manifest.json"):
        assert needed in names, needed
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
        import time

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
