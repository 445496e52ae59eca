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

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..paths import passes_through_user_code
from ..runtime.policies import PolicyError
from ..steps import StepError
from .cells import CellKeys
from .coverage import Coverage, attribute_digests
from .fields import env_fields
from .human import HumanInput
from .inputs import KeyPlan
from .play import assigned_outside_init, tick

__all__ = ["Budget", "Exploration", "Trajectory", "Crash", "explore", "EXPLORE_SEED", "END_FRAMES", "JUDGE_FRAMES"]

#: The game seed exploration plays.
EXPLORE_SEED = 1
#: The playout to an episode's end stops at this frame when the episode has not ended.
END_FRAMES = 3000
#: Ticks of explored trajectories (the playout aside) that the checks replay, at most.
JUDGE_FRAMES = 400
#: Ticks played from a restored cell before choosing again.
ROLLOUT = (10, 60)
#: The archive aims at one cell per this many explored ticks (see ``_Explorer._rekey``).
TICKS_PER_CELL = 10
#: Cells kept with a snapshot, at most (each snapshot of a deep-copied env may be large).
MAX_CELLS = 3000


@dataclass(frozen=True)
class Budget:
    """How much exploration a step gets: ``frames`` ticks played from restored cells, and at most
    ``seconds`` of wall time (the playout to the episode's end gets its own ``seconds``)."""

    frames: int = 2500
    seconds: float = 2.0

    @classmethod
    def parse(cls, text: str) -> "Budget":
        """``"4000"`` (frames), ``"3s"`` (seconds), ``"3s,4000"`` (both), ``"0"`` or ``"off"`` (none).

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
                raise ValueError(f"--mugkit-explore takes frames and/or seconds, e.g. 4000, 3s or 3s,4000 "
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
        reached: what it reaches: ``"new cells"`` or ``"the episode's end"``.
    """

    seed: int
    plan: KeyPlan
    reached: str

    @property
    def frames(self) -> int:
        return len(self.plan)


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
    restore_crash: str | None = None

    def summary(self, nodeid: Any) -> str:
        """The coverage report of the step, one paragraph (a note of the check run)."""
        parts = [f"{nodeid}: explored {self.frames} frames in {self.seconds:.1f} s"
                 + (" (stopped by the time budget)" if self.stopped_by == "seconds" else "")
                 + f": {self.cells} cells, deepest frame {self.deepest}, {self.episodes_ended} episode ends; "
                 + self.end]
        if self.coverage.left_out:
            parts.append("likely restore bug: " + "; ".join(self.coverage.left_out.values()))
        never = self.coverage.never_changed
        if never:
            parts.append(f"never changed: {', '.join(never)}")
        if self.restore_crash:
            parts.append(self.restore_crash)
        return "; ".join(parts)

    def to_dict(self) -> dict:
        """The report as JSON-ready data (``--json``'s ``explorations``)."""
        return {"cells": self.cells, "deepest_frame": self.deepest, "episode_ends": self.episodes_ended,
                "frames": self.frames, "seconds": round(self.seconds, 3), "stopped_by": self.stopped_by,
                "end": self.end, "max_steps": self.max_steps, "trajectories": len(self.trajectories),
                "never_changed": self.coverage.never_changed, "changed": self.coverage.changed_attributes,
                "left_out": sorted(self.coverage.left_out), "crash": None if self.crash is None else repr(self.crash.error)}


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
        self.keys = CellKeys()
        env = self.driver.env
        self.restores = env.uses_state_methods
        self.how = "set_state()" if self.restores else "the deep-copy restore"
        self.out = Exploration(EXPLORE_SEED, budget, max_steps=ctx.step.options.max_steps)
        self.out.coverage.state_like = set(assigned_outside_init(type(self.driver.unwrapped)))
        self.archive: dict = {}
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
        cells = list(self.archive.values())
        return self.rng.choices(cells, weights=[c.weight for c in cells])[0]

    def _restore(self, cell: _Cell) -> None:
        self.driver.load(cell.snapshot)
        self.presser.reset()
        if cell.digests is not None:
            now = attribute_digests(env_fields(self.driver.unwrapped, self.restores))
            self.out.coverage.note_restore(cell.digests, now, cell.frame, self.how)

    def _tick(self, node: _Node | None, segment: list) -> Any:
        """One tick of human-like keys; records it in ``segment``. None: the frame waits for an
        input no key can give. Raises :class:`_Crashed` when the game raises."""
        held = self.presser.keys(self.driver)
        segment.append(held)
        try:
            return tick(self.game, self.driver, KeyPlan({a: (k,) for a, k in held.items()}), 0)
        except (StepError, PolicyError):
            raise
        except Exception as exc:
            if not passes_through_user_code(exc):
                raise  # mugkit's own bug
            ticks = (node.all_ticks() if node else []) + segment
            raise _Crashed(Crash(EXPLORE_SEED, _plan(self.humans, ticks), exc, self.driver.frame.index + 1)) from exc

    def rollout(self, cell: _Cell) -> None:
        cell.chosen += 1
        self._restore(cell)
        node, segment = cell.node, []
        redraw = False
        for _ in range(self.rng.randint(*ROLLOUT)):
            if self.driver.frame.done or self._spent():
                break
            if self._tick(node, segment) is None:
                break
            self.out.frames += 1
            fields = self._fields()
            redraw |= self.keys.observe(fields, self.driver.frame.index)
            if self.driver.frame.done:
                self.out.episodes_ended += 1
            key = self.keys.key(fields)
            hit = self.archive.get(key)
            if hit is None and len(self.archive) < MAX_CELLS:
                node, segment = _Node(node, tuple(segment)), []
                self.archive[key] = self._cell(node, fields)
            elif hit is not None:
                hit.seen += 1
        if redraw or (len(self.archive) > self.target and self.keys.buckets > 2):
            self._rekey()

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
            playout = self.playout()
        except _Crashed as crashed:
            self.out.seconds = time.perf_counter() - self.started
            self.out.crash = crashed.crash
            playout = None
        self._finish(playout)
        return self.out

    def playout(self) -> Trajectory | None:
        """Plays on from the deepest cell to the episode's end (or :data:`END_FRAMES`), without
        looking at cells: only the frame count and the end matter here."""
        ended = [c for c in self.archive.values() if c.done]
        if ended and self.out.max_steps is not None and any(c.frame >= self.out.max_steps for c in ended):
            best = min(ended, key=lambda c: c.frame)
            self.out.end = f"the episode's end reached at frame {best.frame}"
            return Trajectory(EXPLORE_SEED, _plan(self.humans, best.node.all_ticks()), "the episode's end")
        start = max(self.archive.values(), key=lambda c: (not c.done, c.frame))
        if start.done:
            self.out.end = f"the episode's end reached at frame {start.frame}"
            return Trajectory(EXPLORE_SEED, _plan(self.humans, start.node.all_ticks()), "the episode's end")
        self._restore(start)
        segment: list = []
        began = time.perf_counter()
        while not self.driver.frame.done and self.driver.frame.index < END_FRAMES:
            if self._tick(start.node, segment) is None or time.perf_counter() - began > max(self.budget.seconds, 1):
                break
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
        return Trajectory(EXPLORE_SEED, _plan(self.humans, ticks), "the episode's end")

    def _finish(self, playout: Trajectory | None) -> None:
        out = self.out
        out.cells = len(self.archive)
        out.deepest = max([out.deepest] + [c.frame for c in self.archive.values()])
        out.coverage.changed = set(self.keys.changed)
        out.trajectories = self._chosen() + ([playout] if playout is not None else [])

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
