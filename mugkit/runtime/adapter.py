"""One interface over every kind of env a game step may return.

:func:`adapt` wraps a Gymnasium ``Env``, a PettingZoo ``ParallelEnv`` or ``AECEnv``, or an
object with the same methods (duck typing, for numpy-free browser envs), into a
:class:`GameEnv` that steps with a dict of actions per agent and returns a :class:`Frame`. The
server loop, the browser, the rollback session and the checks all step envs through it, so an
env behaves the same everywhere.

Kinds, told apart by their methods:

- ``"aec"``: has ``last()`` and ``observe()`` (PettingZoo AEC). One agent acts per frame; the
  adapter steps the dead agents (``step(None)``) itself, so ``frame.acting`` is always live.
- ``"parallel"``: has ``possible_agents`` (PettingZoo parallel). Every live agent acts.
- ``"gymnasium"``: anything else with ``reset``/``step``. Its one agent gets the id given by
  the step's ``players`` (e.g. ``"player"``).
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from . import hashing
from .spaces import is_gymnasium_space
from .state import Snapshotter, copy_plain, hash_view, render_attributes, state_view

__all__ = ["adapt", "GameEnv", "Frame", "EnvError", "env_kind", "env_agents", "local_fingerprints"]

_LOCAL: contextvars.ContextVar[bool] = contextvars.ContextVar("mugkit_local_fingerprints", default=False)


@contextlib.contextmanager
def local_fingerprints():
    """Within this block (this thread or task), :meth:`GameEnv.checksum` returns
    :meth:`GameEnv.fingerprint` instead of the canonical hash: for checks that compare frames
    only with frames of the same process, where hashing megabytes of pixels with SHA-256 would
    cost more than playing them. Nothing computed inside may be compared across runtimes (with a
    browser, a peer, or a hash recorded elsewhere)."""
    token = _LOCAL.set(True)
    try:
        yield
    finally:
        _LOCAL.reset(token)


class EnvError(Exception):
    """The env does not have the methods or agents a game step needs; the message says what to fix."""


@dataclass
class Frame:
    """What one reset or step produced. All dicts are keyed by agent id.

    Attributes:
        index: frames stepped since the reset (0 right after ``reset``).
        observations: the observation of each agent that has one (AEC: the agent to act next).
        rewards, terminated, truncated, infos: as the env returned them, per agent.
        acting: the agents whose actions the next :meth:`GameEnv.step` needs, in order. Empty
            when the episode is over.
    """

    index: int
    observations: dict
    rewards: dict = field(default_factory=dict)
    terminated: dict = field(default_factory=dict)
    truncated: dict = field(default_factory=dict)
    infos: dict = field(default_factory=dict)
    acting: tuple = ()

    @property
    def done(self) -> bool:
        """True when the episode is over (no agent left to act)."""
        return not self.acting


def env_kind(env: Any) -> str:
    """``"aec"``, ``"parallel"`` or ``"gymnasium"`` (see the module docstring)."""
    if callable(getattr(env, "last", None)) and callable(getattr(env, "observe", None)):
        return "aec"
    if hasattr(env, "possible_agents"):
        return "parallel"
    return "gymnasium"


def env_agents(env: Any) -> tuple | None:
    """The env's own agent ids (``possible_agents``), or None for a single-agent env."""
    if env_kind(env) == "gymnasium":
        return None
    return tuple(env.possible_agents)


def _missing(env: Any, names: Sequence[str]) -> list[str]:
    return [n for n in names if not callable(getattr(env, n, None))]


