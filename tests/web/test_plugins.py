"""Plugins (mugkit/web/plugins.py) in a real `mugkit serve --plugin`: the plugins are the classes
below, loaded by the server from this module; participants are the load tester's bots (real
socket.io clients) playing a game on the server, one in their browser (tests/loadtest/studies/
_brief.py) and one between two browsers (rollback peers, _duet.py). Every hook is called, after
what it reports is stored, and the game hooks once per game; a plugin that raises stops nobody.
Loading errors of ``--plugin`` and installed packages' entry points: at the end."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

import mugkit as mk
from serving import ROOT, serve

HERE = os.path.dirname(os.path.abspath(__file__))
LOADTEST_STUDIES = os.path.join(ROOT, "tests", "loadtest", "studies")
BRIEF = os.path.join(LOADTEST_STUDIES, "_brief.py")   # pages, a browser game, a server game, a survey
DUET = os.path.join(LOADTEST_STUDIES, "_duet.py")     # a browser game of two humans (rollback peers)
PAIR = os.path.join(LOADTEST_STUDIES, "_pair.py")     # a server game of two humans
LOG = "MUGKIT_TEST_PLUGIN_LOG"


class Recorder:
    """A lab's plugin as a test writes one: every hook call, one JSON line in the file ``$MUGKIT_TEST_PLUGIN_LOG``."""

    def _log(self, hook: str, **kwargs) -> None:
        with open(os.environ[LOG], "a") as f:
            f.write(json.dumps({"hook": hook, "process": os.getpid(), **kwargs}, default=str) + "\n")

    @mk.hookimpl
    def mugkit_participant_entered(self, participant):
        self._log("entered", participant=participant)

    @mk.hookimpl
    def mugkit_participant_moved(self, participant, step, index):
        self._log("moved", participant=participant["id"], step=step, index=index)

    @mk.hookimpl
    def mugkit_participant_finished(self, participant, status, code):
        self._log("finished", participant=participant["id"], status=status, code=code)

    @mk.hookimpl
    def mugkit_answers_stored(self, participant, step, answers):
        self._log("answers", participant=participant["id"], step=step, answers=answers)

    @mk.hookimpl
    def mugkit_game_started(self, game):
        self._log("game_started", game=game)

    @mk.hookimpl
    def mugkit_game_ended(self, outcome, game, reason):  # any order, any subset of the arguments
        self._log("game_ended", game=game, outcome=outcome, reason=reason)


class Broken:
    """A plugin whose web service is down: every hook it has raises."""

    @mk.hookimpl
    def mugkit_game_started(self, game):
        raise RuntimeError("the lab's webhook is down")

    @mk.hookimpl
    def mugkit_participant_finished(self, participant):
        raise RuntimeError("the lab's webhook is down")


