"""Environments of the example experiments.

Each module holds one env and nothing else (no scenes): experiments import them as
``from envs.catch import CatchEnv``. All of them use integer dynamics only, so a browser
(Pyodide) and the server (CPython) compute bit-identical frames. Only ``orchard`` imports
numpy and gymnasium; it runs on the server only.
"""