def adapt(env: Any, agents: Sequence[str] | None = None, *, max_steps: int | None = None,
          render: Callable[[Any], list] | None = None) -> "GameEnv":
    """Wraps ``env`` in a :class:`GameEnv`.

    Args:
        env: a Gymnasium/PettingZoo env or an object with the same methods.
        agents: the agent ids the step's ``players`` name, in the order written there (the order of
            rows and of netcode handles). For a multi-agent env they must be its
            ``possible_agents``; for a single-agent env there must be exactly one (its id).
            Default: the env's own agents, or ``("player",)``.
        max_steps: truncate every episode after this many frames (None: no cap).
        render: a ``env -> list of shapes`` function to use instead of ``env.render()``.

    Raises:
        EnvError: ``env`` lacks ``reset``/``step``, or ``agents`` does not match its agents.
    """
    missing = _missing(env, ["reset", "step"])
    if missing:
        raise EnvError(f"a game step must return an env with reset() and step(); "
                       f"{type(env).__name__} has no {' or '.join(m + '()' for m in missing)}")
    kind = env_kind(env)
    own = env_agents(env)
    if own is None:
        agents = tuple(agents) if agents is not None else ("player",)
        if len(agents) != 1:
            raise EnvError(f"{type(env).__name__} is a single-agent env, so players must name exactly one "
                           f"agent; it names {len(agents)}: {', '.join(agents)}")
    else:
        agents = tuple(agents) if agents is not None else own
        if len(set(agents)) != len(agents):
            raise EnvError(f"players names an agent twice: {list(agents)}")
        if set(agents) != set(own):
            extra = sorted(set(agents) - set(own), key=repr)
            absent = sorted(set(own) - set(agents), key=repr)
            parts = []
            if extra:
                parts.append(f"{extra} are not agents of the env")
            if absent:
                parts.append(f"{absent} have no player")
            raise EnvError(f"players must name each of the env's possible_agents {list(own)} once: "
                           + "; ".join(parts))
        # The order of `players` as written, not possible_agents: an env may build that from a
        # set, and peers in different processes must give each agent the same handle.
    _check_spaces(env, kind)
    cls = {"aec": _AECGame, "parallel": _ParallelGame, "gymnasium": _GymnasiumGame}[kind]
    return cls(env, agents, max_steps=max_steps, render=render)


def _check_spaces(env: Any, kind: str) -> None:
    """Keys, AI players and the checks need the spaces: say how to declare missing ones."""
    name = type(env).__name__
    if kind == "gymnasium":
        missing = [n for n in ("action_space", "observation_space") if getattr(env, n, None) is None]
        how = ("set them in __init__: self.action_space = mugkit.spaces.Discrete(3) and self.observation_space = "
               "mugkit.spaces.Box(0, 100, shape=(2,), dtype='int') (numpy-free: they run in the browser too), or "
               "gymnasium.spaces")
    else:
        missing = [n for n in ("action_space", "observation_space") if not callable(getattr(env, n, None))]
        how = ("define the methods action_space(self, agent) and observation_space(self, agent), returning the same "
               "space object on every call (mugkit.spaces, numpy-free, or gymnasium.spaces)")
    if missing:
        raise EnvError(f"{name} has no {' and no '.join(missing)}: {how}")


def _copy_frame(frame: Frame | None) -> Frame | None:
    if frame is None:
        return None
    return Frame(frame.index, copy_plain(frame.observations), dict(frame.rewards), dict(frame.terminated),
                 dict(frame.truncated), copy_plain(frame.infos), frame.acting)


