"""``contract``: the env keeps the Gymnasium/PettingZoo API and draws well-formed shapes.

Named checks, each failing with call / expected / actual / likely cause:

- ``build``: the step builds, for every condition of ``CONDITIONS`` (returns an env whose agents
  are its players; keys and ``default_action`` lie inside the action space; a real-time human game
  has a default action);
- ``keys``: every key name is a ``KeyboardEvent.key`` a browser sends (``" "``, not ``"Space"``);
- ``library_checker``: Gymnasium's ``check_env``, PettingZoo's ``parallel_api_test`` or (AEC envs)
  ``api_test``, through a view with gymnasium spaces for numpy-free envs and envs that are not
  subclasses of the library's base class (duck-typed browser envs);
- ``reset_seed``: a reset with a seed gives the same frame on a fresh env and after playing;
- ``frames``: observations lie in the observation space, rewards are numbers, flags are bools;
- ``render``: shapes are well formed (``mugkit.draw``), or an RGB array for server steps;
- ``browser_import`` (browser steps): the experiment imports and plays with numpy, gymnasium,
  pettingzoo and other server-only packages blocked, as in Pyodide.
"""

from __future__ import annotations

import os
import re
import warnings
from typing import Any

from ..paths import passes_through_user_code, user_frames
from ..runtime import draw
from ..runtime.state import diff
from .base import CheckContext, Found, crash_report
from .explored import explored_crash
from .diagnose import explain, trace_sources
from .fresh import start_replays
from .inputs import fixed_plans, plan_to_data
from .play import play, tick
from .report import CheckFailure

__all__ = ["check_contract", "reproduce", "BLOCKED_IN_BROWSER"]

#: Packages an experiment with a browser step must not need at import time (not in Pyodide offline).
BLOCKED_IN_BROWSER = ("numpy", "gymnasium", "pettingzoo", "torch", "onnxruntime", "pandas", "scipy", "sanic",
                      "socketio", "pygame", "jax", "tensorflow")


def _fail(ctx: CheckContext, name: str, summary: str, cause: str | None = None, raised_at=()) -> CheckFailure:
    return CheckFailure(ctx.nodeid, f"[{name}] {summary}", cause=cause, raised_at=list(raised_at))


