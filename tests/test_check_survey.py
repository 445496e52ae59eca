"""The `survey` check through the real CLI: the new question types and conditions are checked,
and every problem of a survey is named in one failure."""

from __future__ import annotations

import textwrap

from checkrun import run_check

STUDY = '''
import mugkit as mk


@mk.survey
def fine():
    return [mk.Choice("kind", "Your partner was…", ["a human", "a computer"]),
            mk.Text("why", "Why?", visible_if=("kind", "==", "a computer")),
            mk.Number("age", "Age?", min=18, max=99, integer=True),
            mk.Dropdown("country", "Where?", ["France", "Germany"]),
            mk.Slider("sure", "Sure?", min=0, max=10, labels={0: "no", 10: "yes"}),
            mk.Matrix("trust", "Agree?", {"honest": "Honest.", "quick": "Quick."}, points=5)]


@mk.survey
def broken():
    return [mk.Choice("kind", "Your partner was…", ["a human", "a computer"]),
            mk.Text("why", "Why?", visible_if=("knd", "==", "a computer")),
            mk.Slider("sure", "Sure?", min=10, max=0),
            mk.Number("age", "Age?", min=99, max=18),
            mk.Matrix("trust", "Agree?", {"my item": "Honest."}),
            mk.Text("kind", "Again?")]
'''


def test_the_survey_check_names_every_problem_of_the_new_types(tmp_path):
    study = tmp_path / "study.py"
    study.write_text(textwrap.dedent(STUDY))
    results = run_check(str(study), tmp_path=tmp_path)
    assert results.returncode == 1, results.output
    assert results.outcome("fine::survey") == "passed"
    assert results.outcome("broken::survey") == "failed"
    message = results.message("broken::survey")
    for problem in ("study.py:15: the survey is ill-formed",
                    "question 'why': visible_if ('knd', '==', 'a computer'): no question is named 'knd' "
                    "(did you mean 'kind'?)",
                    "Slider 'sure': min 10 must be below max 0",
                    "Number 'age': min 99 must be below max 18",
                    "Matrix 'trust': item name 'my item' must be an identifier (letters, digits, _)",
                    "two questions are named 'kind': answers are stored by name"):
        assert problem in message, (problem, message)
