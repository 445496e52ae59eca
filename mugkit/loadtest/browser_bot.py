"""A browser bot: a real headless Chromium page (Playwright) going through the participant's page
as a person would — clicking buttons, filling SurveyJS questions, holding keys in games.

Its log (:class:`~mugkit.loadtest.log.BotLog`) is read off the page's own websocket: every
socket.io packet the page sends and receives is parsed, so the audit checks exactly what the
real client sent and what the server acknowledged (answers, consent, frames streamed, rows of a
browser-run game). A page costs far more than a protocol bot (``bench/bench_loadtest.py``):
use a few for a smoke run through the real client.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from typing import Any

from ..checks.inputs import sample_plan
from .presence import lively
from ..runtime.values import from_json
from ..web.entry import prolific_like
from .answers import questions_of, valid_answers
from .audit import acknowledged
from .bot import Bounds, Failed, Stuck
from .log import BotLog, GameLog, Outcome
from .players import PLAN_FRAMES, plan_step

__all__ = ["BrowserBot", "launch"]

#: Chromium's flag for data channels on loopback, and the permissions that make a page offer its
#: real host addresses rather than mDNS names (which a headless machine cannot resolve).
WEBRTC_ARGS = ["--allow-loopback-in-peer-connection"]
WEBRTC_PERMISSIONS = ["microphone", "camera"]

_PACKET = re.compile(r"^4([23])(\d*)(.*)$", re.S)


#: Milliseconds a bot tries to press a screen's button that was just visible: past it the screen
#: went away meanwhile (a loaded machine; playwright's default would wait 30 s and fail the bot).
SCREEN_CLICK_MS = 3000


async def launch(executable: str) -> tuple[Any, Any]:
    """Playwright and a headless Chromium (Debian's, at ``executable``)."""
    from playwright.async_api import async_playwright

    playwright = await async_playwright().start()
    try:
        # Browser games with several humans open WebRTC data channels between the bots' pages,
        # which headless Chromium allows on loopback only with this flag.
        return playwright, await playwright.chromium.launch(executable_path=executable, args=WEBRTC_ARGS)
    except Exception:
        await playwright.stop()
        raise


class BrowserBot:
    """One participant in a Chromium page (arguments as :class:`~mugkit.loadtest.bot.ProtocolBot`,
    plus the launched ``chromium``). Its page passes the experiment's entry screening: the
    browser sends a User-Agent, and has a window, the screening lets in (mugkit/loadtest/screening.py)."""

    def __init__(self, number: int, url: str, experiment: str, collected: Any, chromium: Any, *, run_id: str,
                 bounds: Bounds = Bounds()):
        from .screening import plan

        self.url, self.experiment, self.chromium, self.bounds = url, experiment, chromium, bounds
        self.screen = plan(collected)
        self.steps = {s.name: s for s in collected.steps} if collected is not None else {}
        self.rng = random.Random(f"{run_id}:browser:{number}")
        pid = prolific_like(f"lt-{run_id}-{number}")
        self.query = f"PROLIFIC_PID={pid}&STUDY_ID=loadtest&SESSION_ID={run_id}"
        self.log = BotLog(number, experiment, kind="browser")
        self.pending: dict = {}           # ack id -> (event, data) sent
        self.view: dict = {}              # the view the bot acts on
        self.shown: dict = {}             # the newest view the page received
        self.views: asyncio.Queue = asyncio.Queue()
        self.progress_at = time.monotonic()

    # -- the page's websocket, parsed ------------------------------------------------------

    def _sent(self, payload: Any) -> None:
        m = _PACKET.match(payload) if isinstance(payload, str) else None
        if m is None or m.group(1) != "2":
            return
        event, *args = json.loads(m.group(3))
        self.log.sent += 1
        if m.group(2):
            # The step it answers is the newest view the page got (the next view comes before the ack).
            self.pending[m.group(2)] = (event, args[0] if args else None, time.monotonic(), self.shown.get("step"))

    def _received(self, payload: Any) -> None:
        m = _PACKET.match(payload) if isinstance(payload, str) else None
        if m is None:
            return
        self.log.received += 1
        self.progress_at = time.monotonic()
        body = json.loads(m.group(3))
        if m.group(1) == "3":
            self._ack(m.group(2), body[0] if body else None)
            return
        event, data = body[0], body[1] if len(body) > 1 else None
        if event == "identity":
            self.log.participant = data.get("participant")
        elif event == "view":
            self.shown = data
            if data.get("kind") == "game":  # now, so that no frame after it goes unrecorded
                self.log.games.setdefault(data["game"], GameLog(data["game"], data.get("step"), data.get("you"),
                                                                data.get("runtime", "server")))
            self.views.put_nowait(data)
        elif event == "frame" and data.get("game") in self.log.games:
            self.log.games[data["game"]].frame(data.get("episode", 0), data.get("frame", 0))

    def _ack(self, ack_id: str, reply: Any) -> None:
        event, data, sent, step = self.pending.pop(ack_id, (None, None, 0.0, None))
        if not isinstance(reply, dict) or not reply.get("ok") or event is None:
            return
        self.log.latencies.append((event, time.monotonic() - sent))
        if event == "advance" and "answers" in data:
            self.log.answers.append((step, data.get("index"), data["answers"]))
        elif event == "advance" and data.get("agree") is True:
            self.log.consents.append(step)
        elif event == "rows" and data.get("game") in self.log.games:
            rows = from_json(data["rows"])
            # A rollback peer's batch is {"rows": [...], "checksums": [...]} (PeerGame.take_rows).
            acknowledged(self.log.games[data["game"]], rows["rows"] if isinstance(rows, dict) else rows)

    # -- the flow --------------------------------------------------------------------------

    async def run(self) -> BotLog:
        """Goes through the flow in a fresh browser context; returns the log."""
        w, h = self.screen.window
        options = {"user_agent": self.screen.user_agent} if self.screen.screened else {}
        context = await self.chromium.new_context(viewport={"width": max(1000, w), "height": max(760, h)},
                                                  permissions=WEBRTC_PERMISSIONS, **options)
        page = await context.new_page()
        # Completion redirects leave for the panel's site: answered locally (tests run offline).
        await page.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost)"),
                         lambda route: route.fulfill(body="ok", content_type="text/html"))
        page.on("websocket", self._watch)
        try:
            await page.goto(f"{self.url}/{self.experiment}/?{self.query}", timeout=self.bounds.connect * 1000)
            self.log.connected_at = time.monotonic()
            while self.log.outcome is None:
                await self._act(page, await self._next_view())
        except Stuck as exc:
            self.log.outcome = Outcome("stuck", self.log.step, str(exc), self.view.get("kind", ""))
        except Failed as exc:
            self.log.outcome = Outcome("failed", self.log.step, str(exc), self.view.get("kind", ""))
        except Exception as exc:
            self.log.outcome = Outcome("failed", self.log.step, f"{type(exc).__name__}: {exc}".splitlines()[0],
                                       self.view.get("kind", ""))
        finally:
            self.log.finished_at = time.monotonic()
            await context.close()
        return self.log

    def _watch(self, ws: Any) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    async def _next_view(self) -> dict:
        while True:
            allowed = self.bounds.stuck_after + (float(self.view.get("timeout") or 0)
                                                 if self.view.get("kind") == "waitroom" else 0.0)
            now = time.monotonic()
            if self.bounds.deadline is not None and now > self.bounds.deadline:
                raise Stuck("still going when the run's --duration ended")
            if now - self.progress_at > allowed:
                raise Stuck(f"the page showed nothing new for {allowed:g} s")
            try:
                view = await asyncio.wait_for(self.views.get(), 1.0)
            except asyncio.TimeoutError:
                continue
            if all(view.get(k) == self.view.get(k) for k in ("kind", "index", "game")):
                continue
            self.view = view
            self.log.view(view)
            return view

    async def _act(self, page: Any, view: dict) -> None:
        kind = view.get("kind")
        if view.get("problem"):   # the game before failed: its notice shows first (docs/participants.md)
            await page.click(".mk-view-problem [data-answer]")
        if kind == "page":
            await page.locator(".mk-actions button").first.click()
        elif kind == "consent":
            await page.click("button[data-answer='agree']")
        elif kind == "survey":
            await self._survey(page, view)
        elif kind == "game":
            await self._game(page, view)
        elif kind == "ended" and view.get("status") == "screened_out" and view.get("reason") != "check":
            raise Failed(f"the entry screening turned the page away ({view.get('reason')}): "
                         f"{str(view.get('html'))[:160]}")
        elif kind == "ended" and view.get("status") == "screened_out":  # the study's own check, on random answers
            self.log.outcome = Outcome("completed", self.log.step, kind="screened_out by the study's check",
                                       code=view.get("code"))
        elif kind in ("completion", "ended"):
            self.log.outcome = Outcome("completed", self.log.step, kind=kind, code=view.get("code"))
        elif kind in ("refused", "preview"):
            raise Failed(f"the page showed a {kind!r} view")
        elif kind == "problem":
            raise Failed(f"the study failed on its side (reference {view.get('ref')}): see the server's log")

    async def _survey(self, page: Any, view: dict) -> None:
        answers = valid_answers(view.get("survey"), self.rng, view.get("conditions"))
        for q in questions_of(view.get("survey")):
            value = answers.get(q["name"])
            if value is not None:
                await self._answer(page.locator(f".sd-question[data-name='{q['name']}']"), q, value)
        await page.locator(".sd-navigation__complete-btn, input[value='Continue']").first.click()

    @staticmethod
    async def _answer(box: Any, q: dict, value: Any) -> None:
        """Gives ``value`` to question ``q`` (its SurveyJS JSON) in the page, as a person would."""
        kind = q.get("type")
        if kind == "rating":
            await box.locator(f".sd-rating__item-text >> text='{value}'").click()
        elif kind in ("radiogroup", "checkbox"):  # by value: a scale's points may have no text
            for choice in value if isinstance(value, list) else [value]:
                await box.locator(f"input[value='{choice}']").locator("xpath=..").click()
        elif kind == "dropdown":
            await box.locator(".sd-dropdown").click()
            await box.page.locator(".sv-list__item:visible").get_by_text(value, exact=True).click()
        elif kind == "matrix":
            for i, row in enumerate(q.get("rows") or []):
                cell = box.locator("tbody tr").nth(i).locator(f"input[value='{value[row['value']]}']")
                await cell.locator("xpath=..").click()
        elif kind == "slider":  # a click on the track at the value's place (the page sends the value it lands on)
            slider = box.locator("input[type=range]")
            await slider.scroll_into_view_if_needed()
            track = await slider.bounding_box()
            share = (value - q.get("min", 0)) / ((q.get("max", 100) - q.get("min", 0)) or 1)
            await box.page.mouse.click(track["x"] + share * track["width"], track["y"] + track["height"] / 2)
        else:
            await box.locator("input, textarea").first.fill(str(value))

    async def _game(self, page: Any, view: dict) -> None:
        """Holds keys from the plan at the game's fps until the next view arrives."""
        plan = lively(sample_plan(plan_step(view, self.steps.get(view.get("step"))), PLAN_FRAMES, self.rng), view)
        period, held, i = 1.0 / float(view.get("fps") or 30), (), 0
        await page.wait_for_selector("canvas", timeout=self.bounds.stuck_after * 1000)
        while self.views.empty() and self.log.outcome is None:
            if i % 10 == 0:
                await self._answer_screens(page)
            now = plan.held(view.get("you"), i % len(plan))
            for key in held:
                if key not in now:
                    await page.keyboard.up(key)
            for key in now:
                if key not in held:
                    await page.keyboard.down(key)
            held, i = now, i + 1
            if time.monotonic() - self.progress_at > self.bounds.stuck_after:
                raise Stuck(f"no frame or view for {self.bounds.stuck_after:g} s in the game")
            await asyncio.sleep(period)
        for key in held:
            await page.keyboard.up(key)

    @staticmethod
    async def _answer_screens(page: Any) -> None:
        """Answers the screens around a game as a participant would (docs/participants.md): "I'm
        ready", "Continue" after a round or a problem notice."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        answer = page.locator(".mk-screen:not([hidden]) [data-answer], .mk-view-problem [data-answer]")
        if await answer.count() and await answer.first.is_visible():
            try:
                await answer.first.click(timeout=SCREEN_CLICK_MS)
            except PlaywrightTimeout:
                pass  # the screen went away before the click (the game went on, or the next view came)
