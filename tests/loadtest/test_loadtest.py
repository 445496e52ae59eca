"""`mugkit loadtest`: bots through whole flows against a real `mugkit serve` process, real
socket.io, a real SQLite database read by the audit (and tampered with behind the bots' backs)."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from mugkit.loadtest import LoadTestConfig, LoadTestError, run_loadtest
from mugkit.loadtest.answers import UnknownQuestion, invalid_answers, valid_answers
from mugkit.loadtest.log import GameLog
from mugkit.loadtest.report import peak_concurrent, percentiles
from mugkit.loadtest.run import spread
from mugkit.questions import Choice, Likert, Text
from mugkit.web.views import check_answers, survey_view

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
STUDIES = os.path.join(HERE, "studies")
BRIEF, PAIR, LOCKED = (os.path.join(STUDIES, f"_{n}.py") for n in ("brief", "pair", "locked"))

QUESTIONS = [Likert("fun", "Fun?", points=7), Likert("calm", "Calm?", points=3, required=False),
             Choice("hand", "Hand?", ["left", "right", "both"]), Choice("seen", "Seen?", ["a", "b", "c"], multiple=True),
             Text("why", "Why?"), Text("more", "More?", required=False, multiline=True)]


# -- fast: answers, spreading, figures -------------------------------------------------------

def test_answers_made_from_the_surveyjs_model_pass_the_servers_own_validation():
    model = survey_view("After", QUESTIONS)["survey"]
    rng = random.Random(0)
    for _ in range(300):
        answers = valid_answers(model, rng)
        assert check_answers(QUESTIONS, answers) is None, answers
        assert set(answers) == {q.name for q in QUESTIONS}


def test_invalid_answers_are_each_rejected_by_the_server_and_say_what_is_wrong():
    model = survey_view("After", QUESTIONS)["survey"]
    rng = random.Random(1)
    seen = set()
    for _ in range(300):
        answers, what = invalid_answers(model, rng)
        assert check_answers(QUESTIONS, answers) is not None, (what, answers)
        seen.add(what)
    assert len(seen) >= 8  # every way of breaking each question comes up


def test_a_question_type_the_bots_do_not_know_is_an_error_naming_it():
    model = {"pages": [{"elements": [{"type": "signaturepad", "name": "grid"}]}]}
    with pytest.raises(UnknownQuestion, match="'grid' has type 'signaturepad'"):
        valid_answers(model, random.Random(0))


def test_bots_are_spread_in_whole_groups_and_only_a_leftover_waits_alone():
    names = spread({"solo": 1, "duo": 2}, 7)
    assert sorted(names) == ["duo"] * 4 + ["solo"] * 3
    assert spread({"duo": 2}, 3) == ["duo"] * 3  # the third is unmatched: the waitroom-timeout path
    assert spread({"a": 1, "b": 1, "c": 3}, 6).count("c") == 3


def test_frames_are_kept_as_ranges_and_peaks_and_percentiles_are_exact():
    game = GameLog("g", "s", "a")
    for f in [0, 1, 2, 3, 7, 8, 3]:
        game.frame(0, f)
    assert game.frames == {0: [[0, 3], [7, 8]]} and game.frame_count() == 6
    assert percentiles([i / 1000 for i in range(101)], 1000.0) == {"p50": 50.0, "p95": 95.0, "p99": 99.0}
    assert percentiles([]) is None

    class L:
        def __init__(self, a, b):
            self.connected_at, self.finished_at = a, b

    assert peak_concurrent([L(0, 10), L(1, 2), L(3, 11), L(10.5, 12), L(None, None)]) == 2


def test_the_servers_tick_lateness_covers_games_after_they_ended():
    """stats.json's late_all_ms counts every tick of every server game, also of games over."""
    from types import SimpleNamespace

    from mugkit.web.admin import admin_stats_data
    from mugkit.web.ticks import GameStats, TickTotals

    totals = TickTotals()
    first = GameStats(30, totals)
    for i in range(100):
        first.note(i / 1000)
    running = GameStats(30, totals)
    running.note(0.2)
    study = SimpleNamespace(games={"b": SimpleNamespace(stats=running)}, lobby=SimpleNamespace(ticks=totals),
                            participants={})                   # "a" ended: its ticks still count
    stats = admin_stats_data(study)
    assert stats["late_all_ms"] == {"ticks": 101, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 200.0}
    assert stats["late_ms"]["max"] == 200.0 and stats["ticks"] == 1


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(LoadTestError, match="no such file"):
        run_loadtest(LoadTestConfig([str(tmp_path / "nope.py")], 1))
    with pytest.raises(LoadTestError, match="no step 'nope'; its steps: welcome"):
        run_loadtest(LoadTestConfig([f"{BRIEF}::nope"], 1))
    with pytest.raises(LoadTestError, match="--bots must be at least 1"):
        run_loadtest(LoadTestConfig([BRIEF], 0))
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadTestError, match="no experiments under"):
        run_loadtest(LoadTestConfig([str(tmp_path / "empty")], 1))


