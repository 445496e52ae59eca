"""``policy``: every AI player loads, answers inside its action space (and the action mask), and
gives the same answer for the same (seed, frame, agent) — so a replayed or rolled-back frame gets
the same AI action."""

from __future__ import annotations

from ..games import episode_seed
from ..runtime.policies import Onnx, PolicyError, action_mask, mask_allows, policy_seed
from ..runtime.state import same
from .base import CheckContext
from .play import choose_actions
from .report import CheckFailure

__all__ = ["check_policy"]

SEEDS = (0, 1, 2)


def check_policy(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the policy, agent, seed, frame and answer."""
    for seed in SEEDS:
        game = ctx.game(seed)
        for agent, policy in game.policies.items():
            if isinstance(policy, Onnx):
                try:
                    policy.load()
                except PolicyError as exc:
                    raise CheckFailure(ctx.nodeid, f"policy {ctx.step.players[agent]!r} for {agent!r} does not "
                                       f"load: {exc}") from None
        env = game.env
        env.reset(episode_seed(seed, 0))
        choices = [(i * 31 + seed) % 256 for i in range(ctx.frames * 4)]
        cursor = 0
        for _ in range(ctx.frames):
            if env.frame.done:
                break
            actions, cursor = choose_actions(game, choices, cursor, use_policies=False)
            for agent in env.frame.acting:
                if agent in game.policies:
                    actions[agent] = _checked_answer(ctx, game, agent, seed)
            env.step(actions)


def _checked_answer(ctx: CheckContext, game, agent: str, seed: int):
    """The policy's answer for ``agent`` at the current frame, after checking that it lies in the
    action space and the mask, and that asking again gives the same answer."""
    f, env, policy = game.env.frame, game.env, game.policies[agent]
    where = f"policy {ctx.step.players[agent]!r} for {agent!r} at frame {f.index} (game seed {seed})"
    obs, info = f.observations.get(agent), f.infos.get(agent)
    space = env.action_space(agent)
    kwargs = dict(agent=agent, frame=f.index, seed=policy_seed(seed, agent), space=space, info=info)
    try:
        action = policy.act(obs, **kwargs)
    except Exception as exc:
        raise CheckFailure(ctx.nodeid, f"{where} raised {type(exc).__name__}: {exc}") from None
    try:
        inside = bool(space.contains(action))
    except Exception:
        inside = False
    if not inside:
        raise CheckFailure(ctx.nodeid, f"{where} answered {action!r}, which is outside its action space {space!r}",
                           seed=seed, cause="the policy's output does not fit the env: check its output size, its "
                                            "action offset (Discrete start) and its types")
    mask = action_mask(obs, info)
    if mask is not None and not mask_allows(mask, action):
        raise CheckFailure(ctx.nodeid, f"{where} answered {action!r}, which the action mask forbids", seed=seed)
    again = policy.act(obs, **kwargs)
    if not same(action, again):
        raise CheckFailure(ctx.nodeid, f"{where} answered {action!r}, then {again!r} for the same (seed, frame, "
                           f"agent)", seed=seed,
                           cause="the policy draws randomness that is not a function of (seed, frame, agent): take "
                                 "the `rng` parameter (mugkit passes a generator seeded for each frame) instead of a "
                                 "generator of your own")
    return action
