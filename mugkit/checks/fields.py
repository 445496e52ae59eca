"""An env's state as named fields: every attribute of the unwrapped env, and the plain data in it.

Exploration and coverage look at the env itself, not only at what ``get_state()`` returns: the
attribute a ``get_state()`` forgets is exactly the one a report must be able to name.

:func:`env_fields` flattens the env's attribute view (:func:`~mugkit.runtime.state.hash_view`,
the same view the frame hash of an env without ``get_state`` covers) into ``path → leaf``:
``stun``, ``players[0].x``, ``board``. Leaves are scalars as they are; a random generator, a
large array or a long list is one leaf, its :class:`Digest` (so a field holding a pixel buffer
costs one CRC, not one entry per pixel).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from ..runtime.hashing import fingerprint
from ..runtime.state import attribute_views, render_attributes, viewed_attributes

__all__ = ["Digest", "env_fields", "top_name", "SMALL"]

#: Sequences and arrays up to this many items are split into one field per item.
SMALL = 8
#: Nesting below this depth is one leaf (its digest).
MAX_DEPTH = 5
#: At most this many fields per env; the rest of a very large env's data is one digest per branch.
MAX_FIELDS = 400


@dataclass(frozen=True)
class Digest:
    """A value summarised as one leaf: ``kind`` is ``"rng"`` (a random generator's state),
    ``"array"`` (numpy), ``"list"`` or ``"data"``; ``size`` its number of items."""

    kind: str
    size: int
    value: str


def _is_array(x: Any) -> bool:
    return type(x).__name__ == "ndarray" and hasattr(x, "dtype")


def _digest(x: Any, kind: str, size: int) -> Digest:
    return Digest(kind, size, fingerprint(x))


def _is_generator(cls: Any) -> bool:
    """A random generator's view (``random.Random``, numpy's, ``mk.Random`` or a look-alike): its
    state changes with every draw and says nothing about where the game is."""
    return isinstance(cls, str) and cls.rsplit(".", 1)[-1] in ("Random", "Generator", "RandomState", "RNG", "Rng")


def env_fields(env: Any, uses_state_methods: bool = True, skip: frozenset = frozenset()) -> dict[str, Any]:
    """``path → leaf`` for the unwrapped ``env``'s attributes (see the module docstring), but
    those named in ``skip``. For an env snapshotted by deep copy (``uses_state_methods`` False),
    the attributes its ``render()`` assigns are left out, as the frame hash leaves them out."""
    skip = skip | (frozenset() if uses_state_methods else render_attributes(type(env)))
    out: dict[str, Any] = {}
    for name, view in attribute_views(env, skip).items():
        _flatten(view, name, out, 1)
    return out


def large_configuration(env: Any, state_like: set) -> frozenset:
    """The env's attributes that only ``__init__`` assigns (configuration, by its source) and that
    hold more than :data:`~mugkit.checks.cells.MAX_CELL_ITEMS`-odd items — a transition table, a
    map's tiles. Reading them every frame would cost more than the game (a toy-text env's table is
    thousands of tuples); they are not game state. Empty when the source is not available."""
    if not state_like:
        return frozenset()
    return frozenset(name for name, value in viewed_attributes(env).items()
                     if name not in state_like and _size(value) > LARGE)


#: An attribute holding more items than this is large (see :func:`large_configuration`).
LARGE = 256


def _size(value: Any) -> int:
    if _is_array(value):
        return int(value.size)
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return len(value) + sum(len(v) for v in (value.values() if isinstance(value, dict) else value)
                                if isinstance(v, (dict, list, tuple)))
    return 0


def _flatten(x: Any, path: str, out: dict, depth: int) -> None:
    if x is None or isinstance(x, (bool, int, float, str, bytes, complex)):
        out[path] = x
        return
    if isinstance(x, dict) and _is_generator(x.get("__class__")):
        out[path] = _digest(x, "rng", 1)
        return
    if depth > MAX_DEPTH or len(out) >= MAX_FIELDS:
        out[path] = _digest(x, "data", 1)
        return
    if _is_array(x):
        if x.size <= SMALL and x.dtype.kind in "biuf":
            _flatten(x.tolist(), path, out, depth)  # nested lists keep the array's rows apart
        elif x.dtype.kind != "O":  # raw bytes: a CRC, not an encoding (called for every explored frame)
            out[path] = Digest("array", int(x.size), f"{x.dtype.str}{x.shape}{zlib.crc32(x.tobytes())}")
        else:
            out[path] = _digest(x, "array", int(x.size))
        return
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "__class__":
                continue
            _flatten(v, f"{path}.{k}" if isinstance(k, str) else f"{path}[{k!r}]", out, depth + 1)
        return
    if isinstance(x, (list, tuple, set, frozenset)):
        items = sorted(x, key=repr) if isinstance(x, (set, frozenset)) else x
        if len(items) > SMALL:
            out[path] = _digest(list(items), "list", len(items))
            return
        for i, v in enumerate(items):
            _flatten(v, f"{path}[{i}]", out, depth + 1)
        return
    out[path] = _digest(x, "data", 1)


def top_name(path: str) -> str:
    """The env attribute a field belongs to: ``players[0].x`` → ``players``."""
    for i, ch in enumerate(path):
        if ch in ".[":
            return path[:i]
    return path
