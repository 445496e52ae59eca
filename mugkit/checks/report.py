"""A check failure as data, rendered as the text pytest shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..nodeid import NodeId

__all__ = ["CheckFailure", "format_actions", "reproduce_snippet", "DEFAULT_FRAMES"]

_MAX_ACTIONS_SHOWN = 40


def format_actions(actions: list[dict]) -> str:
    """Actions per frame, one line per run of equal ones: ``frames 3–9: {'runner': 1, 'chaser': 0}``."""
    from ..runtime.state import state_view

    actions = state_view(actions)
    lines, i = [], 0
    while i < len(actions) and len(lines) < _MAX_ACTIONS_SHOWN:
        j = i
        while j + 1 < len(actions) and actions[j + 1] == actions[i]:
            j += 1
        lines.append(f"    frame {i + 1}: {actions[i]!r}" if i == j else f"    frames {i + 1}–{j + 1}: {actions[i]!r}")
        i = j + 1
    if i < len(actions):
        lines.append(f"    … {len(actions) - i} more frames")
    return "\n".join(lines) if lines else "    (none: the reset alone)"


@dataclass
class CheckFailure(Exception):
    """A failed check: what was asserted, and everything needed to reproduce and fix it.

    Attributes:
        nodeid: the check's node id, ``<file>::<step>::<check>``.
        summary: one sentence: what went wrong.
        seed: the game seed of the failing example.
        plan: the keys the humans held, frame by frame (a :class:`~mugkit.checks.inputs.KeyPlan`).
        actions: the joint actions the frames were played with, one dict per frame.
        frame: the first frame that differs.
        differs: what differs there (state keys, observations, …), one line each.
        cause: the likely cause and how to fix it.
        replay: a Python program that reproduces the failure: run as printed, from the folder where
            the check ran, it raises this failure again.
        raised_at: for a crash, the innermost traceback lines outside mugkit.
        shrunk: whether Hypothesis shrank the example (False for a fixed example).
        scenario: check-specific facts of the example (the rollback check's network, …).
    """

    nodeid: NodeId
    summary: str
    seed: int | None = None
    plan: Any = None
    actions: list | None = None
    frame: int | None = None
    differs: list = field(default_factory=list)
    cause: str | None = None
    replay: str | None = None
    raised_at: list = field(default_factory=list)
    shrunk: bool = False
    scenario: dict | None = None

    def __post_init__(self):
        super().__init__(self.summary)

    def __str__(self) -> str:
        return self.render()

    def to_dict(self) -> dict:
        """The failure as JSON-ready data (for ``--json`` and tools)."""
        from ..runtime.state import state_view
        from .inputs import plan_to_data

        node = NodeId.parse(self.nodeid)
        return {"nodeid": str(self.nodeid), "check": node.check, "step": node.step, "file": node.file,
                "summary": self.summary, "seed": self.seed,
                "keys": None if self.plan is None else plan_to_data(self.plan),
                "actions": None if self.actions is None else [[[a, v] for a, v in frame.items()]
                                                              for frame in state_view(self.actions)],
                "frame": self.frame, "differs": list(self.differs), "cause": self.cause, "reproduce": self.replay,
                "raised_at": list(self.raised_at), "shrunk": self.shrunk,
                "scenario": state_view(self.scenario) if self.scenario else None}

    def render(self) -> str:
        out = [f"{self.nodeid}: {self.summary}"]
        if self.seed is not None:
            out.append(f"  seed: {self.seed}")
        for key, value in (self.scenario or {}).items():
            out.append(f"  {key}: {value}")
        if self.plan is not None and len(self.plan):
            out.append(f"  keys held ({len(self.plan)} frames{', shrunk' if self.shrunk else ''}): {self.plan.literal()}")
        if self.actions is not None:
            out.append(f"  actions ({len(self.actions)} frames):")
            out.append(format_actions(self.actions))
        if self.frame is not None:
            out.append(f"  first differing frame: {self.frame}")
        if self.differs:
            out.append("  what differs:")
            out += [f"    {d}" for d in self.differs]
        if self.raised_at:
            out.append("  raised at (innermost last):")
            out += [f"    {line}" for line in self.raised_at]
        if self.cause:
            out.append(f"  likely cause: {self.cause}")
        if self.replay:
            out.append("  reproduce (run from the folder where the check ran):")
            out += [f"    {line}" for line in self.replay.splitlines()]
        return "\n".join(out)


def reproduce_snippet(ctx: Any, seed: int, plan: Any, **extra: Any) -> str:
    """A Python program that runs the check again on one example and raises its failure."""
    import os

    args = [repr(str(ctx.nodeid)), f"seed={seed}", f"keys={plan.literal()}"]
    if ctx.frames != DEFAULT_FRAMES:
        args.append(f"frames={ctx.frames}")
    args += [f"{k}={v!r}" for k, v in extra.items()]
    if os.path.abspath(ctx.rootdir) != os.getcwd():
        args.append(f"rootdir={ctx.rootdir!r}")
    return "from mugkit.checks.reproduce import reproduce\nreproduce(" + ", ".join(args) + ")"


#: ``--mugkit-frames``'s default.
DEFAULT_FRAMES = 40
