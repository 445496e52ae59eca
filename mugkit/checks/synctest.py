"""``synctest``: saving, rolling back and re-simulating gives exactly the frames of a plain run.

GGPO's SyncTest, made thorough. Every frame ``f`` is played and rendered, then rolled back twice
(``W`` is the step's ``max_rollback``, or ``f`` while ``f < W``):

- through the whole window: restored to frame ``f - W`` and re-simulated to ``f``, so every frame
  is re-simulated and compared ``W`` times, from ever older snapshots — every frame that any
  shorter rollback from ``f`` would re-simulate. The first re-simulated frame is saved again, as a
  rollback session does, and the next frame's long rollback restores that snapshot;
- by a distance ``s`` that cycles through ``1 … W`` from frame to frame, restoring a snapshot of
  frame ``W·k`` that earlier frames of the cycle already restored (at distances ``1 … s - 1``, the
  env stepped on from it since): a restore that misses a field equal again ``W`` frames later (a
  flag that toggles) shows at a shorter distance, and a restore that aliases its snapshot (the env
  keeps and edits the snapshot's own objects) shows when that snapshot is restored again.

Every hash — right after each restore and after each re-simulated frame — must equal the hash of
the same frame in a reference run that never rolled back and never rendered, so a ``render()``
that changes the state is caught too. All of these are compared within this process, so they are
:func:`~mugkit.runtime.adapter.local_fingerprints` (a CRC of each array instead of SHA-256 over
megabytes of pixels), not canonical hashes.

On a failure the check replays the frames around it to say what differs and, when a restore is
to blame, which attributes of the env the restore left out.
"""

from __future__ import annotations

import time

from ..runtime.adapter import local_fingerprints
from ..runtime.state import diff, state_view
from .base import CheckContext, Found, reproduce_property, run_property
from .diagnose import explain, trace_sources
from .inputs import KeyPlan
from .neutralize import neutralized, plain_runs_differ, split_sources
from .play import Run, first_difference, pinned_globals, play, replay_actions
from .report import CheckFailure

__all__ = ["check_synctest", "example", "report", "reproduce"]


def rollback_run(ctx: CheckContext, seed: int, ref: Run, max_rollback: int, start: int = 0) -> None:
    """Plays ``ref.actions`` through the driver with rendering and rollbacks (see the module
    docstring); raises :class:`Found` at the first frame that differs from a plain run of them.

    Per frame: one forward step, ``W + s`` re-simulated steps (``s`` averages ``(W + 1) / 2``), two
    restores, one or two saves and ``W + s + 3`` fingerprints — where restoring by every distance
    ``1 … W`` after every frame took ``W (W + 1) / 2`` steps, ``W`` restores and ``W (W + 3) / 2 + 1``
    canonical hashes.
    """
    actions = ref.actions
    with local_fingerprints():
        # The plain run's fingerprints: ref.hashes when ref was played inside local_fingerprints,
        # else a replay of its actions (canonical hashes are never compared with fingerprints).
        fingerprinted = bool(ref.hashes) and all(h.startswith("~") for h in ref.hashes)
        expected = ref.hashes if fingerprinted else replay_actions(ctx.game(seed), actions)
        driver = ctx.game(seed).driver()

        def expect(frame: int, stage: str, **where) -> None:
            if frame >= len(expected) or driver.checksum() != expected[frame]:
                raise Found(seed, [], frame=frame, stage=stage, **where)

        def rollback(f: int, distance: int, resave: bool) -> None:
            """Restores frame ``f - distance`` with the env at ``f`` and re-simulates to ``f``."""
            start = f - distance
            driver.load(saves[start])
            expect(start, "load", at=f, distance=distance)
            for k in range(start + 1, f + 1):
                driver.advance(actions[k - 1])
                expect(k, "resimulate", at=f, distance=distance)
                if resave and k == start + 1:
                    saves[k] = driver.save()  # the snapshot the next frame's long rollback restores

        driver.start()
        for f in range(1, start + 1):  # fast-forward: frames before the window are compared elsewhere
            driver.advance(actions[f - 1])
        driver.render()
        expect(start, "render")
        saves = {start: driver.save()}
        w = max(1, max_rollback)
        for f in range(start + 1, len(actions) + 1):
            driver.advance(actions[f - 1])
            driver.render()  # forward frames only, as a browser draws; the reference run never renders
            expect(f, "forward")
            if f % w == 0:
                saves[f] = driver.save()  # restored by the short rollbacks of the next W frames
            window = min(w, f - start)
            rollback(f, window, resave=True)
            # s = 1 … W, one per frame: each restores saves[W·k], the same snapshot for a whole cycle
            # (and, at s = W, the one the long rollback just restored).
            short = 1 + (f - 1) % w
            if short <= window and f - short in saves:
                rollback(f, short, resave=False)
            for old in [k for k in saves if k < f + 1 - w]:
                del saves[old]  # never restored again: only frames from f + 1 - W on are


