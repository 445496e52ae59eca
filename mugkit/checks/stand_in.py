"""Policies that stand in for humans while a check explores a step.

Random keys rarely reach a goal that takes skill; a trained agent does. Declaring one::

    runner_bot = mk.stand_in(chase, {"runner": "runner_model"})

lets exploration (:mod:`mugkit.checks.explore`) play the human ``runner`` of ``chase`` with the
``@mk.policy`` named ``runner_model`` (or ``"random"``) in half of its rollouts. What the policy
chooses is pressed as the keys that give that action, so every trajectory is still a key plan that
replays from the reset, as a participant's keys would. Stand-ins play only in checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Mapping

__all__ = ["StandIn", "stand_in", "StandInPlayers"]


@dataclass(frozen=True)
class StandIn:
    """Made by :func:`stand_in`: ``players`` maps humans of ``step`` to policy names."""

    step: Any
    players: Mapping[Hashable, str]


def stand_in(step: Any, players: Mapping[Hashable, str]) -> StandIn:
    """Declares policies that play humans of the game step ``step`` while checks explore it.

    Args:
        step: an ``@mk.scene`` game step.
        players: human agent → the name of an ``@mk.policy`` of the experiment, or ``"random"``.

    Raises:
        StepError: ``step`` is not a game step, or ``players`` names an agent that is not one of
            its humans (the experiment's policy names are checked when it is collected).
    """
    from ..steps import GameStep, StepError

    if not isinstance(step, GameStep):
        raise StepError(f"mk.stand_in(step, players) takes a game step (an @mk.scene with players=...), got {step!r}")
    if not isinstance(players, Mapping) or not players:
        raise StepError(f"mk.stand_in({step.name}, players): players must be a dict of human -> policy name, "
                        f"got {players!r}")
    unknown = [a for a in players if a not in step.humans]
    if unknown:
        raise StepError(f"mk.stand_in({step.name}, ...) names {unknown}, which are not humans of {step.name}: "
                        f"{list(step.humans)}")
    bad = [name for name in players.values() if not isinstance(name, str)]
    if bad:
        raise StepError(f"mk.stand_in({step.name}, ...): policies are named by str (an @mk.policy or 'random'), "
                        f"got {bad[0]!r}")
    return StandIn(step, dict(players))


class StandInPlayers:
    """Humans played by their stand-in policies while exploring: each presses the keys
    whose combination gives the action its policy chose (in keydown/keyup steps, released every
    other frame so that each press counts)."""

    def __init__(self, ctx: Any):
        from ..runtime.policies import as_policy

        self.step = ctx.step
        self.policies: dict = {}
        for s in getattr(ctx.experiment, "stand_ins", ()):
            if s.step is ctx.step:
                for agent, name in s.players.items():
                    made = "random" if name == "random" else ctx.experiment.policies[name]()
                    self.policies[agent] = as_policy(made, name)
        self.tap = ctx.step.options.input_mode in ("keydown", "keyup")
        self.last: dict = {}

    def reset(self) -> None:
        self.last.clear()
        for policy in self.policies.values():
            policy.reset()

    def press(self, driver: Any, held: dict) -> None:
        """Replaces the keys of every acting stand-in human in ``held``."""
        from ..runtime.policies import policy_seed
        from ..runtime.state import same

        f = driver.frame
        for agent, policy in self.policies.items():
            if agent not in f.acting:
                continue
            action = policy.act(f.observations.get(agent), agent=agent, frame=f.index,
                                seed=policy_seed(driver.episode_seed, agent), space=driver.env.action_space(agent),
                                info=f.infos.get(agent), env=driver.unwrapped)
            combo = next((tuple(sorted(c)) for c, a in self.step.options.combos if same(a, action)), ())
            if self.tap and combo and self.last.get(agent) == combo:
                combo = ()
            self.last[agent] = held[agent] = combo
