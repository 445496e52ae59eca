"""Failures on the study's side at the protocol level (docs/participants.md): a survey that
raises after the consent ends the study for the participant with the error code, a neutral view
and a reference that the log and the events share; a protocol client that shows no screens is not
waited for."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import textwrap

import pytest

from serving import Browser, serve

pytestmark = pytest.mark.slow

STUDY = '''
    import mugkit as mk

    @mk.scene
    def consent():
        return mk.Consent(body="You agree.", decline_code="NO1")

    @mk.survey
    def questions():
        raise KeyError("a question the researcher forgot to define")

    @mk.scene
    def done():
        return mk.Completion(code="OK1", error_code="ERR1")
'''


def test_a_survey_that_raises_after_the_consent_ends_the_study_with_the_error_code(tmp_path):
    (tmp_path / "study.py").write_text(textwrap.dedent(STUDY))
    served = serve(str(tmp_path / "study.py"), data=str(tmp_path / "data"))
    try:
        async def main():
            b = Browser(served.url, "study")
            await b.connect()
            await b.view("consent")
            assert await b.call("advance", {"index": 0, "agree": True}) == {"ok": True}
            problem = await b.view("problem")
            again = Browser(served.url, "study", identity=b.identity)   # a reload shows it again
            await b.close()
            await again.connect()
            reloaded = await again.view("problem")
            await again.close()
            return problem, reloaded

        problem, reloaded = asyncio.run(main())
        assert problem["code"] == reloaded["code"] == "ERR1" and problem["redirect"] is None
        assert "technical problem on our side" in problem["html"] and "nothing to do with your computer" in problem["html"]
        with sqlite3.connect(os.path.join(served.data, "mugkit.sqlite")) as db:
            (detail,), = db.execute("select detail from events where kind = 'step_failed'").fetchall()
            status = db.execute("select status, outcome_code from participants").fetchall()
        detail = json.loads(detail)
        assert detail["ref"] == problem["ref"] and "forgot to define" in detail["error"]
        assert status == [("error", "ERR1")]
        log = "".join(served.output)
        assert problem["ref"] in log and "Traceback" in log and "KeyError" in log
    finally:
        served.stop()
