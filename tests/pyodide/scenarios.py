"""What test_pyodide.py runs in both CPython and Pyodide; prints one JSON line.

Usage: python scenarios.py REPO_DIR STEP_NODE_ID... (the browser steps to replay; the server-only
experiments do not import in Pyodide, which is the point of runtime="server")."""

import json
import os
import sys

repo = sys.argv[1] if len(sys.argv) > 1 else "/repo"
sys.path.insert(0, repo)
sys.path.insert(0, os.path.join(repo, "experiments"))
os.chdir(repo)

from mugkit.checks.inputs import fixed_plans  # noqa: E402
from mugkit.checks.replay import replay  # noqa: E402
from mugkit.collect import load_step  # noqa: E402
from mugkit.netcode.simnet import Link, SimNetwork, run_peers  # noqa: E402
from mugkit.runtime import adapt  # noqa: E402

out = {"python": sys.version.split()[0], "replays": {}, "netcode": {}}
for nodeid in sys.argv[2:]:
    plans = fixed_plans(load_step(nodeid, repo)[1], 120)
    for seed in (1, 2):
        keys = dict(plans[seed % len(plans)].frames)  # held keys and fast changes
        out["replays"][f"{nodeid}@{seed}"] = replay(nodeid, seed, keys=keys, frames=120, rootdir=repo,
                                                   python_only=True)

from envs.gather import GatherEnv  # noqa: E402

actions = [[(i * 7) % 9 for i in range(90)], [(i * 5 + 3) % 9 for i in range(90)]]
results = run_peers(lambda: adapt(GatherEnv(), ("p0", "p1")), actions, 90, seed=4,
                    network=SimNetwork(11, Link(latency_ms=80, jitter_ms=20, loss=0.1, reorder=0.1)))
out["netcode"] = {"histories": [r.history for r in results], "rollbacks": [r.stats.rollbacks for r in results]}


def peer_games() -> dict:
    """Two PeerGames (one peer's game each, as a browser worker runs it) of Gem Gatherers' browser
    round over the simulated network; the second reloads mid-game and rejoins. What they store."""
    from mugkit.browser import peer_game_from_spec
    from mugkit.collect import load_experiment
    from mugkit.runtime.values import from_json

    experiment = load_experiment(os.path.join(repo, "experiments", "gather.py"), os.path.join(repo, "experiments"))
    group = [{"id": f"pp{i}", "params": {}, "condition": None} for i in range(2)]
    spec = {"game": "g", "step": "round_in_browser", "seed": 9, "participant": group[0], "group": group}
    addrs = {"h0": "p0", "h1": "p1"}

    def make(me, rejoin=False):
        return peer_game_from_spec(experiment, spec, {"me": me, "peers": addrs, "host": "h0", "rejoin": rejoin})

    games = {me: make(me) for me in addrs}
    net = SimNetwork(3, Link(latency_ms=80, jitter_ms=20, loss=0.1, reorder=0.1))
    ends = {me: net.transport(me) for me in addrs}
    stored, rollbacks = {}, 0
    for g in games.values():
        g.start()
    for tick in range(260):
        net.advance_to(tick * 1000 / 30)
        if tick == 120:  # h1 reloads: its game is gone
            rollbacks += games["h1"].stats()["rollbacks"]
            games["h1"] = None
        if tick == 170:
            games["h1"] = make("h1", rejoin=True)
            games["h1"].rejoin([games["h0"].rejoin_package("h1")])
        for me, g in games.items():
            if g is None:
                continue
            for sender, data in ends[me].receive_all():
                g.receive(sender, data)
            g.key_message(tick + 1, [["ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown"][(tick // 7 + len(me)) % 4]],
                          [], [], None)
            g.tick(tick * 1000 / 30, None, 0.0)
            for to, data in g.take_packets():
                ends[me].send_to(to, data)
            batch = g.take_rows()
            for e, f, checksum in from_json(batch)["checksums"] if batch else ():
                stored.setdefault(f"{e}:{f}", {})[me] = checksum
    rollbacks += games["h0"].stats()["rollbacks"] + games["h1"].stats()["rollbacks"]
    return {"checksums": stored, "rollbacks": rollbacks}


out["peer_game"] = peer_games()
print(json.dumps(out))