def check_contract(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` naming the first named check that fails."""
    from ..steps import StepError

    try:
        ctx.game(0)
    except StepError as exc:
        raise _fail(ctx, "build", str(exc)) from None
    _build_every_condition(ctx)
    _key_names(ctx)
    _library_checker(ctx)
    _reset_seed(ctx)
    _frames_and_render(ctx)
    if ctx.step.runtime == "browser":
        _browser_import(ctx)


def _build_every_condition(ctx: CheckContext) -> None:
    """The step builds for a participant (or group) of every condition of ``CONDITIONS``, not only
    the first, which the other checks play."""
    from ..steps import StepError
    from .play import make_game

    for condition in ctx.experiment.conditions[1:]:
        try:
            make_game(ctx.step, ctx.experiment.policies, 0, [condition])
        except StepError as exc:
            first, *rest = str(exc).split("\n", 1)
            raise _fail(ctx, "build", "\n".join([f"{first} (for a participant in condition {condition!r})", *rest])) \
                from None


def _key_names(ctx: CheckContext) -> None:
    """Every key name is one a browser sends (``" "``, not ``"Space"``): a mapping no key press
    can reach leaves the participant without that action."""
    from ..runtime.key_names import key_name_problem

    for key in ctx.step.options.keys or {}:
        for name in key if isinstance(key, tuple) else (key,):
            problem = key_name_problem(name)
            if problem:
                raise _fail(ctx, "keys", f"{ctx.step.location()}: {ctx.step.name}: keys[{key!r}]: {problem}",
                            "keys= maps KeyboardEvent.key names, as a browser reports them: ' ' for the space "
                            "bar, 'ArrowUp', 'Enter', 'Escape', a letter or digit itself")


def reproduce(ctx: CheckContext, seed: int = 0, plan=None) -> None:
    """With keys (``plan``), plays that example checking every frame; else runs the whole check
    again (it is deterministic)."""
    if plan is not None and len(plan):
        _play_checked(ctx, seed, plan)
    else:
        check_contract(ctx)


def _library_checker(ctx: CheckContext) -> None:
    from .views import aec_view, gymnasium_view, needs_view, parallel_view

    game = ctx.game(0).env
    env, kind = game.env, game.kind
    if kind == "gymnasium":
        from gymnasium.utils.env_checker import check_env

        name = "Gymnasium's check_env"

        def checker(env):
            check_env(gymnasium_view(env) if needs_view(env, kind) else env, skip_render_check=True,
                      skip_close_check=True)
    else:
        try:
            from pettingzoo.test import api_test, parallel_api_test
        except ImportError:
            ctx.notes.append(f"{ctx.step_nodeid}: pettingzoo is not installed, so its API test was skipped")
            return
        if kind == "parallel":
            name = "PettingZoo's parallel_api_test"

            def checker(env):
                parallel_api_test(_seeded(parallel_view(env) if needs_view(env, kind) else env), num_cycles=100)
        else:
            name = "PettingZoo's api_test"

            def checker(env):
                api_test(_seeded(aec_view(env) if needs_view(env, kind) else env), num_cycles=100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            checker(env)
        except Exception as exc:  # the checkers assert; some envs raise their own errors
            if not isinstance(exc, AssertionError):
                where = user_frames(exc)
                raise _fail(ctx, "library_checker", f"the env raised {type(exc).__name__}: {exc} under {name}",
                            raised_at=where) from None
            cause = explain(_env_sources(lambda: checker(ctx.game(0).env.env))) or _library_hint(str(exc))
            raise _fail(ctx, "library_checker", f"{name} failed: {type(exc).__name__}: {exc}", cause) from None
    for w in caught:
        text = str(w.message)
        if (issubclass(w.category, DeprecationWarning) or "environment creation API" in text
                or "is different from the unwrapped version" in text):
            continue  # the libraries' own deprecations, and gym.make's wrappers: not the env's doing
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # gymnasium colours its warnings
        ctx.notes.append(f"{ctx.step_nodeid}: {name} warns: {text[:200]}")


def _env_sources(run) -> list:
    """The nondeterminism sources a library checker's run reaches, less what its own ``reset()``
    calls without a seed cause: generators made without a seed, in the library or in the env's
    ``reset`` (the determinism check finds an env that makes them itself)."""
    import importlib.util

    libraries = []
    for name in ("gymnasium", "pettingzoo"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            libraries.append(os.path.dirname(spec.origin))
    return [s for s in trace_sources(run) if s.kind != "unseeded"
            and not os.path.abspath(s.where.rsplit(":", 1)[0]).startswith(tuple(libraries))]


#: What the libraries' checkers' terse assertions usually mean, in the researcher's terms.
_LIBRARY_HINTS = (
    ("Deterministic", "the env is not a function of its seed and actions: it draws from randomness that "
                      "reset(seed) does not seed, reads a clock, or keeps state in a module or class (the "
                      "determinism check of this step locates it)"),
    ("!= set()", "after every agent is terminated or truncated, env.agents must be empty: remove finished "
                 "agents from self.agents in step()"),
    ("space", "build the spaces once (in __init__) and return the same object on every call; observations "
              "must lie in the observation space"),
)


def _library_hint(message: str) -> str:
    for needle, hint in _LIBRARY_HINTS:
        if needle in message:
            return hint
    return "the env does not follow the API its kind promises (see the message above)"


def _reset_seed(ctx: CheckContext) -> None:
    """A reset with a seed gives the same frame on a fresh env and on one that already played."""
    game = ctx.game(0)
    plan = fixed_plans(ctx.step, ctx.frames)[0]
    try:
        played = play(game, plan, min(ctx.frames, 20), keep_data=True)
    except Exception as exc:  # a crash while playing: reported as the frames check reports one, with its keys
        if not passes_through_user_code(exc):
            raise  # mugkit's own bug
        found = Found(0, plan, crash=exc)
        found.shrunk, found.frames = False, max(ctx.frames, len(plan))
        raise _frames_crash(ctx.sized(found), found) from None
    again = game.driver()  # the same env object, reset again by a new driver
    again.start()
    seed = again.episode_seed
    if again.checksum() != played.hashes[0]:
        differs = diff(played.data[0], game.env.frame_data(again.frame))
        raise _fail(ctx, "reset_seed", f"reset(seed={seed}) after playing gave another frame than reset(seed={seed}) "
                    f"on a fresh env: " + "; ".join(differs),
                    "reset() does not set every attribute anew, or does not reseed all randomness from its seed "
                    "(for gymnasium.Env: call super().reset(seed=seed) and draw from self.np_random)")


def _is_number(x) -> bool:
    return (isinstance(x, (int, float)) and not isinstance(x, bool)) or (
        type(x).__module__ == "numpy" and getattr(x, "dtype", None) is not None and x.dtype.kind in "iuf"
        and getattr(x, "shape", None) == ())


def _is_flag(x) -> bool:
    return isinstance(x, bool) or (type(x).__module__ == "numpy" and getattr(x, "dtype", None) is not None
                                   and x.dtype.kind == "b")


def _frames_and_render(ctx: CheckContext) -> None:
    """Plays a fixed plan, each playthrough, then what exploration found (a crash it reached, the
    trajectories it kept), checking every frame as it comes."""
    for seed, plan in [(0, fixed_plans(ctx.step, ctx.frames)[-1])] + ctx.scripted_examples():
        _play_checked(ctx, seed, plan)
    crash = explored_crash(ctx)
    if crash is not None:
        raise _frames_crash(ctx.sized(crash), crash)
    exploration = ctx.exploration()
    # Not the playouts to the episode's end: a crash there stopped exploration already, and their
    # thousands of frames would cost more than they add here.
    for t in exploration.trajectories if exploration is not None else ():
        if not t.playout:
            _play_checked(ctx, t.seed, t.plan, draw_every=EXPLORED_DRAW_EVERY)


#: Explored trajectories are drawn every this many frames (and at their last): exploration
#: reaches far more frames than a plan, and drawing most of them tells little new.
EXPLORED_DRAW_EVERY = 10


def _frames_crash(ctx: CheckContext, found: Found) -> CheckFailure:
    failure = crash_report(ctx, found)
    failure.summary = f"[frames] {failure.summary}"
    return failure


def _play_checked(ctx: CheckContext, seed: int, plan, draw_every: int = 1) -> None:
    """Plays one example, checking every frame (its drawing every ``draw_every`` frames and the
    last); a crash is reported with the example's keys and a reproduction."""
    game = ctx.game(seed)
    driver = game.driver(render=draw_every == 1)
    result = driver.start()
    ticks = max(ctx.frames, len(plan))
    for i in range(ticks):
        image = result.image if draw_every == 1 else (
            driver.render() if i % draw_every == 0 or i == ticks - 1 or driver.frame.done else _NOT_DRAWN)
        _check_frame(ctx, game, driver.frame, result, image)
        if driver.frame.done:
            break
        try:
            result = tick(game, driver, plan, i)
        except Exception as exc:
            if not passes_through_user_code(exc):
                raise  # mugkit's own bug
            found = Found(seed, plan, crash=exc)
            found.shrunk, found.frames = False, max(ctx.frames, len(plan))
            raise _frames_crash(ctx.sized(found), found) from None
        if result is None:
            break


#: An explored frame whose drawing is not checked (see ``_play_checked``).
_NOT_DRAWN = object()


def _check_frame(ctx: CheckContext, game, f, result, image) -> None:
    """The frame's actions, observations, rewards, flags and drawing are well formed."""
    env = game.env
    for agent, action in result.actions.items():
        space = env.action_space(agent)
        if not space.contains(action):
            who = f"policy {ctx.step.players[agent]!r}" if agent in game.ais else "the keys"
            raise _fail(ctx, "frames", f"frame {f.index}: {who} gave {action!r} for {agent!r}, outside its "
                        f"action space {space!r}", "see the policy check of this step")
    for agent, obs in f.observations.items():
        space = env.observation_space(agent)
        if not space.contains(obs):
            raise _fail(ctx, "frames", f"frame {f.index}: the observation of {agent!r} is outside its "
                        f"observation space {space!r}: {obs!r:.120}")
    for agent, r in f.rewards.items():
        if not _is_number(r):
            raise _fail(ctx, "frames", f"frame {f.index}: the reward of {agent!r} is {r!r}, not a number")
    for name, flags in (("terminated", f.terminated), ("truncated", f.truncated)):
        for agent, flag in flags.items():
            if not _is_flag(flag):
                raise _fail(ctx, "frames", f"frame {f.index}: {name} of {agent!r} is {flag!r}, not a bool")
    if image is not _NOT_DRAWN:
        _check_render(ctx, image, f.index)


def _check_render(ctx: CheckContext, shapes, frame: int) -> None:
    if type(shapes).__name__ == "ndarray":
        if ctx.step.runtime == "browser":
            raise _fail(ctx, "render", "render() returns an image array, but a browser step draws with "
                        "mugkit.draw shapes", "create the env with render_mode='mug' or give the step render=...")
        if shapes.ndim != 3 or shapes.shape[2] not in (3, 4) or shapes.dtype.name != "uint8":
            raise _fail(ctx, "render", f"render() returned an array of shape {shapes.shape} and dtype "
                        f"{shapes.dtype}; an image is (height, width, 3) uint8")
        return
    if shapes is None:
        raise _fail(ctx, "render", "render() returned None: the step has nothing to draw",
                    "create the env with render_mode='mug' (or 'rgb_array' on the server), or give the step "
                    "render=lambda env: [mk.draw.rect(...), ...]")
    problems = draw.validate(shapes)
    if problems:
        raise _fail(ctx, "render", f"frame {frame}: render() output is not well formed: " + "; ".join(problems[:5]))
    _check_sprite_files(ctx, shapes, frame)


def _check_sprite_files(ctx: CheckContext, shapes, frame: int) -> None:
    """Every sprite's image (and atlas) is a file next to the experiment: the participant's browser
    would show nothing where it is missing."""
    from ..runtime.files import missing_file

    folder = os.path.dirname(os.path.abspath(ctx.experiment.path))
    for shape in shapes:
        if not isinstance(shape, dict) or shape.get("type") != "sprite":
            continue
        for field in ("image", "atlas"):
            name = shape.get(field)
            if not isinstance(name, str) or name.startswith(("http://", "https://", "data:")):
                continue
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                raise _fail(ctx, "render", f"frame {frame}: a sprite's {field} " + missing_file("file", path),
                            f"{field} names a file relative to the experiment's folder ({folder}), served at "
                            f"/<experiment>/files/{name}")


def _browser_import(ctx: CheckContext) -> None:
    request = {"step": str(ctx.step_nodeid), "seed": 1, "keys": plan_to_data(fixed_plans(ctx.step, 20)[0]),
               "frames": 20, "rootdir": ctx.rootdir, "python_only": True}
    (run,) = start_replays(request, ctx.rootdir, [None], blocked=BLOCKED_IN_BROWSER)
    code, answer, err = run.result()
    if answer is None:
        tail = "\n".join(err.strip().splitlines()[-6:])
        raise _fail(ctx, "browser_import", "the experiment does not import and play without server-only packages "
                    f"({', '.join(BLOCKED_IN_BROWSER[:3])}, …), as the browser runtime needs:\n{tail}",
                    "import numpy/gymnasium/torch only inside server steps' functions or in modules that "
                    "browser steps do not import; declare spaces with mugkit.spaces")


def _seeded(env: Any) -> Any:
    """``env`` with its agents' action spaces seeded: PettingZoo's API tests play actions the
    spaces sample, so unseeded spaces would make the verdict a matter of luck (a finished agent
    reached in one run and not in the next, say), and ``check`` and ``serve``'s pre-flight could
    disagree. Spaces an env makes anew on every call stay unseeded; the views keep theirs."""
    for i, agent in enumerate(env.possible_agents):
        space = env.action_space(agent)
        if hasattr(space, "seed"):
            space.seed(i)
    return env
