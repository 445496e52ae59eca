"""Running a load test: the experiments, the server, the bots ramped up at a rate, the server
watched while they run, then the audit and the report.

:func:`run_loadtest` is the whole of ``mugkit loadtest``; tests call it with a ``before_audit``
hook to tamper with the database behind the bots' backs.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .audit import audit
from .bot import Bounds, ProtocolBot
from .log import BotLog, Outcome
from .progress import Progress
from .report import Report, build_report
from .screening import fail_plans, has_screening, plan
from .server import Server, fetch_stats, proc_usage, start_server
from ..web.storage.postgres import is_database_url

__all__ = ["LoadTestConfig", "run_loadtest", "spread", "resolve", "LoadTestError"]


class LoadTestError(ValueError):
    """Bad input to a load test (no experiments, a node id naming no step, ...): the message says what."""


@dataclass
class LoadTestConfig:
    """What ``mugkit loadtest`` was asked to do (its options, one field each).

    Attributes:
        paths: experiment files, folders or node ids (``file.py::step``: its experiment).
        bots: simulated participants.
        url: a running server to target instead of starting one.
        token: that server's admin token (its tick lateness, CPU and memory), if known.
        data: the data folder: where the started server keeps its database (default: a temporary
            folder, removed afterwards), or the folder of the ``--url`` server's database (for the audit).
        database: the PostgreSQL database's URL: where the started server keeps its data
            (``mugkit serve --database``), or the ``--url`` server's database (for the audit).
        rate: bots started per second.
        duration: seconds after which bots still going are reported stuck (None: no limit but theirs).
        stuck_after: seconds without progress after which a bot is stuck.
        browser: how many of the bots are headless Chromium pages.
        invalid_answers: bots first send invalid survey answers, which must be rejected.
        reloads: how many protocol bots reload the page once in their first game.
        reconnect: protocol bots whose connection the server drops open it again and go on (as
            pages do), instead of failing: for runs that kill a server process.
        seed: the study seed of a started server.
        grace: ``--grace`` of a started server.
        before_audit: called with the database path before the audit (tests).
        progress: where the live progress goes (None: stderr; False: nowhere).
        chromium: the Chromium executable the ``browser`` bots run in.
        screen_fail: how many protocol bots are built to fail the entry screening
            (mugkit/loadtest/screening.py); they count as expected exclusions, not failures.
    """

    paths: list
    bots: int
    url: str | None = None
    token: str | None = None
    data: str | None = None
    database: str | None = None
    rate: float = 10.0
    duration: float | None = None
    stuck_after: float = 60.0
    browser: int = 0
    invalid_answers: bool = False
    reloads: int = 0
    reconnect: bool = False
    seed: int = 1
    grace: float | None = None
    before_audit: Callable[[str], Any] | None = None
    progress: Any = None
    chromium: str = "/usr/bin/chromium"
    screen_fail: int = 0


@dataclass
class Experiments:
    """The experiments the bots go through, by name: their file, the collected experiment, step
    name → step, humans per game."""

    files: dict = field(default_factory=dict)
    collected: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)
    group: dict = field(default_factory=dict)


def resolve(paths: list) -> Experiments:
    """Collects the experiments under ``paths`` (files, folders, ``file.py::step`` node ids).

    Raises:
        LoadTestError: nothing collected, a path that does not exist, a node id naming no step.
    """
    from ..collect import CollectError, collect
    from ..nodeid import NodeId
    from ..steps import GameStep, StepError

    out = Experiments()
    for arg in paths:
        path, step = arg, None
        if NodeId.looks_like(arg):
            node = NodeId.parse(arg)
            path, step = node.file, node.step
        if not os.path.exists(path):
            raise LoadTestError(f"{path}: no such file or folder")
        try:
            found = collect([path])
        except (CollectError, StepError) as exc:
            raise LoadTestError(str(exc)) from None
        for e in found:
            names = {s.name: s for s in e.steps}
            if step is not None and step not in names:
                raise LoadTestError(f"{path} has no step {step!r}; its steps: {', '.join(names)}")
            out.files[e.name] = e.path
            out.collected[e.name] = e
            out.steps[e.name] = names
            out.group[e.name] = max([len(s.humans) for s in e.steps if isinstance(s, GameStep)] or [1])
    if not out.files:
        raise LoadTestError(f"no experiments under {' '.join(map(str, paths))} (a module that imports mugkit and has "
                            f"@mk.scene or @mk.survey functions)")
    return out


def spread(groups: dict, bots: int) -> list:
    """Experiment names for ``bots`` bots, in arrival order: each turn goes to the experiment with
    the fewest bots so far, which gets a whole group of them (its largest game's humans), so bots
    are matched with each other and the experiments get about as many bots each. Bots left over
    that fill no group go to a one-player experiment if there is one; otherwise the last of them
    waits alone and takes the waitroom-timeout path."""
    names = sorted(groups)
    counts = dict.fromkeys(names, 0)
    out: list = []
    while len(out) < bots:
        left = bots - len(out)
        order = sorted(names, key=lambda n: (counts[n], names.index(n)))
        name = next((n for n in order if groups[n] <= left), order[0])
        take = min(groups[name], left)
        out += [name] * take
        counts[name] += take
    return out


class Watch:
    """Samples the server while the bots run: ``/admin/stats.json`` and, for a started server, its
    process's CPU and memory from ``/proc``."""

    def __init__(self, server: Server, every: float = 1.0):
        self.server, self.every = server, every
        self.samples: list = []        # (time, cpu seconds, rss MB)
        self.stats: dict | None = None

    async def poll(self) -> None:
        """Takes one sample (a failed request is skipped: a busy server answers late)."""
        if self.server.token:
            try:
                self.stats = await asyncio.to_thread(fetch_stats, self.server.url, self.server.token)
            except Exception:
                pass  # a busy server answers late: the next sample will do
        usage = proc_usage(self.server.pid) if self.server.pid else None
        if usage is None and self.stats is not None:
            usage = (self.stats["cpu_seconds"], self.stats.get("rss_mb") or self.stats.get("max_rss_mb") or 0.0)
        if usage is not None:
            self.samples.append((time.monotonic(), *usage))

    async def run(self) -> None:
        """Samples every ``every`` seconds until cancelled."""
        while True:
            await self.poll()
            await asyncio.sleep(self.every)

    def figures(self) -> dict:
        """CPU (cores: mean over the run, peak over any 5 s) and memory (MB: peak) of the server."""
        s = self.samples
        if len(s) < 2:
            return {}
        mean = (s[-1][1] - s[0][1]) / (s[-1][0] - s[0][0])
        peak = max(((b[1] - a[1]) / (b[0] - a[0]) for a, b in zip(s, s[5:])), default=mean)
        return {"cpu_cores_mean": round(mean, 3), "cpu_cores_peak": round(peak, 3),
                "cpu_seconds": round(s[-1][1] - s[0][1], 2), "rss_mb_peak": round(max(x[2] for x in s), 1),
                "rss_mb_end": round(s[-1][2], 1), "source": "/proc" if self.server.pid else "stats.json"}

    def tick_lateness(self) -> dict | None:
        """p50/p95/p99 (ms) of every tick the server saw, from the last ``stats.json``; None without one."""
        late = (self.stats or {}).get("late_all_ms")
        if not late or not late.get("ticks"):
            return None
        return {k: late[k] for k in ("p50", "p95", "p99")} | {"ticks": late["ticks"], "max": late.get("max")}


def run_loadtest(config: LoadTestConfig) -> Report:
    """Runs a whole load test (see the module docstring) and returns its report.

    Raises:
        LoadTestError: bad input (see :func:`resolve`), or ``bots`` / ``rate`` not positive.
        ServerError: the server could not be started.
    """
    if config.bots < 1 or config.rate <= 0 or not 0 <= config.browser <= config.bots:
        raise LoadTestError("--bots must be at least 1, --rate positive, and --browser between 0 and --bots")
    if not 0 <= config.reloads <= config.bots - config.browser:
        raise LoadTestError("--reloads must be between 0 and the number of protocol bots (--bots minus --browser)")
    experiments = resolve(config.paths)
    temp = None
    if config.url is None:
        data = config.data or (temp := tempfile.mkdtemp(prefix="mugkit-loadtest-"))
        server = start_server(sorted(set(experiments.files.values())), data, seed=config.seed, grace=config.grace,
                              database=config.database)
    else:
        database = config.database or (os.path.join(config.data, "mugkit.sqlite") if config.data else None)
        server = Server(config.url.rstrip("/"), config.token, database)
    try:
        return asyncio.run(_run(config, experiments, server))
    finally:
        server.stop()
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)


