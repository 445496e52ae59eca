"""Exploration: reaching the states people reach before the checks judge them (Go-Explore).

Short generated key plans see only the first second of a game. Every env mugkit plays can be
saved and restored in one call, which makes Go-Explore's recipe cheap (Ecoffet et al., *Nature*
2021): keep an archive of *cells* (:mod:`mugkit.checks.cells`, a coarse signature of the env's
state); again and again restore a cell that was rarely chosen or newly found and play human-like
inputs from it; keep every state that reaches a new cell. A playout then runs on to the episode's
end (``max_steps`` or the env's own end), fast: no rendering, no hashing.

Every cell is reached by a trajectory — the keys held tick by tick from the reset — so the
checks replay from the episode's start what exploration found: determinism, synctest and the
contract's frame invariants run on :attr:`Exploration.trajectories`, and a crash anywhere is
reported with the keys that reach it, shrunk.

Exploration is deterministic for a given budget of frames: its own random choices come from a
generator seeded with the step's node id, so a run reproduces. The budget in seconds only stops
exploration early on a slow env (the report then says so).
"""

from __future__ import annotations

import itertools
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..paths import passes_through_user_code
from ..runtime.adapter import local_fingerprints
from ..runtime.policies import PolicyError, as_policy, policy_seed
from ..runtime.state import same
from ..steps import StepError
from .cells import CellKeys
from .coverage import Coverage, attribute_digests
from .fields import env_fields
from .inputs import HumanInput, KeyPlan
from .play import assigned_outside_init, key_inputs

__all__ = ["Budget", "Exploration", "Trajectory", "Crash", "explore", "EXPLORE_SEED", "END_FRAMES", "JUDGE_FRAMES",
           "UNSTABLE"]

#: What a trajectory reached when the same keys from the same state gave another game.
UNSTABLE = "a different game when played again"
#: What a playout reaches.
PLAYOUT = "the episode's end"
#: The game seed exploration plays.
EXPLORE_SEED = 1
#: The playout to an episode's end stops at this frame when the episode has not ended.
END_FRAMES = 3000
#: Ticks of explored trajectories (the playout aside) that the checks replay, at most.
JUDGE_FRAMES = 300
#: Ticks played from a restored cell before choosing again.
ROLLOUT = (10, 60)
#: Ticks played from a cell where two things are the closest they have come: a near miss is
#: searched around, not walked away from.
NEAR_ROLLOUT = (5, 30)
#: The archive aims at one cell per this many explored ticks (see ``_Explorer._rekey``).
TICKS_PER_CELL = 10
#: Shares of the choices of where to explore from (see ``_Explorer._select``): among the cells
#: where two things are the closest they have come, and among those holding a field's least visited
#: value; the rest by Go-Explore's counts.
NEAR_SHARE = 0.5
RARE_SHARE = 0.2
#: The share of those rollouts that bring the two things closer on purpose (see ``_closer``), and
#: how many frames each joint key choice is tried for there.
APPROACH_SHARE = 0.5
LOOKAHEAD = 1
#: Where two things came closest: the cells at this many of the smallest distances seen.
NEAREST = 3
#: The share of rollouts in which ``mk.stand_in`` policies play their humans.
STAND_IN_SHARE = 0.5
#: Every this many rollouts (and every rollout from where two things came closest) is played
#: again from its cell to see that the same keys give the same game.
ECHO_EVERY = 4
#: A probe (see ``_Explorer._probe``) plays each joint key choice this many times, and tries at
#: most this many joint choices.
PROBE_REPEATS = 3
MAX_PROBES = 36
#: Trajectories that gave another game when played again, kept at most.
MAX_UNSTABLE = 3
#: The playout looks at the env's fields every this many frames (and at its last), for coverage.
PLAYOUT_FIELDS_EVERY = 16
#: Cells kept with a snapshot, at most (each snapshot of a deep-copied env may be large).
MAX_CELLS = 3000


