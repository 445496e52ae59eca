"""``rollback``: for browser steps with two or more humans, peers over a simulated network
(latency, jitter, loss, reordering) confirm frame by frame the history of a run with no network;
then the same in Chromium (:mod:`mugkit.checks.rollback_browser`): one headless page per human,
each running its peer in Pyodide, connected by WebRTC data channels on loopback.

Hypothesis draws the network, the input delay (0 to the step's), the game seed and the keys the
humans hold (a :class:`~mugkit.checks.inputs.KeyPlan`); each human's peer maps its keys to actions
as a browser peer does. An AI player's policy decides on its host through the host's frame driver
(predicted frames included) and its answer travels as an input, so AI actions stay deterministic
under rollback. The scenario itself is in :func:`mugkit.netcode.check.run_scenario`.
"""

from __future__ import annotations

from typing import Any

from ..netcode.check import Link, RollbackMismatch, Scenario, draw_scenario, run_scenario
from ..runtime.ai import ai_input
from ..runtime.keys import peer_input
from .base import CheckContext, bounded_shrinking, hypothesis_settings, quiet_hypothesis
from .inputs import KeyPlan, plan_strategy
from .report import CheckFailure, reproduce_snippet

__all__ = ["check_rollback", "reproduce"]


#: The network playthroughs are played over: a tenth of a second each way, jitter and some loss.
PLAYTHROUGH_LINK = Link(latency_ms=100, jitter_ms=20, loss=0.05, reorder=0.0)


def _human_source(ctx: CheckContext, agent: Any, plan: KeyPlan, turn_based: bool):
    """A human's peer: the keys the plan holds, mapped to actions as a browser peer maps them."""
    return peer_input(ctx.step.options, agent, lambda i: plan.key_input(agent, i, turn_based), turn_based)


def _run(ctx: CheckContext, plan: KeyPlan, scenario: Scenario) -> None:
    """Runs one scenario; raises :class:`RollbackMismatch`."""
    step = ctx.step
    game = ctx.game(scenario.seed)
    drivers: list = []  # one per peer, in peer order (then the reference run's)

    def make_game():
        drivers.append(ctx.game(scenario.seed).driver())
        return drivers[-1]

    agents = game.env.agents
    turn_based = game.driver().turn_based  # an AEC env is turn-based whatever the step says
    # An AI is asked by its host (peer 0, whose driver is drivers[0]), as a browser host asks it.
    inputs = [_human_source(ctx, a, plan, turn_based) if a in step.humans
              else ai_input(lambda: drivers[0], a, scenario.seed) for a in agents]
    # A turn-based game waits for a press: None ("no move yet") before a player's first input.
    run_scenario(make_game, agents, step.humans, inputs, scenario,
                 default_action=None if turn_based else step.options.default_action)


def check_rollback(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the peer, the first differing frame and the scenario."""
    from hypothesis import given
    from hypothesis import strategies as st

    step = ctx.step
    frames = max(ctx.frames, 20)
    failing: list = []

    @hypothesis_settings(ctx.examples)
    @given(data=st.data())
    def search(data):
        delay = data.draw(st.integers(0, step.options.input_delay), label="input_delay")
        scenario = draw_scenario(data, step.options.max_rollback, delay, frames)
        plan = data.draw(plan_strategy(step, scenario.frames), label="keys")
        try:
            _run(ctx, plan, scenario)
        except RollbackMismatch:
            failing[:] = [plan, scenario]
            raise

    for seed, plan in ctx.scripted_examples():  # playthroughs first, over a middling network
        scenario = Scenario(seed, max(len(plan), 20), PLAYTHROUGH_LINK, 0, step.options.input_delay,
                            step.options.max_rollback)
        try:
            _run(ctx, plan, scenario)
        except RollbackMismatch:
            raise report(ctx, plan, scenario) from None
    try:
        with bounded_shrinking(), quiet_hypothesis():
            search()
    except RollbackMismatch:
        plan, scenario = failing  # the last failing example is the shrunk one
        raise report(ctx, plan, scenario, shrunk=True) from None
    # Only once the simulated network passes: its failures shrink, the browser's cannot.
    from .rollback_browser import check_rollback_browser

    check_rollback_browser(ctx)


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan, *, frames_run: int, latency_ms: float = 0,
              jitter_ms: float = 0, loss: float = 0, reorder: float = 0, network_seed: int = 0,
              input_delay: int = 0, browser: bool = False) -> None:
    """Runs one scenario again (``browser``: in Chromium pages, see
    :func:`mugkit.checks.rollback_browser.reproduce`); raises its :class:`CheckFailure` if it still fails."""
    if browser:
        from . import rollback_browser

        rollback_browser.reproduce(ctx, seed, plan, frames_run=frames_run, latency_ms=latency_ms,
                                   jitter_ms=jitter_ms, loss=loss, network_seed=network_seed)
        return
    scenario = Scenario(seed, frames_run, Link(latency_ms, jitter_ms, loss, reorder), network_seed, input_delay,
                        ctx.step.options.max_rollback)
    try:
        _run(ctx, plan, scenario)
    except RollbackMismatch:
        raise report(ctx, plan, scenario) from None


def report(ctx: CheckContext, plan: KeyPlan, scenario: Scenario, shrunk: bool = False) -> CheckFailure:
    """The failure of a scenario, explained through the synctest when it finds the cause."""
    try:
        _run(ctx, plan, scenario)
    except RollbackMismatch as exc:
        summary = str(exc).split(" (seed ")[0]
    else:
        summary = "the peers disagreed in one run of this scenario, and agreed when it was run again"
    link = scenario.link
    facts = {"network": f"latency {link.latency_ms} ms, jitter {link.jitter_ms} ms, loss {link.loss}, "
                        f"reorder {link.reorder}, network seed {scenario.network_seed}",
             "frames": scenario.frames, "input_delay": scenario.input_delay, "max_rollback": scenario.max_rollback}
    replay = reproduce_snippet(ctx, scenario.seed, plan, frames_run=scenario.frames, latency_ms=link.latency_ms,
                               jitter_ms=link.jitter_ms, loss=link.loss, reorder=link.reorder,
                               network_seed=scenario.network_seed, input_delay=scenario.input_delay)
    cause = _synctest_cause(ctx)
    return CheckFailure(ctx.nodeid, summary, seed=scenario.seed, plan=plan, cause=cause, replay=replay,
                        scenario=facts, shrunk=shrunk)


def _synctest_cause(ctx: CheckContext) -> str:
    # Peers re-simulate after every late input: a divergence is almost always an incomplete restore
    # or nondeterminism, which the synctest pins down to the attribute.
    from .synctest import check_synctest

    try:
        check_synctest(ctx)
    except CheckFailure as sync:
        return f"the synctest of this step shows why: {sync.summary}. {sync.cause}"
    return ("the synctest of this step passes, so the env restores and re-simulates exactly in one process: the "
            "peers disagree on inputs or on the env's creation (a step function that depends on something other "
            "than its seed, such as the participant or the clock)")