class GameEnv:
    """An env behind one interface: ``reset``, ``step`` with a dict of actions, ``save``/``load``,
    ``checksum`` and ``render``. Create it with :func:`adapt`.
    """

    kind = ""

    def __init__(self, env: Any, agents: tuple, *, max_steps: int | None, render: Callable | None):
        self.env = env
        self.agents = agents
        self.max_steps = max_steps
        self._render = render
        self._snap = Snapshotter(env)
        self.frame: Frame | None = None

    @property
    def turn_based(self) -> bool:
        """True for AEC envs: one agent acts per frame, and a human's turn waits for input."""
        return self.kind == "aec"

    @property
    def uses_state_methods(self) -> bool:
        """True when snapshots go through the env's ``get_state``/``set_state`` (not a deep copy)."""
        return self._snap.uses_state_methods

    def action_space(self, agent: str) -> Any:
        raise NotImplementedError

    def observation_space(self, agent: str) -> Any:
        raise NotImplementedError

    def reset(self, seed: int) -> Frame:
        """Resets the env with ``seed`` and returns frame 0."""
        self.frame = self._finish(self._reset(seed))
        return self.frame

    def step(self, actions: dict) -> Frame:
        """Steps with ``actions`` (agent id → action) for the agents in ``frame.acting``.

        Raises:
            EnvError: the episode is over, or an acting agent has no action.
        """
        if self.frame is None:
            raise EnvError("step() before reset(): reset the game first")
        if self.frame.done:
            raise EnvError(f"step() after the episode ended at frame {self.frame.index}: reset first")
        absent = [a for a in self.frame.acting if a not in actions]
        if absent:
            raise EnvError(f"frame {self.frame.index + 1}: no action for {absent}")
        actions = {a: self._as_env_action(a, act) for a, act in actions.items()}
        self.frame = self._finish(self._step(actions, self.frame.index + 1))
        return self.frame

    def _as_env_action(self, agent: str, action: Any) -> Any:
        """Keys, the netcode and policies give plain lists; a gymnasium array space gets an array."""
        if not isinstance(action, (list, tuple)):
            return action
        space = self.action_space(agent) if agent in self.agents else None
        if is_gymnasium_space(space) and getattr(space, "dtype", None) is not None:
            import numpy as np

            return np.asarray(action, dtype=space.dtype)
        return action

    def _finish(self, frame: Frame) -> Frame:
        if self.max_steps is not None and frame.index >= self.max_steps and frame.acting:
            for a in self.agents:
                if not frame.terminated.get(a, False):
                    frame.truncated[a] = True
            frame.acting = ()
        return frame

    def save(self) -> Any:
        """A snapshot of the env and the current frame; :meth:`load` restores it, any number of times."""
        return (self._snap.save(), _copy_frame(self.frame))

    def load(self, snapshot: Any) -> None:
        """Restores a snapshot made by :meth:`save`."""
        env_snap, frame = snapshot
        self._snap.load(env_snap)
        self.frame = _copy_frame(frame)

    def state_data(self) -> Any:
        """The env's state as plain data: ``get_state()`` when defined, else the view of the
        unwrapped env (wrappers are bookkeeping; their effect shows in the frame) without the
        attributes its ``render()`` assigns (see :func:`~mugkit.runtime.state.render_attributes`)."""
        return self._state_view(state_view)

    def _state_view(self, view: Callable[[Any], Any]) -> Any:
        if self._snap.uses_state_methods:
            return view(self.env.get_state())
        env = getattr(self.env, "unwrapped", self.env)
        data = view(env)
        for name in render_attributes(type(env)):
            data.pop(name, None)
        return data

    def frame_data(self, frame: Frame | None = None) -> dict:
        """Everything the frame hash covers, as plain data: the env state, the frame index, the
        observations, rewards and terminated/truncated flags (infos are left out)."""
        return self._frame_view(frame, state_view)

    def _frame_view(self, frame: Frame | None, view: Callable[[Any], Any]) -> dict:
        f = frame or self.frame
        return {"state": self._state_view(view), "frame": f.index, "observations": view(f.observations),
                "rewards": view(f.rewards), "terminated": view(f.terminated), "truncated": view(f.truncated)}

    def checksum(self, frame: Frame | None = None) -> str:
        """The canonical hash (16 hex digits) of the env state and the frame (default: current) —
        or, inside :func:`local_fingerprints`, its :meth:`fingerprint`."""
        if _LOCAL.get():
            return self.fingerprint(frame)
        # hash_view: the frame data without copying arrays (hashed at once, never kept).
        return hashing.digest(self._frame_view(frame, hash_view))

    def fingerprint(self, frame: Frame | None = None) -> str:
        """A process-local stand-in for :meth:`checksum`, much faster for envs with large arrays
        (see :func:`~mugkit.runtime.hashing.fingerprint`): equal frames give equal fingerprints in
        this process. Never compare it across runtimes."""
        return hashing.fingerprint(self._frame_view(frame, hash_view))

    def render(self) -> Any:
        """The env drawn: ``render(env)`` if the step gave one, else ``env.render()``."""
        return self._render(self.env) if self._render else self.env.render()

    def _reset(self, seed: int) -> Frame:
        raise NotImplementedError

    def _step(self, actions: dict, index: int) -> Frame:
        raise NotImplementedError