#: A run longer than this many frames (an explored trajectory, a playout to the episode's end) is
#: rolled back over its last this-many frames; the frames before are played plainly and compared
#: by the determinism check.
WINDOW = 120


def example(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """One example: a plain run of ``(seed, plan)``, then the same actions with rollbacks (over
    the last :data:`WINDOW` frames of a long run); raises :class:`Found` at the first wrong hash."""
    with local_fingerprints(), pinned_globals(1):
        ref = play(ctx.game(seed), plan, ctx.frames)
    try:
        with pinned_globals(1):  # as the reference: only what rollbacks change can differ
            rollback_run(ctx, seed, ref, ctx.step.options.max_rollback, max(0, len(ref.actions) - WINDOW))
    except Found as found:
        found.plan = plan
        found.details["actions"] = ref.actions
        raise


def check_synctest(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` when a restore or re-simulation does not reproduce a frame."""
    found = run_property(ctx, lambda seed, plan: example(ctx, seed, plan), explored=True)
    if found is not None:
        raise report(ctx, found)
    cost = _fallback_cost(ctx)
    if cost:
        ctx.notes.append(cost)


def reproduce(ctx: CheckContext, seed: int, plan: KeyPlan) -> None:
    """Runs one example again; raises its :class:`CheckFailure` if it still fails."""
    reproduce_property(ctx, lambda s, p: example(ctx, s, p), report, seed, plan)


#: The summary of a synctest failure whose cause is nondeterminism, however it was told.
_NONDETERMINISTIC = "frame {frame} differs when the same example is played again: the env is not deterministic"

#: Plain runs that must agree before a failure is blamed on a restore rather than on chance.
PLAIN_RUNS = 5


def report(ctx: CheckContext, found: Found) -> CheckFailure:
    """Replays the failing example to tell apart nondeterminism, a render() that changes state
    and an incomplete restore, and says what differs."""
    ctx = ctx.sized(found)
    seed, d = found.seed, found.details
    frame = d["frame"]
    actions = d["actions"][: d.get("at", frame)]
    runs = []
    for k in range(PLAIN_RUNS):
        with pinned_globals(1 + k):
            runs.append(play(ctx.game(seed), found.plan, ctx.frames, keep_data=True))
    ref = runs[0]
    other = next((r for r in runs[1:] if first_difference(ref.hashes, r.hashes) is not None), None)
    if other is not None:
        at = first_difference(ref.hashes, other.hashes)
        summary, differs, cause = _explain_nondeterminism(ctx, found, ref, other)
        found.details["at"] = at  # the reproduction needs the frames up to where the plain runs differ
        return ctx.failure(summary, found, actions=ref.actions[:at], frame=at, differs=differs, cause=cause)
    if d["stage"] in ("render", "forward"):
        summary, differs, cause = _explain_forward(ctx, seed, ref, frame)
    else:
        summary, differs, cause = _explain_restore(ctx, seed, ref, d)
    # Plain runs that happened to agree do not prove determinism: if making the traced sources
    # deterministic makes the rollbacks agree too, they are the cause, not the restore or render().
    sources = trace_sources(lambda: play(ctx.game(seed), found.plan, ctx.frames))
    likely, seen = split_sources(sources, lambda kinds, attempt: _still_fails(ctx, found, kinds))
    if likely:
        summary = _NONDETERMINISTIC.format(frame=frame)
        cause = explain(likely, seen) + " (the determinism check reports this too)"
        differs = [x for x in differs if not x.startswith("after the restore")]  # the restore is not to blame
    return ctx.failure(summary, found, actions=actions, frame=frame, differs=differs, cause=cause)


def _still_fails(ctx: CheckContext, found: Found, kinds: set) -> bool:
    """Whether the failing example still fails with ``kinds`` of source made deterministic."""
    with neutralized(kinds):
        try:
            example(ctx, found.seed, found.plan)
        except Found:
            return True
    return False


def _explain_nondeterminism(ctx: CheckContext, found: Found, ref: Run, again: Run):
    at = first_difference(ref.hashes, again.hashes)
    differs = diff(ref.data[at], again.data[at]) if at < min(len(ref.data), len(again.data)) else []
    sources = trace_sources(lambda: play(ctx.game(found.seed), found.plan, ctx.frames))
    likely, seen = split_sources(sources, lambda kinds, attempt: plain_runs_differ(ctx, found.seed, found.plan,
                                                                                       kinds, attempt))
    cause = explain(likely, seen, otherwise=(
        "two plain runs with the same seed and actions already differ: state shared between instances "
        "or with the process (module or class variables)"))
    return (_NONDETERMINISTIC.format(frame=at),
            differs, cause + " (the determinism check reports this too)")


def _explain_forward(ctx: CheckContext, seed: int, ref: Run, frame: int):
    """The forward pass differs from the reference: rendering, or a restore that shows late."""
    game = ctx.game(seed)
    replay_actions(game, ref.actions[:frame], render=True)
    differs = diff(ref.data[frame], game.env.frame_data())
    if differs:
        return (f"rendering changed frame {frame}: render() must not change the game state", differs,
                "render() changes state the frame hash covers (an RNG draw, a counter, a cached value that "
                "the dynamics read). Keep render() read-only")
    return (f"frame {frame} differs after rolling back and re-simulating earlier frames", differs,
            "a restore is incomplete in a way that shows only frames later (see the state that differs)")


def _explain_restore(ctx: CheckContext, seed: int, ref: Run, d: dict):
    """A restore or the re-simulation after it differs: name what the restore left out."""
    frame, at, dist = d["frame"], d["at"], d["distance"]
    saved_frame = at - dist
    if d["stage"] == "load":
        summary = f"restoring frame {frame} (a rollback of {dist} from frame {at}) did not give back frame {frame}"
    else:
        summary = (f"frame {frame} differs after rolling back {dist} frames from frame {at} to frame "
                   f"{saved_frame} and re-simulating")
    driver = ctx.game(seed).driver()
    driver.start()
    for k in range(1, saved_frame + 1):
        driver.advance(ref.actions[k - 1])
    env = driver.env
    before = state_view(env.env)
    snapshot = driver.save()
    for k in range(saved_frame + 1, at + 1):
        driver.advance(ref.actions[k - 1])
    driver.load(snapshot)
    left_out = diff(before, state_view(env.env))
    for k in range(saved_frame + 1, frame + 1):
        driver.advance(ref.actions[k - 1])
    differs = diff(ref.data[frame], env.frame_data(driver.frame))
    how = "set_state()" if env.uses_state_methods else "the deep-copy restore"
    if left_out:
        names = sorted({x.split(":")[0].split("[")[0].split(".")[0] for x in left_out})
        differs += [f"after the restore, {x}  (the value at frame {saved_frame} != after the restore)"
                    for x in left_out]
        cause = (f"{how} leaves out {', '.join(names)}: after restoring frame {saved_frame} these attributes keep "
                 f"their later values. Include them in get_state() and restore them in set_state()")
    else:
        cause = (f"{how} restores every attribute, yet the re-simulated frames differ: the env keeps state outside "
                 f"itself (a module or class variable, an object shared with another env) or a snapshot shares a "
                 f"mutable object with the live env: get_state() must return copies, and set_state() must copy "
                 f"what it is given rather than keep it (a later step would change the saved snapshot)")
    return summary, differs, cause


def _fallback_cost(ctx: CheckContext) -> str | None:
    """For envs without get_state/set_state: what the deep-copy fallback costs per frame."""
    driver = ctx.game(1).driver(render=True)
    if driver.env.uses_state_methods:
        return None
    driver.start()
    n = 20
    start = time.perf_counter()
    for _ in range(n):
        driver.load(driver.save())
    per = (time.perf_counter() - start) / n
    return (f"{ctx.step_nodeid}: no get_state/set_state, so snapshots deep-copy the env: "
            f"{per * 1e6:.0f} µs per save + restore ({per * 1e3 / (1000 / ctx.step.options.fps) * 100:.1f}% "
            f"of a {1000 / ctx.step.options.fps:.0f} ms frame)")
