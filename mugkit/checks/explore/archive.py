"""The archive of cells: where exploration has been, how it got there, and where to go back to."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Hashable

from ..cells import CellKeys
from ..inputs import KeyPlan
from .results import Trajectory

__all__ = ["Node", "Cell", "Archive", "plan_of", "JUDGE_FRAMES"]

#: The archive aims at one cell per this many explored ticks (see :meth:`Archive.rekey`).
TICKS_PER_CELL = 10
#: Cells kept, at most: each holds a snapshot, and a deep copy of an env (one without
#: ``get_state``) may hold megabytes of arrays.
MAX_CELLS = 3000
MAX_DEEP_COPIES = 500
#: Shares of the choices of where to explore from (see :meth:`Archive.select`): among the cells
#: where two things are the closest they have come, and among those holding a field's least
#: visited value; the rest by Go-Explore's counts.
NEAR_SHARE = 0.5
RARE_SHARE = 0.2
#: The share of the rollouts from where two things came closest that bring them closer on purpose.
APPROACH_SHARE = 0.5
#: Where two things came closest: the cells at this many of the smallest distances seen.
NEAREST = 3
#: Ticks of explored trajectories (the playouts aside) that the checks replay, at most.
JUDGE_FRAMES = 300


class Node:
    """A piece of a trajectory: the ticks played after its parent's, shared by the cells below."""

    __slots__ = ("parent", "ticks", "length")

    def __init__(self, parent: "Node | None", ticks: tuple):
        self.parent = parent
        self.ticks = ticks
        self.length = (parent.length if parent else 0) + len(ticks)

    def all_ticks(self) -> list:
        """Every tick from the reset to the end of this piece, in order."""
        parts, node = [], self
        while node is not None:
            parts.append(node.ticks)
            node = node.parent
        return [t for part in reversed(parts) for t in part]

    def path(self) -> list[int]:
        """The ids of this node and its ancestors."""
        out, node = [], self
        while node is not None:
            out.append(id(node))
            node = node.parent
        return out


def ticks_of(node: Node | None) -> list:
    """The ticks from the reset to the end of ``node`` (none for the reset's cell)."""
    return node.all_ticks() if node is not None else []


def plan_of(humans: tuple, ticks: list) -> KeyPlan:
    """The key plan of ``ticks`` (dicts human → keys held; a human missing from one holds none)."""
    return KeyPlan({h: tuple(t.get(h, ()) for t in ticks) for h in humans})


@dataclass
class Cell:
    """One cell of the archive: the first state found in it (by the shortest way, after a rekey)."""

    node: Node | None
    snapshot: Any
    frame: int
    fields: dict
    digests: dict | None  # attribute digests when saved, to see what a restore leaves out
    done: bool
    chosen: int = 0
    seen: int = 0
    probed: bool = False

    @property
    def weight(self) -> float:
        """Go-Explore's count-based weight: rarely chosen and rarely seen cells first."""
        return 0.0 if self.done else 1 / math.sqrt(self.chosen + 1) + 1 / math.sqrt(self.seen + 1)

    @property
    def length(self) -> int:
        return self.node.length if self.node is not None else 0


@dataclass
class Choice:
    """Where a rollout starts: ``cell``; ``near`` when two things are the closest they have come
    there, and ``approach`` the pair of things to bring closer on purpose, if any."""

    cell: Cell
    near: bool = False
    approach: tuple | None = None


