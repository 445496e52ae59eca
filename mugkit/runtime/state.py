"""Snapshots of an env, its state as plain data, and what differs between two states.

An env that defines ``get_state()``/``set_state(state)`` is saved and restored through them.
Any other env falls back to a deep copy. Third-party envs hold things a deep copy cannot copy
once they have rendered (pygame surfaces and clocks, windows, file handles): these *resources*
are shared between the live env and its snapshots rather than copied, since they are how the env
draws, not what it plays.

:func:`state_view` turns any env (or value) into plain data for hashing and for reports. Its
rules, which are part of the frame hash:

- plain values and containers map to themselves; numpy arrays stay arrays (see ``hashing``);
- ``random.Random`` → ``{"__class__": "random.Random", "state": getstate()}``; numpy
  ``Generator``/``BitGenerator``/``RandomState`` likewise with their ``state``;
- an object with attributes → ``{"__class__": "module.Qualname", attr: view, …}``, leaving out
  attributes that hold ``None``, a function, a module, a class, a resource (an object with no
  attributes of its own and no canonical encoding, e.g. a pygame ``Surface``), or a non-empty
  list, tuple or dict holding only resources — so that rendering, which fills ``screen = None``
  with a surface or a list of sprites, does not change the hash.

For the hash of an env without ``get_state``, the attributes its ``render()`` assigns are left
out too (:func:`render_attributes`).
"""

from __future__ import annotations

import copy
import enum
import functools
import random
import types
from typing import Any

from .hashing import UnencodableError, encode

__all__ = ["state_view", "hash_view", "viewed_attributes", "attribute_views", "same", "diff", "copy_plain", "render_attributes", "Snapshotter"]

_PLAIN = (bool, int, float, complex, str, bytes, bytearray, type(None))
_SCALARS = {bool, int, float, complex, str, bytes, type(None)}
_MISSING = object()
_MAX_DEPTH = 24


def _qualname(t: type) -> str:
    return f"{t.__module__}.{t.__qualname__}"


_NUMPY_TYPES: dict = {}  # type -> defined in numpy (a view asks this of every value, so it is cached)


def _is_numpy(x: Any) -> bool:
    t = type(x)
    known = _NUMPY_TYPES.get(t)
    if known is None:
        known = _NUMPY_TYPES[t] = t.__module__.split(".")[0] == "numpy"
    return known


def _rng_view(x: Any) -> dict | None:
    if type(x) in _SCALARS:
        return None
    if isinstance(x, random.Random):
        return {"__class__": "random.Random", "state": x.getstate()}
    name = type(x).__name__
    if _is_numpy(x):
        if name == "Generator":
            return {"__class__": "numpy.random.Generator", "state": x.bit_generator.state}
        if name == "RandomState":
            return {"__class__": "numpy.random.RandomState", "state": x.get_state(legacy=False)}
        if hasattr(x, "state") and hasattr(x, "random_raw"):  # a BitGenerator
            return {"__class__": _qualname(type(x)), "state": x.state}
    return None


def _is_skipped(x: Any) -> bool:
    """Attribute values left out of an object's view (see the module docstring)."""
    if x is not None and type(x) in _SCALARS:
        return False
    return (x is None or isinstance(x, (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                                         types.ModuleType, type, property))
            or _is_resource(x) or _holds_only_resources(x))


def _holds_only_resources(x: Any) -> bool:
    """A non-empty list, tuple or dict of resources only (a cache of sprites filled by render())."""
    if isinstance(x, dict):
        items = list(x.values())
    elif isinstance(x, (list, tuple)):
        items = list(x)
    else:
        return False
    return bool(items) and all(_is_resource(v) or _holds_only_resources(v) for v in items)


def _is_resource(x: Any) -> bool:
    if isinstance(x, _PLAIN) or isinstance(x, (list, tuple, dict, set, frozenset, enum.Enum)):
        return False
    if _is_numpy(x) or _rng_view(x) is not None:
        return False
    return not hasattr(x, "__dict__") and not hasattr(type(x), "__slots__")


def _attrs(x: Any) -> dict:
    """Instance attributes: the ``__dict__`` and every ``__slots__`` entry along the class chain."""
    out = dict(vars(x)) if hasattr(x, "__dict__") else {}
    for klass in type(x).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(x, slot):
                out[slot] = getattr(x, slot)
    return out


