"""One participant's browser games in a row, in Debian's Chromium (tests/web/studies/_twice.py):
the page keeps its Pyodide worker from one game to the next, so only the first game loads
Python. Every game is still a game of its own — its own env and seed, its rows verified by the
server — a step that ships other files gets exactly its own, a step that declares another package
gets it installed, an ONNX model already open is not opened again, and a game that raised leaves
no worker behind: the next game starts a new one. A reload after kept games loads Python again
and resumes where the game stood."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from browser_data import differences, frames_of, query, resimulate, stored_rows, through_screens, wait_loaded
from serving import STUDIES, serve

from mugkit.runtime.values import from_json

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TWICE = os.path.join(STUDIES, "_twice.py")
SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")


@pytest.fixture
def server(tmp_path):
    served = serve(TWICE, data=str(tmp_path / "data"))
    yield served
    served.stop()


def games(data: str) -> list[tuple]:
    """(game id, step, seed, outcome) of every game, in the order they started."""
    return query(data, "select game_id, step, seed, outcome from games order by started_at")


def loads(data: str) -> dict:
    """game id → its ``game_loaded`` event's detail."""
    out = {}
    for (detail,) in query(data, "select detail from events where kind = 'game_loaded' order by id"):
        d = from_json(detail)
        out[d["game"]] = d
    return out


def wait_verified(data: str, game_id: str) -> str:
    for _ in range(300):   # verified in the background once the game ends
        (verification,), = query(data, "select verification from games where game_id = ?", game_id)
        if verification != "pending":
            return verification
        time.sleep(0.1)
    return verification


def assert_played_and_verified(served, game_id: str) -> None:
    """Every frame of the one episode stored once, equal to CPython's play from the game's seed,
    and verified by the server."""
    stored = stored_rows(served.data, game_id)
    assert frames_of(stored) == {0: list(range(21))}
    assert differences(stored, resimulate(served.data, game_id, TWICE)) == []
    assert wait_verified(served.data, game_id) == "verified"


