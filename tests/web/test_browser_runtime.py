"""The browser runtime in Debian's Chromium: participants play examples (a) Fruit Catch and (c)
Coin Chase with real key presses, the env running in Pyodide in a Web Worker and the chaser
through onnxruntime-web. The stored rows are complete — every frame of every episode, once — and
equal what CPython's frame driver plays from the same seed and inputs. A reload mid-episode,
with batches still unacknowledged, resumes at the frame where the game stopped and loses nothing.
Screenshots of the loading screen and a browser game go to tests/web/screenshots/."""

from __future__ import annotations

import os
import random
import time

import pytest

from browser_data import differences, enter_game, frames_of, query, resimulate, stored_rows, wait_loaded
from serving import ROOT, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")
EXPERIMENTS = os.path.join(ROOT, "experiments")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    served = serve(EXPERIMENTS, data=str(tmp_path_factory.mktemp("data")))
    yield served
    served.stop()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"browser-{name}.png"))


def play(page, keys: list[str], seconds: float, rng: random.Random) -> None:
    """Holds random keys for random short spells, like a person."""
    spent = 0.0
    while spent < seconds and page.get_attribute("body", "data-view") == "game":
        key, hold = rng.choice(keys), rng.uniform(0.1, 0.6)
        page.keyboard.down(key)
        page.wait_for_timeout(int(hold * 1000))
        page.keyboard.up(key)
        spent += hold


def play_until_over(page, keys: list[str], rng: random.Random, limit: float) -> None:
    waited = 0.0
    while page.get_attribute("body", "data-view") == "game" and waited < limit:
        play(page, keys, 3, rng)
        waited += 3
    assert page.get_attribute("body", "data-view") != "game", "the game did not end"


def game_of(server, experiment: str) -> str:
    (game_id,), = query(server.data, "select game_id from games where experiment = ? order by started_at desc "
                                     "limit 1", experiment)
    return game_id


def assert_complete(server, game_id: str, experiment: str, episodes: int) -> dict:
    """Every episode's frames 0..end stored once, the last one ending the episode, and the rows
    equal CPython's replay of the same inputs."""
    stored = stored_rows(server.data, game_id)
    frames = frames_of(stored)
    assert sorted(frames) == list(range(episodes))
    for episode, got in frames.items():
        assert got == list(range(len(got))), f"episode {episode}: frames missing"
        last = [r for (e, f, _), r in stored.items() if e == episode and f == got[-1]]
        assert any(r["terminated"] or r["truncated"] for r in last), f"episode {episode} does not end"
    replayed = resimulate(server.data, game_id, os.path.join(EXPERIMENTS, f"{experiment}.py"))
    assert differences(stored, replayed) == []
    assert query(server.data, "select runtime, outcome from games where game_id = ?", game_id) == [
        ("browser", "completed")]
    for _ in range(300):  # the server verifies the game in the background: Pyodide's rows are CPython's
        (verification,), = query(server.data, "select verification from games where game_id = ?", game_id)
        if verification != "pending":
            break
        time.sleep(0.1)
    assert verification == "verified"
    return stored


def test_fruit_catch_is_played_in_the_browser_and_its_rows_arrive_complete(chromium, server):
    page = chromium.new_page(viewport={"width": 1000, "height": 760})
    enter_game(page, f"{server.url}/catch/")
    page.wait_for_selector(".mk-loading")
    shot(page, "loading")
    wait_loaded(page)
    rng = random.Random(1)
    play(page, ["ArrowLeft", "ArrowRight"], 2, rng)
    shot(page, "catch")
    play_until_over(page, ["ArrowLeft", "ArrowRight", "a", "d"], rng, limit=220)
    page.wait_for_selector("text=The game was fun.")
    game_id = game_of(server, "catch")
    stored = assert_complete(server, game_id, "catch", episodes=3)
    assert sum(1 for r in stored.values() if r["keys"]) > 300  # the keys really played
    late = query(server.data, "select count(late_ms), max(late_ms) from steps where game_id = ?", game_id)[0]
    assert late[0] == len(stored) - 1 and late[1] is not None   # every frame but the very first was timed
    (detail,), = query(server.data, "select detail from events where kind = 'game_loaded'")
    assert '"download"' in detail and '"python"' in detail and '"bytes"' in detail


