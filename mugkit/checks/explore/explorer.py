"""The exploration loop: choose a cell, restore it, play human-like keys, file what it reaches."""

from __future__ import annotations

import random
import time
from typing import Any

from ...paths import passes_through_user_code, user_frames
from ...runtime.policies import PolicyError
from ...runtime.state import same
from ...steps import StepError
from ..cells import CellKeys
from ..fields import env_fields, large_configuration
from ..inputs import HumanInput
from ..play import assigned_outside_init, key_inputs
from ..stand_in import StandInPlayers
from . import playouts, repeats
from .archive import Archive, Cell, Choice, Node, plan_of, ticks_of
from .budget import Budget
from .results import Crash, Exploration

__all__ = ["Explorer", "EXPLORE_SEED"]

#: The game seed exploration plays.
EXPLORE_SEED = 1
#: Ticks played from a restored cell before choosing again; from where two things came closest
#: (a near miss is searched around, not walked away from).
ROLLOUT = (10, 60)
NEAR_ROLLOUT = (5, 30)
#: Replaying and trying get this many frames per explored frame (see ``_may_replay``).
REPLAY_SHARE = 2.0
#: The share of rollouts in which ``mk.stand_in`` policies play their humans.
STAND_IN_SHARE = 0.5


def _choices(combos: list) -> list[tuple]:
    """No key, then one key combination per action (WASD beside the arrows adds no new move)."""
    out, actions = [()], []
    for combo, action in combos:
        if not any(same(action, a) for a in actions):
            actions.append(action)
            out.append(tuple(sorted(combo)))
    return out


class Crashed(Exception):
    """The game raised while exploring; ``crash`` says with which keys from the reset."""

    def __init__(self, crash: Crash):
        super().__init__(repr(crash.error))
        self.crash = crash


