"""Every survey question type in Debian's Chromium against a real `mugkit serve`
(tests/web/studies/_surveys.py): answered by clicking and typing in the page, read back from the
SQLite database. Each survey is screenshotted (into $MUGKIT_SURVEY_SHOTS, by default
tests/web/screenshots/): look at them."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

from serving import ROOT, STUDIES, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SURVEYS = os.path.join(STUDIES, "_surveys.py")
SHOTS = os.environ.get("MUGKIT_SURVEY_SHOTS") or os.path.join(ROOT, "tests", "web", "screenshots")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = serve(SURVEYS, data=str(tmp_path_factory.mktemp("surveys") / "data"))
    yield served
    served.stop()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.mouse.move(0, 0)                       # no hover highlight on what was clicked last
    page.screenshot(path=os.path.join(SHOTS, f"survey-{name}.png"), full_page=True)


def answers(data: str, participant: str) -> dict:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        found = db.execute("select question, value from answers where participant_id = ?", (participant,)).fetchall()
    return {q: None if v is None else json.loads(v) for q, v in found}


def participant(page) -> str:
    return json.loads(page.evaluate("localStorage.getItem('mugkit:_surveys:identity')"))["participant"]


def question(page, name: str):
    return page.locator(f".sd-question[data-name='{name}']")


def pick(page, name: str, label: str) -> None:
    """Clicks the option, point or scale label ``label`` of question ``name``."""
    question(page, name).get_by_text(label, exact=True).click()


def rate(page, name: str, statement: str, column: str) -> None:
    """Clicks a matrix cell: the row of ``statement``, the column ``column``."""
    question(page, name).locator(f"input[aria-label='row {statement}, column {column}']").locator("xpath=..").click()


def go_on(page, text: str) -> None:
    page.click("text=Continue")
    page.wait_for_selector(f"text={text}")


def scales(page, tag: str = "") -> None:
    """The first survey: a scale with every point named, one with its ends named, a plain one, a slider."""
    page.wait_for_selector("text=The game was fun.")
    for label in ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"):
        assert question(page, "fun").get_by_text(label, exact=True).is_visible()
    assert question(page, "effort").get_by_text("as hard as I could").is_visible()
    shot(page, "scales" + tag)
    pick(page, "fun", "Neutral")
    question(page, "effort").locator(".sd-rating__item-text >> text='6'").click()
    question(page, "plain").locator(".sd-rating__item-text >> text='2'").click()
    question(page, "confidence").get_by_text("somewhat", exact=True).click()
    shot(page, "scales-answered" + tag)
    go_on(page, "How old are you?")


def about_you(page, tag: str = "") -> None:
    """The second survey: a number, a drop-down, one choice, several choices, free text."""
    question(page, "age").locator("input").fill("34")
    question(page, "country").locator(".sd-dropdown").click()
    page.locator(".sv-list__item:visible").get_by_text("Germany", exact=True).click()
    pick(page, "hand", "right")
    pick(page, "devices", "keyboard")
    pick(page, "devices", "touchpad")
    question(page, "comments").locator("textarea").fill("Fun, but short.")
    shot(page, "about-you" + tag)
    go_on(page, "How much do you agree with each statement?")


def test_every_question_type_is_answered_in_the_page_and_stored(chromium, server):
    page = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(f"{server.url}/_surveys/")
    scales(page)
    about_you(page)
    assert not question(page, "why").is_visible() and not question(page, "sure").is_visible()
    shot(page, "partner")
    for statement, column in (("My partner played fair.", "Agree"), ("My partner was skilled.", "Strongly agree"),
                              ("My partner reacted quickly to what I did.", "Disagree")):
        rate(page, "trust", statement, column)
    pick(page, "kind", "a computer")
    question(page, "why").wait_for()
    question(page, "why").locator("input").fill("It never paused.")
    question(page, "sure").locator(".sd-rating__item-text >> text='5'").click()
    page.wait_for_timeout(600)                  # SurveyJS fades shown questions in
    shot(page, "partner-conditional")
    go_on(page, "SURV3Y")
    assert answers(server.data, participant(page)) == {
        "fun": 3, "effort": 6, "plain": 2, "confidence": 50,
        "age": 34, "country": "Germany", "hand": "right", "devices": ["keyboard", "touchpad"],
        "comments": "Fun, but short.",
        "trust.honest": 4, "trust.skilled": 5, "trust.quick": 2, "kind": "a computer", "why": "It never paused.",
        "sure": 5}


def test_a_question_hidden_again_is_not_sent_and_has_no_row(chromium, server):
    page = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(f"{server.url}/_surveys/")
    scales(page)
    about_you(page)
    for statement in ("My partner played fair.", "My partner was skilled.", "My partner reacted quickly to what I did."):
        rate(page, "trust", statement, "Neutral")
    pick(page, "kind", "a computer")
    question(page, "why").locator("input").fill("typed, then changed my mind")
    pick(page, "kind", "not sure")            # hides "why" and "sure" again
    question(page, "why").wait_for(state="hidden")
    assert not question(page, "sure").is_visible()
    go_on(page, "SURV3Y")
    stored = answers(server.data, participant(page))
    assert {k: v for k, v in stored.items() if k.startswith(("trust", "kind", "why", "sure"))} == {
        "trust.honest": 3, "trust.skilled": 3, "trust.quick": 3, "kind": "not sure"}


def test_the_page_holds_back_a_number_out_of_range_and_a_scale_left_out(chromium, server):
    page = chromium.new_context(viewport={"width": 1100, "height": 800}).new_page()
    page.goto(f"{server.url}/_surveys/")
    page.wait_for_selector("text=The game was fun.")
    pick(page, "fun", "Agree")
    page.click("text=Continue")                # effort, plain and the slider unanswered
    page.wait_for_selector(".sd-question__erbox")
    assert question(page, "confidence").locator(".sd-question__erbox").is_visible()
    shot(page, "scales-required")
    assert answers(server.data, participant(page)) == {}
    scales(page, "-retried")
    question(page, "age").locator("input").fill("150")
    page.click("text=Continue")
    question(page, "age").locator(".sd-question__erbox").wait_for()
    assert "300" not in question(page, "age").inner_text() and "99" in question(page, "age").inner_text()
    shot(page, "number-out-of-range")
    assert set(answers(server.data, participant(page))) == {"fun", "effort", "plain", "confidence"}


def test_a_narrow_window_stacks_the_scale_and_keeps_the_matrix_inside(chromium, server):
    page = chromium.new_context(viewport={"width": 390, "height": 800}).new_page()
    page.goto(f"{server.url}/_surveys/")
    page.wait_for_selector("text=The game was fun.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    boxes = [question(page, "fun").get_by_text(label, exact=True).bounding_box() for label in ("Disagree", "Neutral")]
    assert boxes[1]["y"] > boxes[0]["y"]       # one point under the other, not squeezed side by side
    scales(page, "-narrow")
    about_you(page, "-narrow")
    shot(page, "partner-narrow")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


CASES = [  # (condition, answers): the page and the server must agree on each
    (["a", "==", "x"], {"a": "x"}), (["a", "==", "x"], {"a": "y"}), (["a", "==", 3], {"a": 3}),
    (["a", "==", 3], {"a": "3"}), (["a", "!=", "x"], {"a": "y"}), (["a", "!=", "x"], {}),
    (["a", "!=", "x"], {"a": None}), (["a", "!=", "x"], {"a": ""}), (["a", "<", 3], {"a": 2}),
    (["a", "<", 3], {"a": 3}), (["a", "<=", 3], {"a": 3}), (["a", ">", 2.5], {"a": 3}),
    (["a", ">=", 4], {"a": 3}), (["a", "<", 3], {"a": "2"}), (["a", "in", ["x", "y"]], {"a": "y"}),
    (["a", "in", ["x", "y"]], {"a": "z"}), (["a", "not in", ["x", "y"]], {"a": "z"}),
    (["a", "not in", ["x"]], {}), (["a", "contains", "x"], {"a": ["x", "y"]}),
    (["a", "contains", "z"], {"a": ["x"]}), (["a", "contains", "x"], {"a": []}),
    (["a", "contains", "x"], {"a": "x"}), (["a", "==", 1], {"a": 1.0}), (["a", "~", 1], {"a": 1}),
]


def test_the_page_evaluates_conditions_as_the_server_does(chromium, server):
    from mugkit.conditions import holds

    page = chromium.new_context().new_page()
    page.goto(f"{server.url}/_surveys/")
    page.wait_for_selector("text=The game was fun.")
    in_page = page.evaluate("""async (cases) => {
        const {holds} = await import('/static/client/views/survey.js');
        return cases.map(([condition, answers]) => holds(condition, answers));
    }""", CASES)
    assert in_page == [holds(tuple(c), a) for c, a in CASES]
    assert sum(in_page) >= 9  # both outcomes are tried
