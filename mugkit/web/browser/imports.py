"""The experiment's own modules a browser step needs, found by reading the imports (``ast``),
never by running them.

From the experiment module, every ``import`` and ``from … import`` is followed — at module level
and inside functions, since the browser may call any of them — when it names a module that lives
inside the experiment's folder (the folder it is imported from, ``basedir``): sibling modules,
packages (with their ``__init__.py`` and every parent's), ``import pkg.sub``, relative imports
(``from . import x``, ``from .sub import y``) and ``from pkg import name`` where ``name`` is a
submodule. ``importlib.import_module("literal")`` and ``__import__("literal")`` are followed too.
An import that does not resolve inside the folder is an installed package: not shipped.

Not followed:

- imports under ``if not mk.in_browser:`` (or in the ``else`` of ``if mk.in_browser:``): the
  way to keep server-only modules (a ``config.py`` with API keys) out of the browser;
- dynamic imports of a computed name (``importlib.import_module(name)``): such a module must be
  declared in the step's ``files=``.
"""

from __future__ import annotations

import ast
import os

__all__ = ["local_modules", "ImportGraphError"]


class ImportGraphError(Exception):
    """A module the experiment imports cannot be read (a syntax error): the message names it."""


def _is_in_browser(test: ast.expr) -> bool:
    return (isinstance(test, ast.Attribute) and test.attr == "in_browser") or \
        (isinstance(test, ast.Name) and test.id == "in_browser")


def _browser_nodes(tree: ast.AST):
    """Every node the browser may run: the walk skips server-only branches of ``mk.in_browser``."""
    todo = [tree]  # a stack, children pushed in reverse: nodes come in source order
    while todo:
        node = todo.pop()
        yield node
        children = list(ast.iter_child_nodes(node))
        if isinstance(node, ast.If):
            test = node.test
            negated = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
            if _is_in_browser(test.operand if negated else test):
                children = node.orelse if negated else node.body
        todo.extend(reversed(children))


def _module_files(basedir: str, dotted: str) -> list[str]:
    """The files (relative to ``basedir``) that importing ``dotted`` runs, when it lives in the
    folder: each regular package's ``__init__.py`` on the way, then the module itself. Empty when
    the name is not the folder's (an installed package)."""
    files: list[str] = []
    folder = ""
    for part in dotted.split("."):
        path = os.path.join(folder, part)
        if os.path.isfile(os.path.join(basedir, path, "__init__.py")):
            files.append(os.path.join(path, "__init__.py"))
            folder = path
        elif os.path.isfile(os.path.join(basedir, path + ".py")):
            files.append(path + ".py")
            break  # a plain module has no submodules
        elif os.path.isdir(os.path.join(basedir, path)):
            folder = path  # a namespace package: local only if a module below it is
        else:
            break
    return [f.replace(os.sep, "/") for f in files]


def _package(relative: str) -> str:
    """The dotted package a module file (relative to basedir) belongs to."""
    parts = relative[:-3].split("/")
    return ".".join(parts[:-1])


def _imported_names(node: ast.AST, package: str) -> list[str]:
    """The dotted module names ``node`` imports (a ``from`` import: the module and each
    ``module.name``, one of which may be a submodule)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = package.split(".") if package else []
            base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
            module = ".".join(base + ([node.module] if node.module else []))
        else:
            module = node.module or ""
        return [module] + [f"{module}.{a.name}" if module else a.name for a in node.names if a.name != "*"]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("import_module", "__import__"):
            literal = node.args[0].value
            if literal.startswith("."):
                return [package + literal] if package else []
            return [literal]
    return []


def local_modules(module_file: str, basedir: str) -> list[str]:
    """The experiment's own module files the browser needs to import ``module_file``: paths
    relative to ``basedir`` (``/``-separated), the module first, then in the order found.

    Raises:
        ImportGraphError: one of them is not valid Python.
    """
    first = os.path.relpath(module_file, basedir).replace(os.sep, "/")
    found = [first]
    todo = [first]
    while todo:
        relative = todo.pop(0)
        path = os.path.join(basedir, relative)
        try:
            with open(path, "rb") as f:
                tree = ast.parse(f.read(), filename=path)
        except SyntaxError as exc:
            raise ImportGraphError(f"{relative}:{exc.lineno}: syntax error: {exc.msg}") from None
        package = _package(relative)  # a package's __init__.py belongs to the package itself
        for node in _browser_nodes(tree):
            for dotted in _imported_names(node, package):
                for file in _module_files(basedir, dotted):
                    if file not in found:
                        found.append(file)
                        todo.append(file)
    return found