@dataclass(frozen=True)
class Budget:
    """How much exploration a step gets: ``frames`` ticks played from restored cells (and as many
    again replayed to see that the same keys give the same game), and at most ``seconds`` of wall
    time (the playouts to the episode's end get their own ``seconds``)."""

    frames: int = 2500
    seconds: float = 2.0

    @classmethod
    def parse(cls, text: str) -> "Budget":
        """``"2500"`` (frames), ``"2s"`` (seconds), ``"2s,2500"`` (both), ``"0"`` or ``"off"`` (none).

        Raises:
            ValueError: the text is none of those, saying what is expected.
        """
        text = str(text).strip().lower()
        if text in ("0", "off", "none"):
            return cls(0, 0.0)
        frames, seconds = cls.frames, cls.seconds
        for part in filter(None, (p.strip() for p in text.split(","))):
            try:
                if part.endswith("s"):
                    seconds = float(part[:-1])
                else:
                    frames = int(part[:-1] if part.endswith("f") else part)
            except ValueError:
                raise ValueError(f"--mugkit-explore takes frames and/or seconds, e.g. 2500, 2s or 2s,2500 "
                                 f"(0 turns exploration off); got {text!r}") from None
        if frames < 0 or seconds < 0:
            raise ValueError(f"--mugkit-explore cannot be negative; got {text!r}")
        return cls(frames, seconds)

    @property
    def off(self) -> bool:
        return self.frames == 0 or self.seconds == 0


@dataclass(frozen=True)
class Trajectory:
    """Keys from the reset that reach something exploration found.

    Attributes:
        seed: the game seed (:data:`EXPLORE_SEED`).
        plan: the keys held, tick by tick (replayed with :func:`~mugkit.checks.play.play`).
        reached: what it reaches: ``"new cells"``, ``"a first change"`` (of a field),
            ``"the episode's end"`` (with or without keys), or :data:`UNSTABLE`.
    """

    seed: int
    plan: KeyPlan
    reached: str

    @property
    def frames(self) -> int:
        return len(self.plan)

    @property
    def playout(self) -> bool:
        """A playout to the episode's end (long, and judged by the checks that look at its end)."""
        return self.reached.startswith(PLAYOUT)


@dataclass
class Crash:
    """The game raised during exploration: ``plan`` (from the reset, seed ``seed``) reaches it."""

    seed: int
    plan: KeyPlan
    error: BaseException
    frame: int


