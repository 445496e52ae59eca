"""The ``screen`` check (mugkit/checks/screen.py) through the real ``mugkit check``: a screening
function that raises for some answers a participant can give, or returns nonsense, fails before
any participant meets it; a sound one passes. And ``mugkit serve``'s pre-flight refuses it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from checkrun import run_check

STUDY = '''
import mugkit as mk

CONDITIONS = ["a", "b"]


@mk.survey
def about():
    return [mk.Number("age", "Age?", min=0, max=120, integer=True, required=False),
            mk.Choice("hand", "Hand?", ["left", "right"])]


@mk.screen(min_window=(800, 600))
def entry(participant, answers, client):
{body}


@mk.scene
def done():
    return mk.Completion(code="C1", screening_code="S1")
'''


def write(tmp_path, body: str):
    study = tmp_path / "gatekeeper.py"
    study.write_text(STUDY.format(body=textwrap.indent(textwrap.dedent(body), "    ")), encoding="utf-8")
    return study


def test_a_function_that_raises_for_an_optional_answer_left_out_fails_naming_the_inputs(tmp_path):
    study = write(tmp_path, """
        if answers["age"] < 18:
            return "This study is for adults only."
    """)
    results = run_check(str(study), tmp_path=tmp_path)
    assert results.outcome("entry::screen") == "failed"
    message = results.message("entry::screen")
    assert "gatekeeper.py:" in message and "the screening function raised TypeError" in message
    assert "'age': None" in message and "Client(browser=" in message and "condition=" in message
    assert results.returncode == 1


def test_a_function_that_returns_nonsense_fails(tmp_path):
    study = write(tmp_path, """
        return 0 if client.device == "mobile" else None
    """)
    results = run_check(str(study), tmp_path=tmp_path)
    assert "the screening function returned 0; it must return None or True (let in), or a text or False" in \
        results.message("entry::screen")


def test_a_sound_function_passes(tmp_path):
    study = write(tmp_path, """
        age = answers.get("age")
        if age is not None and age < 18:
            return "This study is for adults only."
        if participant.condition == "b" and client.device != "desktop":
            return False
    """)
    results = run_check(str(study), tmp_path=tmp_path)
    assert results.outcome("entry::screen") == "passed", results.output
    assert results.returncode == 0


def test_serve_refuses_a_study_whose_screening_function_raises(tmp_path):
    study = write(tmp_path, """
        return answers["agee"]
    """)
    run = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", str(study), "--port", "0",
                          "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "entry::screen" in run.stdout + run.stderr and "KeyError: 'agee'" in run.stdout + run.stderr
