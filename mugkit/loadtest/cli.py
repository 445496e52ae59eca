"""``mugkit loadtest PATH --bots N``: the command line of :func:`mugkit.loadtest.run_loadtest`."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mugkit loadtest",
        description="simulated participants through every step of the experiments under PATH, against a server "
                    "this command starts (or --url); exit 0 only when none failed or got stuck, no row was lost "
                    "and every browser game was verified")
    p.add_argument("paths", nargs="+", metavar="PATH", help="experiment files, folders or node ids (file.py::step)")
    p.add_argument("--bots", type=int, required=True, metavar="N", help="simulated participants")
    p.add_argument("--url", help="a running server to test (default: start one on a free loopback port)")
    p.add_argument("--token", help="the --url server's admin token (for its tick lateness, CPU and memory)")
    p.add_argument("--data", metavar="DIR",
                   help="the started server's data folder (default: a temporary one), or the --url server's "
                        "data folder (for the audit)")
    p.add_argument("--database", metavar="URL",
                   help="the started server keeps its data in this PostgreSQL database (mugkit serve --database); "
                        "with --url: the --url server's database (for the audit)")
    p.add_argument("--rate", type=float, default=10.0, metavar="R", help="bots started per second (default 10)")
    p.add_argument("--duration", type=float, metavar="S", help="bots still going after S seconds are stuck")
    p.add_argument("--stuck-after", type=float, default=60.0, metavar="S",
                   help="a bot with no progress for S seconds is stuck (default 60)")
    p.add_argument("--browser", type=int, default=0, metavar="K", help="K of the bots are headless Chromium pages")
    p.add_argument("--chromium", default="/usr/bin/chromium", help="the Chromium executable for --browser")
    p.add_argument("--invalid-answers", action="store_true",
                   help="bots first send invalid survey answers, which the server must reject")
    p.add_argument("--reloads", type=int, default=0, metavar="K",
                   help="K of the protocol bots reload the page once in their first game (the game must resume)")
    p.add_argument("--reconnect", action="store_true",
                   help="protocol bots whose connection the server drops open it again and go on, as pages do "
                        "(for runs that kill a server process); without it a dropped connection fails the bot")
    p.add_argument("--screen-fail", type=int, default=0, metavar="K",
                   help="K of the protocol bots are built to fail the experiments' entry screening (@mk.screen): a "
                        "small window, a device or browser not let in, no answer to pings, no report; the report "
                        "counts them as expected exclusions and the audit checks each stored reason")
    p.add_argument("--seed", type=int, default=1, help="the started server's study seed (default 1)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no live progress")
    return p


def main(argv: list[str]) -> int:
    """The ``mugkit loadtest`` command; returns its exit code (0: all completed, nothing lost)."""
    from .run import LoadTestConfig, LoadTestError, run_loadtest
    from .server import ServerError

    args = _parser().parse_args(argv)
    config = LoadTestConfig(args.paths, args.bots, url=args.url, token=args.token, data=args.data,
                            database=args.database, rate=args.rate,
                            duration=args.duration, stuck_after=args.stuck_after, browser=args.browser,
                            invalid_answers=args.invalid_answers, reloads=args.reloads, reconnect=args.reconnect,
                            seed=args.seed, chromium=args.chromium, screen_fail=args.screen_fail,
                            progress=False if args.quiet else None)
    try:
        report = run_loadtest(config)
    except (LoadTestError, ServerError) as exc:
        print(f"mugkit loadtest: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        report.write(args.json)
    return 0 if report.ok else 1