async def _run(config: LoadTestConfig, experiments: Experiments, server: Server) -> Report:
    run_id = secrets.token_hex(3)
    names = spread(experiments.group, config.bots)
    deadline = time.monotonic() + config.duration if config.duration else None
    bounds = Bounds(stuck_after=config.stuck_after, deadline=deadline)
    browser_at = set(_every(config.bots, config.browser))
    protocol = [i for i in range(config.bots) if i not in browser_at]
    reload_at = {protocol[j] for j in _every(len(protocol), config.reloads, offset=0.5)}
    screens = _screen_plans(config, experiments, names, protocol)
    watch = Watch(server)
    await watch.poll()
    watcher = asyncio.create_task(watch.run())
    progress = None if config.progress is False else Progress(config.bots, config.progress)
    logs: list[BotLog] = []
    tasks: list[asyncio.Task] = []
    started = time.monotonic()
    async with _Browsers(config) as browsers:
        ticker = asyncio.create_task(_show(progress, logs)) if progress else None
        for i, name in enumerate(names):
            if i in browser_at:
                bot = await browsers.bot(i, server.url, name, experiments.collected[name], run_id, bounds)
            else:
                bot = ProtocolBot(i, server.url, name, experiments.collected[name], run_id=run_id,
                                  invalid=config.invalid_answers, bounds=bounds, reload=i in reload_at,
                                  reconnect=config.reconnect, screen=screens[i])
            logs.append(bot.log)
            tasks.append(asyncio.create_task(bot.run()))
            await asyncio.sleep(1.0 / config.rate)
        await asyncio.gather(*tasks)
        if ticker is not None:
            ticker.cancel()
    duration = time.monotonic() - started
    await watch.poll()
    watcher.cancel()
    if progress:
        progress.update(logs, final=True)
    return await _finish(config, server, logs, watch, duration)


