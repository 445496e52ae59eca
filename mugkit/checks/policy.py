"""``policy``: every AI player loads, answers inside its action space (and the action mask), and
gives the same answer for the same (seed, frame, agent) — so a replayed or rolled-back frame gets
the same AI action."""

from __future__ import annotations

from ..runtime.ai import AIPlayer
from ..runtime.policies import Onnx, Policy, PolicyError, action_mask, mask_allows
from ..runtime.state import same
from .base import CheckContext, Found
from .inputs import KeyPlan, fixed_plans
from .play import play
from .report import CheckFailure

__all__ = ["check_policy", "reproduce"]

SEEDS = (0, 1, 2)


def check_policy(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the policy, agent, seed, frame and answer."""
    plans = fixed_plans(ctx.step, ctx.frames)
    for seed, plan in ctx.scripted_examples() + [(seed, plans[seed % len(plans)]) for seed in SEEDS]:
        reproduce(ctx, seed, plan)


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """Plays one game with every AI answer checked; raises :class:`CheckFailure` at the first bad one."""
    game = ctx.game(seed)
    example = Found(seed, plan)
    example.shrunk = False
    for agent, ai in game.ais.items():
        if isinstance(ai.policy, Onnx):
            try:
                ai.policy.load()
            except PolicyError as exc:
                raise CheckFailure(ctx.nodeid, f"policy {ctx.step.players[agent]!r} for {agent!r} does not "
                                   f"load: {exc}") from None
        game.ais[agent] = AIPlayer(_Checked(ctx, ai.policy, example), ai.every, ai.fill, ai.run_async)
    play(game, plan, ctx.frames)


class _Checked(Policy):
    """A policy whose every answer is checked: inside the action space and the mask, and the same
    when asked again for the same (seed, frame, agent)."""

    def __init__(self, ctx: CheckContext, policy: Policy, example: Found):
        self.ctx, self.policy, self.example = ctx, policy, example
        self.name = policy.name

    def reset(self) -> None:
        self.policy.reset()

    def get_state(self):
        return self.policy.get_state()

    def set_state(self, state) -> None:
        self.policy.set_state(state)

    def act(self, observation, *, agent, frame, seed, space, info=None, env=None):
        ctx = self.ctx
        where = f"policy {ctx.step.players[agent]!r} for {agent!r} at frame {frame}"
        self.example.details["frame"] = frame
        kwargs = dict(agent=agent, frame=frame, seed=seed, space=space, info=info, env=env)
        try:
            action = self.policy.act(observation, **kwargs)
        except Exception as exc:
            raise ctx.failure(f"{where} raised {type(exc).__name__}: {exc}", self.example) from None
        try:
            inside = bool(space.contains(action))
        except Exception:
            inside = False
        if not inside:
            raise ctx.failure(f"{where} answered {action!r}, which is outside its action space {space!r}",
                              self.example, cause="the policy's output does not fit the env: check its output size, "
                                                  "its action offset (Discrete start) and its types")
        mask = action_mask(observation, info)
        if mask is not None and not mask_allows(mask, action):
            raise ctx.failure(f"{where} answered {action!r}, which the action mask forbids", self.example)
        again = self.policy.act(observation, **kwargs)
        if not same(action, again):
            raise ctx.failure(f"{where} answered {action!r}, then {again!r} for the same (seed, frame, agent)",
                              self.example,
                              cause="the policy's answer is not a function of (observation, seed, frame, agent): "
                                    "either it draws randomness of its own — take the `rng` parameter (mugkit passes "
                                    "a generator seeded for each frame) instead — or it keeps memory between calls "
                                    "(a counter, past observations), which a replay, a rollback or a browser game "
                                    "resumed after a reload does not restore: compute from `frame`, the "
                                    "observation and `env` instead (a recurrent model: mk.Onnx with state=)")
        return action
