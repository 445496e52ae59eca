"""The ``rollback`` check's browser half: 2–4 headless Chromium pages, one per human, each playing
one peer of the step in Pyodide (:class:`~mugkit.runtime.peer_game.PeerGame`, the module a
participant's page runs), connected by the browser runtime's own WebRTC mesh (``net/mesh.js``) on
loopback, with latency, jitter and loss injected in that transport. There is no server: this
module's Python carries each page's offers, answers and ICE candidates to the other pages through
Playwright.

Each scenario (the step's playthroughs over :data:`PLAYTHROUGH_NETEM`, then the key plans of
:func:`~mugkit.checks.inputs.fixed_plans` over each of :data:`NETWORKS`) plays until every peer has
confirmed ``frames`` frames. Then:

- every peer's checksums of the frames it confirmed agree with the others' (else the env diverges
  between peers), and no peer saw a desync or raised;
- no rollback was deeper than ``max_rollback``;
- CPython, replaying with no network the inputs the peers confirmed (each agent's action from
  the rows of the peer that played it), reaches the same checksums and the same rows (actions,
  rewards, flags): the run with no network.

Real networks are not reproducible packet by packet, so a failing scenario is not shrunk; the
report gives the seed, the keys, the network and a program that plays it again.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from .base import CheckContext
from .browser import BrowserPython
from .parity import OpenBrowser
from .inputs import KeyPlan, fixed_plans, plan_to_data
from .report import CheckFailure, reproduce_snippet

__all__ = ["check_rollback_browser", "reproduce", "judge", "peer_agents", "BrowserPeers", "Netem", "Scenario",
           "ScenarioFailed", "NETWORKS", "PLAYTHROUGH_NETEM"]

#: Browser pages need no launch flag but this one for WebRTC on loopback (and a media permission
#: on each context): ENVIRONMENT.md.
LOOPBACK_FLAG = "--allow-loopback-in-peer-connection"
#: Frames each scenario confirms, at least (``--mugkit-frames`` above it plays longer).
FRAMES = 90
#: Seconds the data channels get to open between every pair of pages.
OPEN_SECONDS = 30.0


@dataclass(frozen=True)
class Netem:
    """Faults injected on send in every page's mesh: one-way latency, extra jitter drawn in
    ``[0, jitter_ms]``, and the share of packets lost; ``seed`` seeds each page's draws (plus its
    index)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    seed: int = 0

    def __str__(self) -> str:
        return f"latency {self.latency_ms:g} ms, jitter {self.jitter_ms:g} ms, loss {self.loss:g}, network seed {self.seed}"


#: The network playthroughs are played over (as the simulated-network half does).
PLAYTHROUGH_NETEM = Netem(100, 20, 0.05, 1)
#: The networks the fixed key plans are played over: a fair one, then a bad one that fills most
#: of an 8-frame window at 30 fps.
NETWORKS = (Netem(30, 10, 0.02, 2), Netem(150, 40, 0.1, 3))


class ScenarioFailed(Exception):
    """A scenario's verdict: ``summary`` and the fields of the :class:`CheckFailure`."""

    def __init__(self, summary: str, **fields: Any):
        super().__init__(summary)
        self.summary, self.fields = summary, fields


@dataclass
class Scenario:
    """One play of the pages: the game seed, the keys, how many frames, the network."""

    seed: int
    plan: KeyPlan
    frames: int
    netem: Netem

    def facts(self, peers: dict) -> dict:
        return {"network": f"{self.netem}, injected in each Chromium page's WebRTC mesh",
                "frames": self.frames, "peers": ", ".join(f"{h} plays {a!r}" for h, a in peers.items())}


# -- the check ----------------------------------------------------------------------------------


