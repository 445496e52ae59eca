"""Browser games with several humans, in Debian's Chromium: each participant's page runs its own
peer of the rollback session in Pyodide, and the pages exchange their inputs over real WebRTC
data channels on loopback (net/mesh.js), signalled through `mugkit serve`, with latency and loss
injected in the pages' own transport (DevTools emulation does not touch data channels).

What the stored data must show: every frame of every agent stored once, equal to CPython's replay
of the stored inputs (so all peers played one history), rollbacks that happened and stayed within
``max_rollback``, the path each peer used; a planted diverging env ends as a recorded desync; a
page reloaded mid-game rejoins and the rows have no frame missing or doubled; a hidden tab keeps
playing (default action) while its partner sees a notice. Screenshots of what a participant sees
go to tests/web/screenshots/ (peers-*.png).

The studies are tests/web/studies/peers/ (copied with experiments/envs into a temporary folder)."""

from __future__ import annotations

import json
import os
import random
import shutil
import time

import pytest

from browser_data import COMPARED, click_if_shown, query, stored_rows
from serving import ROOT, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "screenshots")
PEERS = os.path.join(ROOT, "tests", "web", "studies", "peers")
#: What a data channel on loopback needs in headless Chromium (../shared/ENVIRONMENT.md).
WEBRTC_FLAGS = ["--allow-loopback-in-peer-connection"]
PERMISSIONS = ["microphone", "camera"]
MAX_ROLLBACK = 8            # the steps' default max_rollback
PAIR_FRAMES = 150         # the frames of _pair.py's round
ARROWS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"]
# Seconds a page gone may take to come back (the server's --grace; also the peers' session timeout):
# a reloaded page must load Python and rejoin within it, on a busy CI machine too.
GRACE = 20


@pytest.fixture(scope="module")
def webrtc():
    """Chromium that opens data channels on loopback."""
    playwright = pytest.importorskip("playwright.sync_api")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (./dev test installs it)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=WEBRTC_FLAGS)
        yield browser
        browser.close()


_COPIED: list = []  # the one copy of the studies (see study())


@pytest.fixture(scope="session")
def study(tmp_path_factory):
    """The studies, copied once per session: test_turn_game.py imports this fixture (pytest then
    keeps a second one), and a second copy's modules (same names, another folder) could not be
    imported beside the first for the replays."""
    if not _COPIED:
        folder = tmp_path_factory.mktemp("peers")
        for name in os.listdir(PEERS):
            if name.endswith(".py"):
                shutil.copy(os.path.join(PEERS, name), folder / name)
        shutil.copytree(os.path.join(ROOT, "experiments", "envs"), folder / "envs",
                        ignore=shutil.ignore_patterns("__pycache__"))
        _COPIED.append(folder)
    return _COPIED[0]


def studies(folder, *names):
    return [str(folder / f"_{name}.py") for name in names]


@pytest.fixture(scope="module")
def server(study, tmp_path_factory):
    served = serve(*studies(study, "pair", "longpair", "crowd3", "crowd4", "split"),
                   data=str(tmp_path_factory.mktemp("data")), grace=GRACE)
    yield served
    served.stop()


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"peers-{name}.png"))


def netem_script(netem: dict | None) -> str:
    netem = {"loopback_only": True, **(netem or {})}
    return f"window.MUGKIT_NETEM = {json.dumps(netem)};"


def participants(browser, url: str, n: int, netem: dict | None = None) -> list:
    """``n`` participants (a browser context each) at ``url``, in the same waitroom."""
    pages = []
    for _ in range(n):
        context = browser.new_context(permissions=PERMISSIONS, viewport={"width": 900, "height": 680})
        context.add_init_script(netem_script(netem))
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda e, page=page: page.errors.append(str(e)))
        page.on("console", lambda m, page=page: page.errors.append(m.text) if m.type in ("warning", "error") else None)
        page.goto(url)
        pages.append(page)
    return pages


def until_playing(pages, timeout: float = 120) -> None:
    """Answers the ready screens until every page plays."""
    deadline = time.monotonic() + timeout
    while not all(p.query_selector(".mk-game[data-screen='play']") for p in pages):
        assert time.monotonic() < deadline, [p.inner_text("main")[:300] for p in pages]
        for page in pages:
            failed = page.query_selector(".mk-game[data-failed]")
            assert failed is None, page.inner_text(".mk-stage-overlay")
            click_if_shown(page, ".mk-screen:not([hidden]) [data-answer='ready']")
        pages[0].wait_for_timeout(200)