def _screen_plans(config: LoadTestConfig, experiments: Experiments, names: list, protocol: list) -> dict:
    """Bot number → how it meets its experiment's screening: ``--screen-fail`` of the protocol
    bots whose experiment has one, evenly spaced, each failing it the next way its screening
    declares; the others pass it."""
    screened = [i for i in protocol if has_screening(experiments.collected[names[i]])]
    if config.screen_fail > len(screened):
        with_screen = sorted(n for n, c in experiments.collected.items() if has_screening(c))
        where = (f"({', '.join(with_screen)}); the bots take the experiments in turn: run more bots (--bots) or "
                 f"only the experiment with the screening" if with_screen else "(none of these experiments has one)")
        raise LoadTestError(f"--screen-fail {config.screen_fail}: only {len(screened)} protocol bot(s) go to an "
                            f"experiment with a @mk.screen step {where}")
    out = {i: plan(experiments.collected[names[i]]) for i in range(len(names))}
    turn: dict = {}
    for j in _every(len(screened), config.screen_fail, offset=0.25):
        i = screened[j]
        plans = fail_plans(experiments.collected[names[i]])
        out[i] = plans[turn.get(names[i], 0) % len(plans)]
        turn[names[i]] = turn.get(names[i], 0) + 1
    return out


async def _finish(config: LoadTestConfig, server: Server, logs: list, watch: Watch, duration: float) -> Report:
    result, skipped = None, ""
    if server.database and (is_database_url(server.database) or os.path.exists(server.database)):
        await asyncio.sleep(1.0)  # rows of frames streamed just before a stuck bot gave up are committing
        if config.before_audit is not None:
            config.before_audit(server.database)
        result = await asyncio.to_thread(audit, server.database, logs)
    else:
        skipped = ("give --data DIR, the folder of the --url server's database, or its --database URL" if config.url
                   else "no database")
    for log in logs:
        if log.outcome is None:
            log.outcome = Outcome("stuck", log.step, "the bot never ended")
    return build_report(logs, audit=result, server=watch.figures(), tick_lateness=watch.tick_lateness(),
                        duration=duration, invalid=config.invalid_answers, audit_skipped=skipped)


async def _show(progress: Progress, logs: list) -> None:
    while True:
        progress.update(logs)
        await asyncio.sleep(0.5)


def _every(n: int, k: int, offset: float = 0.0) -> list:
    """``k`` of the numbers ``0 … n-1``, evenly spaced, starting ``offset`` of a space in."""
    return [int((i + offset) * n / k) for i in range(k)] if k else []


class _Browsers:
    """Chromium for the ``--browser`` bots, launched only when there are some."""

    def __init__(self, config: LoadTestConfig):
        self.config = config
        self.chromium = None

    async def __aenter__(self) -> "_Browsers":
        if self.config.browser:
            from .browser_bot import launch

            self.playwright, self.chromium = await launch(self.config.chromium)
        return self

    async def bot(self, number: int, url: str, name: str, collected: Any, run_id: str, bounds: Bounds) -> Any:
        """A browser bot in the launched Chromium."""
        from .browser_bot import BrowserBot

        return BrowserBot(number, url, name, collected, self.chromium, run_id=run_id, bounds=bounds)

    async def __aexit__(self, *exc: Any) -> None:
        if self.chromium is not None:
            await self.chromium.close()
            await self.playwright.stop()
