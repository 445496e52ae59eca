"""Load-test bots on every survey question type and on conditional questions
(tests/web/studies/_surveys.py): their answers pass the server's own validation, their forged
ones do not, and a real run stores and audits them (a matrix as one row per statement)."""

from __future__ import annotations

import importlib.util
import os
import random

import pytest

from mugkit.loadtest import LoadTestConfig, run_loadtest
from mugkit.loadtest.answers import invalid_answers, valid_answers
from mugkit.questions import check_answers
from mugkit.web.views import survey_view

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURVEYS = os.path.join(ROOT, "tests", "web", "studies", "_surveys.py")


def _surveys() -> list:
    spec = importlib.util.spec_from_file_location("_surveys_study", SURVEYS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [module.scales(), module.about_you(), module.partner()]


def test_bot_answers_to_every_type_pass_validation_and_skip_hidden_questions():
    hidden = 0
    for questions in _surveys():
        view = survey_view("Survey", questions)
        for seed in range(200):
            rng = random.Random(seed)
            answers = valid_answers(view["survey"], rng, view["conditions"])
            assert check_answers(questions, answers) is None, answers
            hidden += len(questions) - len(answers)
            bad, what = invalid_answers(view["survey"], rng, view["conditions"])
            assert check_answers(questions, bad) is not None, (what, bad)
    assert hidden > 0  # some runs answered "not sure", which hides two questions


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_protocol_bots_with_forged_answers_complete_and_every_answer_is_audited():
    report = run_loadtest(LoadTestConfig([SURVEYS], 6, rate=6, stuck_after=30, invalid_answers=True, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (6, 0, 0), d["failures"]
    assert d["invalid_answers"] == {"rejected": 18, "accepted": 0}
    assert d["audit"]["checked"]["answers"] >= 6 * (4 + 5 + 3 + 1 + 1) - 6 * 2 and d["lost_rows"] == 0


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_browser_bot_answers_every_type_in_the_page():
    pytest.importorskip("playwright.async_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    report = run_loadtest(LoadTestConfig([SURVEYS], 2, browser=2, rate=2, stuck_after=40, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (2, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and d["audit"]["checked"]["answers"] > 2 * 12, report.text()