def start(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("button.mk-button")
    page.click("button.mk-button")


def test_later_browser_games_reuse_the_loaded_python_and_are_each_verified(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    start(page, f"{server.url}/_twice/")
    through_screens(page, "body[data-view=completion]", timeout=120_000)

    played = games(server.data)
    assert [(step, outcome) for _, step, _, outcome in played] == [
        ("first", "completed"), ("walk", "completed"), ("walk", "completed"), ("mapped", "completed")]
    assert played[1][2] != played[2][2], "each repetition has its own seed"
    loaded = loads(server.data)
    # One worker played all four: Python loaded for the first game only.
    assert [(loaded[g]["warm"], loaded[g]["games"]) for g, *_ in played] == [
        (False, 1), (True, 2), (True, 3), (True, 4)]
    assert "python" in loaded[played[0][0]]["stages"]
    for game_id, *_ in played[1:]:
        assert "python" not in loaded[game_id]["stages"] and "download" not in loaded[game_id]["stages"]
        assert loaded[game_id]["start_ms"] is not None
    # `mapped` ships one more file: only its experiment wheel was downloaded.
    assert 0 < loaded[played[3][0]]["bytes"] < 100_000
    for game_id, *_ in played:
        assert_played_and_verified(server, game_id)
    assert query(server.data, "select count(*) from events where kind = 'game_load_failed'") == [(0,)]


def test_a_game_that_raised_is_followed_by_a_fresh_worker(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    start(page, f"{server.url}/_twice/?boom=1")
    through_screens(page, "body[data-view=completion]", timeout=120_000)

    played = games(server.data)
    assert [(step, outcome) for _, step, _, outcome in played] == [
        ("first", "error"), ("walk", "completed"), ("walk", "completed"), ("mapped", "completed")]
    assert query(server.data, "select count(*) from events where detail like '%boom at frame 5%'") != [(0,)]
    loaded = loads(server.data)
    # The worker whose game raised was ended: the next game loaded Python in a new one.
    assert [(loaded[g]["warm"], loaded[g]["games"]) for g, *_ in played] == [
        (False, 1), (False, 1), (True, 2), (True, 3)]
    assert "python" in loaded[played[1][0]]["stages"]
    for game_id, *_ in played[1:]:
        assert_played_and_verified(server, game_id)


def test_a_reload_after_kept_games_loads_python_again_and_resumes(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    start(page, f"{server.url}/_twice/")
    # The second game (`walk`, in the kept worker): reload the page as soon as it plays.
    through_screens(page, ".mk-game[data-warm=true]", timeout=120_000)
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, "browser-second-game.png"))   # no loading screen
    assert page.is_hidden(".mk-stage-overlay")
    page.reload()
    wait_loaded(page)
    assert page.get_attribute(".mk-game", "data-warm") == "false"   # a new page: a new worker
    through_screens(page, "body[data-view=completion]", timeout=120_000)
    played = games(server.data)
    assert [(step, outcome) for _, step, _, outcome in played] == [
        ("first", "completed"), ("walk", "completed"), ("walk", "completed"), ("mapped", "completed")]
    for game_id, *_ in played:
        assert_played_and_verified(server, game_id)


AI_STUDY = '''
import mugkit as mk
from envs.chase import ChaseEnv
from envs.motion import KEYS


@mk.policy
def chaser():
    return mk.Onnx("models/chaser.onnx")


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="Two short chases.", button="Start")


@mk.scene(players={"runner": mk.HUMAN, "chaser": "chaser"}, runtime="browser", fps=30, max_steps=20, keys=KEYS,
          default_action=0)
def chase(seed):
    return ChaseEnv(render_mode="mug")


@mk.scene
def done():
    return mk.Completion(code="A1TW1CE")


FLOW = [welcome, mk.repeat(chase, 2), done]
'''


def test_a_later_game_with_the_same_onnx_model_reuses_its_session(chromium, tmp_path):
    """Example (c)'s chaser twice: the second game opens no model (onnxruntime-web's session is
    kept with the worker), and the chaser's moves in both games are the ones CPython's onnxruntime
    makes (the server verifies both)."""
    from serving import ROOT

    study = tmp_path / "study"
    (study / "envs").mkdir(parents=True)
    (study / "models").mkdir()
    for name in ("__init__.py", "chase.py", "motion.py"):
        shutil.copy(os.path.join(ROOT, "experiments", "envs", name), study / "envs" / name)
    shutil.copy(os.path.join(ROOT, "experiments", "models", "chaser.onnx"), study / "models" / "chaser.onnx")
    (study / "aitwice.py").write_text(AI_STUDY)
    served = serve(str(study / "aitwice.py"), data=str(tmp_path / "data"))
    try:
        page = chromium.new_page(viewport={"width": 1000, "height": 760})
        start(page, f"{served.url}/aitwice/")
        through_screens(page, "body[data-view=completion]", timeout=120_000)
        played = games(served.data)
        assert [(step, outcome) for _, step, _, outcome in played] == [("chase", "completed"), ("chase", "completed")]
        loaded = loads(served.data)
        first, second = (loaded[g] for g, *_ in played)
        assert (first["warm"], second["warm"], second["games"]) == (False, True, 2)
        assert "models" in first["stages"] and "models" not in second["stages"]
        for game_id, *_ in played:
            stored = stored_rows(served.data, game_id)
            assert frames_of(stored) == {0: list(range(21))}
            assert differences(stored, resimulate(served.data, game_id, str(study / "aitwice.py"))) == []
            assert wait_verified(served.data, game_id) == "verified"
            chaser = {r["action"] for (_, f, a), r in stored.items() if a == "chaser" and f > 0}
            assert chaser, "the chaser acted"
    finally:
        served.stop()


PACKAGE_STUDY = '''
import mugkit as mk
from walker import Walk

GAME = dict(players={"player": mk.HUMAN}, runtime="browser", keys={"ArrowRight": 2}, default_action=1, fps=30,
            max_steps=20)


@mk.scene
def welcome():
    return mk.Page(title="Welcome", body="Two short walks.", button="Start")


@mk.scene(**GAME)
def plain(seed):
    return Walk()


@mk.scene(**GAME, packages=("farama-notifications==0.0.6",))
def with_package(seed):
    import farama_notifications  # a pure package our server serves as a wheel: only this step has it
    return Walk(start=len(farama_notifications.__name__))


@mk.scene
def done():
    return mk.Completion(code="PKGTW1CE")


FLOW = [welcome, plain, with_package, done]
'''


def test_a_later_step_with_a_package_loads_it_into_the_kept_python(chromium, tmp_path):
    """The second step declares a package the first did not: the kept worker installs its wheel
    (and only that) and plays the game; the server verifies both."""
    study = tmp_path / "study"
    study.mkdir()
    walker = open(TWICE).read().split("KEYS = ")[0]   # the Walk env of _twice.py, on its own
    (study / "walker.py").write_text(walker)
    (study / "pkgtwice.py").write_text(PACKAGE_STUDY)
    served = serve(str(study / "pkgtwice.py"), data=str(tmp_path / "data"))
    try:
        page = chromium.new_page(viewport={"width": 1000, "height": 760})
        start(page, f"{served.url}/pkgtwice/")
        through_screens(page, "body[data-view=completion]", timeout=120_000)
        played = games(served.data)
        assert [(step, outcome) for _, step, _, outcome in played] == [
            ("plain", "completed"), ("with_package", "completed")]
        loaded = loads(served.data)
        first, second = (loaded[g] for g, *_ in played)
        assert (first["warm"], second["warm"], second["games"]) == (False, True, 2)
        assert second["bytes"] > 0 and "python" not in second["stages"]   # the package's wheel, no Python
        for game_id, *_ in played:
            assert frames_of(stored_rows(served.data, game_id)) == {0: list(range(21))}
            assert wait_verified(served.data, game_id) == "verified"
    finally:
        served.stop()
