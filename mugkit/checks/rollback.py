"""``rollback``: for browser steps with two or more humans, peers over a simulated network
(latency, jitter, loss, reordering) confirm frame by frame the history of a run with no network.

Hypothesis draws the network, input delay (0 to the step's), the seed and the humans' actions;
an AI player's policy decides on its host from what the host sees (predicted frames included)
and its answer travels as an input, so AI actions stay deterministic under rollback. The
scenario itself is in :func:`mugkit.netcode.check.check_rollback`.
"""

from __future__ import annotations

from ..runtime.policies import RandomPolicy, action_mask, mask_allows
from .base import CheckContext, bounded_shrinking, hypothesis_settings
from .report import CheckFailure

__all__ = ["check_rollback"]


def _human_source(step, agent: str, data):
    """A human's keys: drawn from what the keys give; on a masked turn (turn-based games) only the
    legal ones, as the client lets through."""
    from hypothesis import strategies as st

    actions = step.options.key_actions
    picks = data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=200), label=f"keys[{agent}]")

    def press(i: int, frame):
        mask = action_mask(frame.observations.get(agent), frame.infos.get(agent))
        legal = [a for a in actions if mask_allows(mask, a)] or actions
        return legal[picks[i % len(picks)] % len(legal)]

    return press


def _ai_source(game, agent, drivers: list):
    """An AI player as in a browser study: its host (peer 0, whose driver is ``drivers[0]``) asks
    it through the frame driver each frame — its policy, its schedule, from the frame the host sees
    then, predicted or not — and sends the answer as the AI's input. A ``"random"`` player draws
    from its action space instead, so Hypothesis can shrink it."""
    ai = game.ais.get(agent)
    if ai is None or isinstance(ai.policy, RandomPolicy):
        return game.env.action_space(agent)
    return lambda i, frame: drivers[0].ai_action(agent)


def check_rollback(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the peer, the first differing frame and the scenario."""
    from hypothesis import given
    from hypothesis import strategies as st

    from ..netcode.check import check_rollback as run_scenario

    step = ctx.step
    game = ctx.game(0)
    agents = game.env.agents
    humans = step.humans
    @hypothesis_settings(ctx.examples)
    @given(data=st.data())
    def scenario(data):
        drivers: list = []  # one per peer, in peer order (then the reference run's)
        seed = data.draw(st.integers(0, 2**16), label="game_seed")

        def make_game():
            drivers.append(ctx.game(seed).driver())
            return drivers[-1]

        delay = data.draw(st.integers(0, step.options.input_delay), label="input_delay")
        spaces = {a: (_human_source(step, a, data) if a in humans else _ai_source(game, a, drivers)) for a in agents}
        run_scenario(make_game, agents, humans, spaces, step.options.max_rollback, delay, data,
                     default_action=step.options.default_action, max_frames=max(ctx.frames, 20))

    try:
        with bounded_shrinking():
            scenario()
    except AssertionError as exc:
        summary = str(exc).splitlines()[0]
    else:
        return
    # Peers re-simulate after every late input: a divergence is almost always an incomplete restore
    # or nondeterminism, which the synctest pins down to the attribute.
    from .synctest import check_synctest

    try:
        check_synctest(ctx)
    except CheckFailure as sync:
        raise CheckFailure(ctx.nodeid, summary, seed=sync.seed, actions=sync.actions, frame=sync.frame,
                           differs=sync.differs, shrunk=sync.shrunk, cause=f"the synctest of this step shows why: {sync.summary}. "
                                                       f"{sync.cause}", replay=sync.replay) from None
    raise CheckFailure(ctx.nodeid, summary,
                       cause="the synctest of this step passes, so the env restores and re-simulates exactly in "
                             "one process: the peers disagree on inputs or on the env's creation (a step "
                             "function that depends on something other than its seed, such as the participant "
                             "or the clock)") from None
