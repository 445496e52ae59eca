"""Finding where an env iterates over a set of strings, whose order changes with ``PYTHONHASHSEED``.

:func:`trace_set_iteration` runs a function with line tracing in the env's code and, on each line
that iterates (``for``, comprehensions, ``list(x)``, ``x.pop()`` …), evaluates the iterated
expression again and checks whether it is a set holding strings. Slow: only used to explain a
failure already found.
"""

from __future__ import annotations

import ast
import sys
from typing import Any, Callable

from . import diagnose
from .diagnose import _is_harness, _not_the_env, _where

__all__ = ["trace_set_iteration"]

#: Calls whose argument is iterated in order.
_ITERATING_CALLS = {"list", "tuple", "enumerate", "zip", "iter", "next", "dict.fromkeys", "join", "extend"}


def _pure(node: ast.expr) -> bool:
    """An expression that can be evaluated again without side effects: names, attributes,
    constant subscripts."""
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Attribute):
        return _pure(node.value)
    if isinstance(node, ast.Subscript):
        return _pure(node.value) and isinstance(node.slice, (ast.Constant, ast.Name))
    return False


def _call_name(node: ast.Call) -> str:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f"dict.{f.attr}" if isinstance(f.value, ast.Name) and f.value.id == "dict" else f.attr
    return ""


def _iterated(tree: ast.AST) -> dict[int, list[tuple[str, ast.expr]]]:
    """Per line, the expressions iterated in order there (``for``, comprehensions, ``list(x)`` …,
    ``x.pop()``), reduced to the part that can be re-evaluated (``set(self.names)`` → ``self.names``)."""
    sites: dict[int, list] = {}

    def add(expr: ast.expr, how: str) -> None:
        if isinstance(expr, ast.Call) and _call_name(expr) in ("set", "frozenset") and expr.args:
            expr = expr.args[0]  # iterating set(x) is iterating x's members in hash order
            how = "set(...)"
        if _pure(expr):
            sites.setdefault(expr.lineno, []).append((how, expr))

    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            add(node.iter, "for")
        elif isinstance(node, ast.comprehension):
            add(node.iter, "comprehension")
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _ITERATING_CALLS and node.args:
                add(node.args[-1] if name in ("join", "extend") else node.args[0], f"{name}()")
            elif name == "pop" and isinstance(node.func, ast.Attribute) and not node.args:
                add(node.func.value, ".pop()")
    return sites


_SITES: dict[str, dict] = {}


def _sites_of(filename: str) -> dict:
    if filename not in _SITES:
        try:
            with open(filename, encoding="utf-8") as f:
                _SITES[filename] = _iterated(ast.parse(f.read()))
        except (OSError, SyntaxError, ValueError):
            _SITES[filename] = {}
    return _SITES[filename]


_CODE: dict[int, Any] = {}


def _compiled(expr: ast.expr) -> Any:
    key = id(expr)  # the nodes live as long as _SITES keeps their tree
    if key not in _CODE:
        _CODE[key] = compile(ast.Expression(expr), "<mugkit>", "eval")
    return _CODE[key]


def _hash_ordered(value: Any) -> bool:
    """A set whose order depends on string hashing: two or more members, some str or bytes."""
    if not isinstance(value, (set, frozenset)) or len(value) < 2:
        return False
    return any(isinstance(v, (str, bytes)) or (isinstance(v, tuple) and any(isinstance(x, (str, bytes)) for x in v))
               for v in value)


def trace_set_iteration(fn: Callable[[], Any], limit: int = 10) -> list[str]:
    """Runs ``fn()`` with line tracing in the env's code (not the standard library, mugkit or the
    harness) and returns where it iterates over a set of strings, whose order changes with
    ``PYTHONHASHSEED``: ``"envs/walk.py:12: for over self.names (a set of 2 str)"``. Slow: only used
    to explain a failure already found."""
    diagnose._NOT_THE_ENV = _not_the_env()
    found: dict[str, None] = {}

    def on_line(frame, event, arg):
        if event == "line" and len(found) < limit:
            for how, expr in _sites_of(frame.f_code.co_filename).get(frame.f_lineno, ()):
                try:
                    value = eval(_compiled(expr), frame.f_globals, frame.f_locals)
                except Exception:
                    continue
                if _hash_ordered(value):
                    found.setdefault(f"{_where(frame)}: {how} over {ast.unparse(expr)} (a set of {len(value)} "
                                     f"members, ordered by string hashing)")
        return on_line

    def on_call(frame, event, arg):
        return None if _is_harness(frame) else on_line

    old = sys.gettrace()
    sys.settrace(on_call)
    try:
        fn()
    except Exception:
        pass  # only where it iterates matters here
    finally:
        sys.settrace(old)
    return list(found)
