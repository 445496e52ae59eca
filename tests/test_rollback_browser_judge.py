"""The verdict of the `rollback` check's Chromium half (rollback_browser.judge) on reports made in
CPython: the same Peer the pages run (rollback_browser_side.Peer, a PeerGame), two of them over the
simulated network, so that what a report holds is what a page sends. Tampered reports must fail
with the message the check prints."""

import json

import pytest

from mugkit.checks import rollback_browser as rb
from mugkit.checks.base import CheckContext
from mugkit.checks.inputs import fixed_plans, plan_to_data
from mugkit.checks.rollback_browser_side import Peer
from mugkit.collect import load_step
from mugkit.netcode.simnet import Link, SimNetwork
from mugkit.nodeid import NodeId
from mugkit.runtime.values import from_json, to_json

from checkrun import ROOT

NODE = "tests/faults/_rollback_browser.py::walk_twin"
FRAMES = 60


def context():
    experiment, step = load_step(NODE, ROOT)
    return CheckContext(experiment, step, NodeId.parse(NODE + "::rollback"), ROOT)


def play(ctx, latency_ms=150):
    """Each peer's report after FRAMES confirmed frames, as the harness page's finish() gives it."""
    peers = rb.peer_agents(ctx)
    plan = fixed_plans(ctx.step, FRAMES)[0]
    scenario = rb.Scenario(3, plan, FRAMES, rb.Netem())
    made = {me: Peer(json.dumps({"seed": 3, "me": me, "peers": peers, "host": "h0", "frames": FRAMES,
                                 "keys": plan_to_data(plan), "game": "judge"}), (ctx.experiment, ctx.step))
            for me in peers}
    net = SimNetwork(5, Link(latency_ms=latency_ms, jitter_ms=10, loss=0.05))
    ends = {me: net.transport(me) for me in made}
    for p in made.values():
        p.start()
    for k in range(40 * FRAMES):
        if all(p.done for p in made.values()):
            break
        net.advance_to(k * 1000 / 30)
        for me, p in made.items():
            for sender, data in ends[me].receive_all():
                p.receive(sender, data)
            p.tick(k * 1000 / 30)
            for to, data in p.take_packets():
                ends[me].send_to(to, data)
    return scenario, peers, [json.loads(p.report()) for p in made.values()]


@pytest.fixture(scope="module")
def played():
    ctx = context()
    return ctx, *play(ctx)


def edited(reports, me, edit):
    """``reports`` with peer ``me``'s row batches passed through ``edit(batch)``."""
    out = json.loads(json.dumps(reports))
    for report in out:
        if report["me"] == me:
            report["rows"] = [to_json(edit(from_json(text))) for text in report["rows"]]
    return out


def test_peers_that_agree_with_cpython_pass(played):
    ctx, scenario, peers, reports = played
    assert all(r["stats"]["frames_advanced"] > FRAMES for r in reports)
    assert any(r["stats"]["max_rollback_depth"] > 0 for r in reports)  # predictions were corrected
    rb.judge(ctx, scenario, peers, reports)


def test_an_action_cpython_would_not_replay_is_named(played):
    ctx, scenario, peers, reports = played

    def edit(batch):
        for row in batch["rows"]:
            if (row["episode"], row["frame"]) == (0, 20):
                row["reward"] = 99
        return batch

    with pytest.raises(rb.ScenarioFailed, match=r"peer h1 confirmed reward 99 for 'b' at frame 20 of episode 0; "
                                                r"CPython, replaying the inputs the peers confirmed"):
        rb.judge(ctx, scenario, peers, edited(reports, "h1", edit))


def test_checksums_that_disagree_between_peers_fail(played):
    ctx, scenario, peers, reports = played

    def edit(batch):
        batch["checksums"] = [[e, f, "0" * 16 if f == 30 else c] for e, f, c in batch["checksums"]]
        return batch

    with pytest.raises(rb.ScenarioFailed, match=r"frame 30 of episode 0 with different checksums .*diverges between"):
        rb.judge(ctx, scenario, peers, edited(reports, "h0", edit))


def test_a_peer_that_confirmed_too_little_is_stuck(played):
    ctx, scenario, peers, reports = played

    def edit(batch):
        batch["rows"] = [row for row in batch["rows"] if row["frame"] < 25]
        return batch

    with pytest.raises(rb.ScenarioFailed, match=r"peer h1 confirmed only 25 frames .* the session got stuck"):
        rb.judge(ctx, scenario, peers, edited(reports, "h1", edit))


def test_a_desync_event_fails_naming_both_peers(played):
    ctx, scenario, peers, reports = played
    out = json.loads(json.dumps(reports))
    out[1]["events"].append({"kind": "desync", "peer": "h0", "frame": 10, "episode": 0, "ours": "a", "theirs": "b"})
    with pytest.raises(rb.ScenarioFailed, match="peer h1 detected a desync with peer h0 at frame 10 of episode 0"):
        rb.judge(ctx, scenario, peers, out)
