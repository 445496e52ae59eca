"""Installing mugkit: an editable install (what ./dev does) is not shadowed by a folder named
`mugkit` in the working directory — a clone, seen from the folder that holds it — and the install
prints no warning of ours."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.slow


def clean_env() -> dict:
    """The environment without our PYTHONPATH: only what is installed counts."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.fixture(scope="module")
def editable_venv(tmp_path_factory):
    """A fresh venv with mugkit installed editable from this repository, as ./dev installs it
    (`pip install -e .`; no dependencies: importing mugkit needs none), with the build's own output
    (`-v`: pip hides it otherwise)."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")
    out = subprocess.run([python, "-m", "pip", "install", "-v", "--no-deps", "--disable-pip-version-check", "-e", ROOT],
                         env=clean_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return python, out.stdout + out.stderr


def test_a_folder_named_mugkit_in_the_working_directory_does_not_shadow_the_installed_package(
        editable_venv, tmp_path):
    python, _ = editable_venv
    holder = tmp_path / "projects"
    (holder / "mugkit").mkdir(parents=True)              # the clone: a folder named mugkit, no __init__.py
    (holder / "mugkit" / "README.md").write_text("a clone\n")
    (holder / "analyse.py").write_text("import mugkit.data\nprint(mugkit.data.load.__module__, mugkit.__file__)\n")
    expected = f"mugkit.data {os.path.join(ROOT, 'mugkit', '__init__.py')}"
    for command in ([python, "-c", "import mugkit.data; mugkit.data.load; import runpy; "
                                   "runpy.run_path('analyse.py')"],
                    [python, "analyse.py"]):
        out = subprocess.run(command, cwd=holder, env=clean_env(), capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == expected


def test_the_install_prints_no_warning_of_ours(editable_venv):
    _, output = editable_venv
    assert "Warning" not in output and "deprecated" not in output.lower(), output
