"""The ``rollback`` check: peers over a simulated network with latency, jitter, loss and
reordering must confirm exactly the history of a run with no network.

Server-side only: it imports Hypothesis (lazily), which the browser does not have.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .simnet import Link, SimNetwork, reference_history, replay_inputs, run_peers

__all__ = ["check_rollback", "action_strategy", "Scenario", "draw_scenario", "run_scenario", "RollbackMismatch"]

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


class RollbackMismatch(AssertionError):
    """Peers did not confirm the history of the run without network (the verdict of the
    ``rollback`` check on an env, not a bug of mugkit)."""


@dataclass(frozen=True)
class Scenario:
    """One drawn run of the ``rollback`` check: the game seed, how many frames, the network."""

    seed: int
    frames: int
    link: Link
    network_seed: int
    input_delay: int
    max_rollback: int

    def __str__(self) -> str:
        return (f"seed {self.seed}, {self.frames} frames, {self.link}, network seed {self.network_seed}, "
                f"input_delay {self.input_delay}, max_rollback {self.max_rollback}")


def draw_scenario(data: Any, max_rollback: int, input_delay: int, max_frames: int) -> Scenario:
    """A :class:`Scenario` drawn from a Hypothesis ``data`` object."""
    from hypothesis import strategies as st

    seed = data.draw(st.integers(0, 2**16), label="seed")
    frames = data.draw(st.integers(10, max_frames), label="frames")
    link = Link(latency_ms=data.draw(st.sampled_from(LATENCIES_MS), label="latency_ms"),
                jitter_ms=data.draw(st.sampled_from(JITTERS_MS), label="jitter_ms"),
                loss=data.draw(st.sampled_from(LOSSES), label="loss"),
                reorder=data.draw(st.sampled_from(REORDERS), label="reorder"))
    return Scenario(seed, frames, link, data.draw(st.integers(0, 2**16), label="network_seed"), input_delay,
                    max_rollback)


def _peers_of(agents: tuple, humans: Sequence[Any]) -> list[list[int]]:
    """The host (the first human's peer) also plays every non-human agent; each other human a peer."""
    if len(set(humans)) < 2 or not set(humans) <= set(agents):
        raise ValueError(f"humans={list(humans)}: need at least two distinct agents of {list(agents)}")
    host = agents.index(humans[0])
    return [[host] + [h for h, a in enumerate(agents) if a not in humans]] + [[agents.index(a)] for a in humans[1:]]


def run_scenario(make_game: Callable[[], Any], agents: Sequence[Any], humans: Sequence[Any],
                 inputs: Sequence[Any], scenario: Scenario, *, default_action: Any = 0) -> None:
    """Runs the peers of ``scenario`` with ``inputs`` (per agent, in ``agents`` order: a list of
    actions or an input source, see :func:`~mugkit.netcode.simnet.run_peers`); raises
    :class:`RollbackMismatch` if any peer's confirmed history differs from the run without network,
    a peer got stuck, rolled back more than ``max_rollback`` or detected a desync."""
    agents = tuple(agents)
    peers = _peers_of(agents, humans)
    sources = any(callable(x) for x in inputs)
    settings = dict(seed=scenario.seed, input_delay=scenario.input_delay, default_action=default_action)
    expected = None if sources else reference_history(make_game, inputs, scenario.frames, **settings)
    # A small window over a slow link confirms only a few frames per round trip: allow plenty
    # of ticks (the run stops as soon as every frame is confirmed) so slowness is not "stuck".
    results = run_peers(make_game, inputs, scenario.frames, peers=peers,
                        network=SimNetwork(scenario.network_seed, scenario.link), max_rollback=scenario.max_rollback,
                        max_ticks=60 * scenario.frames + 1000, **settings)
    if sources:
        # An AI decided from what its host saw at the time; the inputs it sent are final, so
        # a run without network replays the inputs the peers agreed on.
        _same_inputs(results, scenario)
        expected = replay_inputs(make_game, results[0].inputs, seed=scenario.seed)
    for r in results:
        _judge(r, agents, expected, scenario)


def _same_inputs(results: list, scenario: Scenario) -> None:
    for r in results[1:]:
        if r.inputs != results[0].inputs:
            k = next((k for k, (a, b) in enumerate(zip(r.inputs, results[0].inputs)) if a != b),
                     min(len(r.inputs), len(results[0].inputs)))
            raise RollbackMismatch(f"peer {r.peer} and peer 0 simulated frame {k} with different inputs ({scenario})")


def _judge(r: Any, agents: tuple, expected: list, scenario: Scenario) -> None:
    who = f"peer {r.peer} (agents {[agents[h] for h in r.handles]})"
    for k, (got, want) in enumerate(zip(r.history, expected)):
        if got != want:
            raise RollbackMismatch(f"{who} confirmed frame {k} with checksum {got}, the run without network has "
                                   f"{want}: first differing frame {k} ({scenario})")
    if len(r.history) < scenario.frames + 1:
        raise RollbackMismatch(f"{who} confirmed only frames 0..{len(r.history) - 1} of 0..{scenario.frames}: "
                               f"the session got stuck ({scenario})")
    if r.stats.max_rollback_depth > scenario.max_rollback:
        raise RollbackMismatch(f"{who} rolled back {r.stats.max_rollback_depth} frames, more than "
                               f"max_rollback={scenario.max_rollback} ({scenario})")
    if r.desyncs:
        raise RollbackMismatch(f"{who} detected a desync: {r.desyncs[0]} ({scenario})")


def check_rollback(make_game: Callable[[], Any], agents: Sequence[str], humans: Sequence[str],
                   action_spaces: Mapping[str, Any], max_rollback: int, input_delay: int, data: Any,
                   *, default_action: Any = 0, max_frames: int = 90) -> None:
    """Runs one drawn scenario; raises :class:`RollbackMismatch` if any peer's confirmed history
    differs from the run without network.

    Args:
        make_game: returns a fresh game (a FrameDriver, or an env GameRunner can drive).
        agents: agent ids in handle order (``game.agents``).
        humans: the agents played by humans, each on its own peer (at least 2). The other
            agents (AIs, ``"random"``) are played by the first human's peer, the host, as
            ordinary local inputs.
        action_spaces: agent → its action space, a Hypothesis strategy of its actions, or an
            input source ``(i, frame) -> action`` (see :func:`~mugkit.netcode.simnet.run_peers`).
        max_rollback, input_delay: the step's netcode settings.
        data: a Hypothesis ``data`` object (``st.data()``); the scenario — seed, frames,
            network, actions — is drawn from it, so Hypothesis shrinks and reports it.
        default_action: the step's ``default_action``.
        max_frames: longest run drawn.

    Raises:
        RollbackMismatch: naming the peer, its agents, the first differing frame, both checksums
            and the scenario.
        ValueError: fewer than two humans, or a human that is not an agent.
    """
    from hypothesis import strategies as st

    _peers_of(tuple(agents), humans)
    scenario = draw_scenario(data, max_rollback, input_delay, max_frames)

    def inputs_of(a):
        source = action_spaces[a]
        if callable(source) and not hasattr(source, "example"):  # an input source, not a strategy
            return source
        return data.draw(st.lists(action_strategy(source), max_size=scenario.frames), label=f"actions[{a}]")

    run_scenario(make_game, agents, humans, [inputs_of(a) for a in agents], scenario, default_action=default_action)
