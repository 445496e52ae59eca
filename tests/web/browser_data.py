"""Browser-runtime games in tests and benches: reaching a game in a page, and reading a game back
from the database and replaying it in CPython — the rows the browser recorded must be exactly what
CPython's frame driver plays from the same seed and the same human inputs (AIs included:
onnxruntime-web in the browser, onnxruntime here)."""

from __future__ import annotations

import os
import sqlite3
import time

from playwright.sync_api import Error as PlaywrightError

from mugkit.collect import load_experiment
from mugkit.games import Participant, build_game
from mugkit.runtime.values import from_json

COMPARED = ("action", "filled", "decided_at", "reward", "terminated", "truncated")


def enter_game(page, url: str) -> None:
    """Goes through the pages before the game (buttons, consent) until the game view."""
    page.goto(url)
    for _ in range(8):
        page.wait_for_selector("body[data-view]")
        kind = page.get_attribute("body", "data-view")
        if kind == "game":
            return
        if kind == "consent":
            page.click("button[data-answer='agree']")
        else:
            page.click("button.mk-button")
        page.wait_for_function(f"() => document.body.dataset.view !== {kind!r} || document.querySelector('.mk-view')")
        page.wait_for_timeout(300)
    raise AssertionError("never reached the game")


def wait_loaded(page) -> None:
    """Waits until the browser game has loaded, says "ready" on its ready screen (when the step
    shows one) and waits out the countdown: the game plays when this returns."""
    page.wait_for_selector(".mk-game[data-loaded=true], .mk-game[data-failed]", timeout=90_000)
    failed = page.get_attribute(".mk-game", "data-failed")
    assert failed is None, page.inner_text(".mk-stage-overlay")
    ready = page.query_selector(".mk-screen[data-screen='ready'] [data-answer='ready']")
    if ready is not None:
        ready.click()
    page.wait_for_selector(".mk-game[data-screen='play']", timeout=15_000)


def click_if_shown(page, selector: str) -> None:
    """Clicks ``selector`` when it shows; a screen that moves on by itself between the look and
    the click (the partner's answer or the server's timer closed it) is left for the next look."""
    answer = page.query_selector(selector)
    try:
        if answer is not None and answer.is_visible():
            answer.click()
    except PlaywrightError as error:
        if "not attached" not in str(error):
            raise


def through_screens(pages, selector: str, timeout: float = 90_000) -> None:
    """Waits until ``selector`` shows on ``pages`` (one page or a list: the players of one game),
    answering the screens around games on the way as participants would: "I'm ready", "Continue"
    on a round-over screen or a problem notice."""
    pages = pages if isinstance(pages, list) else [pages]
    deadline = time.monotonic() + timeout / 1000
    while any(page.query_selector(selector) is None for page in pages):
        assert time.monotonic() < deadline, f"{selector} never showed: {pages[0].inner_text('main')[:500]}"
        for page in pages:
            click_if_shown(page, ".mk-screen:not([hidden]) [data-answer], .mk-view-problem [data-answer]")
        pages[0].wait_for_timeout(200)


def query(data: str, sql: str, *params) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql, params).fetchall()


def stored_rows(data: str, game_id: str) -> dict:
    """(episode, frame, agent) → the stored columns, decoded."""
    out = {}
    for episode, frame, agent, action, keys, filled, decided_at, reward, terminated, truncated in query(
            data, "select episode, frame, agent, action, keys, filled, decided_at, reward, terminated, truncated "
                  "from steps where game_id = ?", game_id):
        out[(episode, frame, from_json(agent))] = {
            "action": from_json(action), "keys": from_json(keys), "filled": bool(filled), "decided_at": decided_at,
            "reward": from_json(reward), "terminated": bool(terminated), "truncated": bool(truncated)}
    return out


def frames_of(rows: dict) -> dict:
    """episode → the sorted frames stored."""
    out: dict = {}
    for episode, frame, _ in rows:
        out.setdefault(episode, set()).add(frame)
    return {e: sorted(f) for e, f in out.items()}


def resimulate(data: str, game_id: str, experiment_path: str) -> dict:
    """The rows CPython plays for the game from its seed and the stored human inputs."""
    (step_name, seed), = query(data, "select step, seed from games where game_id = ?", game_id)
    (pid, agent), = query(data, "select participant_id, agent from players where game_id = ? and participant_id "
                                "is not null", game_id)
    (params, condition), = query(data, "select params, condition from participants where participant_id = ?", pid)
    human = from_json(agent)
    experiment = load_experiment(experiment_path)
    who = Participant(pid, from_json(params) or {}, from_json(condition))
    built = build_game(experiment.step(step_name), experiment.policies, seed=seed, participant=who, group=[who])
    driver = built.driver()
    stored = stored_rows(data, game_id)
    out = {}
    result = driver.start()
    while result is not None:
        for row in result.rows:
            out[(row.episode, row.frame, row.agent)] = {k: getattr(row, k) for k in COMPARED}
        if driver.finished:
            break
        if driver.frame.done:
            result = driver.tick_recorded({})
            continue
        key = (driver.episode, driver.frame.index + 1, human)
        if key not in stored:
            break  # the record ends here
        s = stored[key]
        result = driver.tick_recorded({human: (s["action"], s["keys"], s["filled"])})
    return out


def differences(stored: dict, replayed: dict) -> list:
    """Where stored rows and CPython's differ (at most 5)."""
    out = []
    for key in sorted(set(stored) | set(replayed), key=repr):
        a, b = stored.get(key), replayed.get(key)
        if a is None or b is None or any(_norm(a[k]) != _norm(b[k]) for k in COMPARED):
            out.append((key, a, b))
    return out[:5]


def _norm(v):
    return list(v) if isinstance(v, tuple) else v