def viewed_attributes(x: Any) -> dict[str, Any]:
    """The attributes of an object that its view covers (see the module docstring), by name."""
    return {name: value for name, value in _attrs(x).items() if not _is_skipped(value)}


def attribute_views(x: Any, leave_out: frozenset = frozenset()) -> dict[str, Any]:
    """:func:`hash_view` of ``x``, attribute by attribute, without the attributes in ``leave_out``
    (never viewed: a large table costs nothing). The same as the entries of ``hash_view(x)``."""
    seen = frozenset({id(x)})
    return {name: _view(value, seen, 1, False) for name, value in viewed_attributes(x).items()
            if name not in leave_out}


def state_view(x: Any, _seen: frozenset = frozenset(), _depth: int = 0) -> Any:
    """``x`` as plain data (see the module docstring for the rules)."""
    return _view(x, _seen, _depth, True)


def hash_view(x: Any) -> Any:
    """:func:`state_view` for hashing at once: the same data, but numpy arrays are the env's own
    (not copies), so the view is only valid until the env changes. Do not keep it."""
    return _view(x, frozenset(), 0, False)


def _view(x: Any, _seen: frozenset, _depth: int, copy_arrays: bool) -> Any:
    if type(x) in _SCALARS or isinstance(x, _PLAIN):
        return x
    if _depth > _MAX_DEPTH:
        return f"<deeper than {_MAX_DEPTH}>"
    if id(x) in _seen:
        return "<cycle>"
    seen = _seen | {id(x)}
    d = _depth + 1
    if isinstance(x, (list, tuple)):
        if set(map(type, x)) <= _SCALARS:
            return list(x)  # plain already: one copy, not a call per item (RNG states have 625)
        return [_view(v, seen, d, copy_arrays) for v in x]
    if isinstance(x, dict):
        return {_key(k): _view(v, seen, d, copy_arrays) for k, v in x.items()}
    if isinstance(x, (set, frozenset)):
        if all(isinstance(v, _PLAIN) for v in x):
            return set(x)
        # Objects in a set: their views, in the order of their canonical encodings (a repr would
        # carry memory addresses, which differ between runs).
        return sorted((_view(v, seen, d, copy_arrays) for v in x), key=encode)
    if isinstance(x, enum.Enum):
        return {"__enum__": _qualname(type(x)), "value": _view(x.value, seen, d, copy_arrays)}
    rng = _rng_view(x)
    if rng is not None:
        return _view(rng, seen, d, copy_arrays)
    if _is_numpy(x):
        if type(x).__name__ == "ndarray":
            if x.dtype.kind == "O":
                return [_view(v, seen, d, copy_arrays) for v in x.tolist()]
            # A copy for a view that is kept: it must not change when the env edits the array in place.
            return x.copy() if copy_arrays else x
        if hasattr(x, "dtype") and hasattr(x, "item"):
            return x.item()  # a numpy scalar
        return str(x)  # dtypes and other numpy descriptions
    view = {"__class__": _qualname(type(x))}
    for name, value in _attrs(x).items():
        if not _is_skipped(value):
            view[name] = _view(value, seen, d, copy_arrays)
    return view


@functools.lru_cache(maxsize=256)
def render_attributes(cls: type) -> frozenset:
    """Attributes that ``cls.render`` (or a method of the class it calls, transitively) assigns:
    ``self.x = …``, ``self.x += …``. They are drawing state — a sprite's orientation, a window, a
    font cache — that the deep-copy fallback leaves out of the state hash, so that rendering
    or not rendering a frame gives the same hash. Found by reading the source (the same answer
    whether or not the env ever rendered); empty when the source is not available — so a browser
    env without ``get_state`` must ship its source (as experiment folders do), or the browser and
    the server would hash different attributes.
    """
    import ast
    import inspect
    import textwrap

    methods: dict[str, ast.AST] = {}
    for klass in reversed(cls.__mro__):
        for name, fn in vars(klass).items():
            if not callable(fn):
                continue
            try:
                tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
            except (OSError, TypeError, SyntaxError, IndentationError):
                continue
            methods[name] = tree
    found: set[str] = set()
    todo, seen = ["render"], set()
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        for node in ast.walk(methods[name]):
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name) and sub.value.id == "self":
                        found.add(sub.attr)
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "self"):
                todo.append(node.func.attr)
    return frozenset(found)


