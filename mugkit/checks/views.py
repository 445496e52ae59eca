"""Gymnasium and PettingZoo views of numpy-free envs, so their own checkers can run on them.

A browser env declares ``mugkit.spaces`` and returns plain lists. The views present the same
env with ``gymnasium.spaces`` and numpy values (converting both ways), which is exactly what
``gymnasium.utils.env_checker.check_env``, ``pettingzoo.test.parallel_api_test`` and
``pettingzoo.test.api_test`` (AEC envs) expect.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from ..runtime.spaces import Space

__all__ = ["gymnasium_view", "parallel_view", "aec_view", "needs_view"]


def _to_gym(space: Any) -> Any:
    return space.to_gymnasium() if isinstance(space, Space) else space


def _value_to_gym(space: Any, x: Any) -> Any:
    return space.to_gymnasium_value(x) if isinstance(space, Space) else x


def _value_from_gym(space: Any, x: Any) -> Any:
    return space.from_gymnasium_value(x) if isinstance(space, Space) else x


def needs_view(env: Any, kind: str) -> bool:
    """True when the env declares any mugkit (numpy-free) space or is not a subclass of the
    library's base class, so the checkers must see it through a view."""
    if kind == "gymnasium":
        return not isinstance(env, gymnasium.Env) or isinstance(env.action_space, Space) or isinstance(
            env.observation_space, Space)
    if kind == "aec":
        try:
            from pettingzoo import AECEnv
        except ImportError:  # pragma: no cover - the caller imports pettingzoo first
            AECEnv = ()
        if not isinstance(env, AECEnv):
            return True
    agents = list(env.possible_agents)
    return any(isinstance(env.action_space(a), Space) or isinstance(env.observation_space(a), Space) for a in agents)


class _GymnasiumView(gymnasium.Env):
    def __init__(self, env: Any):
        self.inner = env
        self._obs_space = env.observation_space
        self._act_space = env.action_space
        self.observation_space = _to_gym(env.observation_space)
        self.action_space = _to_gym(env.action_space)
        self.metadata = dict(getattr(env, "metadata", {}) or {})
        self.render_mode = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        obs, info = self.inner.reset(seed=seed, options=options)
        return _value_to_gym(self._obs_space, obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.inner.step(_value_from_gym(self._act_space, action))
        return _value_to_gym(self._obs_space, obs), reward, terminated, truncated, info


def gymnasium_view(env: Any) -> gymnasium.Env:
    """``env`` (single-agent, duck-typed, mugkit spaces) as a ``gymnasium.Env`` with gymnasium spaces."""
    return _GymnasiumView(env)


class _AgentSpaces:
    """What both PettingZoo views share: the inner env's agents and metadata, and its spaces as
    gymnasium's (first in the views' bases, so these methods are the views')."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.possible_agents = list(inner.possible_agents)
        self.metadata = dict(getattr(inner, "metadata", {}) or {})
        self.render_mode = None
        self._obs = {a: _to_gym(inner.observation_space(a)) for a in self.possible_agents}
        self._act = {a: _to_gym(inner.action_space(a)) for a in self.possible_agents}

    def observation_space(self, agent: Any) -> Any:
        return self._obs[agent]

    def action_space(self, agent: Any) -> Any:
        return self._act[agent]


def parallel_view(env: Any) -> Any:
    """``env`` (PettingZoo parallel API, mugkit spaces) as a ``pettingzoo.ParallelEnv`` with gymnasium spaces."""
    from pettingzoo import ParallelEnv

    class _ParallelView(_AgentSpaces, ParallelEnv):
        @property
        def agents(self):
            return list(self.inner.agents)

        def _obs_to_gym(self, obs):
            return {a: _value_to_gym(self.inner.observation_space(a), o) for a, o in obs.items()}

        def reset(self, seed=None, options=None):
            obs, infos = self.inner.reset(seed=seed, options=options)
            return self._obs_to_gym(obs), infos

        def step(self, actions):
            plain = {a: _value_from_gym(self.inner.action_space(a), x) for a, x in actions.items()}
            obs, rewards, terms, truncs, infos = self.inner.step(plain)
            return self._obs_to_gym(obs), rewards, terms, truncs, infos

        def state(self):
            raise NotImplementedError

    return _ParallelView(env)


def _mask_to_gym(obs: Any) -> Any:
    """PettingZoo's checker samples with ``obs["action_mask"]``, which gymnasium wants as int8."""
    if isinstance(obs, dict) and "action_mask" in obs:
        import numpy as np

        obs = dict(obs)
        obs["action_mask"] = np.asarray(obs["action_mask"], dtype=np.int8)
    return obs


def aec_view(env: Any) -> Any:
    """``env`` (PettingZoo AEC API, duck-typed or with mugkit spaces) as a ``pettingzoo.AECEnv``
    with gymnasium spaces: the turn-keeping attributes are the env's own, read through."""
    from pettingzoo import AECEnv

    class _AECView(_AgentSpaces, AECEnv):
        agents = property(lambda self: self.inner.agents)
        agent_selection = property(lambda self: self.inner.agent_selection)
        rewards = property(lambda self: self.inner.rewards)
        terminations = property(lambda self: self.inner.terminations)
        truncations = property(lambda self: self.inner.truncations)
        infos = property(lambda self: self.inner.infos)

        @property
        def _cumulative_rewards(self):
            return getattr(self.inner, "_cumulative_rewards", self.inner.rewards)

        def observe(self, agent):
            return _mask_to_gym(_value_to_gym(self.inner.observation_space(agent), self.inner.observe(agent)))

        def last(self, observe=True):
            obs, reward, terminated, truncated, info = self.inner.last(observe=False)
            return (self.observe(self.agent_selection) if observe else None), reward, terminated, truncated, info

        def reset(self, seed=None, options=None):
            self.inner.reset(seed=seed, options=options)

        def step(self, action):
            if action is not None:
                action = _value_from_gym(self.inner.action_space(self.agent_selection), action)
            self.inner.step(action)

        def render(self):
            return None

        def close(self):
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()

        def state(self):
            raise NotImplementedError

    return _AECView(env)