def in_game(page) -> bool:
    return page.get_attribute("body", "data-view") == "game"


def play(pages, rng: random.Random, seconds: float, keys=ARROWS) -> None:
    """Each page holds random keys for short spells, like people, for ``seconds`` or until no
    page is in the game any more."""
    held = {id(p): None for p in pages}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(in_game(p) for p in pages):
        for page in pages:
            if held[id(page)]:
                page.keyboard.up(held[id(page)])
                held[id(page)] = None
            if rng.random() < 0.7 and in_game(page):
                held[id(page)] = rng.choice(keys)
                page.keyboard.down(held[id(page)])
        pages[0].wait_for_timeout(rng.randint(60, 250))
    for page in pages:
        if held[id(page)]:
            page.keyboard.up(held[id(page)])


def play_to_end(pages, rng, limit: float = 90) -> None:
    play(pages, rng, limit)
    assert not any(in_game(p) for p in pages), "the game did not end"


def game_of(server, experiment: str) -> str:
    (game_id,), = query(server.data, "select game_id from games where experiment = ? order by started_at desc limit 1",
                        experiment)
    return game_id


def replay(server, game_id: str, path: str) -> dict:
    """The rows CPython's frame driver plays from the game's seed and every human's stored inputs."""
    from mugkit.collect import load_experiment
    from mugkit.games import Participant, build_game
    from mugkit.runtime.values import from_json

    (step_name, seed), = query(server.data, "select step, seed from games where game_id = ?", game_id)
    humans = {from_json(agent): pid for pid, agent in query(
        server.data, "select participant_id, agent from players where game_id = ? and participant_id is not null",
        game_id)}
    experiment = load_experiment(path)
    step = experiment.step(step_name)
    who = []
    for agent in step.players:
        if agent in humans:
            (params, condition), = query(server.data, "select params, condition from participants where "
                                                      "participant_id = ?", humans[agent])
            who.append(Participant(humans[agent], from_json(params) or {}, from_json(condition)))
    driver = build_game(step, experiment.policies, seed=seed, participant=who[0], group=who).driver()
    stored = stored_rows(server.data, game_id)
    out = {}
    result = driver.start()
    while result is not None and not driver.finished:
        for row in result.rows:
            out[(row.episode, row.frame, row.agent)] = {k: getattr(row, k) for k in COMPARED}
        nxt = driver.frame.index + 1
        inputs = {a: (stored[(driver.episode, nxt, a)]["action"], stored[(driver.episode, nxt, a)]["keys"],
                      stored[(driver.episode, nxt, a)]["filled"]) for a in humans if (driver.episode, nxt, a) in stored}
        if len(inputs) < len(humans):
            break
        result = driver.tick_recorded(inputs)
    if result is not None:
        for row in result.rows:
            out[(row.episode, row.frame, row.agent)] = {k: getattr(row, k) for k in COMPARED}
    return out


def assert_one_history(server, game_id: str, path: str, agents: list, frames: int) -> dict:
    """Every agent's frames 0..frames stored once, and equal to CPython's replay."""
    stored = stored_rows(server.data, game_id)
    for agent in agents:
        got = sorted(f for (e, f, a) in stored if a == agent and e == 0)
        assert got == list(range(frames + 1)), f"{agent}: frames missing or extra"
    counted = query(server.data, "select count(*), count(distinct episode || ':' || frame || ':' || agent) from steps "
                                 "where game_id = ?", game_id)[0]
    assert counted[0] == counted[1] == len(stored)   # nothing stored twice
    replayed = replay(server, game_id, path)
    wrong = [k for k in stored if {c: stored[k][c] for c in COMPARED} != replayed.get(k)]
    assert not wrong, f"{len(wrong)} rows differ from CPython's replay, first {sorted(wrong)[:3]}"
    return stored


def outcome(server, game_id: str) -> tuple:
    for _ in range(100):
        row = query(server.data, "select runtime, outcome from games where game_id = ?", game_id)[0]
        if row[1] is not None:
            return row
        time.sleep(0.1)
    return row


