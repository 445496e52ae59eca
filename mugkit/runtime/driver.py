"""The frame driver: plays a game step one frame at a time, exactly as a study does.

Every loop in mugkit is a clock (or a test) around a :class:`FrameDriver`: the server's game
loop, the browser runtime, the rollback netcode (through
:class:`~mugkit.netcode.game.GameRunner`), the load-test bots, the checks and the benchmarks. So
``mugkit check`` proves the very code participants run.

The driver owns episodes (their count and seeds, a fresh env per episode for step functions that
ask for ``episode``, ``max_steps``), human input (keys → actions, ``input_mode``, ``fill``),
turn-based waiting, AI players (at once or answered late), the hooks, the step rows and the
render output. It has no clock, does no I/O and starts no thread: the caller ticks it.

Example::

    driver = FrameDriver(env, options, seed=7, ais={"chaser": AIPlayer(policy)}, render=True)
    result = driver.start()                    # episode 0, frame 0
    while not driver.finished:
        result = driver.tick({"runner": KeyInput.of(held={"ArrowUp"})})   # once per frame
        if result is None:                     # a turn-based frame waits for driver.waiting_for
            continue
        store(result.rows); draw(result.image)
"""

from __future__ import annotations

import inspect
import sys
import traceback
from typing import Any, Callable, Hashable, Mapping

from .ai import AIPlayer, AIRequest, Decision
from .errors import InternalError
from .keys import KeyInput, KeyMapper
from .options import HUMAN, GameOptions
from .policies import action_mask, policy_seed
from .rows import FrameResult, StepRow
from .seeding import episode_seed

__all__ = ["FrameDriver", "HookError"]

_HOOK_CONTEXT = {
    "on_step": ("env", "episode", "frame", "seed", "actions", "observations", "rewards", "terminated", "truncated",
                "infos"),
    "on_episode_start": ("env", "episode", "frame", "seed", "observations", "infos"),
    "on_episode_end": ("env", "episode", "frame", "seed", "returns", "terminated", "truncated"),
}


class HookError(Exception):
    """A step's hook raised or returned something other than a dict or None. The message names the
    hook, the game, the episode and the frame, and the line of the hook that raised."""


def _wanted(fn: Callable, names: tuple) -> tuple:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return ()
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return names
    return tuple(n for n in names if n in params)


