"""PeerGame in drawn scenarios: 2–4 peers (with an AI or not), a drawn network, input delay and
window, hidden spans and up to three reloads that rejoin; every stored row once, the peers'
checksums agree and equal a run with no network. (This found the rejoin bugs the other tests
now pin down: a reloaded page's late packets, a survivor's inputs only it held.)"""

from __future__ import annotations

import random

import pytest

from mugkit.netcode.simnet import Link, SimNetwork

from peer_harness import Harness, make_step, new_peer, peers_of
from test_peer_game import assert_agreed_history

pytestmark = pytest.mark.slow


def scenario(seed: int) -> None:
    r = random.Random(seed)
    humans = r.choice([2, 3, 4])
    link = Link(latency_ms=r.choice([0, 30, 80, 150]), jitter_ms=r.choice([0, 20, 50]),
                loss=r.choice([0, 0.1, 0.25]), reorder=r.choice([0, 0.1]))
    step = make_step(humans, ai=humans < 4 and r.random() < 0.5, episodes=r.choice([1, 2, 3]),
                     length=r.choice([20, 60, 120]), input_delay=r.choice([0, 1, 2]), max_rollback=r.choice([2, 8]))
    h = Harness({a: new_peer(step, a) for a in peers_of(step)}, SimNetwork(seed, link),
                upload_every=r.choice([1, 5, 13]), key_seed=seed)
    h.start()
    h.run(ticks=r.randrange(5, 100))
    for _ in range(r.choice([1, 2, 3])):
        who = f"h{r.randrange(humans)}"
        if r.random() < 0.3:
            h.games[who].set_hidden(True)
            h.run(ticks=r.randrange(1, 60))
            h.games[who].set_hidden(False)
        h.stopped.add(who)
        h.run(ticks=r.randrange(1, 120))
        packages = [h.games[a].rejoin_package(who) for a in h.games if a != who]
        h.games[who] = new_peer(step, who, rejoin=True)
        h.games[who].rejoin(packages)
        h.stopped.discard(who)
        h.run(ticks=r.randrange(1, 100))
    assert h.run(), "the peers did not finish"
    assert_agreed_history(step, h)
    assert not any(e["kind"] == "desync" for events in h.events.values() for e in events)


@pytest.mark.parametrize("seed", range(1000, 1040))
def test_drawn_games_with_reloads_agree(seed):
    scenario(seed)
