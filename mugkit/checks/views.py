"""Gymnasium and PettingZoo views of numpy-free envs, so their own checkers can run on them.

A browser env declares ``mugkit.spaces`` and returns plain lists. The views present the same
env with ``gymnasium.spaces`` and numpy values (converting both ways), which is exactly what
``gymnasium.utils.env_checker.check_env`` and ``pettingzoo.test.parallel_api_test`` expect.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from ..runtime.spaces import Space

__all__ = ["gymnasium_view", "parallel_view", "needs_view"]


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


def parallel_view(env: Any) -> Any:
    """``env`` (PettingZoo parallel API, mugkit spaces) as a ``pettingzoo.ParallelEnv`` with gymnasium spaces."""
    from pettingzoo import ParallelEnv

    class _ParallelView(ParallelEnv):
        def __init__(self, inner):
            self.inner = inner
            self.possible_agents = list(inner.possible_agents)
            self.metadata = dict(getattr(inner, "metadata", {}) or {})
            self.render_mode = None
            self._obs = {a: _to_gym(inner.observation_space(a)) for a in self.possible_agents}
            self._act = {a: _to_gym(inner.action_space(a)) for a in self.possible_agents}

        @property
        def agents(self):
            return list(self.inner.agents)

        def observation_space(self, agent):
            return self._obs[agent]

        def action_space(self, agent):
            return self._act[agent]

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
