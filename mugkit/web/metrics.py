"""``/metrics``: the study's figures in Prometheus text format, made with ``prometheus_client``.

Two kinds of figures:

- **the study's** (the same whichever process answers): ``mugkit_participants{experiment,status}``
  (the stored participants by status: storage is shared by every process) and
  ``mugkit_entries_paused`` (1 while new participants are turned away: mugkit/web/admin_live.py);
- **each server process's**, with a ``process`` label (host:pid:random, as in ``/admin``):
  ``mugkit_games_active{runtime}`` (``server``, ``browser``, ``peers``: the games it runs now),
  ``mugkit_participants_connected``, ``mugkit_tick_lateness_seconds`` and ``mugkit_game_fps{target}``
  (histograms of every tick / second of play of its server games since it started:
  mugkit/web/ticks.py), ``mugkit_exclusions_total{status,reason}``, ``mugkit_errors_total{kind}``,
  ``mugkit_write_queue{state}`` (writes queued for the database, and writes waiting for room in
  that queue), ``mugkit_writes_total`` (writes committed), CPU seconds and resident memory.

With several processes (``mugkit serve --workers N``, or several machines on one ``--redis``) the
process that takes the request asks every live one for its figures (mugkit/web/cluster.py) and
answers for all of them: one scrape sees the whole study, each process's series under its own
``process`` label (sum them in PromQL: ``sum without (process) (...)``). ``mugkit_process_up``
says which processes answered (0: alive by its heartbeat, but no answer within
:data:`ASK_SECONDS`; its series are missing from that scrape).

Counters count from the process's start; a restarted process starts again from 0 under a new
``process`` label, which Prometheus's ``rate()`` and ``increase()`` expect.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from .cluster import PROCESS_ID
from .plugins import hookimpl
from .registry import EXCLUDED

__all__ = ["StudyMetrics", "install_metrics", "metrics_text", "process_families", "CONTENT_TYPE", "ASK_SECONDS"]

log = logging.getLogger("mugkit.metrics")

#: The Content-Type of the text format (version 0.0.4), as Prometheus asks for it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds the answering process waits for another process's figures.
ASK_SECONDS = 2.0


class StudyMetrics:
    """The counters of one server process that no storage holds: exclusions by status and reason
    (an internal plugin on ``study.plugins``), errors by kind (log records at ERROR under the
    ``mugkit`` logger, by its last name, and plugin failures as ``plugin``)."""

    def __init__(self) -> None:
        self.exclusions: dict[tuple[str, str], int] = {}
        self.errors: dict[str, int] = {}
        self._handler = _ErrorCounter(self)

    @hookimpl
    def mugkit_participant_finished(self, participant: dict, status: str) -> None:
        """Counts every end as excluded or screened out, whichever path set it (admin, monitor,
        screening, a game that did not count): ``participant["reason"]`` is stored by then."""
        if status in EXCLUDED:
            key = (status, participant.get("reason") or "none")
            self.exclusions[key] = self.exclusions.get(key, 0) + 1

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def close(self) -> None:
        """Stops counting log records."""
        logging.getLogger("mugkit").removeHandler(self._handler)


class _ErrorCounter(logging.Handler):
    """Counts the ERROR records of mugkit's loggers (not the plugins': their hook counts them)."""

    def __init__(self, metrics: StudyMetrics):
        super().__init__(logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if record.name != "mugkit.plugins":
            self.metrics.error(record.name.removeprefix("mugkit.") or "mugkit")


def install_metrics(study: Any) -> StudyMetrics:
    """Starts counting for ``study`` (``study.metrics``): the internal plugin, the plugin-failure
    count, the error log count; with several processes, answers the others' ``metrics`` requests."""
    metrics = StudyMetrics()
    study.metrics = metrics
    study.plugins.register(metrics, name=f"mugkit-metrics-{id(metrics)}")
    previous = study.plugins.on_error

    def on_error(hook: str, exc: BaseException) -> None:
        metrics.error("plugin")
        if previous is not None:
            previous(hook, exc)

    study.plugins.on_error = on_error
    logging.getLogger("mugkit").addHandler(metrics._handler)
    if study.cluster is not None:
        async def answer(message: dict) -> dict:
            return {"families": process_families(study)}

        study.cluster.on("metrics", answer)
    return metrics


# -- this process's figures ------------------------------------------------------------------

def process_families(study: Any) -> list[dict]:
    """This process's metric families, as plain data (they travel between processes)."""
    lobby = study.lobby
    browser = len(study.browser.games) if study.browser is not None else 0
    peers = len(lobby.peers.groups) if lobby is not None and lobby.peers is not None else 0
    games = GaugeMetricFamily("mugkit_games_active", "Games running on this process now, by runtime",
                              labels=["runtime"])
    for runtime, n in (("server", len(study.games)), ("browser", browser), ("peers", peers)):
        games.add_metric([runtime], n)
    connected = GaugeMetricFamily("mugkit_participants_connected", "Participants with a window connected to this "
                                  "process", value=sum(1 for n in study.sockets.values() if n > 0))
    families = [games, connected, *_tick_families(lobby.ticks if lobby is not None else None),
                *_counter_families(getattr(study, "metrics", None)), *_storage_families(study.storage)]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    families.append(CounterMetricFamily("mugkit_process_cpu_seconds", "CPU seconds this process used",
                                        value=usage.ru_utime + usage.ru_stime))
    from .admin import _memory_mb

    rss = _memory_mb()
    if rss is not None:
        families.append(GaugeMetricFamily("mugkit_process_resident_memory_bytes", "Resident memory of this process",
                                          value=rss * 2**20))
    return [_plain(f) for f in families]


