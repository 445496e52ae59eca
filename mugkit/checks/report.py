"""A check failure as data, rendered as the text pytest shows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..nodeid import NodeId

__all__ = ["CheckFailure", "format_actions"]

_MAX_ACTIONS_SHOWN = 40


def format_actions(actions: list[dict]) -> str:
    """Actions per frame as one line each: ``frame 3: {'runner': 1, 'chaser': 0}``."""
    from ..runtime.state import state_view

    actions = state_view(actions)
    lines = [f"    frame {i + 1}: {a!r}" for i, a in enumerate(actions[:_MAX_ACTIONS_SHOWN])]
    if len(actions) > _MAX_ACTIONS_SHOWN:
        lines.append(f"    … {len(actions) - _MAX_ACTIONS_SHOWN} more frames")
    return "\n".join(lines) if lines else "    (none: the reset alone)"


@dataclass
class CheckFailure(Exception):
    """A failed check: what was asserted, and everything needed to reproduce and fix it.

    Attributes:
        nodeid: the check's node id, ``<file>::<step>::<check>``.
        summary: one sentence: what went wrong.
        seed: the game seed of the failing example.
        actions: the (shrunk) actions, one dict per frame.
        frame: the first frame that differs.
        differs: what differs there (state keys, observations, …), one line each.
        cause: the likely cause and how to fix it.
        replay: a Python snippet that reproduces the run.
        raised_at: for a crash, the innermost traceback lines outside mugkit.
        shrunk: whether Hypothesis shrank the actions (False for a fixed example).
    """

    nodeid: NodeId
    summary: str
    seed: int | None = None
    actions: list | None = None
    frame: int | None = None
    differs: list = field(default_factory=list)
    cause: str | None = None
    replay: str | None = None
    raised_at: list = field(default_factory=list)
    shrunk: bool = True

    def __post_init__(self):
        super().__init__(self.summary)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        out = [f"{self.nodeid}: {self.summary}"]
        if self.seed is not None:
            out.append(f"  seed: {self.seed}")
        if self.actions is not None:
            out.append(f"  actions ({len(self.actions)} frames{', shrunk' if self.shrunk else ''}):")
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
            out.append("  reproduce:")
            out += [f"    {line}" for line in self.replay.splitlines()]
        return "\n".join(out)


def replay_snippet(nodeid: NodeId, seed: int, actions: list[dict[str, Any]]) -> str:
    """Python that replays a run and prints its frame hashes."""
    from ..runtime.state import state_view

    actions = state_view(actions)  # numpy scalars as plain numbers, so the snippet needs no import
    try:
        text = json.dumps(actions)
        if json.loads(text) != actions:
            raise ValueError
    except (TypeError, ValueError):
        text = repr(actions)
    step = str(NodeId.parse(nodeid).step_id)
    return (f"from mugkit.checks.replay import replay\n"
            f"print(replay({step!r}, seed={seed}, actions={text}))")