def test_coin_chase_resumes_after_a_reload_at_the_frame_it_stopped(chromium, server):
    context = chromium.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    withhold = {"rows": False}

    def route(ws):  # a real websocket to the server that can hold back `rows` batches
        upstream = ws.connect_to_server()
        ws.on_message(lambda m: None if withhold["rows"] and '["rows"' in str(m) else upstream.send(m))

    page.route_web_socket("**/socket.io/**", route)
    enter_game(page, f"{server.url}/chase/")
    wait_loaded(page)
    rng = random.Random(3)
    play(page, ["ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown"], 2.5, rng)
    shot(page, "chase")
    game_id = game_of(server, "chase")
    before = stored_rows(server.data, game_id)
    assert before, "rows were acknowledged while playing"

    withhold["rows"] = True
    play(page, ["ArrowLeft", "ArrowUp"], 1.5, rng)
    pending = page.evaluate(f"JSON.parse(localStorage.getItem('mugkit:chase:outbox:{game_id}') || '[]').length")
    assert pending >= 2, "batches wait, unacknowledged, in the browser's storage"
    withhold["rows"] = False
    reloaded_at = time.time()
    page.reload()
    wait_loaded(page)
    resumed = tuple(map(int, page.get_attribute(".mk-game", "data-first-frame").split(":")))
    page.wait_for_timeout(1000)   # the resumed page's first batches (sent four times a second)

    after = stored_rows(server.data, game_id)
    assert {k: after[k] for k in before} == before          # nothing acknowledged was lost
    assert resumed > max((e, f) for e, f, _ in before)      # the held-back batches arrived after the reload
    # The first page played every frame up to where the game resumed, the second page every
    # frame after it: no gap (assert_complete) and nothing played twice.
    clock = {(e, f): t for e, f, t in query(server.data, "select episode, frame, t_client from steps "
                                                         "where game_id = ? and t_client is not null", game_id)}
    # (The first page may still tick a frame or two after reload() was called, before it unloads:
    # its frames all come before the second page's, which starts after reload() was called.)
    second_page_starts = min(t for k, t in clock.items() if k > resumed)
    assert second_page_starts > reloaded_at
    assert max(t for k, t in clock.items() if k <= resumed) < second_page_starts
    assert query(server.data, "select count(*) from events where kind = 'game_resume_diverged'") == [(0,)]
    play_until_over(page, ["ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown"], rng, limit=120)
    assert_complete(server, game_id, "chase", episodes=3)
    chaser = [r for (_, f, a), r in stored_rows(server.data, game_id).items() if a == "chaser" and f > 0]
    assert len({r["action"] for r in chaser}) >= 3                   # the model really steered


def test_a_second_tab_takes_the_game_over_and_the_first_stops_recording(chromium, server):
    context = chromium.new_context(viewport={"width": 1000, "height": 760})
    first = context.new_page()
    enter_game(first, f"{server.url}/chase/")
    wait_loaded(first)
    rng = random.Random(5)
    play(first, ["ArrowLeft", "ArrowUp"], 1.5, rng)
    second = context.new_page()   # the same browser: the same participant, the same game
    second.goto(f"{server.url}/chase/")
    wait_loaded(second)
    first.wait_for_selector(".mk-game[data-superseded=true]", timeout=10_000)
    assert "continues in another window" in first.inner_text(".mk-stage-overlay")
    play_until_over(second, ["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"], rng, limit=120)
    game_id = game_of(server, "chase")
    assert_complete(server, game_id, "chase", episodes=3)   # one play, not two mixed


def test_a_server_restart_does_not_cut_a_browser_game(chromium, tmp_path):
    data = str(tmp_path / "data")
    served = serve(os.path.join(EXPERIMENTS, "chase.py"), data=data)
    try:
        page = chromium.new_page(viewport={"width": 1000, "height": 760})
        enter_game(page, f"{served.url}/chase/")
        wait_loaded(page)
        rng = random.Random(7)
        play(page, ["ArrowLeft", "ArrowDown"], 1.5, rng)
        port = int(served.url.rsplit(":", 1)[1])
        served.stop()                       # the game goes on in the browser meanwhile
        play(page, ["ArrowRight", "ArrowUp"], 1.0, rng)
        served = serve(os.path.join(EXPERIMENTS, "chase.py"), data=data, port=port)
        play_until_over(page, ["ArrowLeft", "ArrowUp", "ArrowRight", "ArrowDown"], rng, limit=120)
        game_id = game_of(served, "chase")
        assert_complete(served, game_id, "chase", episodes=3)
        assert query(data, "select count(*) from games") == [(1,)]
    finally:
        served.stop()