def _tick_families(ticks: Any) -> list[Metric]:
    lateness = HistogramMetricFamily("mugkit_tick_lateness_seconds", "How late the ticks of this process's server "
                                     "games started (every tick since the process started)")
    fps = HistogramMetricFamily("mugkit_game_fps", "Frame rate a server game achieved, one value per second of play, "
                                "by the step's fps (target)", labels=["target"])
    if ticks is not None:
        late = ticks.late
        lateness.add_metric([], [(_le(b), n) for b, n in late.cumulative()], late.sum)
        for target, h in sorted(ticks.fps.by_target.items()):
            fps.add_metric([f"{target:g}"], [(_le(b), n) for b, n in ticks.fps.cumulative(target)], h["sum"])
    else:
        lateness.add_metric([], [("+Inf", 0)], 0.0)
    return [lateness, fps]


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else f"{bound:g}"


def _counter_families(metrics: StudyMetrics | None) -> list[Metric]:
    exclusions = CounterMetricFamily("mugkit_exclusions", "Participants excluded or screened out on this process, "
                                     "by status and reason", labels=["status", "reason"])
    errors = CounterMetricFamily("mugkit_errors", "Errors on this process: log records at ERROR by the logger's name, "
                                 "and plugin failures (plugin)", labels=["kind"])
    for (status, reason), n in sorted((metrics.exclusions if metrics else {}).items()):
        exclusions.add_metric([status, reason], n)
    for kind, n in sorted((metrics.errors if metrics else {}).items()):
        errors.add_metric([kind], n)
    return [exclusions, errors]


def _storage_families(storage: Any) -> list[Metric]:
    queue = GaugeMetricFamily("mugkit_write_queue", "Database writes of this process: queued and not yet in a "
                              "transaction (queued), waiting for room in the queue (waiting)", labels=["state"])
    queue.add_metric(["queued"], getattr(storage, "pending_writes", 0))
    queue.add_metric(["waiting"], getattr(storage, "waiting_writes", 0))
    stats = getattr(storage, "stats", None)
    writes = CounterMetricFamily("mugkit_writes", "Database writes this process committed (a write: a frame's rows, a "
                                 "participant's change, ...)", value=getattr(stats, "writes", 0))
    return [queue, writes]


def _plain(family: Metric) -> dict:
    return {"name": family.name, "type": family.type, "doc": family.documentation,
            "samples": [[s.name, dict(s.labels), s.value] for s in family.samples]}


# -- the study's figures, and the answer -----------------------------------------------------

async def _study_families(study: Any) -> list[dict]:
    participants = GaugeMetricFamily("mugkit_participants", "Stored participants by experiment and status (the "
                                     "whole study)", labels=["experiment", "status"])
    for experiment, counts in sorted((await study.storage.counts()).items()):
        for status, n in sorted(counts["by_status"].items()):
            participants.add_metric([experiment, status], n)
    paused = GaugeMetricFamily("mugkit_entries_paused", "1 while new participants are turned away (the admin page)",
                               value=1 if await _entries_paused(study) else 0)
    return [_plain(participants), _plain(paused)]


async def _entries_paused(study: Any) -> bool:
    from .admin_live import entries_state

    return bool((await entries_state(study.storage)).get("paused"))


async def _every_process(study: Any) -> dict[str, list[dict] | None]:
    """Process id → its families (None: it did not answer in time)."""
    cluster = study.cluster
    if cluster is None:
        return {PROCESS_ID: process_families(study)}
    try:
        others = [p for p in await cluster.alive() if p != cluster.id]
    except Exception as exc:  # Redis down: this process's figures at least
        log.warning("/metrics: the other processes are unknown (%s)", exc)
        others = []

    async def ask(process: str) -> list[dict] | None:
        try:
            return (await cluster.request(process, "metrics", {}, timeout=ASK_SECONDS)).get("families")
        except Exception as exc:  # a busy or dying process: its series are missing this time
            log.warning("/metrics: process %s did not answer (%s)", process, exc)
            return None

    answers = await asyncio.gather(*(ask(p) for p in others))
    return {cluster.id: process_families(study), **dict(zip(others, answers))}


async def metrics_text(study: Any) -> bytes:
    """The whole exposition (see the module docstring)."""
    merged: dict[str, Metric] = {}

    def add(families: list[dict], extra: dict) -> None:
        for f in families:
            family = merged.get(f["name"])
            if family is None:
                family = merged[f["name"]] = Metric(f["name"], f["doc"], f["type"])
            for name, labels, value in f["samples"]:
                family.add_sample(name, {**extra, **labels}, value)

    add(await _study_families(study), {})
    up = GaugeMetricFamily("mugkit_process_up", "1 for each server process of the study that answered this scrape",
                           labels=["process"])
    for process, families in sorted((await _every_process(study)).items()):
        up.add_metric([process], 0 if families is None else 1)
        add(families or [], {"process": process})
    add([_plain(up)], {})
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(merged.values())))
    return generate_latest(registry)


class _Fixed:
    """A collector of families made already (a registry per answer, never the global one)."""

    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> list[Metric]:
        return self.families
