"""What a simulated participant costs: protocol bots against browser bots (headless Chromium), in
CPU and memory per bot, on the client side of `mugkit loadtest`.

Usage: flock /tmp/mugkit-browser.lock .venv/bin/python bench/bench_loadtest.py [--protocol 10 40] [--browser 2 4]

Each row is one `mugkit loadtest bench/studies/_bots.py --bots N [--browser N]` run (a page, a
15-second server game at 30 fps, a survey; bots started at 20 a second). The command's process
tree is sampled every 0.25 s from /proc, leaving out the `mugkit serve` process it starts: CPU is
the tree's CPU seconds over the run, memory its peak resident size (Chromium's processes and
Playwright's driver included). Per bot is the *marginal* cost between the two sizes of a kind,
(B − A) / (n_B − n_A), so the fixed cost of Python, Playwright and the browser is left out.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUDY = os.path.join(ROOT, "bench", "studies", "_bots.py")
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return out


def _usage(pid: int) -> tuple[float, float, str]:
    """(CPU seconds, resident MB, command line) of one process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * PAGE / 2**20
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    return (int(fields[11]) + int(fields[12])) / TICKS, rss, cmd


def measure(bots: int, browser: int) -> dict:
    """One load test run; the CPU seconds and peak MB of its process tree without the server."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        process = subprocess.Popen([sys.executable, "-m", "mugkit.cli", "loadtest", STUDY, "--bots", str(bots),
                                    "--browser", str(browser), "--rate", "20", "--json", report, "-q"],
                                   cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        cpu: dict[int, float] = {}
        peak = 0.0
        started = time.monotonic()
        while process.poll() is None:
            tree, todo, rss = [], [process.pid], 0.0
            while todo:
                pid = todo.pop()
                tree.append(pid)
                todo += _children(pid)
            for pid in tree:
                try:
                    seconds, mb, cmd = _usage(pid)
                except OSError:
                    continue
                if "mugkit.cli serve" in cmd:
                    continue  # the server is measured by the load test itself, not here
                cpu[pid] = seconds
                rss += mb
            peak = max(peak, rss)
            time.sleep(0.25)
        output = process.stdout.read()
        import json

        data = json.load(open(report)) if os.path.exists(report) else {}
    if data.get("completed") != bots:
        raise SystemExit(f"the run with {bots} bots ({browser} browser) did not complete:\n{output}")
    return {"bots": bots, "browser": browser, "cpu_s": sum(cpu.values()), "peak_mb": peak,
            "wall_s": time.monotonic() - started, "server_cpu": data["server"].get("cpu_cores_mean")}


def main() -> None:
    """Runs both kinds at both sizes and prints the table and the marginal cost per bot."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", type=int, nargs=2, default=[10, 40], metavar=("A", "B"))
    parser.add_argument("--browser", type=int, nargs=2, default=[2, 4], metavar=("A", "B"))
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}")
    print("kind      bots  CPU s  peak MB  wall s")
    marginal = {}
    for kind, sizes in (("protocol", args.protocol), ("browser", args.browser)):
        runs = [measure(n, n if kind == "browser" else 0) for n in sizes]
        for r in runs:
            print(f"{kind:9s} {r['bots']:4d} {r['cpu_s']:6.1f} {r['peak_mb']:8.0f} {r['wall_s']:7.1f}", flush=True)
        a, b = runs
        n = b["bots"] - a["bots"]
        marginal[kind] = ((b["cpu_s"] - a["cpu_s"]) / n, (b["peak_mb"] - a["peak_mb"]) / n)
    print("\nper bot (marginal), one 25-second flow each:")
    for kind, (c, m) in marginal.items():
        print(f"  {kind:9s} CPU {c:6.2f} s   memory {m:6.1f} MB")
    p, b = marginal["protocol"], marginal["browser"]
    if p[0] > 0 and p[1] > 0:
        print(f"  a browser bot costs {b[0] / p[0]:.0f}x the CPU and {b[1] / p[1]:.0f}x the memory of a protocol bot")


if __name__ == "__main__":
    main()
