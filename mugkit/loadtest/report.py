"""The load test's report: counts, concurrency, latencies, server load and the data audit, as data
(``--json``) and as text.

The JSON fields ``bots``, ``completed``, ``failed``, ``stuck``, ``lost_rows`` (integers, with
completed + failed + stuck = bots), ``peak_concurrent``, ``tick_lateness_ms`` and ``latency_ms``
(each ``{"p50", "p95", "p99"}``) and ``failures`` (``[{"bot", "step", "reason", ...}]``) are the
contract; the others may grow.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from .audit import Audit
from .bot import ACCEPTED_INVALID
from .log import BotLog

__all__ = ["Report", "percentiles", "peak_concurrent", "build_report"]


def percentiles(values: Sequence[float], scale: float = 1.0) -> dict | None:
    """``{"p50", "p95", "p99"}`` of ``values`` times ``scale`` (nearest rank), or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return {f"p{q}": round(ordered[int(q / 100 * (len(ordered) - 1))] * scale, 2) for q in (50, 95, 99)}


def peak_concurrent(logs: Sequence[BotLog]) -> int:
    """Most bots connected at the same moment (from connecting to their last view)."""
    moments = []
    for log in logs:
        if log.connected_at is not None:
            moments += [(log.connected_at, 1), (log.finished_at or float("inf"), -1)]
    peak = now = 0
    for _, delta in sorted(moments):
        now += delta
        peak = max(peak, now)
    return peak


@dataclass
class Report:
    """A finished load test (see the module docstring for the JSON contract)."""

    data: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No failed or stuck participant, no lost row, and every browser-run game verified."""
        d = self.data
        return d["failed"] == 0 and d["stuck"] == 0 and d["lost_rows"] == 0 and d.get("unverified_games", 0) == 0

    def to_json(self) -> str:
        """The report as indented JSON."""
        return json.dumps(self.data, indent=2, default=str)

    def write(self, path: str) -> None:
        """Writes :meth:`to_json` to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json() + "\n")

    def text(self) -> str:
        """The report as a researcher reads it at the end of a run."""
        d = self.data
        lines = [f"mugkit loadtest: {d['bots']} bots ({d['browser_bots']} in Chromium) over "
                 + ", ".join(f"{k} ×{v}" for k, v in d["experiments"].items()) + f" in {d['duration_s']:.0f} s",
                 f"  completed {d['completed']}, failed {d['failed']}, stuck {d['stuck']}; "
                 f"peak concurrent {d['peak_concurrent']}"]
        if d["paths"]:
            lines.append("  ended by: " + ", ".join(f"{k} {v}" for k, v in d["paths"].items())
                         + (f"; {d['reloads']} page reload(s) mid-game" if d["reloads"] else ""))
        lines.append(f"  latency (acknowledged messages): {_pct(d['latency_ms'])}")
        if len(d["latency_by_message_ms"]) > 1:
            lines += [f"    {event}: {_pct(p)}" for event, p in d["latency_by_message_ms"].items()]
        lines.append(f"  server tick lateness: {_pct(d['tick_lateness_ms'])}")
        lines.append(f"  messages: {d['messages']['sent']} sent, {d['messages']['received']} received, "
                     f"{d['messages_per_second']:.0f}/s")
        if d["server_errors"]["count"]:
            lines.append(f"  error messages from the server: {d['server_errors']['count']} "
                         f"(e.g. {d['server_errors']['examples'][0]})")
        s = d["server"]
        if s:
            lines.append(f"  server: CPU {s.get('cpu_cores_mean', 0):.2f} cores mean, "
                         f"{s.get('cpu_cores_peak', 0):.2f} peak; memory {s.get('rss_mb_peak', 0):.0f} MB peak")
        a = d["audit"]
        if a is None:
            lines.append("  data audit: not run (" + d.get("audit_skipped", "no database") + ")")
        else:
            checked = ", ".join(f"{t} {n}" for t, n in sorted(a["checked"].items()))
            lines.append(f"  data audit: {d['lost_rows']} lost of {sum(a['checked'].values())} checked ({checked})"
                         + (f"; {a['unacknowledged']} rows sent without acknowledgement" if a["unacknowledged"] else "")
                         + (f"; {a['unverified']} browser game(s) not verified" if a.get("unverified") else "")
                         + (f"; read from {a['source']}" if a.get("source") else ""))
            lines += [f"    {e}" for e in a["examples"][:10]]
        x = d.get("expected_exclusions") or {}
        if x.get("built"):
            lines.append(f"  expected exclusions (--screen-fail): {x['screened_out']} of {x['built']} screened out ("
                         + ", ".join(f"{k} {v}" for k, v in sorted(x["by_mode"].items())) + ")")
        if d["invalid_answers"] is not None:
            bad = d["invalid_answers"]
            lines.append(f"  invalid answers: {bad['rejected']} rejected, {bad['accepted']} accepted")
        for f in d["failures"][:20]:
            lines.append(f"  {f['status'].upper()} bot {f['bot']} ({f['experiment']}) at {f['step']}: {f['reason']}")
        if len(d["failures"]) > 20:
            lines.append(f"  … and {len(d['failures']) - 20} more (--json FILE has them all)")
        lines.append("PASS" if self.ok else "FAIL")
        return "\n".join(lines)