class _GymnasiumGame(GameEnv):
    kind = "gymnasium"

    def action_space(self, agent):
        return self.env.action_space

    def observation_space(self, agent):
        return self.env.observation_space

    def _reset(self, seed):
        (agent,) = self.agents
        obs, info = self.env.reset(seed=seed)
        return Frame(0, {agent: obs}, {agent: 0}, {agent: False}, {agent: False}, {agent: info}, (agent,))

    def _step(self, actions, index):
        (agent,) = self.agents
        obs, reward, terminated, truncated, info = self.env.step(actions[agent])
        over = bool(terminated) or bool(truncated)
        return Frame(index, {agent: obs}, {agent: reward}, {agent: terminated}, {agent: truncated},
                     {agent: info}, () if over else (agent,))


class _ParallelGame(GameEnv):
    kind = "parallel"

    def action_space(self, agent):
        return self.env.action_space(agent)

    def observation_space(self, agent):
        return self.env.observation_space(agent)

    def _acting(self) -> tuple:
        live = set(self.env.agents)
        return tuple(a for a in self.agents if a in live)

    def _reset(self, seed):
        obs, infos = self.env.reset(seed=seed)
        return Frame(0, dict(obs), {a: 0 for a in self.agents}, {a: False for a in self.agents},
                     {a: False for a in self.agents}, dict(infos), self._acting())

    def _step(self, actions, index):
        live = self._acting()
        obs, rewards, terms, truncs, infos = self.env.step({a: actions[a] for a in live})
        acting = self._acting()
        if live and all(terms.get(a) or truncs.get(a) for a in live):
            # Every agent finished: the episode is over, even when the env forgets to empty its
            # `agents` (PettingZoo asks it to); otherwise it would go on until max_steps.
            acting = ()
        return Frame(index, dict(obs), dict(rewards), dict(terms), dict(truncs), dict(infos), acting)


class _AECGame(GameEnv):
    kind = "aec"

    def action_space(self, agent):
        return self.env.action_space(agent)

    def observation_space(self, agent):
        return self.env.observation_space(agent)

    def _skip_dead(self) -> None:
        env = self.env
        while env.agents and (env.terminations.get(env.agent_selection)
                              or env.truncations.get(env.agent_selection)):
            env.step(None)

    def _frame(self, index: int) -> Frame:
        env = self.env
        if not env.agents:
            acting, obs = (), {}
        else:
            acting = (env.agent_selection,)
            obs = {env.agent_selection: env.observe(env.agent_selection)}
        return Frame(index, obs, dict(env.rewards), dict(env.terminations), dict(env.truncations),
                     dict(env.infos), acting)

    def _reset(self, seed):
        self.env.reset(seed=seed)
        self._skip_dead()
        return self._frame(0)

    def _step(self, actions, index):
        env = self.env
        env.step(actions[env.agent_selection])
        # What this step decided, before the dead agents are stepped out of the dicts.
        rewards, terms, truncs, infos = (dict(env.rewards), dict(env.terminations), dict(env.truncations),
                                         dict(env.infos))
        self._skip_dead()
        frame = self._frame(index)
        frame.rewards = {**{a: 0 for a in self.agents}, **rewards}
        frame.terminated = {**terms, **frame.terminated}
        frame.truncated = {**truncs, **frame.truncated}
        frame.infos = {**infos, **frame.infos}
        return frame
