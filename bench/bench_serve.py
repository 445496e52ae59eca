"""How many concurrent two-player server games at 30 fps one server process holds: mugkit
(`mugkit serve`, every frame stored) and MUG (multi-user-gymnasium 0.1.2 from PyPI, its
server-authoritative mode, recording no gameplay), side by side in one run, with the same
measuring client and the same criteria.

Usage:
  .venv/bin/python bench/bench_serve.py                       # both servers, both key modes, search
  .venv/bin/python bench/bench_serve.py --server mugkit --keys change --games 50 75 100
  .venv/bin/python bench/bench_serve.py --server mugkit --workers 2   # `mugkit serve --workers 2`

Each trial starts a fresh server (loopback) and ``--clients`` client processes
(bench/serve_clients.py) that play 2 × games protocol-level players, holding keys like people
(the checks' plan generator) and sending them either on change (``--keys change``, about 2–3
messages a second) or on every frame received (``--keys 30``). mugkit's players are `mugkit
loadtest` bots that then finish the study; MUG's are bench/mug/client.py against
bench/mug/serve_mug.py (an equivalent two-dot env), run in their own virtualenv
(bench/.mug-venv, made on first use: `pip install multi-user-gymnasium[server]==0.1.2`).

A count is *held* by MUG's criteria: every client receives at least 95 % of 30 fps and every
client's p99 frame gap is under 2 frames (66.7 ms). Without ``--games`` the bench searches the
largest held count (up by a quarter until a count fails, then halving the interval down to 5).
Reported per trial: frames per second (worst, median), worst p99 gap, the server processes' CPU
(cores, all its processes together: the workers too) and each client process's CPU (a client
process near a full core invalidates the trial: it is flagged).

``--profile FILE`` profiles mugkit's server (bench/profile/sitecustomize.py) and writes the last
trial's profile to FILE: cProfile's stats, or with FILE ending in ``.txt`` a sampling profile of
the event loop's thread (every 2 ms: cheap, so its proportions are the real server's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from mugkit.loadtest.server import _wait_for_port, fetch_stats, free_port, start_server  # noqa: E402

STUDY = os.path.join(ROOT, "bench", "studies", "_capacity.py")
MUG_VENV = os.path.join(ROOT, "bench", ".mug-venv")
MUG_VERSION = "0.1.2"
FPS = 30
WARM_UP = 3.0          # seconds after every player got its first frame before measuring
SATURATED = 0.9        # a client process using this much of a core may be the bottleneck


# -- servers ---------------------------------------------------------------------------------

def _cpu_by_process(pid: int) -> dict:
    """CPU seconds (user + system) of process ``pid`` and of each of its descendants alive now."""
    out, todo = {}, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[p] = (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return out


class MugkitServer:
    """`mugkit serve bench/studies/_capacity.py` (with ``--workers N`` when N > 1)."""

    name = "mugkit"

    def __init__(self, frames: int, workers: int, profile: str | None):
        self.data = tempfile.mkdtemp(prefix="mugkit-bench-")
        env = {"MUGKIT_BENCH_FRAMES": str(frames)}
        if profile:
            env["MUGKIT_BENCH_SAMPLE" if profile.endswith(".txt") else "MUGKIT_BENCH_PROFILE"] = profile
            env["PYTHONPATH"] = os.pathsep.join([os.path.join(ROOT, "bench", "profile"), ROOT,
                                                 os.environ.get("PYTHONPATH", "")])
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            extra = ["--workers", str(workers)] if workers > 1 else []
            self.served = start_server([STUDY], self.data, seed=7, extra=extra)
        finally:
            for k, v in saved.items():
                os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        self.url, self.pid = self.served.url, self.served.process.pid

    def window_started(self) -> None:
        # Asked while every game runs, the server follows their tick lateness to the end.
        fetch_stats(self.url, self.served.token)

    def extra(self) -> dict:
        late = fetch_stats(self.url, self.served.token)["late_all_ms"]
        return {"late_p50_ms": late["p50"], "late_p99_ms": late["p99"]}

    def stop(self) -> None:
        self.served.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def mug_python() -> str:
    """The MUG virtualenv's python, made (``pip install``) when missing."""
    python = os.path.join(MUG_VENV, "bin", "python")
    ok = os.path.exists(python) and subprocess.run(
        [python, "-c", "import mug, eventlet, flask_socketio"], capture_output=True).returncode == 0
    if not ok:
        print(f"making {MUG_VENV} (multi-user-gymnasium[server]=={MUG_VERSION} from PyPI)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", MUG_VENV], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", f"multi-user-gymnasium[server]=={MUG_VERSION}"],
                       check=True)
    return python


