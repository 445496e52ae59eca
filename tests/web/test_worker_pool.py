"""When the page may play a participant's next browser game in the worker it kept
(mugkit/web/static/client/runtime/pool.js `fits`), run in Node: the same Pyodide and package source,
and no package whose other build is imported already; and what it forgets before another step's
files (mugkit.browser.forget_study, in CPython). Chromium plays the games themselves in
tests/web/test_browser_reuse.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from serving import ROOT

POOL = os.path.join(ROOT, "mugkit", "web", "static", "client", "runtime", "pool.js")


def fits(before: list[dict], boot: dict) -> bool:
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    script = (f"import({json.dumps('file://' + POOL)}).then((m) => "
              f"console.log(JSON.stringify(m.fits({json.dumps(before)}, {json.dumps(boot)}))))")
    done = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wheel(file: str, kind: str = "package") -> dict:
    return {"url": f"/runtime/wheels/{abs(hash(file))}/{file}", "file": file, "kind": kind}


def boot(*wheels: dict, pyodide: str = "/runtime/pyodide/314.0.7/", packages: str = "/runtime/pyodide-packages/",
         ort: str | None = None) -> dict:
    return {"pyodide": pyodide, "packages_url": packages, "ort": ort, "wheels": list(wheels)}


MUGKIT = wheel("mugkit-0.1.0-py3-none-any.whl", "runtime")
STUDY_A = wheel("mugkit_study_x-0+aaaa-py3-none-any.whl", "experiment")
STUDY_B = wheel("mugkit_study_x-0+bbbb-py3-none-any.whl", "experiment")


def test_the_same_step_again_fits():
    assert fits([boot(MUGKIT, STUDY_A)], boot(MUGKIT, STUDY_A))


def test_another_experiment_wheel_and_an_added_package_fit():
    assert fits([boot(MUGKIT, STUDY_A)], boot(MUGKIT, wheel("tinyrules-1.2-py3-none-any.whl"), STUDY_B))


def test_another_build_of_an_installed_package_needs_a_new_worker():
    first = boot(MUGKIT, wheel("tiny_rules-1.2-py3-none-any.whl"), STUDY_A)
    assert not fits([first], boot(MUGKIT, wheel("tiny.rules-1.3-py3-none-any.whl"), STUDY_A))
    assert fits([first], boot(MUGKIT, wheel("tiny_rules-1.2-py3-none-any.whl"), STUDY_A))


def test_another_pyodide_or_package_source_needs_a_new_worker():
    assert not fits([boot(MUGKIT, STUDY_A)], boot(MUGKIT, STUDY_A, pyodide="/runtime/pyodide/0.29.3/"))
    assert not fits([boot(MUGKIT, STUDY_A)], boot(MUGKIT, STUDY_A, packages="https://cdn.example/"))
    assert not fits([], boot(MUGKIT, STUDY_A))


def test_forget_study_drops_the_earlier_steps_files_and_modules(tmp_path, monkeypatch):
    """What a kept worker does before another step's experiment wheel (runtime/boot.js): the next
    import reads the new files, and a module only the earlier step shipped is gone."""
    import importlib
    import sys

    from mugkit.browser import forget_study

    study = tmp_path / "study"
    (study / "pkg_ks").mkdir(parents=True)
    (study / "exp_ks.py").write_text("import pkg_ks.rules\nVALUE = 1\n")
    (study / "pkg_ks" / "__init__.py").write_text("")
    (study / "pkg_ks" / "rules.py").write_text("")
    (study / "only_first_ks.py").write_text("")
    monkeypatch.syspath_prepend(str(study))
    assert importlib.import_module("exp_ks").VALUE == 1
    importlib.import_module("only_first_ks")

    assert sorted(forget_study(str(study))) == ["exp_ks", "only_first_ks", "pkg_ks", "pkg_ks.rules"]
    assert not study.exists() and "json" in sys.modules   # the rest of Python stays
    study.mkdir()
    (study / "exp_ks.py").write_text("VALUE = 2\n")
    assert importlib.import_module("exp_ks").VALUE == 2
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("only_first_ks")
    forget_study(str(study))