def _key(k: Any) -> Any:
    if isinstance(k, _PLAIN) or isinstance(k, tuple):
        return k
    text = repr(k)
    if " at 0x" not in text:
        return text  # readable and stable (an Enum member, a dataclass)
    return encode(state_view(k))  # a repr with a memory address would differ between runs


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` have the same canonical encoding (the frame hash's notion of
    equality: ``-0.0`` differs from ``0.0``, ``True`` from ``1``); by ``repr`` for what has none."""
    try:
        return encode(state_view(a)) == encode(state_view(b))
    except UnencodableError:
        return repr(a) == repr(b)


def diff(a: Any, b: Any, path: str = "", limit: int = 8) -> list[str]:
    """Readable differences between two state views, at most ``limit``, each ``path: a != b``."""
    out: list[str] = []
    _diff(a, b, path, out, limit)
    return out


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _diff(a: Any, b: Any, path: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            sub = f"{path}.{k}" if isinstance(k, str) and k.isidentifier() and path else (
                k if isinstance(k, str) and k.isidentifier() else f"{path}[{k!r}]")
            if k not in b:
                out.append(f"{sub}: only in the first")
            elif k not in a:
                out.append(f"{sub}: only in the second")
            else:
                _diff(a[k], b[k], sub, out, limit)
            if len(out) >= limit:
                return
        return
    if _is_array(a) and _is_array(b):
        if not same(a, b):
            out.append(f"{path or 'value'}: {_array_difference(a, b)}")
        return
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        if len(a) > _ITEMS_SHOWN and set(map(type, a)) | set(map(type, b)) <= _SCALARS:
            if not same(a, b):  # a long run of numbers (a generator's state): one line
                out.append(f"{path or 'value'}: {_sequence_difference(a, b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            _diff(x, y, f"{path}[{i}]", out, limit)
        return
    if not same(a, b):
        out.append(f"{path or 'value'}: {_short(a)} != {_short(b)}")


#: Longer sequences of numbers are summarised in one line.
_ITEMS_SHOWN = 8


def _is_array(x: Any) -> bool:
    return type(x).__name__ == "ndarray" and _is_numpy(x)


def _sequence_difference(a: Any, b: Any) -> str:
    """``"3 of 625 elements differ; first at [1]: 5 != 7"``."""
    differing = [i for i, (x, y) in enumerate(zip(a, b)) if not same(x, y)]
    i = differing[0]
    return f"{len(differing)} of {len(a)} elements differ; first at [{i}]: {_short(a[i])} != {_short(b[i])}"


def _array_difference(a: Any, b: Any) -> str:
    """Shape and dtype when they differ, else how many elements differ and the first of them."""
    import numpy as np

    if a.shape != b.shape or a.dtype != b.dtype:
        return f"array of shape {a.shape} {a.dtype} != array of shape {b.shape} {b.dtype}"
    if a.dtype.kind in "fc":  # bit patterns, as the frame hash compares them (-0.0 != 0.0, NaN == NaN)
        unequal = a.view(np.uint8).reshape(a.shape + (-1,)) != b.view(np.uint8).reshape(b.shape + (-1,))
        unequal = unequal.any(axis=-1)
    else:
        unequal = a != b
    where = np.argwhere(unequal)
    if not len(where):
        return f"arrays of shape {a.shape} {a.dtype} hold the same values in another memory layout"
    first = tuple(int(i) for i in where[0])
    at = ", ".join(map(str, first))
    return (f"{len(where)} of {a.size} elements differ in arrays of shape {a.shape} {a.dtype}; first at [{at}]: "
            f"{_short(a[first].item())} != {_short(b[first].item())}")


def copy_plain(x: Any) -> Any:
    """A deep copy, fast for plain data: immutable runs (an RNG state's tuple of ints) are shared."""
    t = type(x)
    if t in _SCALARS:
        return x
    if t is list:
        return x[:] if set(map(type, x)) <= _SCALARS else [copy_plain(v) for v in x]
    if t is tuple:
        return x if set(map(type, x)) <= _SCALARS else tuple(copy_plain(v) for v in x)
    if t is dict:
        return {k: copy_plain(v) for k, v in x.items()}
    return copy.deepcopy(x)


_LIST, _DICT, _TUPLE, _ARRAY, _OBJECT, _DEEPCOPY, _SHARE = (
    "list", "dict", "tuple", "array", "object", "deepcopy", "share")


class Snapshotter:
    """Saves and restores one env: through ``get_state``/``set_state`` when it has them,
    else by a deep copy that shares resources (see the module docstring).
    """

    def __init__(self, env: Any):
        self.env = env
        self.uses_state_methods = callable(getattr(env, "get_state", None)) and callable(
            getattr(env, "set_state", None))
        self._resource_types: dict[type, bool] = {}
        self._kinds: dict[type, str] = {}

    def save(self) -> Any:
        """A snapshot that :meth:`load` can restore any number of times."""
        if self.uses_state_methods:
            # A copy, so an env that returns its live lists cannot change a saved state later.
            return copy_plain(self.env.get_state())
        return self._copy(self.env)

    def load(self, snapshot: Any) -> None:
        """Puts the env back in the state of ``snapshot``, in place (the env object stays the same)."""
        if self.uses_state_methods:
            self.env.set_state(copy_plain(snapshot))
            return
        fresh = _attrs(self._copy(snapshot))
        if hasattr(self.env, "__dict__"):
            vars(self.env).clear()
        for name, value in fresh.items():
            object.__setattr__(self.env, name, value)  # past any __setattr__ guard the env has

    def _copy(self, x: Any) -> Any:
        return self._deep(x, {})

    def _deep(self, x: Any, memo: dict) -> Any:
        """A deep copy that copies objects attribute by attribute and shares resources.

        ``copy.deepcopy`` is not enough: it honours ``__reduce__``/``__getstate__``, and classes
        built on ``EzPickle`` (many PettingZoo and Gymnasium envs) pickle as their constructor
        arguments, so their "copy" is a fresh env that lost its state.
        """
        t = type(x)
        if t in _SCALARS:
            return x
        found = memo.get(id(x), _MISSING)
        if found is not _MISSING:
            return found
        kind = self._kinds.get(t) or self._kind(x)
        if kind is _LIST:
            out: Any = []
            memo[id(x)] = out
            out.extend(self._deep(v, memo) for v in x)
        elif kind is _DICT:
            out = {}
            memo[id(x)] = out
            for k, v in x.items():
                out[k] = self._deep(v, memo)
        elif kind is _TUPLE:
            out = x if set(map(type, x)) <= _SCALARS else tuple(self._deep(v, memo) for v in x)
        elif kind is _ARRAY:
            # What ndarray.__deepcopy__ does for an array without Python objects in it, minus the
            # trip through copy.deepcopy.
            out = x.copy(order="K") if not x.dtype.hasobject else copy.deepcopy(x, memo)
        elif kind is _OBJECT:
            out = object.__new__(t)
            memo[id(x)] = out
            for name, value in _attrs(x).items():
                object.__setattr__(out, name, self._deep(value, memo))
        elif kind is _DEEPCOPY:
            out = copy.deepcopy(x, memo)
        else:
            out = x  # a function, module or class; or a resource (a pygame surface, a window): shared
        memo[id(x)] = out
        memo.setdefault("__keep__", []).append(x)  # as copy.deepcopy does: ids stay unique
        return out

    def _kind(self, x: Any) -> str:
        """How :meth:`_deep` copies values of ``type(x)`` (decided once per type)."""
        t = type(x)
        if t is list:
            kind = _LIST
        elif t is dict:
            kind = _DICT
        elif t is tuple:
            kind = _TUPLE
        elif isinstance(x, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType, type)):
            kind = _SHARE
        elif t.__name__ == "ndarray" and t.__module__ == "numpy":
            kind = _ARRAY
        elif (hasattr(x, "__dict__") and not hasattr(t, "__deepcopy__") and t.__new__ is object.__new__
              and not isinstance(x, (list, dict, set, tuple, enum.Enum))):
            kind = _OBJECT
        elif self._copyable(x):
            kind = _DEEPCOPY
        else:
            kind = _SHARE
        self._kinds[t] = kind
        return kind

    def _copyable(self, x: Any) -> bool:
        t = type(x)
        if t not in self._resource_types:
            try:
                copy.deepcopy(x)
                self._resource_types[t] = True
            except Exception:
                self._resource_types[t] = False
        return self._resource_types[t]