class MugServer:
    """bench/mug/serve_mug.py: MUG's server with a server-authoritative two-dot scene."""

    name = "mug"

    def __init__(self, frames: int, workers: int, profile: str | None):
        port = free_port()
        self.dir = tempfile.mkdtemp(prefix="mug-bench-")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen([mug_python(), os.path.join(ROOT, "bench", "mug", "serve_mug.py"),
                                         "--port", str(port), "--frames", str(frames)],
                                        cwd=self.dir, stdout=self.log, stderr=subprocess.STDOUT)
        _wait_for_port(port, timeout=60)
        self.url, self.pid = f"http://127.0.0.1:{port}", self.process.pid

    def window_started(self) -> None:
        pass

    def extra(self) -> dict:
        return {}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


SERVERS = {"mugkit": MugkitServer, "mug": MugServer}


# -- one trial -------------------------------------------------------------------------------

def _read(process: subprocess.Popen, key: str) -> dict:
    for line in process.stdout:
        if line.startswith("{"):
            message = json.loads(line)
            if key in message:
                return message
    raise RuntimeError(f"a client process ended without {key!r} (exit {process.wait()})")


def _tell(processes: list, word: str) -> None:
    for p in processes:
        p.stdin.write(word + "\n")
        p.stdin.flush()


def measure(server: str, games: int, keys: str, seconds: float, clients: int, workers: int = 1,
            profile: str | None = None) -> dict:
    """One trial: ``games`` two-player games on a fresh server for ``seconds`` measured seconds."""
    bots = 2 * games
    clients = max(1, min(clients, games))
    spacing = 0.02 * clients  # seconds between two joins in one client process: 50 joins a second in all
    ramp = spacing * bots / clients
    frames = int((ramp + 10 + WARM_UP + seconds + 5) * FPS)  # games outlast the window
    served = SERVERS[server](frames, workers, profile)
    procs = []
    try:
        share = [2 * (games // clients + (i < games % clients)) for i in range(clients)]
        first = 0
        for count in share:
            procs.append(subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "bench", "serve_clients.py"), "--server", server, "--url",
                 served.url, "--bots", str(count), "--first", str(first), "--keys", keys, "--spacing", str(spacing)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT))
            first += count
        playing = sum(_read(p, "ready")["ready"] for p in procs)
        time.sleep(WARM_UP)
        served.window_started()
        cpu0, wall0 = _cpu_by_process(served.pid), time.monotonic()
        _tell(procs, "start")
        time.sleep(seconds)
        _tell(procs, "end")
        cpu1, wall1 = _cpu_by_process(served.pid), time.monotonic()
        results = [_read(p, "figures") for p in procs]
        extra = served.extra()
        finished = [_read(p, "completed") for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        served.stop()
    figures = [f for r in results for f in r["figures"]]
    rates, gaps = [f for f, _ in figures], [g for _, g in figures]
    client_cpu = [r["cpu"] for r in results]
    # Each server process's CPU (cores) over the window: `mugkit serve --workers N`'s parent and workers.
    per_process = [(cpu1[p] - cpu0.get(p, 0.0)) / (wall1 - wall0) for p in sorted(cpu1)]
    held = playing == bots and min(rates) >= 0.95 * FPS and max(gaps) < 2000 / FPS
    return {"server": server, "keys": keys, "games": games, "workers": workers, "held": held,
            "playing": playing, "bots": bots, "min_fps": min(rates), "median_fps": statistics.median(rates),
            "worst_p99_gap_ms": max(gaps), "server_cpu": sum(per_process), "server_processes": per_process,
            # server CPU per frame of one game (each frame reaches both players: count it once)
            "ms_per_game_frame": 1000 * sum(per_process) * (wall1 - wall0) / max(1.0, sum(rates) / 2 * (wall1 - wall0)),
            "client_cpu": client_cpu, "client_saturated": max(client_cpu) > SATURATED,
            "completed": sum(f["completed"] for f in finished),
            "failures": [x for f in finished for x in f["failures"] if not x.startswith("0 ")][:3], **extra}


def _row(r: dict) -> str:
    late = f"{r['late_p50_ms']:.1f}/{r['late_p99_ms']:.1f}" if "late_p50_ms" in r else "-"
    flag = "  CLIENT SATURATED" if r["client_saturated"] else ""
    if len(r["server_processes"]) > 1:
        flag += f"  (server processes: {' '.join(f'{c:.2f}' for c in r['server_processes'])})"
    unfinished = f"  ({r['bots'] - r['completed']} bots did not finish: {r['failures']})" \
        if r["server"] == "mugkit" and r["completed"] < r["bots"] else ""
    return (f"{r['server']:7s} {r['keys']:6s} {r['workers']:3d} {r['games']:5d}  {'yes' if r['held'] else 'no ':4s}"
            f"{r['min_fps']:8.1f} {r['median_fps']:7.1f} {r['worst_p99_gap_ms']:9.1f} {late:>11s} "
            f"{r['server_cpu']:7.2f} {r['ms_per_game_frame']:8.3f}   {' '.join(f'{c:.2f}' for c in r['client_cpu'])}{flag}{unfinished}")


HEADER = ("server  keys   wrk games  held min fps  median p99 gap ms late p50/p99 "
          "server CPU  ms/frame  client CPUs (cores)")


TRIALS: list = []  # every trial of this run, for the Markdown table at the end


def _markdown(trials: list) -> str:
    head = ("| server | keys | workers | games | held | min fps | median fps | worst p99 gap | server CPU | "
            "ms CPU / game-frame | client CPU |\n" + "| --- " * 11 + "|")
    rows = [f"| {r['server']} | {'on change' if r['keys'] == 'change' else '30/s'} | {r['workers']} | {r['games']} | "
            f"{'**yes**' if r['held'] else 'no'} | {r['min_fps']:.1f} | {r['median_fps']:.1f} | "
            f"{min(r['worst_p99_gap_ms'], 9999):.1f} ms | {r['server_cpu']:.2f} | {r['ms_per_game_frame']:.3f} | "
            f"{' + '.join(f'{c:.2f}' for c in r['client_cpu'])} |" for r in trials]
    return "\n".join([head] + rows)


def trial(*args) -> dict:
    """:func:`measure`, printed and kept for the table."""
    r = measure(*args)
    print(_row(r), flush=True)
    TRIALS.append(r)
    return r


def search(server: str, keys: str, start: int, seconds: float, clients: int, workers: int,
           profile: str | None) -> int:
    """The largest held count (to within 5): up by a quarter until one fails, then bisect."""
    held, failed, games = 0, None, start
    while True:
        r = trial(server, games, keys, seconds, clients, workers, profile)
        if r["held"]:
            held = games
        else:
            failed = games
        if failed is None:
            games = int(round(games * 1.25 / 5)) * 5
        elif failed - held <= 5:
            return held
        else:
            games = max(5, int(round((held + failed) / 2 / 5)) * 5)
            if games in (held, failed):
                return held


START = {("mugkit", "change"): 60, ("mugkit", "30"): 30, ("mug", "change"): 60, ("mug", "30"): 15}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", nargs="+", choices=tuple(SERVERS), default=["mug", "mugkit"])
    parser.add_argument("--keys", nargs="+", choices=("change", "30"), default=["change", "30"])
    parser.add_argument("--games", type=int, nargs="+", help="counts to try (default: search the largest held)")
    parser.add_argument("--start", type=int, help="the search's first count (default: per server and key mode)")
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per trial")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--workers", type=int, default=1, help="`mugkit serve --workers N` (mugkit only)")
    parser.add_argument("--profile", help="mugkit only: write the server's cProfile stats here")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores, {cpu}; "
          f"Python {platform.python_version()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(HEADER, flush=True)
    found = {}
    for keys in args.keys:
        for server in args.server:
            workers = args.workers if server == "mugkit" else 1
            if args.games:
                for games in args.games:
                    trial(server, games, keys, args.seconds, args.clients, workers, args.profile)
            else:
                found[server, keys] = search(server, keys, args.start or START[server, keys], args.seconds,
                                             args.clients, workers, args.profile)
    for (server, keys), games in found.items():
        print(f"held by {server} ({'keys on change' if keys == 'change' else '30 keys a second'}): {games} games")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(_markdown(TRIALS))


if __name__ == "__main__":
    main()