class FrameDriver:
    """Plays one game (one participant or group, one step) frame by frame.

    Args:
        env: a :class:`~mugkit.runtime.adapter.GameEnv` (or an object with ``agents``,
            ``reset(seed)``, ``step(actions)``, ``save()``, ``load()``, ``checksum(frame)``).
        options: the step's :class:`GameOptions`. Default: every agent played by inputs given to
            :meth:`advance`, episodes without end (for netcode tests and bare envs).
        seed: the game seed; episode ``e`` resets with ``episode_seed(seed, e)``.
        ais: agent → :class:`AIPlayer`, for the agents not played by humans.
        make_env: ``episode -> env``, for step functions that ask for ``episode``: a fresh env per
            episode from the second on.
        render: draw every frame into :attr:`FrameResult.image`.
        name: the game's name in error messages (the step's node id).

    Attributes:
        episode: the current episode (from 0; -1 before :meth:`start`).
        frame: the current :class:`~mugkit.runtime.adapter.Frame`.
        finished: every episode is over.
        waiting_for: the agents a turn-based frame (or an unanswered AI) is waiting for.
    """

    def __init__(self, env: Any, options: GameOptions | None = None, *, seed: int = 0,
                 ais: Mapping[Hashable, AIPlayer] | None = None, make_env: Callable[[int], Any] | None = None,
                 render: bool = False, name: str = "game"):
        self.env = env
        self.options = options or GameOptions(players=dict.fromkeys(env.agents, HUMAN), episodes=sys.maxsize)
        self.seed = seed
        self.ais = dict(ais or {})
        self.make_env = make_env
        self.render_frames = render
        self.name = name
        self.agents = tuple(env.agents)
        self.mappers = {a: KeyMapper(self.options) for a in self.options.humans}
        self.turn_based = self.options.turn_based or bool(getattr(env, "turn_based", False))
        self._hooks = {h: (fn, _wanted(fn, _HOOK_CONTEXT[h])) for h in _HOOK_CONTEXT
                       if (fn := getattr(self.options, h)) is not None}
        self.episode = -1
        self.frame: Any = None
        self.finished = False
        self.waiting_for: tuple = ()
        self._decisions: dict = {}      # AI agent → its latest Decision
        self._fresh: set = set()        # AI agents whose latest decision has not played yet
        self._pending: dict = {}        # async AI agent → its unanswered AIRequest
        self._new_requests: list = []   # requests not yet taken by the caller
        self._turn: dict = {}           # turn-based: human → (action, keys) given for this frame
        self._returns: dict = {}

    # -- playing ---------------------------------------------------------------------------

    def start(self, episode: int = 0) -> FrameResult:
        """Starts episode 0 — or ``episode``, for a game resumed from its record: resets the env,
        calls ``on_episode_start``; returns frame 0."""
        if self.episode != -1:
            raise InternalError(f"{self.name}: start() called twice")
        if not 0 <= episode < self.options.episodes:
            raise InternalError(f"{self.name}: cannot start at episode {episode} of {self.options.episodes}")
        return self._begin_episode(episode)

    def tick(self, keys: Mapping[Hashable, KeyInput | None] | None = None) -> FrameResult | None:
        """Plays one frame: humans' ``keys`` (agent → :class:`KeyInput`; a missing entry is no key)
        become actions, AIs decide, the env steps. After a frame that ended an episode, the tick
        starts the next episode instead.

        Returns:
            The frame, or None when nothing was played: every episode is over
            (:attr:`finished`), or the frame waits for a turn-based human's input or a late AI
            answer (:attr:`waiting_for`).
        """
        return self._play(lambda agent: self._human(agent, (keys or {}).get(agent)))

    def tick_recorded(self, humans: Mapping[Hashable, tuple],
                      ais: Mapping[Hashable, Any] | None = None) -> FrameResult | None:
        """Plays one frame again from its record: each acting human plays the recorded
        ``(action, keys, filled)`` of their step row; AIs decide exactly as :meth:`tick` lets them,
        except those in ``ais`` (agent → recorded action), which play it: in a rollback game an
        AI's action is an input its host decided, from a frame that may have been predicted.
        A browser game resumed after a reload re-simulates its episode this way (the env is
        deterministic), so AI and key state — the last action a ``fill="previous"`` repeats —
        end up as they were.

        Raises:
            InternalError: an acting human has no recorded entry for this frame.
        """
        def recorded(agent: Hashable) -> tuple:
            if agent not in humans:
                raise InternalError(f"{self.name}: no recorded input of {agent!r} for frame {self.frame.index + 1}")
            action, keys, filled = humans[agent]
            mapper = self.mappers[agent]
            if not filled:
                mapper.previous = action
            # Held keys show as active in "pressed" mode; other modes start from no key held.
            mapper.last_held = frozenset(keys or ()) if mapper.mode == "pressed" else frozenset()
            return action, tuple(keys or ()), bool(filled), None

        return self._play(recorded, ais)

    def _play(self, human: Callable[[Hashable], tuple | None],
              ais: Mapping[Hashable, Any] | None = None) -> FrameResult | None:
        between, result = self._between_frames()
        if between:
            return result
        actions, meta = {}, {}
        waiting = []
        for agent in self.frame.acting:
            if agent in self.mappers:
                got = human(agent)
            elif ais is not None and agent in ais:
                got = (ais[agent], None, False, None)
            else:
                got = self._ai(agent)
            if got is None:
                waiting.append(agent)
            else:
                actions[agent], meta[agent] = got[0], got[1:]
        self.waiting_for = tuple(waiting)
        if waiting:
            return None
        self._turn.clear()
        return self._step(actions, meta)

    def advance(self, actions: Mapping[Hashable, Any]) -> FrameResult | None:
        """Plays one frame with given actions (agent → action), as decided elsewhere: by rollback
        peers, or a replay. Agents that do not act this frame are ignored. Like :meth:`tick`, it
        starts the next episode after an episode's last frame, and does nothing once
        :attr:`finished`."""
        between, result = self._between_frames()
        if between:
            return result
        # A bare game's frame (netcode stubs) may not say who acts: then every agent does.
        acting = getattr(self.frame, "acting", self.agents)
        # None from an acting agent is "no move yet" (a turn-based peer's player has not pressed):
        # the frame waits, the env does not step, as tick() waits for a turn.
        self.waiting_for = tuple(a for a in acting if a in actions and actions[a] is None)
        if self.waiting_for:
            return None
        return self._step({a: actions[a] for a in acting if a in actions}, {})

    def _between_frames(self) -> tuple[bool, FrameResult | None]:
        """``(True, result)`` when this call is not a frame of play: it starts the game, starts the
        next episode after one ended, or finds every episode over (None)."""
        if self.episode == -1:
            return True, self.start()
        if self.finished:
            return True, None
        if self.frame.done:
            return True, self._next_episode()
        return False, None

    def hand_over(self, agent: Hashable, ai: AIPlayer) -> None:
        """``ai`` plays human agent ``agent`` from the next frame on (its human was excluded:
        ``mk.Monitor(takeover=...)``); a turn-based frame stops waiting for that human's input."""
        self.mappers.pop(agent, None)
        self._turn.pop(agent, None)
        self.ais[agent] = ai

    def ai_action(self, agent: Hashable) -> Any:
        """What AI ``agent`` plays at the current frame, decided as :meth:`tick` decides it (its
        schedule, its policy, between decisions its ``fill``) — for a rollback host that sends its
        AIs' actions to the other peers as inputs. The step's ``default_action`` while an
        asynchronous AI has not answered yet."""
        got = self._ai(agent)
        return self.options.default_action if got is None else got[0]

    def take_requests(self) -> list[AIRequest]:
        """The decisions asked of asynchronous AIs since the last call; answer each with
        :meth:`answer`."""
        out, self._new_requests = self._new_requests, []
        return out

    def answer(self, request: AIRequest, action: Any) -> None:
        """The policy's answer to ``request``; it plays from the next frame on. An answer to a
        request of an earlier episode is dropped."""
        if self._pending.get(request.agent) == request:
            del self._pending[request.agent]
        if request.episode == self.episode:
            self._decisions[request.agent] = Decision(action, request.episode, request.frame)
            self._fresh.add(request.agent)

    # -- state -----------------------------------------------------------------------------

    def save(self) -> tuple:
        """A snapshot of the whole game — env, episode, frame, key and AI state, policies' state —
        that :meth:`load` restores any number of times."""
        return (self.env, self.env.save(), self.frame, self.episode, self.finished,
                {a: m.get_state() for a, m in self.mappers.items()}, dict(self._decisions), set(self._fresh),
                dict(self._pending), dict(self._turn), dict(self._returns),
                {a: ai.policy.get_state() for a, ai in self.ais.items()})

    def load(self, snapshot: tuple) -> None:
        """Restores a snapshot made by :meth:`save`."""
        (self.env, env_snapshot, self.frame, self.episode, self.finished, mappers, decisions, fresh, pending,
         turn, returns, policies) = snapshot
        self.env.load(env_snapshot)
        for a, state in mappers.items():
            self.mappers[a].set_state(state)
        self._decisions, self._fresh, self._pending = dict(decisions), set(fresh), dict(pending)
        self._turn, self._returns = dict(turn), dict(returns)
        for a, state in policies.items():
            self.ais[a].policy.set_state(state)

    def checksum(self) -> str:
        """The canonical hash of the env state and the current frame."""
        return self.env.checksum(self.frame)

    @property
    def episode_seed(self) -> int:
        """The reset seed of the current episode."""
        return episode_seed(self.seed, self.episode)

    @property
    def returns(self) -> dict:
        """Agent → the sum of its rewards in the current episode (so far)."""
        return dict(self._returns)

    @property
    def unwrapped(self) -> Any:
        """The env the step function returned, unwrapped (what hooks and policies see as ``env``)."""
        inner = getattr(self.env, "env", self.env)
        return getattr(inner, "unwrapped", inner)

    # -- inputs ----------------------------------------------------------------------------

    def _human(self, agent: Hashable, keys: KeyInput | None) -> tuple | None:
        """``(action, keys, filled, decided_at)``, or None while a turn-based frame waits."""
        if agent in self._turn:
            return self._turn[agent]
        mask = action_mask(self.frame.observations.get(agent), self.frame.infos.get(agent))
        action, active, filled = self.mappers[agent].resolve(keys, mask, self.turn_based)
        if action is None and self.turn_based:
            return None
        got = (action, active, filled, None)
        if self.turn_based:
            self._turn[agent] = got  # kept until every acting human has answered
        return got

    def _ai(self, agent: Hashable) -> tuple | None:
        """``(action, keys, filled, decided_at)`` of an AI, or None while it has nothing to play."""
        ai = self.ais.get(agent)
        if ai is None:
            raise InternalError(f"{self.name}: agent {agent!r} acts but has neither keys nor a policy")
        index = self.frame.index
        if ai.decides_at(index):
            if not ai.run_async:
                action = self._act(agent, ai)
                self._decisions[agent] = Decision(action, self.episode, index)
                return action, None, False, index
            if agent not in self._pending:
                self._ask(agent)
        decision = self._decisions.get(agent)
        fresh = agent in self._fresh
        self._fresh.discard(agent)
        if decision is not None and (ai.fill == "previous" or fresh or self.options.default_action is None):
            return decision.action, None, not fresh, decision.frame
        if self.options.default_action is not None:
            return self.options.default_action, None, True, None
        return None

    def _act(self, agent: Hashable, ai: AIPlayer) -> Any:
        f = self.frame
        return ai.policy.act(f.observations.get(agent), agent=agent, frame=f.index,
                             seed=policy_seed(self.episode_seed, agent), space=self.env.action_space(agent),
                             info=f.infos.get(agent), env=self.unwrapped)

    def _ask(self, agent: Hashable) -> None:
        f = self.frame
        request = AIRequest(agent, self.episode, f.index, f.observations.get(agent), f.infos.get(agent),
                            policy_seed(self.episode_seed, agent))
        self._pending[agent] = request
        self._new_requests.append(request)

    # -- frames and episodes ---------------------------------------------------------------

    def _step(self, actions: dict, meta: dict) -> FrameResult:
        self.frame = self.env.step(actions)
        f = self.frame
        for agent, reward in f.rewards.items():
            try:
                self._returns[agent] = self._returns.get(agent, 0) + reward
            except TypeError:
                pass  # a non-numeric reward is the contract check's business
        x = self._hook("on_step", actions=actions, observations=f.observations, rewards=f.rewards,
                       terminated=f.terminated, truncated=f.truncated, infos=f.infos) or {}
        rows = self._rows(actions, meta, x)
        over = f.done
        episode_x = None
        if over:
            episode_x = self._hook("on_episode_end", returns=dict(self._returns), terminated=f.terminated,
                                   truncated=f.truncated)
            self.finished = self.episode + 1 >= self.options.episodes
        return FrameResult(self.episode, f.index, rows, actions, self._draw(), over, self.finished, episode_x)

    def _next_episode(self) -> FrameResult:
        return self._begin_episode(self.episode + 1)

    def _begin_episode(self, episode: int) -> FrameResult:
        self.episode = episode
        if episode > 0 and self.make_env is not None:
            self.env = self.make_env(episode)
        self.frame = self.env.reset(self.episode_seed)
        self._decisions.clear()
        self._fresh.clear()
        self._pending.clear()
        self._turn.clear()
        self._returns = {}
        self.waiting_for = ()
        for mapper in self.mappers.values():
            mapper.previous = None
        for ai in self.ais.values():
            ai.policy.reset()
        f = self.frame
        episode_x = self._hook("on_episode_start", observations=f.observations, infos=f.infos)
        return FrameResult(episode, f.index, self._rows({}, {}, {}), {}, self._draw(), f.done, False, episode_x)

    def _rows(self, actions: dict, meta: dict, x: dict) -> list[StepRow]:
        f = self.frame
        rows = []
        for agent in self.agents:
            if agent not in actions and agent not in f.observations and agent not in f.rewards:
                continue  # gone from the game
            keys, filled, decided_at = meta.get(agent, (None, False, None))
            rows.append(StepRow(self.episode, f.index, agent, actions.get(agent), keys, filled, decided_at,
                                f.rewards.get(agent, 0), bool(f.terminated.get(agent, False)),
                                bool(f.truncated.get(agent, False)), f.observations.get(agent), f.infos.get(agent),
                                x))
        return rows

    def render(self) -> Any:
        """The current frame drawn (shapes, or an RGB array), on demand: for callers that draw less
        often than every frame (images streamed at a capped rate)."""
        return self.env.render()

    def _draw(self) -> Any:
        return self.env.render() if self.render_frames else None

    def _hook(self, name: str, **context: Any) -> dict | None:
        if name not in self._hooks:
            return None
        fn, wanted = self._hooks[name]
        context.update(env=self.unwrapped, episode=self.episode, frame=self.frame.index, seed=self.episode_seed)
        where = f"{self.name}: {name} at episode {self.episode}, frame {self.frame.index}"
        try:
            out = fn(**{k: context[k] for k in wanted})
        except Exception as exc:
            tb = traceback.extract_tb(exc.__traceback__)
            at = f" at {tb[-1].filename}:{tb[-1].lineno}" if tb else ""
            raise HookError(f"{where} raised {type(exc).__name__}: {exc}{at}") from exc
        if out is not None and not isinstance(out, dict):
            raise HookError(f"{where} returned {type(out).__name__}; a hook returns a dict of columns or None")
        return out
