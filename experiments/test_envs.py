"""Unit tests of the example envs: determinism, state round trips, speed of the benchmark env.

``mugkit check experiments/`` runs the framework's own checks on the game steps; these tests
pin properties of the envs themselves (and run with plain ``pytest experiments/test_envs.py``).
The module name starts with ``test_``, so mugkit does not collect it as an experiment.
"""

from __future__ import annotations

import copy
import random
import time

import pytest

from envs.catch import CatchEnv
from envs.chase import ChaseEnv
from envs.gather import GatherEnv
from mugkit import draw

PARALLEL = [GatherEnv, ChaseEnv]


def _actions(env, rng: random.Random):
    """Random actions for the live agents (or the one agent of a Gymnasium env)."""
    if hasattr(env, "possible_agents"):
        return {a: rng.randrange(env.action_space(a).n) for a in env.agents}
    return rng.randrange(env.action_space.n)


def _done(out) -> bool:
    _, _, term, trunc, _ = out
    if isinstance(term, dict):
        return all(term.values()) or all(trunc.values())
    return term or trunc


def _plain(out):
    """A step's output with numpy arrays turned into lists, so outputs compare with ==."""
    return copy.deepcopy(out) if not hasattr(out[0], "tolist") else (out[0].tolist(),) + tuple(out[1:])


def _trajectory(make, seed: int, action_seed: int, steps: int = 400) -> list:
    env = make()
    rng = random.Random(action_seed)
    frames = [copy.deepcopy(env.reset(seed=seed))]
    for _ in range(steps):
        out = env.step(_actions(env, rng))
        frames.append(_plain(out))
        if _done(out):
            break
    return frames


def _makers():
    makers = [CatchEnv, GatherEnv, ChaseEnv]
    try:
        from envs.orchard import OrchardEnv  # needs numpy and gymnasium (server-only env)
        makers.append(OrchardEnv)
    except ImportError:
        pass
    return makers


@pytest.mark.parametrize("make", _makers(), ids=lambda m: m.__name__)
def test_same_seed_and_actions_give_the_same_trajectory(make):
    a = _trajectory(make, seed=7, action_seed=1)
    b = _trajectory(make, seed=7, action_seed=1)
    assert [repr(f) for f in a] == [repr(f) for f in b]
    c = _trajectory(make, seed=8, action_seed=1)
    assert [repr(f) for f in a] != [repr(f) for f in c], "the seed should matter"


@pytest.mark.parametrize("make", _makers(), ids=lambda m: m.__name__)
def test_set_state_mid_episode_then_continue_is_identical(make):
    env = make()
    env.reset(seed=3)
    rng = random.Random(5)
    for _ in range(150):
        if _done(env.step(_actions(env, rng))):
            pytest.fail("episode ended before the snapshot")
    saved = env.get_state()
    saved_copy = copy.deepcopy(saved)
    actions = [_actions(env, rng) for _ in range(200)]

    def run(e):
        out = []
        for act in actions:
            if isinstance(act, dict):
                act = {a: v for a, v in act.items() if a in e.agents}
            step = e.step(act)
            out.append(repr(_plain(step)))
            if _done(step):
                break
        return out, repr(e.get_state())

    first = run(env)
    env.render()
    env.set_state(saved)                      # the same env, rolled back
    assert repr(env.get_state()) == repr(saved_copy)
    second = run(env)
    fresh = make()                            # a new env, restored
    fresh.reset(seed=999)
    fresh.set_state(saved)
    third = run(fresh)
    assert first == second == third
    assert repr(saved) == repr(saved_copy), "set_state must not alias the snapshot"


@pytest.mark.parametrize("make", _makers(), ids=lambda m: m.__name__)
def test_render_is_well_formed_and_changes_nothing(make):
    env = make()
    env.reset(seed=11)
    rng = random.Random(2)
    for _ in range(120):
        before = repr(env.get_state())
        shapes = env.render()
        assert draw.validate(shapes) == []
        assert repr(env.get_state()) == before
        if _done(env.step(_actions(env, rng))):
            break


@pytest.mark.parametrize("make", PARALLEL + [CatchEnv], ids=lambda m: m.__name__)
def test_observations_are_inside_their_spaces(make):
    env = make()
    obs, _ = env.reset(seed=4)
    rng = random.Random(4)
    for _ in range(2000):
        if isinstance(obs, dict):
            for agent, o in obs.items():
                assert env.observation_space(agent).contains(o), (agent, o)
        else:
            assert env.observation_space.contains(obs), obs
        out = env.step(_actions(env, rng))
        obs = out[0]
        if _done(out):
            break


def test_gather_step_is_cheap():
    """The netcode benchmark steps this env many times per frame: keep it in the tens of µs."""
    env = GatherEnv()
    env.reset(seed=0)
    rng = random.Random(0)
    actions = [{"p0": rng.randrange(9), "p1": rng.randrange(9)} for _ in range(1000)]
    start = time.perf_counter()
    for act in actions:
        env.step(act)
        env.set_state(env.get_state())
    per_step = (time.perf_counter() - start) / len(actions)
    assert per_step < 200e-6, f"step + save + restore took {per_step * 1e6:.0f} µs"