def events(server, kind: str, game_id: str) -> list:
    return [json.loads(d) for (d,) in query(server.data, "select detail from events where kind = ?", kind)
            if json.loads(d).get("game") == game_id]


def close(pages) -> None:
    for page in pages:
        page.context.close()


def test_two_humans_play_gather_over_a_direct_channel_with_latency_and_loss(webrtc, server, study):
    pages = participants(webrtc, f"{server.url}/_pair/", 2, netem={"latency_ms": 150, "loss": 0.1, "seed": 11})
    try:
        pages[0].wait_for_selector(".mk-loading", timeout=60_000)
        shot(pages[0], "loading")
        pages[0].click(".mk-screen [data-answer='ready']", timeout=90_000)   # loaded, connected
        pages[0].wait_for_selector(".mk-screen[data-screen='waiting']")    # until the partner is ready too
        assert "Waiting for your partner" in pages[0].inner_text(".mk-screen")
        shot(pages[0], "waiting-for-partner")
        until_playing(pages)
        rng = random.Random(17)
        play(pages, rng, 1.5)
        shot(pages[0], "playing")
        paths = [json.loads(p.get_attribute(".mk-game", "data-paths")) for p in pages]
        assert paths == [{"h1": "direct"}, {"h0": "direct"}], [p.errors for p in pages]   # getStats: a host pair
        play_to_end(pages, rng)
        game_id = game_of(server, "_pair")
        assert outcome(server, game_id) == ("browser", "completed")
        stored = assert_one_history(server, game_id, studies(study, "pair")[0], ["p0", "p1"], 150)
        assert sum(1 for r in stored.values() if r["keys"]) > 20    # the keys really played
        (deepest, rolled), = query(server.data, "select max(rollback_depth), sum(rollback_depth > 0) from steps "
                                                "where game_id = ?", game_id)
        assert 0 < deepest <= MAX_ROLLBACK and rolled > 0
        ready = events(server, "peer_ready", game_id)
        assert {e["peer"]: e["paths"] for e in ready} == {"h0": {"h1": "direct"}, "h1": {"h0": "direct"}}
        rtts = {e["peer"]: e["rtt_ms"] for e in events(server, "peer_status", game_id) if "rtt_ms" in e}
        assert set(rtts) == {"h0", "h1"} and all(v["h1" if k == "h0" else "h0"] >= 0 for k, v in rtts.items())
        assert not events(server, "game_desync", game_id)
        assert not any(p.errors for p in pages), [p.errors for p in pages]
    finally:
        close(pages)


@pytest.mark.parametrize("players, relay", [(3, True), (4, False)], ids=["three-relayed", "four-direct"])
def test_three_and_four_humans_play_one_game(webrtc, server, study, players, relay):
    """Three players on a network where no data channel opens (every packet relayed through the
    server, none over WebRTC), four over a full mesh of direct channels."""
    netem = {"latency_ms": 40, "jitter_ms": 20, "block_direct": relay}
    pages = participants(webrtc, f"{server.url}/_crowd{players}/", players, netem=netem)
    try:
        until_playing(pages)
        if players == 4:
            shot(pages[3], "playing-four")
        play_to_end(pages, random.Random(players))
        game_id = game_of(server, f"_crowd{players}")
        assert outcome(server, game_id) == ("browser", "completed"), ([p.errors for p in pages], "".join(server.output[-8:]))
        agents = [f"p{i}" for i in range(players)]
        assert_one_history(server, game_id, studies(study, f"crowd{players}")[0], agents, 90)
        ready = events(server, "peer_ready", game_id)
        path = "relay" if relay else "direct"
        assert len(ready) == players and all(list(e["paths"].values()) == [path] * (players - 1) for e in ready)
    finally:
        close(pages)