# -- slow: real servers --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(300)
def test_ten_bots_complete_and_a_row_deleted_behind_their_backs_is_reported_lost(tmp_path, backend):
    """On both backends: the server's data in its folder, or in PostgreSQL (``--database``), and
    the audit reading them there."""
    out = tmp_path / "report.json"
    row = backend.last_row

    def delete_one_step_row(database: str) -> None:
        assert database == (backend.url or os.path.join(backend.folder, "mugkit.sqlite"))
        backend.execute(f"delete from steps where {row} = (select max({row}) from steps)")

    config = LoadTestConfig([BRIEF, PAIR], 10, rate=10, stuck_after=30, invalid_answers=True, progress=False,
                            data=backend.folder, database=backend.url, before_audit=delete_one_step_row)
    report = run_loadtest(config)
    report.write(str(out))
    d = json.loads(out.read_text())
    assert (d["bots"], d["completed"], d["failed"], d["stuck"]) == (10, 10, 0, 0), d["failures"]
    assert d["experiments"] == {"_brief": 6, "_pair": 4}
    assert d["paths"] == {"completion": 10}
    assert d["lost_rows"] == 1 and d["audit"]["lost"] == {"steps": 1}
    assert "is not stored" in d["audit"]["examples"][0]
    assert not report.ok
    # Everything the bots did was looked up: 6 × (server game 41 frames + browser game 2 × 21 rows) + 4 × 31.
    assert d["audit"]["checked"]["steps"] == 6 * (41 + 42) + 4 * 31
    assert d["audit"]["checked"]["answers"] == 6 * 4 and d["audit"]["checked"]["events"] == 6
    assert d["invalid_answers"] == {"rejected": 6, "accepted": 0}
    assert 1 <= d["peak_concurrent"] <= 10 and d["failures"] == []
    for field in ("tick_lateness_ms", "latency_ms"):
        assert set(d[field]) >= {"p50", "p95", "p99"} and d[field]["p50"] <= d[field]["p99"]
    assert d["server"]["cpu_seconds"] > 0 and d["server"]["rss_mb_peak"] > 20
    assert d["audit"]["source"] == (backend.url or os.path.join(backend.folder, "mugkit.sqlite"))
    assert backend.query("select count(*) from participants where status = 'completed'") == [(10,)]
    assert backend.query("select count(*) from games where runtime = 'browser' and outcome = 'completed'") == [(6,)]


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(120)
def test_an_unmatched_bot_takes_the_waitroom_timeout_path_with_its_code():
    report = run_loadtest(LoadTestConfig([PAIR], 3, rate=20, progress=False))
    d = report.data
    assert report.ok and d["completed"] == 3
    assert d["paths"] == {"completion": 2, "waitroom timeout": 1}


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(120)
def test_a_flow_that_never_lets_a_bot_advance_is_reported_stuck_at_that_step():
    report = run_loadtest(LoadTestConfig([LOCKED], 2, rate=10, stuck_after=3, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (0, 0, 2)
    assert [f["step"] for f in d["failures"]] == ["locked (game)"] * 2
    assert all("waited 3 s for the game's next frame" in f["reason"] for f in d["failures"])
    assert d["lost_rows"] == 0 and not report.ok
    # --duration ends a run whatever the bots' own bound says.
    report = run_loadtest(LoadTestConfig([LOCKED], 1, stuck_after=600, duration=3, progress=False))
    assert report.data["stuck"] == 1 and "--duration ended" in report.data["failures"][0]["reason"]


THIRD_PARTY = '''
    """Third-party envs, unchanged, served and load-tested from outside the repository."""
    import mugkit as mk


    @mk.scene
    def welcome():
        return mk.Page(title="Hello", body="Outside the repository.")


    @mk.scene(players={"player": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowRight": 1}, default_action=0, max_steps=25)
    def cartpole():
        import gymnasium

        return gymnasium.make("CartPole-v1", render_mode="rgb_array")


    @mk.scene(players={"elf": mk.HUMAN}, keys={"ArrowLeft": 0, "ArrowDown": 1, "ArrowRight": 2, "ArrowUp": 3},
              turn_based=True, max_steps=6, render=lambda env: [mk.draw.text(10, 30, "lake")])
    def frozenlake():
        import gymnasium

        return gymnasium.make("FrozenLake-v1")


    @mk.scene(players={"player_1": mk.HUMAN, "player_2": mk.HUMAN}, keys={str(i + 1): i for i in range(9)},
              waitroom_timeout=60, render=lambda env: [mk.draw.text(10, 30, "board")])
    def tictactoe(group):
        from pettingzoo.classic import tictactoe_v3

        return tictactoe_v3.env()


    @mk.survey
    def after():
        return [mk.Likert("fun", "Fun?", points=5), mk.Text("why", "Why?", required=False)]


    @mk.scene
    def done():
        return mk.Completion(code="OUTSIDE")
'''


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(300)
def test_the_command_against_gymnasium_and_pettingzoo_envs_outside_the_repository(tmp_path):
    """CartPole (RGB frames), FrozenLake (turn-based) and PettingZoo's tic-tac-toe (an AEC env whose
    action mask refuses taken cells: the bots try other keys) for pairs of bots, through the CLI."""
    study = tmp_path / "outside" / "board_games.py"
    study.parent.mkdir()
    study.write_text(textwrap.dedent(THIRD_PARTY))
    out = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "mugkit.cli", "loadtest", str(study.parent), "--bots", "4",
                          "--rate", "10", "--stuck-after", "30", "--json", str(out), "-q"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout + run.stderr
    d = json.loads(out.read_text())
    assert (d["completed"], d["lost_rows"]) == (4, 0) and d["paths"] == {"completion": 4}
    assert d["audit"]["checked"]["games"] == 4 * 3  # every bot played all three games
    assert "PASS" in run.stdout and "data audit: 0 lost" in run.stdout


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(120)
def test_the_exit_code_is_non_zero_when_a_bot_is_stuck(tmp_path):
    run = subprocess.run([sys.executable, "-m", "mugkit.cli", "loadtest", LOCKED, "--bots", "1", "--stuck-after", "2",
                          "-q"], cwd=ROOT, capture_output=True, text=True, timeout=110)
    assert run.returncode == 1 and "STUCK bot 0 (_locked) at locked (game)" in run.stdout and "FAIL" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "mugkit.cli", "loadtest", str(tmp_path), "--bots", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "mugkit loadtest: no experiments under" in bad.stderr


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(180)
def test_a_running_server_is_tested_by_url_and_audited_through_its_data_folder(tmp_path):
    from mugkit.loadtest.server import start_server

    server = start_server([PAIR], str(tmp_path / "data"))
    try:
        audited = run_loadtest(LoadTestConfig([PAIR], 2, url=server.url, token=server.token, data=str(tmp_path / "data"),
                                              progress=False)).data
        blind = run_loadtest(LoadTestConfig([PAIR], 2, url=server.url, progress=False))
    finally:
        server.stop()
    assert audited["completed"] == 2 and audited["audit"]["checked"]["steps"] == 2 * 31
    assert audited["tick_lateness_ms"]["p50"] >= 0 and audited["server"]["source"] == "stats.json"
    assert blind.data["completed"] == 2 and blind.data["audit"] is None and blind.data["tick_lateness_ms"] is None
    assert "data audit: not run (give --data DIR" in blind.text()


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(180)
def test_bots_that_reload_mid_game_resume_it_and_nothing_is_lost_or_stored_twice(tmp_path):
    """A browser-run game re-simulated from the server's record after a reload (kept batches sent
    first), a two-player server game paused and resumed for the partner: every row once."""
    report = run_loadtest(LoadTestConfig([BRIEF, PAIR], 6, reloads=6, rate=10, stuck_after=30, progress=False,
                                         data=str(tmp_path / "data")))
    d = report.data
    assert report.ok and d["completed"] == 6 and d["reloads"] == 6, d["failures"]
    assert "resume" in d["latency_by_message_ms"]  # the browser games asked for their record
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        per_game = db.execute("select g.runtime, g.outcome, count(s.frame), count(distinct s.episode * 1000 + s.frame) "
                              "from games g join steps s using (game_id) group by g.game_id").fetchall()
    browser = [r for r in per_game if r[0] == "browser"]
    assert len(browser) == 4 and all(r == ("browser", "completed", 42, 42) for r in browser)
    server = [r for r in per_game if r[0] == "server"]
    assert all(r[1] == "completed" for r in server) and len(server) == 4 + 1


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(180)
def test_bots_play_a_turn_based_browser_game_whose_mask_forbids_most_presses_to_its_end():
    """A press the action mask forbids plays nothing: the bot tries another combination, as a
    participant would, instead of pressing the same one until it is reported stuck."""
    nim = os.path.join(STUDIES, "_nim.py")
    report = run_loadtest(LoadTestConfig([nim], 6, rate=10, stuck_after=20, progress=False))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (6, 0, 0), d["failures"]
    assert d["lost_rows"] == 0 and report.ok


DUET = os.path.join(STUDIES, "_duet.py")


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_bots_play_two_human_browser_games_as_rollback_peers_over_the_relay_and_every_row_is_there(tmp_path):
    """Each bot runs one PeerGame (the browser's own Python) and sends its packets through the
    server's relay; every game completes, each agent's rows are stored once, the peers agree."""
    report = run_loadtest(LoadTestConfig([DUET], 4, rate=10, stuck_after=40, progress=False,
                                         data=str(tmp_path / "data")))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (4, 0, 0), d["failures"]
    assert report.ok and d["lost_rows"] == 0 and d["audit"]["unverified"] == 0
    # 2 agents x 2 episodes x 46 frames per game, each bot audited for its own agent's rows.
    assert d["audit"]["checked"]["steps"] == 4 * 92 and d["audit"]["checked"]["peers"] == 2
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        games = db.execute("select g.outcome, g.verification, g.detail, count(s.frame), "
                           "count(distinct s.episode * 1000 + s.frame) from games g join steps s using (game_id) "
                           "group by g.game_id").fetchall()
    assert len(games) == 2
    for outcome, verification, detail, count, frames in games:
        detail = json.loads(detail)
        assert (outcome, verification, count, frames) == ("completed", "verified", 184, 92)
        assert detail["desync"] is None and detail["checksums_agreed"] > 0
        assert {p["paths"][h] for p in detail["peers"].values() for h in p["paths"]} == {"relay"}


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_three_bots_play_a_three_human_browser_game_with_an_ai_that_the_host_plays_and_stores(tmp_path):
    report = run_loadtest(LoadTestConfig([os.path.join(STUDIES, "_trio.py")], 3, rate=10, stuck_after=40,
                                         progress=False, data=str(tmp_path / "data")))
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"]) == (3, 0, 0), d["failures"]
    assert report.ok and d["lost_rows"] == 0 and d["audit"]["checked"]["peers"] == 1
    # The host's bot acknowledged its human's and the AI's rows; each other bot its human's: 4 x 41.
    assert d["audit"]["checked"]["steps"] == 4 * 41
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        assert db.execute("select g.outcome, g.verification, count(s.frame), count(distinct s.frame || ':' || "
                          "s.agent) from games g join steps s using (game_id) group by g.game_id").fetchall() \
            == [("completed", "verified", 164, 164)]


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_a_peer_bot_that_reloads_mid_game_rejoins_from_its_partners_package_and_no_frame_is_lost_or_doubled(
        tmp_path):
    report = run_loadtest(LoadTestConfig([DUET], 2, reloads=1, rate=10, stuck_after=40, progress=False,
                                         data=str(tmp_path / "data")))
    d = report.data
    assert report.ok and d["completed"] == 2 and d["reloads"] == 1, d["failures"]
    assert "rejoin" in d["latency_by_message_ms"] and "package" in d["latency_by_message_ms"]
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        assert db.execute("select g.outcome, g.verification, count(s.frame), count(distinct s.episode * 1000 + "
                          "s.frame) from games g join steps s using (game_id) group by g.game_id").fetchall() == [
            ("completed", "verified", 184, 92)]


@pytest.mark.slow
@pytest.mark.load
@pytest.mark.timeout(240)
def test_two_peers_play_a_turn_based_game_that_waits_for_each_press_and_it_is_verified(tmp_path):
    """Nim (an AEC env) between two peer bots: a frame waits until its player presses (nobody moves
    for them: no filled move), and the server's re-simulation agrees with every stored move."""
    report = run_loadtest(LoadTestConfig([os.path.join(STUDIES, "_nim_pair.py")], 2, rate=10, stuck_after=40,
                                         progress=False, data=str(tmp_path / "data")))
    d = report.data
    assert report.ok and d["completed"] == 2 and d["lost_rows"] == 0, (d["failures"], d["audit"])
    with sqlite3.connect(tmp_path / "data" / "mugkit.sqlite") as db:
        assert db.execute("select outcome, verification from games").fetchall() == [("completed", "verified")]
        moves = db.execute("select keys, filled from steps where frame > 0 and action is not null "
                           "and action != 'null'").fetchall()
    assert moves and all(json.loads(keys) and not filled for keys, filled in moves), moves[:5]


# -- entry screening ---------------------------------------------------------------------------

SCREENED = os.path.join(STUDIES, "_screened.py")


def test_bots_pass_the_screening_and_screen_fail_bots_fail_it_each_way_as_expected_exclusions(tmp_path):
    def tamper(database):  # one expected exclusion stored with another reason: the audit must see it
        with sqlite3.connect(database) as db:
            db.execute("UPDATE participants SET reason = 'check' WHERE rowid = (SELECT min(rowid) FROM participants "
                       "WHERE status = 'screened_out')")

    config = LoadTestConfig([SCREENED], 9, screen_fail=5, rate=20, stuck_after=20, progress=False,
                            data=str(tmp_path / "data"))
    report = run_loadtest(config)
    d = report.data
    assert (d["completed"], d["failed"], d["stuck"], d["lost_rows"]) == (9, 0, 0, 0), report.text()
    x = d["expected_exclusions"]
    assert x == {"built": 5, "screened_out": 5,
                 "by_mode": {"window": 1, "device": 1, "browser": 1, "no_pongs": 1, "silent": 1}}, x
    assert d["paths"] == {"completion": 4, "screened_out": 5}
    assert d["audit"]["checked"]["participants"] == 9 + 4 + 5  # stored; codes shown; reasons of the 5
    assert "expected exclusions (--screen-fail): 5 of 5 screened out" in report.text() and report.ok
    with sqlite3.connect(str(tmp_path / "data" / "mugkit.sqlite")) as db:
        reasons = sorted(r for (r,) in db.execute("SELECT reason FROM participants WHERE status = 'screened_out'"))
        passed = db.execute("SELECT count(*) FROM events WHERE kind = 'screened'").fetchone()[0]
    assert reasons == ["browser", "device", "no_report", "no_report", "window"] and passed == 4

    tampered = run_loadtest(LoadTestConfig([SCREENED], 3, screen_fail=1, rate=20, stuck_after=20, progress=False,
                                           before_audit=tamper))
    assert tampered.data["lost_rows"] == 1 and not tampered.ok
    assert "built to fail the screening (window): stored screened_out with reason 'check'" in tampered.text()


def test_screen_fail_needs_bots_that_meet_a_screening():
    with pytest.raises(LoadTestError, match=r"--screen-fail 2: only 0 protocol bot.*\(none of these experiments has one\)"):
        run_loadtest(LoadTestConfig([BRIEF], 2, screen_fail=2, progress=False))
    with pytest.raises(LoadTestError, match=r"only 1 protocol bot\(s\) go to an experiment with a @mk.screen step "
                                            r"\(_screened\); the bots take the experiments in turn: run more bots"):
        run_loadtest(LoadTestConfig([BRIEF, SCREENED], 2, screen_fail=2, progress=False))