class Archive:
    """Cells by key (:class:`~mugkit.checks.cells.CellKeys`), and the first changes of fields."""

    def __init__(self, keys: CellKeys, frames_budget: int, deep_copies: bool = False):
        self.keys = keys
        self.max_cells = MAX_DEEP_COPIES if deep_copies else MAX_CELLS
        self.cells: dict[Hashable, Cell] = {}
        self.milestones: list[Node] = []  # where a field changed for the first time
        self.target = max(50, frames_budget // TICKS_PER_CELL)

    def visit(self, fields: dict, make: Any) -> Node | None:
        """Files a state with ``fields``: a new cell (``make()`` builds it) or one more visit of a
        known one. Returns the new cell's node, or None."""
        key = self.keys.key(fields)
        hit = self.cells.get(key)
        if hit is not None:
            hit.seen += 1
            return None
        if len(self.cells) >= self.max_cells:
            return None
        cell = make()
        self.cells[key] = cell
        return cell.node

    @property
    def crowded(self) -> bool:
        """Past its target size, with buckets that can still get coarser."""
        return len(self.cells) > self.target and self.keys.buckets > 2

    def select(self, rng: random.Random) -> Choice:
        """A cell to explore from. Go-Explore's choice (rarely chosen or seen cells) most of the
        time; otherwise a cell holding the least visited value of some field (the furthest right,
        the highest score), or one where two things are the closest they have come (where games
        happen: bumps, catches, ties)."""
        keys = [k for k, c in self.cells.items() if not c.done] or list(self.cells)
        draw = rng.random()
        choice = Choice(self.cells[keys[0]])
        if draw < NEAR_SHARE and self.keys.pairs:
            pair = rng.choice(self.keys.pairs)
            choice.near = True
            choice.approach = pair if rng.random() < APPROACH_SHARE else None
            apart = {k: self.keys.distance(self.cells[k].fields, pair) for k in keys}
            closest = sorted({d for d in apart.values() if d is not None})[:NEAREST]
            keys = [k for k in keys if apart[k] in closest] or keys
        elif draw < NEAR_SHARE + RARE_SHARE and keys[0]:
            counts = self._visits(keys)
            d = rng.randrange(len(keys[0]))
            rarest = min(counts[d].values())
            keys = [k for k in keys if counts[d][k[d]] == rarest]
        choice.cell = self.cells[rng.choices(keys, weights=[self.cells[k].weight for k in keys])[0]]
        return choice

    def _visits(self, keys: list) -> list[dict]:
        """Per field of the cell key, how many visited frames held each value."""
        counts: list[dict] = [{} for _ in range(len(keys[0]) if keys else 0)]
        for key in keys:
            visits = self.cells[key].seen + 1
            for d, v in enumerate(key):
                counts[d][v] = counts[d].get(v, 0) + visits
        return counts

    def rekey(self) -> None:
        """Re-draws the buckets and files every cell under its new key (the shortest way in wins).
        An archive past its target size gets coarser buckets, as Go-Explore adapts its
        downscaling: too many cells spread the restores so thin that none is explored from."""
        if len(self.cells) <= self.target or not self.keys.coarser():
            self.keys.redraw()
        cells: dict = {}
        for cell in self.cells.values():
            key = self.keys.key(cell.fields)
            kept = cells.get(key)
            if kept is None or cell.length < kept.length:
                if kept is not None:
                    cell.chosen, cell.seen = cell.chosen + kept.chosen, cell.seen + kept.seen
                cells[key] = cell
            else:
                kept.chosen, kept.seen = kept.chosen + cell.chosen, kept.seen + cell.seen
        self.cells = cells

    def root(self) -> Cell | None:
        """The reset's cell (the only one reached by no ticks)."""
        return next((c for c in self.cells.values() if c.node is None), None)

    def judged(self, seed: int, humans: tuple) -> list[Trajectory]:
        """Trajectories to replay: every first change of a field, then leaves of the archive's
        tree, those through most cells first, until every cell is on one or :data:`JUDGE_FRAMES`
        ticks are used."""
        nodes = {id(c.node): c.node for c in self.cells.values() if c.node is not None}
        parents = {id(n.parent) for n in nodes.values() if n.parent is not None}
        leaves = [n for k, n in nodes.items() if k not in parents]
        covered: set = set()
        chosen, used = [], 0
        for node in self.milestones:  # always judged: where something happened for the first time
            if id(node) not in covered:
                covered.update(node.path())
                used += node.length
                chosen.append(Trajectory(seed, plan_of(humans, node.all_ticks()), "a first change"))
        for leaf in sorted(leaves, key=lambda n: (-len(n.path()), n.length)):
            new = [k for k in leaf.path() if k not in covered]
            if not new or used + leaf.length > JUDGE_FRAMES:
                continue
            covered.update(new)
            used += leaf.length
            chosen.append(Trajectory(seed, plan_of(humans, leaf.all_ticks()), "new cells"))
        return chosen