class Explorer:
    """One exploration of one step (see :func:`mugkit.checks.explore.explore`)."""

    Crashed = Crashed

    def __init__(self, ctx: Any, budget: Budget):
        self.budget = budget
        self.seed = EXPLORE_SEED
        self.humans = tuple(ctx.step.humans)
        self.rng = random.Random(f"mugkit-explore:{ctx.step_nodeid}")
        self.game = ctx.game(EXPLORE_SEED)
        self.driver = self.game.driver()
        self.driver.start()
        self.presser = HumanInput(ctx.step, self.rng)
        self.choices = _choices(ctx.step.options.combos)
        self.stand_ins = StandInPlayers(ctx)
        self.standing = False  # this rollout's stand-in humans play their policies
        self.restores = self.driver.env.uses_state_methods
        self.how = "set_state()" if self.restores else "the deep-copy restore"
        self.out = Exploration(EXPLORE_SEED, budget, max_steps=ctx.step.options.max_steps)
        self.out.coverage.state_like = set(assigned_outside_init(type(self.driver.unwrapped)))
        self.config = large_configuration(self.driver.unwrapped, self.out.coverage.state_like)
        self.keys = CellKeys()
        self.archive = Archive(self.keys, budget.frames, deep_copies=not self.restores)
        self.rollouts = 0
        fields = self.fields()
        self.keys.observe(fields, 0)
        self.keys.redraw()
        self.archive.visit(fields, lambda: self._cell(None, fields))

    # -- the game ---------------------------------------------------------------------------

    def fields(self) -> dict:
        """The env's fields now (noted for the coverage report)."""
        fields = env_fields(self.driver.unwrapped, self.restores, self.config)
        self.out.coverage.fields.update(fields)
        return fields

    def _cell(self, node: Node | None, fields: dict) -> Cell:
        return Cell(node, self.driver.save(), self.driver.frame.index, fields, self.driver.frame.done)

    def step(self, held: dict, node: Node | None = None, segment: list = ()) -> Any:
        """Plays one frame with the humans holding ``held``; the driver's result (None: the frame
        waits for an input no key can give). A crash of the game raises :class:`Crashed` with the
        keys from the reset (those of ``node``, then ``segment``, then ``held``); one inside mugkit
        propagates."""
        try:
            return self.driver.tick(key_inputs(self.driver, held))
        except (StepError, PolicyError):
            raise
        except Exception as exc:
            if not passes_through_user_code(exc):
                raise  # mugkit's own bug
            ticks = ticks_of(node) + list(segment) + [held]
            crash = Crash(EXPLORE_SEED, plan_of(self.humans, ticks), exc, self.driver.frame.index + 1)
            raise Crashed(crash) from exc

    def restore(self, cell: Cell) -> None:
        """Restores ``cell``, noting attributes the restore leaves out (for the coverage report)."""
        self.driver.load(cell.snapshot)
        self.presser.reset()
        self.stand_ins.reset()
        self.standing = bool(self.stand_ins.policies) and self.rng.random() < STAND_IN_SHARE
        if self.restores:  # a deep copy restores everything; set_state() may not
            now = env_fields(self.driver.unwrapped, self.restores, self.config)
            self.out.coverage.note_restore(cell.fields, now, cell.frame, self.how)

    def held(self, node: Node | None, segment: list, approach: tuple | None = None) -> tuple[dict, tuple | None]:
        """The keys the humans hold this frame, and the pair still being brought closer: people's
        keys, stand-ins' keys, or the choice that brings ``approach`` closer (until it no longer
        does)."""
        held = self.presser.keys(self.driver)
        if approach is not None and self._may_replay():
            best, nearer = repeats.closer(self, approach, node, segment)
            held = best if best is not None else held
            approach = approach if nearer else None  # as close as they get: people's keys from here
        if self.standing:
            self.stand_ins.press(self.driver, held)
        return held, approach

    # -- the loop ---------------------------------------------------------------------------

    def rollout(self, choice: Choice) -> None:
        """Plays from the chosen cell, filing every state reached."""
        cell, approach = choice.cell, choice.approach
        cell.chosen += 1
        if choice.near and not cell.probed and self._may_replay():
            repeats.probe(self, cell)
        self.restore(cell)
        node, segment, played = cell.node, [], []  # segment: since the last new cell
        for _ in range(self.rng.randint(*(NEAR_ROLLOUT if choice.near else ROLLOUT))):
            if self.driver.frame.done or self._spent():
                break
            held, approach = self.held(node, segment, approach)
            if self.step(held, node, segment) is None:
                break
            segment.append(held)
            played.append(held)
            node, segment = self._file(node, segment)
        self.rollouts += 1
        if played and (choice.near or self.rollouts % repeats.ECHO_EVERY == 0) and self._may_replay():
            repeats.echo(self, cell, played)
        if self.keys.stale or self.archive.crowded:
            self.archive.rekey()

    def _file(self, node: Node | None, segment: list) -> tuple[Node | None, list]:
        """Files the state just reached; a new cell (or a field's first change) ends the segment."""
        self.out.frames += 1
        fields = self.fields()
        if self.keys.observe(fields, self.driver.frame.index):
            # A field changed for the first time: the trajectory here is judged whatever else is
            # kept, and the cells are re-drawn with that field in them at once.
            node, segment = Node(node, tuple(segment)), []
            self.archive.milestones.append(node)
            self.archive.rekey()
        if self.driver.frame.done:
            self.out.episodes_ended += 1
        new = Node(node, tuple(segment))
        if self.archive.visit(fields, lambda: self._cell(new, fields)) is not None:
            return new, []
        return node, segment

    def _may_replay(self) -> bool:
        """Probes, echoes and approaches try frames from states already reached; they get
        :data:`REPLAY_SHARE` times the frames exploration gets (counted in frames, not seconds,
        so that a run reproduces)."""
        return self.out.echoed < REPLAY_SHARE * self.budget.frames

    def _spent(self) -> bool:
        if self.out.frames >= self.budget.frames:
            return True
        if time.perf_counter() - self.started > self.budget.seconds:
            self.out.stopped_by = "seconds"
            return True
        return False

    def run(self) -> Exploration:
        """Explores until the budget is spent, then plays out; returns what it found."""
        self.started = time.perf_counter()
        try:
            while not self._spent():
                self.rollout(self.archive.select(self.rng))
            self.out.seconds = time.perf_counter() - self.started
            ends = [playouts.playout(self), playouts.idle_playout(self), playouts.stand_in_playout(self)]
        except Crashed as crashed:
            self.out.seconds = time.perf_counter() - self.started
            crash = self.out.crash = crashed.crash
            self.out.deepest = max(self.out.deepest, crash.frame)
            crash.where = user_frames(crash.error)[-1:]
            crash.error = crash.error.with_traceback(None)
            ends = []
        out = self.out
        out.cells = len(self.archive.cells)
        out.deepest = max([out.deepest] + [c.frame for c in self.archive.cells.values()])
        out.coverage.changed = set(self.keys.changed)
        out.trajectories = out.unstable + self.archive.judged(self.seed, self.humans) + [e for e in ends if e]
        return out
