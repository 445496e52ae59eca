"""`import mugkit` stays light: the browser loads the same package into Pyodide."""

import subprocess
import sys

HEAVY = ("sanic", "socketio", "onnxruntime", "pandas", "numpy", "gymnasium", "pettingzoo", "pytest", "hypothesis")


def test_importing_mugkit_runtime_and_netcode_pulls_in_nothing_heavy():
    code = ("import sys, mugkit, mugkit.runtime, mugkit.netcode, mugkit.netcode.simnet; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