@dataclass
class Exploration:
    """What exploring one step found (see the module docstring)."""

    seed: int
    budget: Budget
    trajectories: list[Trajectory] = field(default_factory=list)
    cells: int = 0
    deepest: int = 0
    episodes_ended: int = 0
    frames: int = 0
    seconds: float = 0.0
    stopped_by: str = "frames"
    end: str = ""
    max_steps: int | None = None
    coverage: Coverage = field(default_factory=Coverage)
    crash: Crash | None = None
    echoed: int = 0
    unstable: list[Trajectory] = field(default_factory=list)
    restore_crash: str | None = None

    def summary(self, nodeid: Any) -> str:
        """The coverage report of the step, one paragraph (a note of the check run)."""
        end = self.end if self.crash is None else (f"the game raised {type(self.crash.error).__name__} at frame "
                                                   f"{self.crash.frame}")
        parts = [f"{nodeid}: explored {self.frames} frames (+{self.echoed} tried again from states it had reached) "
                 f"in {self.seconds:.1f} s" + (" (stopped by the time budget)" if self.stopped_by == "seconds" else "")
                 + f": {self.cells} cells, deepest frame {self.deepest}, {self.episodes_ended} episode ends; " + end]
        if self.coverage.left_out:
            parts.append("likely restore bug: " + "; ".join(self.coverage.left_out.values()))
        never = self.coverage.never_changed
        if never:
            parts.append(f"never changed: {', '.join(never)}")
        if self.unstable:
            parts.append(f"{len(self.unstable)} rollouts gave another game when played again from the same state "
                         f"with the same keys")
        if self.restore_crash:
            parts.append(self.restore_crash)
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The report as JSON-ready data (``--json``'s ``explorations``)."""
        return {"cells": self.cells, "deepest_frame": self.deepest, "episode_ends": self.episodes_ended,
                "frames": self.frames, "played_again": self.echoed, "unstable": len(self.unstable),
                "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "end": self.end, "max_steps": self.max_steps, "trajectories": len(self.trajectories),
                "never_changed": self.coverage.never_changed, "changed": self.coverage.changed_attributes,
                "left_out": sorted(self.coverage.left_out), "crash": None if self.crash is None else repr(self.crash.error)}


class _StandIns:
    """Humans played by policies while exploring (:func:`mugkit.stand_in`): each presses the keys
    whose combination gives the action its policy chose (in keydown/keyup steps, released every
    other frame so that each press counts)."""

    def __init__(self, ctx: Any):
        self.step = ctx.step
        self.policies: dict = {}
        for s in getattr(ctx.experiment, "stand_ins", ()):
            if s.step is ctx.step:
                for agent, name in s.players.items():
                    made = "random" if name == "random" else ctx.experiment.policies[name]()
                    self.policies[agent] = as_policy(made, name)
        self.tap = ctx.step.options.input_mode in ("keydown", "keyup")
        self.last: dict = {}

    def reset(self) -> None:
        self.last.clear()
        for policy in self.policies.values():
            policy.reset()

    def press(self, driver: Any, held: dict) -> None:
        """Replaces the keys of every acting stand-in human in ``held``."""
        f = driver.frame
        for agent, policy in self.policies.items():
            if agent not in f.acting:
                continue
            action = policy.act(f.observations.get(agent), agent=agent, frame=f.index,
                                seed=policy_seed(driver.episode_seed, agent), space=driver.env.action_space(agent),
                                info=f.infos.get(agent), env=driver.unwrapped)
            combo = next((tuple(sorted(c)) for c, a in self.step.options.combos if same(a, action)), ())
            if self.tap and combo and self.last.get(agent) == combo:
                combo = ()
            self.last[agent] = held[agent] = combo


class _Node:
    """A piece of a trajectory: the ticks played after its parent's (shared by the cells below)."""

    __slots__ = ("parent", "ticks", "length")

    def __init__(self, parent: "_Node | None", ticks: tuple):
        self.parent = parent
        self.ticks = ticks
        self.length = (parent.length if parent else 0) + len(ticks)

    def all_ticks(self) -> list:
        parts, node = [], self
        while node is not None:
            parts.append(node.ticks)
            node = node.parent
        return [t for part in reversed(parts) for t in part]


@dataclass
class _Cell:
    node: _Node | None
    snapshot: Any
    frame: int
    fields: dict
    digests: dict | None
    done: bool
    chosen: int = 0
    seen: int = 0
    probed: bool = False

    @property
    def weight(self) -> float:
        return 0.0 if self.done else 1 / math.sqrt(self.chosen + 1) + 1 / math.sqrt(self.seen + 1)


def _plan(humans: tuple, ticks: list) -> KeyPlan:
    return KeyPlan({h: tuple(t.get(h, ()) for t in ticks) for h in humans})


class _Explorer:
    """One exploration of one step (see :func:`explore`)."""

    def __init__(self, ctx: Any, budget: Budget):
        self.ctx = ctx
        self.budget = budget
        self.humans = tuple(ctx.step.humans)
        self.rng = random.Random(f"mugkit-explore:{ctx.step_nodeid}")
        self.game = ctx.game(EXPLORE_SEED)
        self.driver = self.game.driver()
        self.driver.start()
        self.presser = HumanInput(ctx.step, self.rng)
        self.choices = [()] + [tuple(sorted(c)) for c, _ in ctx.step.options.combos]
        self.stand_ins = _StandIns(ctx)
        self.standing = False  # this rollout's stand-in humans play their policies
        self.near = False  # this rollout starts where two things are the closest they have come
        self.approach = None  # the pair of things this rollout brings closer, if any
        self.keys = CellKeys()
        env = self.driver.env
        self.restores = env.uses_state_methods
        self.how = "set_state()" if self.restores else "the deep-copy restore"
        self.out = Exploration(EXPLORE_SEED, budget, max_steps=ctx.step.options.max_steps)
        self.out.coverage.state_like = set(assigned_outside_init(type(self.driver.unwrapped)))
        self.archive: dict = {}
        self.milestones: list[_Node] = []  # where a field changed for the first time
        self.rollouts = 0
        self.target = max(50, budget.frames // TICKS_PER_CELL)
        fields = self._fields()
        self.keys.observe(fields, 0)
        self.keys.redraw()
        self.archive[self.keys.key(fields)] = self._cell(None, fields)

    def _fields(self) -> dict:
        fields = env_fields(self.driver.unwrapped, self.restores)
        cov = self.out.coverage
        cov.fields.update(fields)
        return fields

    def _cell(self, node: _Node | None, fields: dict) -> _Cell:
        return _Cell(node, self.driver.save(), self.driver.frame.index, fields,
                     attribute_digests(fields) if self.restores else None, self.driver.frame.done)

    def _select(self) -> _Cell:
        """A cell to explore from. Go-Explore's choice (rarely chosen or seen cells) most of the
        time; otherwise a cell holding the least visited value of some field (the furthest right,
        the highest score), or one where two things are the closest they have come (where games
        happen: bumps, catches, ties)."""
        keys = [k for k, c in self.archive.items() if not c.done] or list(self.archive)
        draw = self.rng.random()
        self.near = draw < NEAR_SHARE and bool(self.keys.pairs)
        self.approach = None
        if self.near:
            pair = self.rng.choice(self.keys.pairs)
            if self.rng.random() < APPROACH_SHARE:
                self.approach = pair
            apart = {k: self.keys.distance(self.archive[k].fields, pair) for k in keys}
            closest = sorted({d for d in apart.values() if d is not None})[:NEAREST]
            keys = [k for k in keys if apart[k] in closest] or keys
        elif draw < NEAR_SHARE + RARE_SHARE and keys[0]:
            counts = self._visits(keys)
            d = self.rng.randrange(len(keys[0]))
            rarest = min(counts[d].values())
            keys = [k for k in keys if counts[d][k[d]] == rarest]
        return self.archive[self.rng.choices(keys, weights=[self.archive[k].weight for k in keys])[0]]

    def _visits(self, keys: list) -> list[dict]:
        """Per field of the cell key, how many visited frames held each value."""
        counts: list[dict] = [{} for _ in range(len(keys[0]) if keys else 0)]
        for key in keys:
            visits = self.archive[key].seen + 1
            for d, v in enumerate(key):
                counts[d][v] = counts[d].get(v, 0) + visits
        return counts

    def _restore(self, cell: _Cell) -> None:
        self.driver.load(cell.snapshot)
        self.presser.reset()
        self.stand_ins.reset()
        self.standing = bool(self.stand_ins.policies) and self.rng.random() < STAND_IN_SHARE
        if cell.digests is not None:
            now = attribute_digests(env_fields(self.driver.unwrapped, self.restores))
            self.out.coverage.note_restore(cell.digests, now, cell.frame, self.how)

    def _tick(self, node: _Node | None, segment: list) -> Any:
        """One tick of human-like keys; records it in ``segment``. None: the frame waits for an
        input no key can give. Raises :class:`_Crashed` when the game raises."""
        if self.approach and self._may_replay():
            held = self._closer(self.approach, node, segment)
        else:
            held = self.presser.keys(self.driver)
        if self.standing:
            self.stand_ins.press(self.driver, held)
        segment.append(held)
        try:
            return self.driver.tick(key_inputs(self.driver, held))
        except (StepError, PolicyError):
            raise
        except Exception as exc:
            if not passes_through_user_code(exc):
                raise  # mugkit's own bug
            ticks = (node.all_ticks() if node else []) + segment
            raise _Crashed(Crash(EXPLORE_SEED, _plan(self.humans, ticks), exc, self.driver.frame.index + 1)) from exc

    def rollout(self, cell: _Cell) -> None:
        cell.chosen += 1
        if self.near and not cell.probed and self._may_replay():
            self._probe(cell)
        self._restore(cell)
        node, segment = cell.node, []
        played: list = []  # every tick of this rollout (segment restarts at each new cell)
        for _ in range(self.rng.randint(*(NEAR_ROLLOUT if self.near else ROLLOUT))):
            if self.driver.frame.done or self._spent():
                break
            if self._tick(node, segment) is None:
                break
            played.append(segment[-1])
            self.out.frames += 1
            fields = self._fields()
            if self.keys.observe(fields, self.driver.frame.index):
                # A field changed for the first time: the trajectory here is judged whatever else
                # is kept, and the cells are re-drawn with that field in them at once.
                node, segment = _Node(node, tuple(segment)), []
                self.milestones.append(node)
                self._rekey()
            if self.driver.frame.done:
                self.out.episodes_ended += 1
            key = self.keys.key(fields)
            hit = self.archive.get(key)
            if hit is None and len(self.archive) < MAX_CELLS:
                node, segment = _Node(node, tuple(segment)), []
                self.archive[key] = self._cell(node, fields)
            elif hit is not None:
                hit.seen += 1
        self.rollouts += 1
        if played and (self.near or self.rollouts % ECHO_EVERY == 0) and self._may_replay():
            self._echo(cell, played)
        if self.keys.stale or (len(self.archive) > self.target and self.keys.buckets > 2):
            self._rekey()

    def _closer(self, pair: tuple, node: _Node | None, segment: list) -> dict:
        """The joint key choice that brings the two things of ``pair`` closest over the next
        :data:`LOOKAHEAD` frames, found by trying each from the current state (greedy descent:
        where random keys wander, a near miss becomes a meeting). Each is tried twice: a choice
        that gives two different games is kept as an unstable trajectory (``node``, ``segment``:
        the ticks that led here)."""
        snapshot = self.driver.save()
        now = self.keys.distance(env_fields(self.driver.unwrapped, self.restores), pair)
        acting = [h for h in self.humans if h in self.driver.frame.acting]
        joint = [dict(zip(acting, keys)) for keys in itertools.product(self.choices, repeat=len(acting))]
        if len(joint) > MAX_PROBES:
            joint = self.rng.sample(joint, MAX_PROBES)
        best, nearest = self.presser.keys(self.driver), None
        for held in joint:
            ends = set()
            for _ in range(2):  # twice: where things meet, an unseeded draw may break the tie
                self.driver.load(snapshot)
                try:
                    for _ in range(LOOKAHEAD):
                        if self.driver.frame.done or self.driver.tick(key_inputs(self.driver, held)) is None:
                            break
                        self.out.echoed += 1
                except Exception as exc:
                    if not passes_through_user_code(exc):
                        raise
                    self.driver.load(snapshot)
                    return held  # the crash is worth reaching: play it for real
                with local_fingerprints():
                    ends.add(self.driver.checksum())
            if len(ends) > 1 and len(self.out.unstable) < MAX_UNSTABLE:
                ticks = (node.all_ticks() if node else []) + segment + [held] * LOOKAHEAD
                self.out.unstable.append(Trajectory(EXPLORE_SEED, _plan(self.humans, ticks), UNSTABLE))
            apart = self.keys.distance(env_fields(self.driver.unwrapped, self.restores), pair)
            if apart is not None and (nearest is None or apart < nearest):
                best, nearest = held, apart
        self.driver.load(snapshot)
        if nearest is None or now is None or nearest >= now:
            self.approach = None  # as close as they get: from here on, people's keys
        return best

    def _probe(self, cell: _Cell) -> None:
        """Where two things came closest, tries every joint key choice of the acting humans for one
        frame, :data:`PROBE_REPEATS` times each from the same state: a collision or a tie that an
        unseeded draw decides gives another frame on some repeat."""
        cell.probed = True
        if cell.done:
            return
        self.driver.load(cell.snapshot)
        acting = [h for h in self.humans if h in self.driver.frame.acting]
        joint = [dict(zip(acting, keys)) for keys in itertools.product(self.choices, repeat=len(acting))]
        if len(joint) > MAX_PROBES:
            joint = self.rng.sample(joint, MAX_PROBES)
        with local_fingerprints():
            for held in joint:
                seen = set()
                for _ in range(PROBE_REPEATS):
                    self.driver.load(cell.snapshot)
                    try:
                        if self.driver.tick(key_inputs(self.driver, held)) is None:
                            break
                        seen.add(self.driver.checksum())
                    except Exception as exc:
                        if not passes_through_user_code(exc):
                            raise
                        raise _Crashed(Crash(EXPLORE_SEED, _plan(self.humans, (cell.node.all_ticks() if cell.node
                                                                             else []) + [held]),
                                             exc, self.driver.frame.index + 1)) from exc
                    self.out.echoed += 1
                if len(seen) > 1:
                    self._unstable(cell, [held])
                    return

    def _unstable(self, cell: _Cell, played: list) -> None:
        if len(self.out.unstable) < MAX_UNSTABLE:
            ticks = (cell.node.all_ticks() if cell.node else []) + played
            self.out.unstable.append(Trajectory(EXPLORE_SEED, _plan(self.humans, ticks), UNSTABLE))

    def _echo(self, cell: _Cell, played: list) -> None:
        """Plays the rollout again from its cell and compares where it ends: the same keys must
        give the same game. A difference (a tie broken by an unseeded draw, a clock) is kept as
        a trajectory the checks judge first."""
        with local_fingerprints():
            end = self.driver.checksum()
            self.driver.load(cell.snapshot)
            try:
                for held in played:
                    if self.driver.tick(key_inputs(self.driver, held)) is None:
                        break
                again = self.driver.checksum()
            except Exception as exc:
                if not passes_through_user_code(exc):
                    raise
                again = None  # raised only the second time: as different as it gets
        self.out.echoed += len(played)
        if again != end:
            self._unstable(cell, played)

    def _rekey(self) -> None:
        """Re-draws the buckets and files every cell under its new key (the shortest way in wins).
        An archive past its target size gets coarser buckets, as Go-Explore adapts its
        downscaling: too many cells spread the restores so thin that none is explored from."""
        if len(self.archive) <= self.target or not self.keys.coarser():
            self.keys.redraw()
        archive: dict = {}
        for cell in self.archive.values():
            key = self.keys.key(cell.fields)
            kept = archive.get(key)
            if kept is None or (cell.node.length if cell.node else 0) < (kept.node.length if kept.node else 0):
                if kept is not None:
                    cell.chosen, cell.seen = cell.chosen + kept.chosen, cell.seen + kept.seen
                archive[key] = cell
            else:
                kept.chosen, kept.seen = kept.chosen + cell.chosen, kept.seen + cell.seen
        self.archive = archive

    def _may_replay(self) -> bool:
        """Probes, echoes and approaches try frames from states already explored; they get twice
        the frames exploration gets."""
        return self.out.echoed < 2 * self.budget.frames

    def _spent(self) -> bool:
        if self.out.frames >= self.budget.frames:
            return True
        if time.perf_counter() - self.started > self.budget.seconds:
            self.out.stopped_by = "seconds"
            return True
        return False

    def run(self) -> Exploration:
        self.started = time.perf_counter()
        try:
            while not self._spent():
                self.rollout(self._select())
            self.out.seconds = time.perf_counter() - self.started
            playouts = [self.playout(), self.idle_playout()]
        except _Crashed as crashed:
            self.out.seconds = time.perf_counter() - self.started
            self.out.crash = crashed.crash
            playouts = []
        self._finish([p for p in playouts if p is not None])
        return self.out

    def idle_playout(self) -> Trajectory | None:
        """Plays from the reset to the episode's end with no key pressed (AIs play as ever): the
        ending nobody plays for — a draw at 0:0 — is the one a game most often forgets."""
        root = next((c for c in self.archive.values() if c.node is None), None)  # the reset's cell
        if root is None:
            return None
        self._restore(root)
        segment: list = []
        began = time.perf_counter()
        while not self.driver.frame.done and self.driver.frame.index < END_FRAMES:
            held = {h: () for h in self.humans if h in self.driver.frame.acting}
            segment.append(held)
            try:
                if self.driver.tick(key_inputs(self.driver, held)) is None:
                    break
            except Exception as exc:
                if not passes_through_user_code(exc):
                    raise
                raise _Crashed(Crash(EXPLORE_SEED, _plan(self.humans, segment), exc, self.driver.frame.index + 1)) from exc
            if time.perf_counter() - began > max(self.budget.seconds, 1):
                break
        if self.driver.frame.done:
            self.out.episodes_ended += 1
        return Trajectory(EXPLORE_SEED, _plan(self.humans, segment), f"{PLAYOUT} with no key pressed")

    def playout(self) -> Trajectory | None:
        """Plays on from the deepest cell to the episode's end (or :data:`END_FRAMES`), without
        looking at cells: only the frame count and the end matter here."""
        ended = [c for c in self.archive.values() if c.done]
        if ended and self.out.max_steps is not None and any(c.frame >= self.out.max_steps for c in ended):
            best = min(ended, key=lambda c: c.frame)
            self.out.end = f"the episode's end reached at frame {best.frame}"
            return Trajectory(EXPLORE_SEED, _plan(self.humans, best.node.all_ticks()), PLAYOUT)
        start = max(self.archive.values(), key=lambda c: (not c.done, c.frame))
        if start.done:
            self.out.end = f"the episode's end reached at frame {start.frame}"
            return Trajectory(EXPLORE_SEED, _plan(self.humans, start.node.all_ticks()), PLAYOUT)
        self._restore(start)
        segment: list = []
        began = time.perf_counter()
        while not self.driver.frame.done and self.driver.frame.index < END_FRAMES:
            if self._tick(start.node, segment) is None or time.perf_counter() - began > max(self.budget.seconds, 1):
                break
            if len(segment) % PLAYOUT_FIELDS_EVERY == 0 or self.driver.frame.done:
                self.keys.observe(self._fields(), self.driver.frame.index)  # coverage only: no cells here
        ticks = (start.node.all_ticks() if start.node else []) + segment
        frame = self.driver.frame.index
        self.out.deepest = max(self.out.deepest, frame)
        if self.driver.frame.done:
            self.out.episodes_ended += 1
            self.out.end = f"the episode's end reached at frame {frame}"
        elif frame >= END_FRAMES:
            self.out.end = f"no episode end within {END_FRAMES} frames"
        else:
            self.out.end = f"the playout stopped by the time budget at frame {frame}, before the episode's end"
        return Trajectory(EXPLORE_SEED, _plan(self.humans, ticks), PLAYOUT)

    def _finish(self, playouts: list[Trajectory]) -> None:
        out = self.out
        out.cells = len(self.archive)
        out.deepest = max([out.deepest] + [c.frame for c in self.archive.values()])
        out.coverage.changed = set(self.keys.changed)
        out.trajectories = out.unstable + self._chosen() + playouts

    def _chosen(self) -> list[Trajectory]:
        """Trajectories to replay: leaves of the archive's tree, those through most cells first,
        until every cell is on one or :data:`JUDGE_FRAMES` ticks are used."""
        nodes = {id(c.node): c.node for c in self.archive.values() if c.node is not None}
        parents = {id(n.parent) for n in nodes.values() if n.parent is not None}
        leaves = [n for k, n in nodes.items() if k not in parents]

        def path(n: _Node) -> list[int]:
            out = []
            while n is not None:
                out.append(id(n))
                n = n.parent
            return out

        covered: set = set()
        chosen, used = [], 0
        for node in self.milestones:  # always judged: where something happened for the first time
            if id(node) not in covered:
                covered.update(path(node))
                used += node.length
                chosen.append(Trajectory(EXPLORE_SEED, _plan(self.humans, node.all_ticks()), "a first change"))
        for leaf in sorted(leaves, key=lambda n: (-len(path(n)), n.length)):
            new = [k for k in path(leaf) if k not in covered]
            if not new or used + leaf.length > JUDGE_FRAMES:
                continue
            covered.update(new)
            used += leaf.length
            chosen.append(Trajectory(EXPLORE_SEED, _plan(self.humans, leaf.all_ticks()), "new cells"))
        return chosen


class _Crashed(Exception):
    def __init__(self, crash: Crash):
        super().__init__(repr(crash.error))
        self.crash = crash


def explore(ctx: Any, budget: Budget) -> Exploration:
    """Explores the game step of ``ctx`` (a :class:`~mugkit.checks.base.CheckContext`) within
    ``budget`` and returns what it found. A crash of the game ends exploration and is returned
    as :attr:`Exploration.crash`; a crash inside mugkit propagates."""
    return _Explorer(ctx, budget).run()