def _pct(p: dict | None) -> str:
    return "n/a" if not p else f"p50 {p['p50']:.1f} ms, p95 {p['p95']:.1f} ms, p99 {p['p99']:.1f} ms"


def build_report(logs: Sequence[BotLog], *, audit: Audit | None, server: dict, tick_lateness: dict | None,
                 duration: float, invalid: bool, audit_skipped: str = "") -> Report:
    """The report of a run from the bots' logs, the audit and the server's figures."""
    status = Counter(log.outcome.status if log.outcome else "stuck" for log in logs)
    failures = [{"bot": log.bot, "status": log.outcome.status, "experiment": log.experiment, "kind": log.kind,
                 "participant": log.participant, "step": log.outcome.step, "reason": log.outcome.reason}
                for log in logs if log.outcome and log.outcome.status != "completed"]
    sent, received = sum(log.sent for log in logs), sum(log.received for log in logs)
    latencies = [x for log in logs for _, x in log.latencies]
    by_event: dict = {}
    for log in logs:
        for event, x in log.latencies:
            by_event.setdefault(event, []).append(x)
    return Report({
        "bots": len(logs), "completed": status["completed"], "failed": status["failed"], "stuck": status["stuck"],
        "lost_rows": audit.lost_rows if audit is not None else 0,
        "unverified_games": audit.unverified if audit is not None else 0,
        "peak_concurrent": peak_concurrent(logs),
        "tick_lateness_ms": tick_lateness, "latency_ms": percentiles(latencies, 1000.0),
        "latency_by_message_ms": {event: percentiles(xs, 1000.0) for event, xs in sorted(by_event.items())},
        "failures": failures,
        "browser_bots": sum(log.kind == "browser" for log in logs),
        "experiments": dict(Counter(log.experiment for log in logs)),
        "paths": dict(Counter(_path(log) for log in logs if log.outcome and log.outcome.status == "completed")),
        "reloads": sum(log.reloads for log in logs),
        "retried": sum(log.retried for log in logs),  # messages answered "try again"
        "messages": {"sent": sent, "received": received},
        "messages_per_second": (sent + received) / duration if duration > 0 else 0.0,
        "frames_received": sum(g.frame_count() for log in logs for g in log.games.values()),
        "server_errors": {"count": sum(len(log.errors) for log in logs),
                          "examples": sorted({f"{step}: {message}" for log in logs for step, message in log.errors})[:10]},
        "server": server, "audit": audit.to_dict() if audit is not None else None, "audit_skipped": audit_skipped,
        "expected_exclusions": _expected_exclusions(logs),
        "invalid_answers": ({"rejected": sum(len(log.rejected) for log in logs),
                             "accepted": sum(f["reason"].startswith(ACCEPTED_INVALID) for f in failures)}
                            if invalid else None),
        "duration_s": round(duration, 1), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": _machine(),
    })


def _expected_exclusions(logs: Sequence[BotLog]) -> dict:
    """The bots built to fail the entry screening (``--screen-fail``) that were screened out, by
    how they failed (they count as completed: the server did what it must)."""
    built = [log for log in logs if log.screen_fail]
    out = [log for log in built if log.outcome and log.outcome.kind == "screened_out"]
    return {"built": len(built), "screened_out": len(out), "by_mode": dict(Counter(log.screen_fail for log in out))}


def _path(log: BotLog) -> str:
    """How a completed bot's flow ended: the final view's kind, and a waitroom timeout when it saw
    a waitroom and no game after it."""
    kinds = [kind for _, kind, _, _ in log.views]
    if "waitroom" in kinds and "game" not in kinds[kinds.index("waitroom"):]:
        return "waitroom timeout"
    return log.outcome.kind if log.outcome else "?"


def _machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
