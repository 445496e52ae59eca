"""What exploration reached: the fields that changed, those that never did, and those a restore
leaves out.

Coverage is measured over every attribute of the unwrapped env (see :mod:`mugkit.checks.fields`),
so an attribute that ``get_state()`` forgets is seen changing like any other. For an env with
``get_state``/``set_state``, exploration restores snapshots all the time; after each restore it
compares the env's attributes with what they were when the snapshot was taken. An attribute that
keeps a later value is named at once — "``stun`` changes during play but ``set_state()`` does not
restore it" — even when no rollback check happened to cross a change of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..runtime.hashing import fingerprint
from .fields import Digest, top_name

__all__ = ["Coverage", "attribute_digests"]

#: Attributes of any env that describe it rather than its play (not reported as never changed).
_DESCRIPTIVE = {"metadata", "render_mode", "possible_agents", "observation_spaces", "action_spaces",
                "observation_space", "action_space", "spec", "np_random_seed", "reward_range"}


def attribute_digests(fields: dict[str, Any]) -> dict[str, str]:
    """One digest per env attribute (``players`` for ``players[0].x`` …), to compare two states
    attribute by attribute."""
    groups: dict[str, list] = {}
    for path, v in fields.items():
        groups.setdefault(top_name(path), []).append((path, v.value if isinstance(v, Digest) else v))
    return {name: fingerprint(items) for name, items in groups.items()}


@dataclass
class Coverage:
    """Fields seen and changed across the states exploration visited.

    Attributes:
        fields: every field path seen.
        changed: the paths whose value differed from the first state at some point.
        left_out: attribute → how it was found left out by a restore (see the module docstring).
        state_like: the attributes the env's own methods assign outside ``__init__`` (its game
            state, as opposed to configuration); empty when its source is not available.
    """

    fields: set = field(default_factory=set)
    changed: set = field(default_factory=set)
    left_out: dict = field(default_factory=dict)
    state_like: set = field(default_factory=set)

    def note_restore(self, saved: dict[str, str], restored: dict[str, str], frame: int, how: str) -> None:
        """Compares attribute digests taken when a snapshot was saved with those right after it
        was restored (at ``frame``): attributes that differ are left out by the restore."""
        for name, d in saved.items():
            if restored.get(name) != d and name not in self.left_out:
                self.left_out[name] = (f"`{name}` changes during play but {how} does not restore it: after "
                                       f"restoring frame {frame} it kept a later value")

    @property
    def never_changed(self) -> list[str]:
        """Attributes none of whose fields ever changed, among the env's state-like ones."""
        by_attr: dict[str, bool] = {}
        for path in self.fields:
            name = top_name(path)
            by_attr[name] = by_attr.get(name, False) or path in self.changed
        wanted = self.state_like or set(by_attr)
        return sorted(n for n, moved in by_attr.items()
                      if not moved and n in wanted and n not in _DESCRIPTIVE and not n.startswith("_"))

    @property
    def changed_attributes(self) -> list[str]:
        return sorted({top_name(p) for p in self.changed})