def check_rollback_browser(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` when the pages' confirmed histories differ from each other or
    from CPython's run with no network, when a page raised, or when the pages cannot play."""
    from ..web.browser.games import MAX_PEERS, runs_in_browser

    if not runs_in_browser(ctx.step):  # more humans than peers: serve plays it on the server
        ctx.notes.append(f"{ctx.step_nodeid}: {len(ctx.step.humans)} humans, more than the {MAX_PEERS} browser peers a "
                         f"game can have: `mugkit serve` plays it on the server, so no Chromium pages played it")
        return
    frames = max(ctx.frames, FRAMES)
    scenarios = [Scenario(seed, plan, max(frames, len(plan)), PLAYTHROUGH_NETEM)
                 for seed, plan in ctx.scripted_examples()]
    plans = fixed_plans(ctx.step, frames)
    scenarios += [Scenario(i, plans[i % len(plans)], frames, netem) for i, netem in enumerate(NETWORKS)]
    deepest: list[int] = []
    with _peers(ctx) as browser:
        for scenario in scenarios:
            deepest.append(_play_and_judge(ctx, browser, scenario))
    ctx.notes.append(f"{ctx.step_nodeid}: rollback in Chromium: {len(scenarios)} scenarios, {len(ctx.step.humans)} "
                     f"pages over WebRTC on loopback, deepest rollback per scenario {deepest} "
                     f"(max_rollback {ctx.step.options.max_rollback})")


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan, *, frames_run: int, latency_ms: float = 0,
              jitter_ms: float = 0, loss: float = 0, network_seed: int = 0) -> None:
    """Plays one scenario again in fresh Chromium pages; raises its :class:`CheckFailure` if it
    still fails (a failure that depends on packet timing may not come back every time)."""
    with _peers(ctx) as browser:
        _play_and_judge(ctx, browser, Scenario(seed, plan, frames_run, Netem(latency_ms, jitter_ms, loss, network_seed)))


def _play_and_judge(ctx: CheckContext, browser: "BrowserPeers", scenario: Scenario) -> int:
    """Plays and judges one scenario; returns its deepest rollback."""
    peers = peer_agents(ctx)
    try:
        reports = browser.play(scenario, peers)
        judge(ctx, scenario, peers, reports)
    except ScenarioFailed as failed:
        raise _failure(ctx, scenario, peers, failed) from None
    return max((r.get("stats") or {}).get("max_rollback_depth", 0) for r in reports)


def _failure(ctx: CheckContext, scenario: Scenario, peers: dict, failed: ScenarioFailed) -> CheckFailure:
    netem = scenario.netem
    replay = reproduce_snippet(ctx, scenario.seed, scenario.plan, frames_run=scenario.frames, browser=True,
                               latency_ms=netem.latency_ms, jitter_ms=netem.jitter_ms, loss=netem.loss,
                               network_seed=netem.seed)
    return CheckFailure(ctx.nodeid, failed.summary, seed=scenario.seed, plan=scenario.plan, replay=replay,
                        scenario=scenario.facts(peers), **failed.fields)


def peer_agents(ctx: CheckContext) -> dict:
    """Handle → agent of every human: ``"h<i>"`` plays agent ``i`` of the game's agents (the
    session's handles), lowest first (the host, which also plays the AI agents)."""
    agents = ctx.game(0).driver().agents
    return {f"h{i}": agent for i, agent in enumerate(agents) if agent in ctx.step.humans}


def _peers(ctx: CheckContext) -> OpenBrowser:
    """:class:`BrowserPeers` for one check, failing the check (with the reason) when Chromium or
    the step does not load."""
    return OpenBrowser(ctx, BrowserPeers(str(ctx.step_nodeid), ctx.rootdir, len(ctx.step.humans)),
                       "run the peers in")


class BrowserPeers(BrowserPython):
    """``pages`` headless Chromium pages (one browser context each, with the WebRTC launch flag and
    a media permission), each with Pyodide booted and the step loaded; :meth:`play` plays one
    scenario on them and gives each page's report.

    Args:
        node, rootdir, timeout, packages_url: as :class:`~mugkit.checks.browser.BrowserPython`.
        pages: how many pages (peers), 2 to 4.
    """

    def __init__(self, node: str, rootdir: str, pages: int, **kwargs: Any):
        super().__init__(node, rootdir, **kwargs)
        self.count = pages
        self.pages: list = []
        self._contexts: list = []
        self._games = 0
        self.progress: list = []

    def start(self) -> dict:
        """Serves the files, opens the pages and boots Pyodide in all of them at once; the answer
        of the first page that failed, else the first page's."""
        self._serve()
        self._server.folders["/harness/"] = os.path.join(os.path.dirname(__file__), "static")
        self._open()
        description = self._boot_description()
        for page in self.pages:  # all boot at once; each answer is awaited below
            page.evaluate("d => { window.mugkitBoot = window.mugkitRollback.boot(d); }", description)
        answers = [page.evaluate("() => window.mugkitBoot") for page in self.pages]
        self.loaded = next((a for a in answers if not a.get("ok")), answers[0])
        return self.loaded

    def _open(self) -> None:
        self._launch("rollback", (LOOPBACK_FLAG,))
        for _ in range(self.count):
            context = self._browser.new_context(permissions=["microphone", "camera"])
            page = context.new_page()
            page.set_default_timeout(self.timeout * 1000)
            page.goto(f"{self._server.url}/harness/rollback.html")
            page.wait_for_function("() => window.mugkitRollback !== undefined")
            self._contexts.append(context)
            self.pages.append(page)
        self._page = self.pages[0]

    def close(self) -> None:
        self.pages, self._contexts = [], []
        super().close()

    def play(self, scenario: Scenario, peers: dict) -> list[dict]:
        """Plays ``scenario``: opens one peer per page, connects the mesh, runs the clocks until
        every peer has confirmed ``scenario.frames`` frames (or failed), and returns each page's
        report (``rows``, ``events``, ``stats``, ``mesh``, ``error``).

        Raises:
            ScenarioFailed: the data channels did not open, or the peers did not finish in time.
        """
        self._games += 1
        handles = list(peers)
        host = handles[0]
        opened = []
        for i, (page, me) in enumerate(zip(self.pages, handles)):
            request = {"seed": scenario.seed, "me": me, "peers": peers, "host": host, "frames": scenario.frames,
                       "keys": plan_to_data(scenario.plan), "game": f"check-{self._games}"}
            netem = {"latency_ms": scenario.netem.latency_ms, "jitter_ms": scenario.netem.jitter_ms,
                     "loss": scenario.netem.loss, "seed": scenario.netem.seed * 16 + i}
            opened.append(page.evaluate("s => window.mugkitRollback.open(s)", {
                "request": request, "peers": handles, "netem": netem, "fps": self._fps(),
                "open_timeout_ms": OPEN_SECONDS * 1000}))
        failed = next((o for o in opened if not o.get("ok")), None)
        if failed is not None:
            return [{"me": me, "error": o.get("error"), "rows": [], "events": []} for me, o in zip(handles, opened)]
        self._connect(handles)
        for page in self.pages:
            page.evaluate("() => window.mugkitRollback.go()")
        self._wait(scenario)
        for page in self.pages:  # every clock stops before any page closes its connections
            page.evaluate("() => window.mugkitRollback.stop()")
        return [page.evaluate("() => window.mugkitRollback.finish()") for page in self.pages]

    def _fps(self) -> float:
        if not hasattr(self, "_step_fps"):
            from ..collect import load_step

            self._step_fps = float(load_step(self.node, self.rootdir)[1].options.fps)
        return self._step_fps

    def _shuttle(self, handles: list) -> None:
        """Carries every page's queued signals to their pages."""
        by_handle = dict(zip(handles, self.pages))
        for me, page in zip(handles, self.pages):
            for to, data in page.evaluate("() => window.mugkitRollback.takeSignals()"):
                by_handle[to].evaluate("s => window.mugkitRollback.giveSignals(s)", [[me, data]])

    def _connect(self, handles: list) -> None:
        deadline = time.monotonic() + OPEN_SECONDS
        while True:
            self._shuttle(handles)
            paths = [page.evaluate("() => window.mugkitRollback.paths()") for page in self.pages]
            if all(p == "direct" for states in paths for p in states.values()):
                return
            if time.monotonic() > deadline:
                raise ScenarioFailed(
                    f"the Chromium pages' WebRTC data channels did not open within {OPEN_SECONDS:g} s on loopback "
                    f"(paths: {dict(zip(handles, paths))}); this is the check's own set-up, not the env: is "
                    f"Chromium started with {LOOPBACK_FLAG}?")
            time.sleep(0.02)

    def _wait(self, scenario: Scenario) -> None:
        """Until every page is done; bounded by ten times the scenario's playing time plus a minute.
        Each page's last progress (frames played, ms since its clock started) is kept in
        :attr:`progress` (benchmarks read it)."""
        limit = time.monotonic() + 60 + 10 * scenario.frames / self._fps()
        while time.monotonic() < limit:
            self.progress = [page.evaluate("() => window.mugkitRollback.progress()") for page in self.pages]
            if all(p["done"] for p in self.progress):
                return
            time.sleep(0.1)


# -- the verdict ----------------------------------------------------------------------------------


@dataclass
class _Confirmed:
    """What the peers confirmed, put together: rows by (episode, frame, agent), checksums by
    (episode, frame) and peer."""

    rows: dict = field(default_factory=dict)
    owner: dict = field(default_factory=dict)       # agent → handle
    checksums: dict = field(default_factory=dict)   # (episode, frame) → {handle: checksum}
    depth: dict = field(default_factory=dict)       # handle → deepest rollback


def judge(ctx: CheckContext, scenario: Scenario, peers: dict, reports: list[dict]) -> None:
    """Raises :class:`ScenarioFailed` unless every peer confirmed ``scenario.frames`` frames and
    agrees with the others and with CPython's replay of the confirmed inputs."""
    for report in reports:
        _judge_errors(ctx, report, peers)
    confirmed = _gather(reports)
    _judge_progress(scenario, peers, reports, confirmed)
    _judge_agreement(confirmed)
    _judge_depth(ctx, confirmed)
    _judge_replay(ctx, scenario, confirmed)


def _judge_errors(ctx: CheckContext, report: dict, peers: dict) -> None:
    me = report.get("me")
    error = report.get("error")
    if error:
        raise ScenarioFailed(f"peer {me} (playing {peers.get(me)!r}) raised {error.get('type')}: {error.get('message')} "
                             f"in the browser", raised_at=list(error.get("traceback") or []))
    desync = next((e for e in report.get("events", []) if e.get("kind") == "desync"), None)
    if desync is not None:
        raise ScenarioFailed(
            f"peer {me} detected a desync with peer {desync.get('peer')} at frame {desync.get('frame')} of episode "
            f"{desync.get('episode')}: checksum {desync.get('ours')} here, {desync.get('theirs')} there",
            frame=desync.get("frame"), cause=_DIVERGE)


def _gather(reports: list[dict]) -> _Confirmed:
    from ..runtime.values import from_json

    out = _Confirmed()
    for report in reports:
        me = report["me"]
        for text in report.get("rows", []):
            batch = from_json(text)
            for row in batch.get("rows", []):
                key = (row["episode"], row["frame"], row["agent"])
                out.rows.setdefault(key, row)
                out.owner.setdefault(row["agent"], me)
            for episode, frame, checksum in batch.get("checksums", []):
                out.checksums.setdefault((episode, frame), {})[me] = checksum
        out.depth[me] = (report.get("stats") or {}).get("max_rollback_depth", 0)
    return out


def _judge_progress(scenario: Scenario, peers: dict, reports: list[dict], confirmed: _Confirmed) -> None:
    for report in reports:
        me = report["me"]
        mine = sorted((e, f) for e, f, a in confirmed.rows if a == peers[me])
        if len(mine) <= scenario.frames and not _finished(confirmed, mine):
            last = f"frame {mine[-1][1]} of episode {mine[-1][0]}" if mine else "no frame"
            raise ScenarioFailed(f"peer {me} confirmed only {len(mine)} frames (up to {last}) of {scenario.frames + 1}: "
                                 f"the session got stuck (played {report.get('played')} frames; stats "
                                 f"{report.get('stats')}; paths {(report.get('mesh') or {}).get('paths')})")


def _finished(confirmed: _Confirmed, mine: list) -> bool:
    """The game's last episode ended at the last confirmed frame (a game shorter than the scenario)."""
    if not mine:
        return False
    last = mine[-1]
    return any(row.get("terminated") or row.get("truncated") for (e, f, _), row in confirmed.rows.items()
               if (e, f) == last)


def _judge_agreement(confirmed: _Confirmed) -> None:
    for (episode, frame), seen in sorted(confirmed.checksums.items()):
        if len(set(map(repr, seen.values()))) > 1:
            shown = ", ".join(f"{h}: {c}" for h, c in seen.items())
            raise ScenarioFailed(f"the peers confirmed frame {frame} of episode {episode} with different checksums "
                                 f"({shown}): the env diverges between peers", frame=frame, cause=_DIVERGE)


def _judge_depth(ctx: CheckContext, confirmed: _Confirmed) -> None:
    limit = ctx.step.options.max_rollback
    for handle, depth in confirmed.depth.items():
        if depth and depth > limit:
            raise ScenarioFailed(f"peer {handle} rolled back {depth} frames, more than max_rollback={limit}")


def _judge_replay(ctx: CheckContext, scenario: Scenario, confirmed: _Confirmed) -> None:
    """CPython replays the confirmed inputs with no network: the same checksums and rows."""
    from ..runtime.errors import InternalError
    from ..runtime.values import to_json

    driver = ctx.game(scenario.seed).driver()
    driver.start()
    agents = list(driver.agents)
    # Up to the last frame whose every agent's row came (a peer that stopped first confirmed fewer).
    frames = sorted({(e, f) for e, f, _ in confirmed.rows})
    complete = [ef for ef in frames if all((*ef, a) in confirmed.rows for a in agents)]
    frames = frames[:frames.index(complete[-1]) + 1] if complete else []
    played: list[dict] = []
    agreed = None  # the last frame whose checksums CPython matched
    for episode, frame in frames:
        if any((episode, frame, a) not in confirmed.rows for a in agents):
            missing = [a for a in agents if (episode, frame, a) not in confirmed.rows]
            raise InternalError(f"frame {frame} of episode {episode} is missing from the confirmed rows of "
                                f"{missing} while later frames are there: a PeerGame skipped a confirmed frame")
        if (episode, frame) != (0, 0):
            actions = {a: confirmed.rows[(episode, frame, a)].get("action") for a in agents}
            result = driver.advance(actions)
            played.append(actions if frame else {})
            for row in result.rows if result is not None else ():
                theirs = confirmed.rows.get((row.episode, row.frame, row.agent))
                if theirs is None:
                    continue
                for name in ("action", "reward", "terminated", "truncated"):
                    if to_json(getattr(row, name)) != to_json(theirs.get(name)):
                        raise ScenarioFailed(
                            f"peer {confirmed.owner.get(row.agent)} confirmed {name} {theirs.get(name)!r} for "
                            f"{row.agent!r} at frame {frame} of episode {episode}; CPython, replaying the inputs the "
                            f"peers confirmed with no network, has {getattr(row, name)!r}",
                            frame=frame, actions=played, cause=_BROWSER_ONLY)
        seen = confirmed.checksums.get((episode, frame), {})
        if seen:
            mine = driver.checksum()
            wrong = {h: c for h, c in seen.items() if repr(c) != repr(mine)}
            if wrong:
                shown = ", ".join(f"{h}: {c}" for h, c in wrong.items())
                raise ScenarioFailed(
                    f"the peers confirmed frame {frame} of episode {episode} with checksum(s) {shown}; CPython, "
                    f"replaying the inputs they confirmed with no network, has {mine}",
                    actions=played, cause=_BROWSER_ONLY, differs=[_window(agreed, (episode, frame))])
            agreed = (episode, frame)


def _window(agreed: tuple | None, differs: tuple) -> str:
    """Where the first difference lies: peers exchange a checksum only every few frames."""
    if agreed is None or agreed[0] != differs[0]:
        return f"the first checksum compared, at frame {differs[1]} of episode {differs[0]}, differs"
    return (f"checksums agree at frame {agreed[1]} and differ at frame {differs[1]} of episode {differs[0]}: the "
            f"first differing frame is one of {agreed[1] + 1}–{differs[1]} (peers exchange a checksum every few frames)")


_DIVERGE = ("the peers played the same inputs from the same seed and still disagree: the env (or its step function) "
            "depends on something other than its seed and inputs in each browser — module-level random numbers, "
            "the clock, the order of a set, an attribute set_state() leaves out (the synctest names it), or the "
            "page it runs in")
_BROWSER_ONLY = ("the peers agree with each other but not with CPython: the env behaves differently in Pyodide "
                 "(the parity check compares single games and says how), or set_state() leaves something out "
                 "that only a rollback shows (the synctest names it)")
