"""The participant's client, view by view, through the harness page (real client modules, a fake
socket): every `view` kind renders, buttons and surveys send `advance` as protocol.py says, the
server's errors show, completion pages leave for the panel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from client_harness import browser, context, harness, open_harness, shot, site  # noqa: E402,F401

pytestmark = pytest.mark.browser

CONSENT_HTML = """<h3>What you will do</h3>
<p>You will play a short browser game for a few minutes and answer a few questions about it.
Some games are played with another participant or with a computer player.</p>
<h3>What we record</h3>
<p>Your key presses during the games, the game's events and scores, your answers to the questions,
and the time you spent. We do not record your name, your camera or your microphone.</p>
<h3>Your rights</h3>
<p>Taking part is voluntary. You may stop at any time by closing this window.</p>
<p>By clicking "I agree" you confirm that you are at least 18 years old, have read this
information, and agree to take part.</p>"""

WELCOME_HTML = """<p>Thank you for taking part in this study. It takes about <strong>10 minutes</strong>.</p>
<p>You will play a short game in which you collect coins while a computer player chases you.
Use the <strong>arrow keys</strong> to move.</p>
<ul><li>Please use a laptop or desktop computer with a keyboard.</li>
<li>Keep this window open and in the foreground until the end.</li></ul>"""

SURVEY = {
    "showQuestionNumbers": "off",
    "completeText": "Continue",
    "pages": [{"name": "page1", "elements": [
        {"name": "fun", "title": "The game was fun.", "isRequired": True, "type": "rating", "rateMin": 1,
         "rateMax": 7, "minRateDescription": "Strongly disagree", "maxRateDescription": "Strongly agree"},
        {"name": "partner", "title": "The chaser was controlled by…", "isRequired": True, "type": "radiogroup",
         "choices": ["a human", "a computer", "not sure"]},
        {"name": "tried", "title": "What did you try to do?", "isRequired": False, "type": "checkbox",
         "choices": ["collect coins", "avoid the chaser"]},
        {"name": "comments", "title": "Anything else you want to tell us?", "isRequired": False, "type": "comment"},
    ]}],
}


def view(kind: str, index: int = 0, total: int = 6, **fields) -> dict:
    return {"kind": kind, "index": index, "total": total, "step": f"step{index}", **fields}


def show(page, message: dict):
    page.evaluate("m => harness.receive('view', m)", message)


def advances(page) -> list:
    return [m["data"] for m in page.evaluate("harness.sent('advance')")]


def wait_advances(page, n: int) -> list:
    page.wait_for_function(f"() => harness.sent('advance').length >= {n}")
    return advances(page)


def test_before_any_view_the_page_says_it_is_connecting(harness):
    assert "Connecting to the study" in harness.inner_text("main")
    shot(harness, "connecting")


def test_a_page_shows_the_servers_html_and_its_button_advances(harness):
    show(harness, view("page", 0, title="Welcome", html=WELCOME_HTML, button="Start"))
    assert harness.inner_text("h1") == "Welcome"
    assert "about 10 minutes" in harness.inner_text(".mk-prose")
    assert harness.inner_text(".mk-step") == "Step 1 of 6"
    shot(harness, "page")
    harness.click("text=Start")
    assert wait_advances(harness, 1) == [{"index": 0}]


def test_a_rejected_advance_shows_the_servers_error_and_lets_the_participant_retry(harness):
    harness.evaluate("harness.replies.push({ok: false, error: 'the study is full'})")
    show(harness, view("page", 2, title="Instructions", html="<p>Read this.</p>", button="Continue"))
    harness.click("text=Continue")
    harness.wait_for_selector(".mk-error:not([hidden])")
    assert harness.inner_text(".mk-error") == "the study is full"
    assert harness.is_enabled("text=Continue")
    harness.click("text=Continue")
    assert wait_advances(harness, 2) == [{"index": 2}, {"index": 2}]


@pytest.mark.parametrize("answer, agree", [("agree", True), ("decline", False)])
def test_consent_sends_agree_true_or_false(harness, answer, agree):
    show(harness, view("consent", 1, title="Consent", html=CONSENT_HTML, agree="I agree", decline="I do not agree"))
    assert "What we record" in harness.inner_text(".mk-prose")
    if agree:
        shot(harness, "consent", full_page=True)
    harness.click(f"button[data-answer='{answer}']")
    assert wait_advances(harness, 1) == [{"index": 1, "agree": agree}]


def test_a_survey_sends_its_answers_once_they_are_valid(harness):
    show(harness, view("survey", 4, title="About the game", survey=SURVEY))
    harness.wait_for_selector(".sd-question")
    shot(harness, "survey", full_page=True)
    harness.click("text=Continue")          # required questions unanswered: SurveyJS holds it back
    harness.wait_for_selector(".sd-question__erbox")
    assert advances(harness) == []
    harness.click(".sd-rating__item-text >> text='5'")
    harness.click("text=a computer")
    harness.fill("textarea", "Nice game")
    shot(harness, "survey-filled", full_page=True)
    harness.click("text=Continue")
    assert wait_advances(harness, 1) == [{"index": 4, "answers": {
        "fun": 5, "partner": "a computer", "tried": None, "comments": "Nice game"}}]
    harness.wait_for_selector("text=Loading the next part")


def test_a_survey_the_server_rejects_shows_the_error_and_keeps_the_answers(harness):
    harness.evaluate("harness.replies.push({ok: false, error: 'not a valid answer to: The game was fun.'})")
    show(harness, view("survey", 4, title="About the game", survey=SURVEY))
    harness.click(".sd-rating__item-text >> text='6'")
    harness.click("text=not sure")
    harness.click("text=Continue")
    harness.wait_for_selector(".mk-error:not([hidden])")
    assert "not a valid answer" in harness.inner_text(".mk-error")
    shot(harness, "survey-rejected", full_page=True)
    assert harness.is_visible("text=The game was fun.")   # still the survey, answers kept
    harness.click("text=Continue")
    sent = wait_advances(harness, 2)
    assert sent[1]["answers"]["fun"] == 6 and sent[1]["answers"]["partner"] == "not sure"
    harness.wait_for_selector("text=Loading the next part")


def test_a_survey_from_the_servers_own_views_module_gives_answers_it_accepts(harness):
    views = pytest.importorskip("mugkit.web.views")
    import mugkit as mk

    questions = [mk.Likert("fun", "The game was fun.", points=7),
                 mk.Choice("partner", "Your partner was…", ["a human", "a computer", "not sure"]),
                 mk.Choice("tried", "You tried to…", ["collect", "avoid"], multiple=True),
                 mk.Text("comments", "Anything else?", required=False)]
    message = {**views.survey_view("After the game", questions), "index": 3, "total": 5, "step": "after_game"}
    show(harness, message)
    harness.click(".sd-rating__item-text >> text='7'")
    harness.click("text=a human")
    harness.click("text=avoid")
    harness.click("text=Continue")
    answers = wait_advances(harness, 1)[0]["answers"]
    assert answers == {"fun": 7, "partner": "a human", "tried": ["avoid"], "comments": None}
    assert views.check_answers(questions, answers) is None


def test_the_waitroom_counts_participants_and_the_time_left(harness):
    show(harness, view("waitroom", 3, present=1, needed=2, timeout=125))
    assert "1 of 2 participants is here" in harness.inner_text("main")
    assert harness.inner_text(".mk-waitroom-time") in ("2:05", "2:04")
    shot(harness, "waitroom")
    harness.evaluate("harness.receive('waitroom', {present: 2, needed: 3, timeout: 61})")
    assert "2 of 3 participants are here" in harness.inner_text("main")
    assert harness.locator(".mk-seat-taken").count() == 2
    harness.wait_for_function("() => document.querySelector('.mk-waitroom-time').textContent === '1:00'", timeout=3000)


def test_completion_shows_the_code_and_redirects_after_a_pause_with_a_visible_link(harness, site):
    target = site.url + "/landed?cc=C1A2B3C4"
    show(harness, view("completion", 5, title="Thank you", code="C1A2B3C4", redirect=target, mturk=None,
                       html="<p>You have finished the study. Your completion code is <strong>C1A2B3C4</strong>.</p>"))
    assert harness.inner_text(".mk-code") == "C1A2B3C4"
    assert harness.get_attribute("a.mk-button", "href") == target
    assert "Taking you back to 127.0.0.1" in harness.inner_text(".mk-leave")
    assert harness.inner_text(".mk-step") == "Finished"
    shot(harness, "completion")
    harness.wait_for_url(target, timeout=6000)
    assert harness.inner_text("#landed") == "landed"


def test_completion_on_mturk_posts_the_assignment_to_external_submit_whatever_the_redirect(harness, site, context):
    sandbox = "https://workersandbox.mturk.com"
    posts = []

    def external_submit(route):  # MTurk's sandbox, played by Playwright: no network here
        posts.append(route.request.post_data)
        route.fulfill(status=200, content_type="text/html", body="<p id=submitted>submitted</p>")

    harness.route(sandbox + "/mturk/externalSubmit", external_submit)
    show(harness, view("completion", 5, title="Thank you", code="C1A2B3C4", redirect=site.url + "/landed",
                       mturk={"submit_to": sandbox, "assignment_id": "ASSIGN-42"},
                       html="<p>You have finished the study.</p>"))
    assert harness.is_visible("text=Submit the HIT")
    shot(harness, "completion-mturk")
    harness.wait_for_url(sandbox + "/mturk/externalSubmit", timeout=6000)
    assert posts == ["assignmentId=ASSIGN-42&code=C1A2B3C4"]
    context.outside.remove(sandbox + "/mturk/externalSubmit")  # the one request meant to leave


def test_completion_never_posts_to_a_submit_target_that_is_not_mturk(harness, site):
    posted_before = len(site.posts)
    show(harness, view("completion", 5, title="Thank you", code="C1A2B3C4", redirect=site.url + "/landed",
                       mturk={"submit_to": site.url, "assignment_id": "ASSIGN-42"},
                       html="<p>You have finished the study.</p>"))
    assert harness.locator("form").count() == 0  # the researcher's redirect is followed instead
    harness.wait_for_url(site.url + "/landed", timeout=6000)
    assert len(site.posts) == posted_before


def test_a_redirect_that_is_not_a_web_address_is_not_followed(harness):
    show(harness, view("completion", 5, title="Thank you", code="C1", redirect="javascript:alert(1)", mturk=None,
                       html="<p>Done.</p>"))
    assert harness.locator("a.mk-button").count() == 0
    assert harness.inner_text(".mk-code") == "C1"


@pytest.mark.parametrize("kind, fields, text", [
    ("ended", {"title": "The study has ended", "code": "CDECLINE",
               "html": "<p>You chose not to take part. Please return the study on Prolific.</p>"}, "CDECLINE"),
    ("preview", {"html": "<p>This is a preview. Accept the HIT to begin.</p>"}, "Accept the HIT"),
    ("refused", {"html": "<p>You have already taken part in this study.</p>"}, "already taken part"),
])
def test_ended_preview_and_refused_show_the_servers_message(harness, kind, fields, text):
    show(harness, view(kind, 1, **fields))
    assert text in harness.inner_text("main")
    shot(harness, kind)


def test_identity_is_kept_per_experiment_for_reloads(harness):
    harness.evaluate("harness.receive('identity', {participant: 'p-1', resume: 'r-secret'})")
    stored = harness.evaluate("localStorage.getItem('mugkit:demo:identity')")
    assert json.loads(stored) == {"participant": "p-1", "resume": "r-secret"}
    assert harness.evaluate("""async () => {
        const {loadIdentity} = await import('/static/client/identity.js');
        return [loadIdentity('demo'), loadIdentity('other')];
    }""") == [{"participant": "p-1", "resume": "r-secret"}, {"participant": None, "resume": None}]


def test_server_errors_and_lost_connections_are_shown(harness):
    show(harness, view("page", 0, title="Welcome", html="<p>Hi</p>", button="Start"))
    harness.evaluate("harness.receive('error', {message: 'keys.seq must be a non-negative integer'})")
    assert "keys.seq must be" in harness.inner_text(".mk-notices")
    harness.evaluate("harness.socket.receive('connect')")
    harness.evaluate("harness.socket.receive('disconnect', 'transport close')")
    assert harness.is_visible("text=Connection lost. Reconnecting")
    shot(harness, "reconnecting")
    harness.evaluate("harness.socket.receive('connect')")
    assert not harness.is_visible(".mk-status")


def test_an_unknown_view_kind_says_so(harness):
    show(harness, view("hologram", 0))
    assert "cannot show a step of kind “hologram”" in harness.inner_text("main")


def test_the_same_view_sent_again_keeps_what_the_participant_entered(harness):
    message = view("survey", 4, title="About the game", survey=SURVEY)
    show(harness, message)
    harness.fill("textarea", "half written")
    show(harness, message)
    assert harness.input_value("textarea") == "half written"


def test_a_narrow_window_still_reads_well(context, site):
    page = open_harness(context, site)
    page.set_viewport_size({"width": 390, "height": 800})
    show(page, view("consent", 1, title="Consent", html=CONSENT_HTML, agree="I agree", decline="I do not agree"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    shot(page, "consent-narrow", full_page=True)