def test_a_diverging_env_is_caught_as_a_desync_and_recorded(webrtc, server):
    pages = participants(webrtc, f"{server.url}/_split/", 2)
    try:
        until_playing(pages)
        play(pages, random.Random(5), 30)
        game_id = game_of(server, "_split")
        assert outcome(server, game_id) == ("browser", "desync")
        # (one event per peer, the same detail)
        (desync,) = {json.dumps({k: v for k, v in e.items() if k != "peer"}, sort_keys=True)
                     for e in events(server, "game_desync", game_id)}
        desync = json.loads(desync)
        assert desync["episode"] == 0 and desync["frame"] >= 20   # the env diverges at its 20th step
        hashes = list(desync["hashes"].values())
        assert len(hashes) == 2 and hashes[0] != hashes[1]
    finally:
        close(pages)


def test_a_page_reloaded_mid_game_rejoins_and_no_frame_is_missing_or_doubled(webrtc, server, study):
    pages = participants(webrtc, f"{server.url}/_pair/", 2, netem={"latency_ms": 30})
    try:
        until_playing(pages)
        rng = random.Random(23)
        play(pages, rng, 1.5)
        pages[1].reload()
        try:
            pages[1].wait_for_selector(".mk-game[data-screen='play']", timeout=60_000)
        except Exception:
            raise AssertionError((pages[1].evaluate("JSON.stringify(document.querySelector('.mk-game')?.dataset)"),
                                  pages[1].errors, pages[0].errors, "".join(server.output[-12:])))
        episode, frame = map(int, pages[1].get_attribute(".mk-game", "data-first-frame").split(":"))
        assert episode == 0 and frame > 30   # it plays on where the game stands, not from the start
        assert pages[0].get_attribute(".mk-game", "data-screen") == "play"
        play_to_end(pages, rng)
        game_id = game_of(server, "_pair")
        assert outcome(server, game_id) == ("browser", "completed")
        assert_one_history(server, game_id, studies(study, "pair")[0], ["p0", "p1"], 150)
        assert events(server, "peer_rejoin", game_id)
    finally:
        close(pages)


HIDE = """(hidden) => {
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
  document.dispatchEvent(new Event("visibilitychange"));
}"""


def seen(page) -> dict:
    """What a participant's page shows: its view, the game's data attributes, the notes."""
    return page.evaluate("""() => {
      const game = document.querySelector('.mk-game');
      const text = (sel) => document.querySelector(sel)?.innerText?.slice(0, 300) ?? null;
      return {view: document.body.dataset.view, game: game ? {...game.dataset} : null,
              note: text('.mk-peer-note'), overlay: text('.mk-stage-overlay'), main: text('main')};
    }""")


def waited(page, selector: str, server, game_id: str, since: float) -> None:
    """Waits (the grace and 20 s more) for ``selector``; on a timeout the failure says what the
    page showed, how the game is stored as ended, and the server's last lines."""
    try:
        page.wait_for_selector(selector, timeout=(GRACE + 20) * 1000)
    except Exception as exc:
        stored = query(server.data, "select outcome, outcome_reason from games where game_id = ?", game_id)
        frames = query(server.data, "select agent, max(frame) from steps where game_id = ? group by agent", game_id)
        said = [(kind, json.loads(d).get("peer"), json.loads(d).get("kind")) for kind, d in query(
            server.data, "select kind, detail from events where detail like ?", f'%"{game_id}"%')]
        raise AssertionError({"waited_for": selector, "seconds": round(time.monotonic() - since, 1),
                              "page": seen(page), "stored": stored, "last_frames": frames, "events": said[-12:],
                              "errors": page.errors,
                              "server": "".join(server.output[-15:])}) from exc


