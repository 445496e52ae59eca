"""``rollback``: for browser steps with two or more humans, peers over a simulated network
(latency, jitter, loss, reordering) confirm frame by frame the history of a run with no network.

Hypothesis draws the network, input delay (0 to the step's), the seed and the actions; the
scenario itself is in :func:`mugkit.netcode.check.check_rollback`.
"""

from __future__ import annotations

from ..games import key_actions
from .base import CheckContext, bounded_shrinking, hypothesis_settings
from .report import CheckFailure

__all__ = ["check_rollback"]


def check_rollback(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the peer, the first differing frame and the scenario."""
    from hypothesis import given
    from hypothesis import strategies as st

    from ..netcode.check import check_rollback as run_scenario

    step = ctx.step
    game = ctx.game(0)
    agents = game.env.agents
    humans = step.humans
    spaces = {a: (st.sampled_from(key_actions(step)) if a in humans else game.env.action_space(a)) for a in agents}

    @hypothesis_settings(ctx.examples)
    @given(data=st.data())
    def scenario(data):
        delay = data.draw(st.integers(0, step.options["input_delay"]), label="input_delay")
        run_scenario(lambda: ctx.game(0).env, agents, humans, spaces, step.options["max_rollback"], delay, data,
                     default_action=step.options["default_action"], max_frames=max(ctx.frames, 20))

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
                           differs=sync.differs, cause=f"the synctest of this step shows why: {sync.summary}. "
                                                       f"{sync.cause}", replay=sync.replay) from None
    raise CheckFailure(ctx.nodeid, summary,
                       cause="the synctest of this step passes, so the env restores and re-simulates exactly in "
                             "one process: the peers disagree on inputs or on the env's creation (a step "
                             "function that depends on something other than its seed, such as the participant "
                             "or the clock)") from None
