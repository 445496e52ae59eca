"""AI players inside the frame driver: when a policy decides, and what plays in between.

An :class:`AIPlayer` is a policy plus its schedule: it decides on every ``every``-th frame of an
episode (MUG's ``frame_skip``) and plays its previous decision — or the step's default action —
in between.

A policy is answered either at once (``run_async=False``: the driver calls ``act`` itself), or
later: the driver then hands out an :class:`AIRequest` and goes on; the caller answers it with
:meth:`~mugkit.runtime.driver.FrameDriver.answer` whenever the result is ready (in the browser,
onnxruntime-web's ``run()`` resolves a frame or more later). The answer plays from the next
frame on, and rows record the frame it was decided from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable

from .policies import Policy, RandomPolicy, sample_action
from .seeding import derive_rng

__all__ = ["AIPlayer", "AIRequest", "Decision", "ai_input"]


@dataclass
class AIPlayer:
    """One AI agent of a game.

    Attributes:
        policy: what decides.
        every: decide on frames 0, every, 2·every … of each episode (1: every frame).
        fill: between decisions, ``"previous"`` (the last decision) or ``"default"`` (the step's
            ``default_action``).
        run_async: answers come later through the driver's ``answer`` instead of ``act``.
    """

    policy: Policy
    every: int = 1
    fill: str = "previous"
    run_async: bool = False

    def decides_at(self, frame: int) -> bool:
        """True on the frames (index within the episode) where this AI decides."""
        return frame % self.every == 0


@dataclass(frozen=True)
class AIRequest:
    """A decision the driver asks of an asynchronous AI: answer it with the action the policy gives
    for ``observation`` (and ``info``, ``mask``) at ``frame`` of ``episode``."""

    agent: Hashable
    episode: int
    frame: int
    observation: Any
    info: Any
    seed: int


@dataclass(frozen=True)
class Decision:
    """An AI's decision: ``action``, taken from the observation of ``frame`` (of ``episode``)."""

    action: Any
    episode: int
    frame: int


def ai_input(driver_of: Callable[[], Any], agent: Hashable, seed: int) -> Callable[[int, Any], Any]:
    """An AI player of a rollback game, as its host sends it: ``(i, frame) -> action`` (the
    input source :class:`~mugkit.netcode.peer_loop.PeerLoop` takes). The host asks it through
    its own frame driver (``driver_of()``) at each of its frames — its policy, its schedule,
    from the frame the host sees then, predicted or not — and sends the answer as the AI's
    input, so the AI's actions stay the same under rollback on every peer. A ``"random"``
    player (or an agent without a policy) samples its action space from ``(seed, i)``.
    """
    def act(i: int, frame: Any) -> Any:
        driver = driver_of()
        ai = driver.ais.get(agent)
        if ai is None or isinstance(ai.policy, RandomPolicy):
            return sample_action(driver.env.action_space(agent), derive_rng(seed, i, agent, "rollback"))
        return driver.ai_action(agent)

    return act