def rows(data: str, sql: str) -> list:
    with sqlite3.connect(os.path.join(data, "mugkit.sqlite")) as db:
        return db.execute(sql).fetchall()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_plugin_hooks_see_every_participant_and_each_game_once_in_all_three_runtimes(tmp_path, monkeypatch):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    log = tmp_path / "hooks.jsonl"
    monkeypatch.setenv(LOG, str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    data = str(tmp_path / "data")
    server = serve(BRIEF, DUET, data=data, extra=["--plugin", "test_plugins:Recorder", "--plugin",
                                                  "test_plugins:Broken"])
    try:
        reports = [run_loadtest(LoadTestConfig([path], 2, url=server.url, token=server.token, data=data,
                                               stuck_after=60, progress=False)) for path in (BRIEF, DUET)]
    finally:
        server.stop()
    for report in reports:
        assert report.ok and report.data["completed"] == 2, report.text()
    assert "plugins: test_plugins:Recorder, test_plugins:Broken" in "".join(server.output)
    assert "its hook mugkit_game_started failed (ignored)" in "".join(server.output)
    calls = [json.loads(line) for line in log.read_text().splitlines()]

    people = rows(data, "select participant_id, experiment, status, outcome_code, flow from participants")
    assert len(people) == 4
    entered = [c["participant"] for c in calls if c["hook"] == "entered"]
    assert sorted(p["id"] for p in entered) == sorted(p[0] for p in people)
    assert all(p["status"] == "active" and p["index"] == 0 for p in entered)
    for pid, experiment, status, code, flow in people:
        steps = [s for s, _ in json.loads(flow)]
        moved = [(c["step"], c["index"]) for c in calls if c["hook"] == "moved" and c["participant"] == pid]
        assert moved == [(step, i) for i, step in enumerate(steps) if i > 0], (pid, moved)  # each step once, in order
        finished = [c for c in calls if c["hook"] == "finished" and c["participant"] == pid]
        assert [(f["status"], f["code"]) for f in finished] == [(status, code)] == [("completed", code)]
    answered = [c for c in calls if c["hook"] == "answers"]
    assert sorted(c["participant"] for c in answered) == sorted(p[0] for p in people if p[1] == "_brief")
    assert all(c["step"] == "after" and c["answers"] for c in answered)

    games = {g: (runtime, outcome, reason) for g, runtime, outcome, reason in rows(
        data, "select game_id, runtime, outcome, outcome_reason from games")}
    assert len(games) == 5  # per _brief bot a browser and a server game; one game of the two _duet bots
    started = [c["game"] for c in calls if c["hook"] == "game_started"]
    ended = [c for c in calls if c["hook"] == "game_ended"]
    assert sorted(g["game_id"] for g in started) == sorted(games) == sorted(c["game"]["game_id"] for c in ended)
    players = {}
    for game_id, agent, pid, policy in rows(data, "select game_id, agent, participant_id, policy from players"):
        players.setdefault(game_id, {})[json.loads(agent)] = pid or policy
    for game in started:
        assert game["runtime"] == games[game["game_id"]][0] and game["players"] == players[game["game_id"]]
        assert game["humans"] == (2 if game["experiment"] == "_duet" else 1)
    for call in ended:
        game_id = call["game"]["game_id"]
        assert (call["game"]["runtime"], call["outcome"], call["reason"]) == games[game_id]
        assert call["game"]["players"] == players[game_id] and call["outcome"] == "completed"
    kinds = sorted((g["experiment"], g["step"], g["runtime"]) for g in started)
    assert kinds == [("_brief", "in_browser", "browser")] * 2 + [("_brief", "on_server", "server")] * 2 + [
        ("_duet", "duet", "browser")]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_with_two_workers_every_process_calls_the_hooks_of_its_own_events_and_each_game_once(
        tmp_path, monkeypatch, redis_url):
    from mugkit.loadtest import LoadTestConfig, run_loadtest

    log = tmp_path / "hooks.jsonl"
    monkeypatch.setenv(LOG, str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    data = str(tmp_path / "data")
    server = serve(PAIR, data=data, extra=["--workers", "2", "--redis", redis_url, "--plugin", "test_plugins:Recorder"])
    try:
        report = run_loadtest(LoadTestConfig([PAIR], 8, url=server.url, token=server.token, data=data,
                                             stuck_after=60, progress=False))
    finally:
        server.stop()
    assert report.ok and report.data["completed"] == 8, report.text()
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    games = sorted(g for (g,) in rows(data, "select game_id from games"))
    assert len(games) == 4
    assert sorted(c["game"]["game_id"] for c in calls if c["hook"] == "game_started") == games
    assert sorted(c["game"]["game_id"] for c in calls if c["hook"] == "game_ended") == games
    assert len([c for c in calls if c["hook"] == "entered"]) == 8
    assert len([c for c in calls if c["hook"] == "finished"]) == 8
    assert len({c["process"] for c in calls if c["hook"] == "entered"}) == 2  # arrivals on both processes


def serve_command(tmp_path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``mugkit serve`` that should refuse to start (its exit code and what it printed)."""
    study = os.path.join(ROOT, "tests", "web", "studies", "_timed.py")
    return subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", study, "--data", str(tmp_path / "data"),
                           "--no-preflight", "--port", "0", *args], capture_output=True, text=True, timeout=120,
                          cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": os.pathsep.join(
                              [HERE, os.environ.get("PYTHONPATH", "")]), **(env or {})})


@pytest.mark.parametrize("spec, words", [
    ("no_such_lab_module", "cannot import 'no_such_lab_module'"),
    ("test_plugins:Nothing", "module 'test_plugins' has no 'Nothing'"),
    ("test_plugins:", "give a module, or module:name"),
    ("test_plugins:Recorder:x", "give a module, or module:name"),
    ("test_plugins:Misnamed", "unknown hook 'mugkit_game_strated'"),
    ("test_plugins:Unmarked", "mark mugkit_game_started with @mk.hookimpl"),
    ("test_plugins:NeedsArguments", "could not be made with no arguments"),
])
def test_a_plugin_that_cannot_be_loaded_stops_the_start_with_what_to_fix(tmp_path, spec, words):
    done = serve_command(tmp_path, "--plugin", spec)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"mugkit serve: --plugin {spec}" in done.stderr or f"--plugin {spec!r}" in done.stderr, done.stderr
    assert words in done.stderr, done.stderr


class Misnamed:
    @mk.hookimpl
    def mugkit_game_strated(self, game):  # a typo
        pass


class Unmarked:
    def mugkit_game_started(self, game):  # no @mk.hookimpl: pluggy would never call it
        pass


class NeedsArguments:
    def __init__(self, url):
        self.url = url

    @mk.hookimpl
    def mugkit_game_started(self, game):
        pass


def test_an_installed_packages_entry_point_is_loaded_and_a_broken_one_stops_the_start(tmp_path):
    """A package that declares ``[project.entry-points.mugkit]`` is found through its metadata
    (here a ``.dist-info`` folder on the path, as pip leaves one), without any --plugin."""
    site = tmp_path / "site"
    dist = site / "labhooks-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labhooks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mugkit]\nlabhooks = labhooks\n")
    (site / "labhooks.py").write_text("import mugkit as mk\n\n\n@mk.hookimpl\n"
                                      "def mugkit_participant_entered(participant):\n    pass\n")
    code = ("import sys; from mugkit.web.serve import load_plugins; "
            "print([name for name, _ in load_plugins([]).manager.list_name_plugin()])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0 and "'labhooks'" in done.stdout, done.stderr

    (site / "labhooks.py").write_text("raise ImportError('labhooks needs requests')\n")
    done = serve_command(tmp_path, env={"PYTHONPATH": env["PYTHONPATH"]})
    assert done.returncode == 2 and "an installed package's plugin (entry point group 'mugkit') failed to load" \
        in done.stderr and "labhooks needs requests" in done.stderr, done.stderr


def test_a_plugin_that_changes_what_it_got_changes_nothing_for_the_next_one():
    """Each plugin gets its own copy of the hook's arguments: one that edits the participant's
    dict (or the detail) does not change what the next one, such as the metrics, sees."""
    from mugkit.web.plugins import Plugins

    seen = []

    class Counter:  # registered first: called last
        @mk.hookimpl
        def mugkit_participant_excluded(self, participant, reason, by, detail):
            seen.append((dict(participant), detail))

    class Meddler:
        @mk.hookimpl
        def mugkit_participant_excluded(self, participant, detail):
            participant["reason"] = "changed"
            participant["params"]["condition"] = "changed"
            detail.clear()

    plugins = Plugins([Counter(), Meddler()], entry_points=False)
    participant = {"id": "p1", "status": "excluded", "reason": "idle", "params": {"condition": "a"}}
    plugins.call("mugkit_participant_excluded", participant=participant, reason="idle", by="server",
                 detail={"game": "g1"})
    assert seen == [({"id": "p1", "status": "excluded", "reason": "idle", "params": {"condition": "a"}},
                     {"game": "g1"})]
    assert participant == {"id": "p1", "status": "excluded", "reason": "idle", "params": {"condition": "a"}}
