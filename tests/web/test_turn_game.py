"""A browser game with two humans played through a real TURN relay: `mugkit serve --turn-url …
--turn-only` with coturn's shared secret (tests/web/coturn.py starts coturn on loopback), so each
page's game view carries its own short-lived credentials and every packet between the pages goes
through coturn. The pages and checks of test_browser_multiplayer.py are reused."""

import json
import random

import pytest

from coturn import coturn  # noqa: F401  (a fixture)
from serving import serve
from test_browser_multiplayer import (assert_one_history, close, events, game_of, outcome, participants,  # noqa: F401
                                      play_to_end, studies, study, until_playing, webrtc)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def turn_server(study, coturn, tmp_path_factory):  # noqa: F811 - the fixtures
    served = serve(*studies(study, "pair"), data=str(tmp_path_factory.mktemp("data")),
                   extra=["--turn-url", coturn.url, f"--turn-secret={coturn.secret}", "--turn-only", "--turn-ttl", "600"])
    yield served
    served.stop()


def test_two_humans_play_through_coturn_with_their_own_credentials(webrtc, turn_server, study, coturn):  # noqa: F811
    pages = participants(webrtc, f"{turn_server.url}/_pair/", 2, netem={"latency_ms": 30})
    try:
        until_playing(pages)
        paths = [json.loads(p.get_attribute(".mk-game", "data-paths")) for p in pages]
        assert paths == [{"h1": "turn"}, {"h0": "turn"}], [p.errors for p in pages]   # getStats: a relay pair
        play_to_end(pages, random.Random(31))
        game_id = game_of(turn_server, "_pair")
        assert outcome(turn_server, game_id) == ("browser", "completed")
        assert_one_history(turn_server, game_id, studies(study, "pair")[0], ["p0", "p1"], 150)
        ready = events(turn_server, "peer_ready", game_id)
        assert {e["peer"]: e["paths"] for e in ready} == {"h0": {"h1": "turn"}, "h1": {"h0": "turn"}}
    finally:
        close(pages)
    # coturn saw two users, each "<expiry>:<participant id>": credentials per participant
    users = {line.split("user <")[1].split(">")[0] for line in coturn.log().splitlines() if "user <" in line}
    participants_seen = {u.split(":", 1)[1] for u in users if ":" in u}
    assert len(participants_seen) >= 2, users
