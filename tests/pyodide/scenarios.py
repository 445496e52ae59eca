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
print(json.dumps(out))
