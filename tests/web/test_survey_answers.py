"""Forged survey answers against a real `mugkit serve` (tests/web/studies/_surveys.py): each one
is refused with an error that names the question and what it takes, and nothing is stored; the
answers a page would send are stored one row per question (a matrix: one per statement)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3

import pytest

from serving import STUDIES, Browser, serve

pytestmark = pytest.mark.slow

SURVEYS = os.path.join(STUDIES, "_surveys.py")

SCALES = {"fun": 3, "effort": 7, "plain": 2, "confidence": 65}
ABOUT = {"age": 34, "country": "France", "hand": "left", "devices": ["keyboard", "mouse"], "comments": None}
PARTNER = {"trust": {"honest": 4, "skilled": 5, "quick": 2}, "kind": "a computer", "why": "It never paused.",
           "sure": 4}

FORGED = [  # (step index, answers, words the error must hold)
    (0, {**SCALES, "fun": "3"}, ["The game was fun.", "choose a point from 1 to 5"]),
    (0, {**SCALES, "fun": 6}, ["The game was fun.", "from 1 to 5"]),
    (0, {**SCALES, "fun": True}, ["The game was fun."]),
    (0, {**SCALES, "confidence": 62}, ["How sure are you of your answers so far?", "from 0 to 100"]),
    (0, {**SCALES, "confidence": 105}, ["from 0 to 100 on the slider"]),
    (0, {**SCALES, "extra": 1}, ["unknown question(s): extra"]),
    (0, {**SCALES, "x" * 3000: 1}, ["unknown question(s): xxxx"]),
    (0, {**SCALES, "plain": None}, ["please answer: How difficult was the game?"]),
    (1, {**ABOUT, "age": 17}, ["How old are you?", "a whole number from 18 to 99"]),
    (1, {**ABOUT, "age": 30.5}, ["a whole number from 18 to 99"]),
    (1, {**ABOUT, "age": 2 ** 60}, ["a whole number from 18 to 99"]),
    (1, {**ABOUT, "country": "Atlantis"}, ["Where do you live?", "choose one of the options"]),
    (1, {**ABOUT, "hand": "Left"}, ["Which hand do you write with?"]),
    (1, {**ABOUT, "devices": ["keyboard", "keyboard"]}, ["at most once"]),
    (1, {**ABOUT, "devices": "keyboard"}, ["What did you play with?"]),
    (1, {**ABOUT, "comments": "y" * 501}, ["Anything else?", "at most 500 characters"]),
    (1, {**ABOUT, "comments": ["a list"]}, ["Anything else?", "write text"]),
    (2, {**PARTNER, "trust": {"honest": 4, "skilled": 6, "quick": 2}}, ["each statement from 1 to 5"]),
    (2, {**PARTNER, "trust": {"honest": 4, "skilled": 5}}, ["rate every statement"]),
    (2, {**PARTNER, "trust": {"honest": 4, "skilled": 5, "quick": 2, "bogus": 1}}, ["rate the statements shown"]),
    (2, {**PARTNER, "trust": [4, 5, 2]}, ["How much do you agree with each statement?"]),
    (2, {**PARTNER, "kind": "not sure"}, ["not shown after your earlier answers", "What made you think"]),
    (2, {**PARTNER, "why": None}, ["please answer: What made you think it was a computer?"]),
    (2, {**PARTNER, "kind": "a human", "why": None, "sure": None}, ["please answer: How sure are you?"]),
]


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = serve(SURVEYS, data=str(tmp_path_factory.mktemp("surveys") / "data"))
    yield served
    served.stop()


async def _answer(b: Browser, index: int, answers: dict) -> dict:
    return await b.call("advance", {"index": index, "answers": answers})


def test_forged_answers_are_refused_with_a_clear_error_and_store_nothing(server):
    async def main():
        b = Browser(server.url, "_surveys")
        await b.connect()
        await b.view("survey")
        replies = []
        for index, valid in enumerate((SCALES, ABOUT, PARTNER)):
            for step, answers, _ in FORGED:
                if step == index:
                    replies.append(await _answer(b, index, answers))
            if index < 2:  # then the valid answers, to reach the next survey
                assert await _answer(b, index, valid) == {"ok": True}
                await b.view("survey")
        await b.close()
        return replies

    replies = asyncio.run(main())
    assert len(replies) == len(FORGED)
    for (_, answers, words), reply in zip(FORGED, replies):
        assert reply["ok"] is False, (answers, reply)
        for word in words:
            assert word in reply["error"], (word, reply["error"])
        assert len(reply["error"]) < 200, reply["error"]
    stored = rows(server.data, "select step, count(*) from answers group by step order by step")
    assert stored == [("about_you", 5), ("scales", 4)]  # only the valid answers given between


def test_the_answers_a_page_sends_are_stored_one_row_per_question_and_statement(server):
    async def main():
        b = Browser(server.url, "_surveys")
        await b.connect()
        for index, answers in enumerate((SCALES, ABOUT, PARTNER)):
            await b.view("survey")
            assert await _answer(b, index, answers) == {"ok": True}
        done = await b.view("completion")
        await b.close()
        return b.identity["participant"], done

    pid, done = asyncio.run(main())
    assert done["code"] == "SURV3Y"
    stored = {q: None if v is None else json.loads(v)
              for q, v in rows(server.data, f"select question, value from answers where participant_id = '{pid}'")}
    assert stored == {"fun": 3, "effort": 7, "plain": 2, "confidence": 65, "age": 34, "country": "France",
                      "hand": "left", "devices": ["keyboard", "mouse"], "comments": None, "trust.honest": 4,
                      "trust.skilled": 5, "trust.quick": 2, "kind": "a computer", "why": "It never paused.", "sure": 4}


def test_a_question_hidden_by_the_earlier_answers_is_not_required_and_has_no_row(server):
    async def main():
        b = Browser(server.url, "_surveys")
        await b.connect()
        view = await b.view("survey")
        assert view["conditions"] == {}
        for index, answers in enumerate((SCALES, ABOUT)):
            assert await _answer(b, index, answers) == {"ok": True}
            view = await b.view("survey")
        assert view["conditions"] == {"why": [["kind", "==", "a computer"]],
                                      "sure": [["kind", "in", ["a human", "a computer"]]]}
        assert await _answer(b, 2, {"trust": PARTNER["trust"], "kind": "not sure"}) == {"ok": True}
        await b.close()
        return b.identity["participant"]

    pid = asyncio.run(main())
    questions = rows(server.data, f"select question from answers where participant_id = '{pid}' and step = 'partner'")
    assert sorted(q for (q,) in questions) == ["kind", "trust.honest", "trust.quick", "trust.skilled"]
