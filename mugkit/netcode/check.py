"""The ``rollback`` check: peers over a simulated network with latency, jitter, loss and
reordering must confirm exactly the history of a run with no network.

Server-side only: it imports Hypothesis (lazily), which the browser does not have.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Mapping, Sequence

from .simnet import Link, SimNetwork, reference_history, replay_inputs, run_peers

__all__ = ["check_rollback", "action_strategy"]

LATENCIES_MS = (0, 16, 50, 100, 150, 250)   # one-way; 250 ms fills an 8-frame window at 30 fps
JITTERS_MS = (0, 10, 40)
LOSSES = (0.0, 0.05, 0.2)
REORDERS = (0.0, 0.1)


def action_strategy(space: Any) -> Any:
    """A Hypothesis strategy of actions for ``space``: a strategy is returned as is; a mugkit
    space (``sample(rng)``) or a Gymnasium space (``seed``/``sample()``) is sampled from a drawn
    seed, so shrinking moves toward seed 0."""
    from hypothesis import strategies as st
    from hypothesis.strategies import SearchStrategy

    if isinstance(space, SearchStrategy):
        return space
    seeds = st.integers(0, 2**32 - 1)
    if callable(getattr(space, "seed", None)):  # gymnasium: sample() takes no generator
        def gym_sample(s: int) -> Any:
            space.seed(s)
            return space.sample()
        return seeds.map(gym_sample)
    return seeds.map(lambda s: space.sample(random.Random(s)))


def check_rollback(make_game: Callable[[], Any], agents: Sequence[str], humans: Sequence[str],
                   action_spaces: Mapping[str, Any], max_rollback: int, input_delay: int, data: Any,
                   *, default_action: Any = 0, max_frames: int = 90) -> None:
    """Runs one drawn scenario; raises AssertionError if any peer's confirmed history differs
    from the run without network.

    Args:
        make_game: returns a fresh GameEnv (see :mod:`mugkit.runtime.adapter`).
        agents: agent ids in handle order (``game.agents``).
        humans: the agents played by humans, each on its own peer (at least 2). The other
            agents (AIs, ``"random"``) are played by the first human's peer, the host, as
            ordinary local inputs.
        action_spaces: agent → its action space, a Hypothesis strategy of its actions, or an
            input source ``(i, frame) -> action`` (an AI deciding on its host from the frame the
            host sees, predicted or not; see :func:`~mugkit.netcode.simnet.run_peers`). With
            input sources the reference run replays the inputs the peers agreed on.
        max_rollback, input_delay: the step's netcode settings.
        data: a Hypothesis ``data`` object (``st.data()``); the scenario — seed, frames,
            network, actions — is drawn from it, so Hypothesis shrinks and reports it.
        default_action: the step's ``default_action``.
        max_frames: longest run drawn.

    Raises:
        AssertionError: naming the peer, its agents, the first differing frame, both checksums
            and the scenario; also when a peer never confirmed every frame, rolled back more
            than ``max_rollback`` frames, or detected a desync.
        ValueError: fewer than two humans, or a human that is not an agent.
    """
    from hypothesis import strategies as st

    agents = tuple(agents)
    if len(set(humans)) < 2 or not set(humans) <= set(agents):
        raise ValueError(f"humans={list(humans)}: need at least two distinct agents of {list(agents)}")
    host = agents.index(humans[0])
    peers = [[host] + [h for h, a in enumerate(agents) if a not in humans]]
    peers += [[agents.index(a)] for a in humans[1:]]

    seed = data.draw(st.integers(0, 2**16), label="seed")
    frames = data.draw(st.integers(10, max_frames), label="frames")
    link = Link(latency_ms=data.draw(st.sampled_from(LATENCIES_MS), label="latency_ms"),
                jitter_ms=data.draw(st.sampled_from(JITTERS_MS), label="jitter_ms"),
                loss=data.draw(st.sampled_from(LOSSES), label="loss"),
                reorder=data.draw(st.sampled_from(REORDERS), label="reorder"))
    def inputs_of(a):
        source = action_spaces[a]
        if callable(source) and not hasattr(source, "example"):  # an input source, not a strategy
            return source
        return data.draw(st.lists(action_strategy(source), max_size=frames), label=f"actions[{a}]")

    actions = [inputs_of(a) for a in agents]
    sources = any(callable(x) for x in actions)
    net_seed = data.draw(st.integers(0, 2**16), label="network_seed")

    settings = dict(seed=seed, input_delay=input_delay, default_action=default_action)
    expected = None if sources else reference_history(make_game, actions, frames, **settings)
    # A small window over a slow link confirms only a few frames per round trip: allow plenty
    # of ticks (the run stops as soon as every frame is confirmed) so slowness is not "stuck".
    results = run_peers(make_game, actions, frames, peers=peers, network=SimNetwork(net_seed, link),
                        max_rollback=max_rollback, max_ticks=60 * frames + 1000, **settings)
    scenario = (f"seed {seed}, {frames} frames, {link}, network seed {net_seed}, "
                f"input_delay {input_delay}, max_rollback {max_rollback}")
    if sources:
        # An AI decided from what its host saw at the time; the inputs it sent are final, so
        # a run without network replays the inputs the peers agreed on.
        for r in results[1:]:
            if r.inputs != results[0].inputs:
                k = next((k for k, (a, b) in enumerate(zip(r.inputs, results[0].inputs)) if a != b),
                         min(len(r.inputs), len(results[0].inputs)))
                raise AssertionError(f"peer {r.peer} and peer 0 simulated frame {k} with different inputs "
                                     f"({scenario})")
        expected = replay_inputs(make_game, results[0].inputs, seed=seed)
    for r in results:
        who = f"peer {r.peer} (agents {[agents[h] for h in r.handles]})"
        for k, (got, want) in enumerate(zip(r.history, expected)):
            if got != want:
                raise AssertionError(f"{who} confirmed frame {k} with checksum {got}, the run without "
                                     f"network has {want}: first differing frame {k} ({scenario})")
        if len(r.history) < frames + 1:
            raise AssertionError(f"{who} confirmed only frames 0..{len(r.history) - 1} of 0..{frames}: "
                                 f"the session got stuck ({scenario})")
        if r.stats.max_rollback_depth > max_rollback:
            raise AssertionError(f"{who} rolled back {r.stats.max_rollback_depth} frames, more than "
                                 f"max_rollback={max_rollback} ({scenario})")
        if r.desyncs:
            raise AssertionError(f"{who} detected a desync: {r.desyncs[0]} ({scenario})")
