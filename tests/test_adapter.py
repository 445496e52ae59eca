"""mugkit.runtime.adapter: one interface over Gymnasium, PettingZoo parallel/AEC and duck-typed envs."""

from __future__ import annotations

import random
import re

import gymnasium
import pytest
from pettingzoo.classic import tictactoe_v3

from mugkit.runtime.adapter import EnvError, adapt, env_agents, env_kind
from mugkit.spaces import Discrete


class DuckParallel:
    """A numpy-free parallel env: two agents walk a line; "b" dies when it reaches 3, "a" at 5."""

    metadata = {"name": "duck"}

    def __init__(self):
        self.possible_agents = ["a", "b"]
        self.agents: list = []
        self.pos: dict = {}
        self.rng = None

    def action_space(self, agent):
        return Discrete(2)

    def observation_space(self, agent):
        return Discrete(100)

    def reset(self, seed=None, options=None):
        self.rng = random.Random(seed)
        self.agents = list(self.possible_agents)
        self.pos = {a: 0 for a in self.agents}
        self.bonus = self.rng.randrange(1000)
        return {a: self.pos[a] for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        assert set(actions) == set(self.agents), actions
        for a, act in actions.items():
            self.pos[a] += act
        self.bonus = self.rng.randrange(1000)
        limit = {"a": 5, "b": 3}
        terms = {a: self.pos[a] >= limit[a] for a in self.agents}
        obs = {a: self.pos[a] for a in self.agents}
        rewards = {a: float(act) for a, act in actions.items()}
        truncs = {a: False for a in self.agents}
        infos = {a: {} for a in self.agents}
        self.agents = [a for a in self.agents if not terms[a]]
        return obs, rewards, terms, truncs, infos


def _run(game, actions_per_frame, seed=11):
    game.reset(seed)
    sums = [game.checksum()]
    for actions in actions_per_frame:
        if game.frame.done:
            break
        game.step(actions)
        sums.append(game.checksum())
    return sums


# --- Gymnasium -------------------------------------------------------------------------------------------


def test_cartpole_single_agent_from_players():
    game = adapt(gymnasium.make("CartPole-v1"), ["player"])
    assert game.kind == "gymnasium" and not game.turn_based
    assert game.agents == ("player",)
    assert env_kind(game.env) == "gymnasium" and env_agents(game.env) is None
    frame = game.reset(3)
    assert frame.index == 0 and frame.acting == ("player",) and list(frame.observations) == ["player"]
    assert game.observation_space("player").contains(frame.observations["player"])
    for i in range(1, 200):
        frame = game.step({"player": 1})  # always push right: the pole falls within a few dozen frames
        assert frame.index == i
        if frame.done:
            break
    assert frame.done and frame.terminated == {"player": True} and frame.truncated == {"player": False}
    assert frame.rewards == {"player": 1.0}
    with pytest.raises(EnvError, match=rf"^step\(\) after the episode ended at frame {frame.index}: reset first$"):
        game.step({"player": 0})


def test_gymnasium_default_agent_and_two_players_error():
    assert adapt(gymnasium.make("CartPole-v1")).agents == ("player",)
    env = gymnasium.make("CartPole-v1")
    with pytest.raises(EnvError) as info:
        adapt(env, ["p1", "p2"])
    assert re.fullmatch(rf"{type(env).__name__} is a single-agent env, so players must name exactly one agent; "
                        r"it names 2: p1, p2", str(info.value))


def test_max_steps_truncates():
    game = adapt(gymnasium.make("CartPole-v1"), ["p"], max_steps=3)
    game.reset(0)
    frames = [game.step({"p": i % 2}) for i in range(3)]
    assert [f.done for f in frames] == [False, False, True]
    assert frames[-1].truncated == {"p": True} and frames[-1].terminated == {"p": False}
    with pytest.raises(EnvError, match="after the episode ended at frame 3"):
        game.step({"p": 0})
    game.reset(0)  # a reset starts a fresh episode
    assert not game.step({"p": 0}).done


def test_checksum_stable_across_identical_runs_and_sensitive_to_state():
    actions = [{"p": i % 2} for i in range(20)]
    first = _run(adapt(gymnasium.make("CartPole-v1"), ["p"]), actions)
    second = _run(adapt(gymnasium.make("CartPole-v1"), ["p"]), actions)
    assert first == second
    assert all(re.fullmatch(r"[0-9a-f]{16}", s) for s in first)
    assert len(set(first)) == len(first)  # every frame changes the state
    other_seed = _run(adapt(gymnasium.make("CartPole-v1"), ["p"]), actions, seed=12)
    assert other_seed[0] != first[0]
    other_actions = _run(adapt(gymnasium.make("CartPole-v1"), ["p"]), [{"p": 1 - a["p"]} for a in actions])
    assert other_actions[0] == first[0] and other_actions[1] != first[1]


def test_cartpole_save_load_round_trip_continues_identically():
    game = adapt(gymnasium.make("CartPole-v1"), ["p"])
    game.reset(5)
    for i in range(4):
        game.step({"p": i % 2})
    snapshot = game.save()
    at_save = game.checksum()
    actions = [{"p": (i * 7) % 2} for i in range(6)]
    reference = []
    for a in actions:
        game.step(a)
        reference.append(game.checksum())
    for _ in range(2):  # a snapshot loads any number of times
        game.load(snapshot)
        assert game.checksum() == at_save and game.frame.index == 4
        replay = []
        for a in actions:
            game.step(a)
            replay.append(game.checksum())
        assert replay == reference


def test_checksum_of_an_explicit_frame():
    game = adapt(gymnasium.make("CartPole-v1"), ["p"])
    first = game.reset(0)
    game.step({"p": 0})
    assert game.checksum(first) != game.checksum()


# --- a duck-typed, numpy-free ParallelEnv ------------------------------------------------------------------


def test_duck_parallel_env_steps_live_agents():
    game = adapt(DuckParallel(), ["b", "a"])
    assert game.kind == "parallel" and game.agents == ("b", "a")  # the order players gives
    frame = game.reset(1)
    assert frame.acting == ("b", "a") and frame.observations == {"a": 0, "b": 0}
    for _ in range(3):
        frame = game.step({"a": 1, "b": 1})
    assert frame.terminated == {"a": False, "b": True} and frame.acting == ("a",)
    assert frame.rewards == {"a": 1.0, "b": 1.0}
    frame = game.step({"a": 1})  # a dead agent needs no action
    assert frame.acting == ("a",) and frame.observations == {"a": 4}
    frame = game.step({"a": 1, "b": 0})  # extra actions are ignored
    assert frame.done and frame.terminated == {"a": True}


def test_duck_parallel_save_load_and_checksums():
    actions = [{"a": i % 2, "b": 1} for i in range(12)]
    first = _run(adapt(DuckParallel()), actions)
    assert first == _run(adapt(DuckParallel()), actions)
    game = adapt(DuckParallel())
    game.reset(11)
    game.step(actions[0])
    snap = game.save()
    saved = game.checksum()
    rest = []
    for a in actions[1:]:
        if game.frame.done:
            break
        game.step(a)
        rest.append(game.checksum())
    assert rest == first[2:2 + len(rest)]
    game.load(snap)
    assert game.checksum() == saved == first[1]
    assert game.frame.acting == ("a", "b") and game.env.pos == {"a": 0, "b": 1}
    replay = []
    for a in actions[1:1 + len(rest)]:
        game.step(a)
        replay.append(game.checksum())
    assert replay == rest


def test_checksum_covers_the_env_rng():
    game = adapt(DuckParallel())
    game.reset(3)
    before = game.checksum()
    game.env.rng.random()
    assert game.checksum() != before


def test_wrong_agents_are_named():
    with pytest.raises(EnvError, match=re.escape("players must name each of the env's possible_agents ['a', 'b'] "
                                                 "once: ['c'] are not agents of the env; ['b'] have no player")):
        adapt(DuckParallel(), ["a", "c"])
    with pytest.raises(EnvError, match=re.escape("players names an agent twice: ['a', 'a', 'b']")):
        adapt(DuckParallel(), ["a", "a", "b"])


def test_missing_action_and_step_before_reset():
    game = adapt(DuckParallel())
    with pytest.raises(EnvError, match=r"^step\(\) before reset\(\)"):
        game.step({"a": 0, "b": 0})
    game.reset(0)
    with pytest.raises(EnvError, match=re.escape("frame 1: no action for ['b']")):
        game.step({"a": 0})
    assert game.frame.index == 0  # the failed step changed nothing


def test_env_without_step_is_rejected():
    class NotAnEnv:
        def reset(self, seed=None):
            return 0, {}

    with pytest.raises(EnvError, match=r"^a game step must return an env with reset\(\) and step\(\); "
                                       r"NotAnEnv has no step\(\)$"):
        adapt(NotAnEnv())


# --- PettingZoo AEC (tictactoe) -----------------------------------------------------------------------------

_WIN = [0, 3, 1, 4, 2]  # player_1 takes the top row


def test_tictactoe_one_agent_acts_per_frame():
    game = adapt(tictactoe_v3.env())
    assert game.kind == "aec" and game.turn_based and game.agents == ("player_1", "player_2")
    frame = game.reset(1)
    order = []
    for cell in _WIN:
        assert len(frame.acting) == 1 and set(frame.observations) == set(frame.acting)
        (agent,) = frame.acting
        obs = frame.observations[agent]
        assert obs["action_mask"][cell] == 1
        order.append(agent)
        frame = game.step({agent: cell})
    assert order == ["player_1", "player_2"] * 2 + ["player_1"]
    assert frame.done and frame.index == 5
    assert frame.rewards == {"player_1": 1, "player_2": -1}
    assert game.env.agents == []  # the dead agents were stepped with None by the adapter
    with pytest.raises(EnvError, match="after the episode ended at frame 5"):
        game.step({"player_2": 0})


def test_tictactoe_final_frame_says_who_terminated():
    game = adapt(tictactoe_v3.env())
    frame = game.reset(1)
    for cell in _WIN:
        frame = game.step({frame.acting[0]: cell})
    assert frame.terminated == {"player_1": True, "player_2": True}


def test_tictactoe_save_load_mid_game():
    game = adapt(tictactoe_v3.env())
    frame = game.reset(1)
    frame = game.step({frame.acting[0]: 4})
    snap = game.save()
    saved = game.checksum()
    reference = []
    for cell in [0, 8, 2, 6]:
        frame = game.step({frame.acting[0]: cell})
        reference.append(game.checksum())
    game.load(snap)
    assert game.checksum() == saved and game.frame.acting == ("player_2",)
    frame = game.frame
    replay = []
    for cell in [0, 8, 2, 6]:
        frame = game.step({frame.acting[0]: cell})
        replay.append(game.checksum())
    assert replay == reference


def test_tictactoe_max_steps():
    game = adapt(tictactoe_v3.env(), max_steps=2)
    frame = game.reset(0)
    frame = game.step({frame.acting[0]: 0})
    frame = game.step({frame.acting[0]: 1})
    assert frame.done and frame.truncated == {"player_1": True, "player_2": True}


def test_an_env_without_spaces_is_told_how_to_declare_them():
    class Bare:
        def reset(self, seed=None, options=None):
            return 0, {}

        def step(self, action):
            return 0, 0.0, False, False, {}

    with pytest.raises(EnvError, match=r"^Bare has no action_space and no observation_space: set them in __init__: "
                                       r"self\.action_space = mugkit\.spaces\.Discrete\(3\)"):
        adapt(Bare(), ["player"])

    class BareParallel(Bare):
        possible_agents = ["a", "b"]

        def action_space(self, agent):
            return Discrete(2)

    with pytest.raises(EnvError, match=r"^BareParallel has no observation_space: define the methods "
                                       r"action_space\(self, agent\) and observation_space\(self, agent\)"):
        adapt(BareParallel(), ["a", "b"])


class KeepsItsAgents:
    """A parallel env that terminates everyone but never empties ``agents`` (PettingZoo asks it to)."""

    possible_agents = ["a", "b"]

    def action_space(self, agent):
        return Discrete(2)

    def observation_space(self, agent):
        return Discrete(9)

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        done = self.t >= 3
        return ({a: self.t for a in self.agents}, {a: 1.0 for a in self.agents}, {a: done for a in self.agents},
                {a: False for a in self.agents}, {a: {} for a in self.agents})


def test_a_parallel_episode_ends_when_every_agent_finished_even_if_the_env_keeps_them():
    """Before, such an episode went on until max_steps, rewarding frames after the end."""
    game = adapt(KeepsItsAgents(), ["a", "b"])
    game.reset(0)
    frames = [game.step({"a": 0, "b": 1}) for _ in range(3)]
    assert [f.done for f in frames] == [False, False, True] and frames[-1].acting == ()
