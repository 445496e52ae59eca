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

__all__ = ["StandIn", "stand_in"]


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