def test_a_hidden_tab_keeps_playing_then_a_partner_gone_for_good_ends_the_game(webrtc, server):
    """A hidden tab plays on (the default action, recorded ``filled``) while its partner sees a
    notice; then it closes for good: past the grace its partner reads that the game is over. (A
    15-second round: on a slow machine too, the page closes mid-round; a page closed as the round
    ends is the next test's.)"""
    pages = participants(webrtc, f"{server.url}/_longpair/", 2)
    try:
        until_playing(pages)
        rng = random.Random(29)
        play(pages, rng, 1.0)
        # (Headless Chromium has no hidden tabs: the page is told it is hidden, as a browser
        # does; the worker's clock is not throttled either way.)
        pages[1].keyboard.down("ArrowRight")     # held all along: hidden, it does not move
        pages[1].evaluate(HIDE, True)
        pages[0].wait_for_selector(".mk-peer-note:not([hidden])", timeout=10_000)
        assert "window is hidden" in pages[0].inner_text(".mk-peer-note")
        play([pages[0]], rng, 1.5)
        shot(pages[0], "partner-hidden")
        pages[1].evaluate(HIDE, False)
        pages[0].wait_for_selector(".mk-peer-note", state="hidden", timeout=10_000)
        pages[1].keyboard.up("ArrowRight")
        play(pages, rng, 0.5)
        game_id = game_of(server, "_longpair")
        hidden = [e["hidden"] for e in events(server, "peer_status", game_id) if "hidden" in e]
        assert hidden == [True, False]

        pages[1].context.close()
        closed = time.monotonic()
        # During the grace the partner may come back: the game waits, and says so.
        waited(pages[0], ".mk-game[data-peer-notice='interrupted'], .mk-game[data-ended]", server, game_id, closed)
        if pages[0].query_selector(".mk-game[data-peer-notice='interrupted']"):
            assert "interrupted" in pages[0].inner_text(".mk-peer-note")
            shot(pages[0], "partner-interrupted")
        waited(pages[0], ".mk-game[data-ended='partner_left']", server, game_id, closed)
        assert "Your partner left the game" in pages[0].inner_text(".mk-stage-overlay")
        shot(pages[0], "partner-left")
        # The notice holds the next view back (at most 20 s): what a participant reads is checked
        # before the slower look at the stored data.
        try:
            pages[0].click(".mk-stage-overlay [data-answer='continue']", timeout=10_000)
        except Exception as exc:
            raise AssertionError(("no Continue on the notice", seen(pages[0]), pages[0].errors)) from exc
        # (A selector, not wait_for_function: the page's CSP forbids the eval its polling needs.)
        pages[0].wait_for_selector("body:not([data-view='game'])", state="attached", timeout=10_000)
        shot(pages[0], "after-partner-left")
        assert outcome(server, game_id) == ("browser", "partner_left")
        # Its connection closed, so the server's grace clock ended it (not the partner's session timeout).
        assert query(server.data, "select outcome_reason from games where game_id = ?", game_id) == [("grace_expired",)]
        stored = stored_rows(server.data, game_id)
        # While hidden, the page's frames were played with the default action (0), filled in,
        # though its key was held: at least the second and a half it was hidden, in a row.
        p1 = [stored[k] for k in sorted(k for k in stored if k[2] == "p1")]
        run = longest = 0
        for row in p1:
            run = run + 1 if row["filled"] and row["action"] == 0 and not row["keys"] else 0
            longest = max(longest, run)
        assert longest >= 40
    finally:
        close(pages[:1])


def frame_of(page) -> int:
    return int(page.get_attribute(".mk-game", "data-frame") or 0)


def test_a_partner_gone_as_the_round_ends_is_said_to_have_left_until_the_participant_continues(webrtc, server):
    """A partner's page closed in the round's last frames: the page left plays ahead on predicted
    inputs to the round's end and shows the round-over screen, which holds the next view back.
    When the grace is over, the partner-left notice takes that screen's place and must hold the
    next view in its turn until the participant continues (the screen's hold, ended as the notice
    hid the screen, let the next view replace the notice at once)."""
    pages = participants(webrtc, f"{server.url}/_pair/", 2)
    try:
        until_playing(pages)
        game_id = game_of(server, "_pair")
        while frame_of(pages[1]) < PAIR_FRAMES - 8:
            pages[1].wait_for_timeout(30)
        pages[1].context.close()
        closed = time.monotonic()
        pages[0].wait_for_selector(".mk-screen[data-screen='round_over']", timeout=10_000)
        waited(pages[0], ".mk-game[data-ended='partner_left']", server, game_id, closed)
        pages[0].wait_for_timeout(2000)
        assert seen(pages[0])["view"] == "game", seen(pages[0])   # the next view still waits
        assert "Your partner left the game" in pages[0].inner_text(".mk-stage-overlay")
        pages[0].click(".mk-stage-overlay [data-answer='continue']", timeout=10_000)
        pages[0].wait_for_selector("body:not([data-view='game'])", state="attached", timeout=10_000)
        assert outcome(server, game_id) == ("browser", "partner_left")
    finally:
        close(pages[:1])
