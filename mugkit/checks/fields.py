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
from ..runtime.state import hash_view, render_attributes

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


def env_fields(env: Any, uses_state_methods: bool = True) -> dict[str, Any]:
    """``path → leaf`` for the unwrapped ``env``'s attributes (see the module docstring). For an
    env snapshotted by deep copy (``uses_state_methods`` False), the attributes its ``render()``
    assigns are left out, as the frame hash leaves them out."""
    view = hash_view(env)
    if not isinstance(view, dict):
        return {"": view}
    skip = set() if uses_state_methods else set(render_attributes(type(env)))
    out: dict[str, Any] = {}
    for name, value in view.items():
        if name != "__class__" and name not in skip:
            _flatten(value, name, out, 1)
    return out


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
