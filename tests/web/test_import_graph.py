"""mugkit.web.browser.imports: which of the experiment's own modules a browser step ships, read from
the imports without running them."""

from __future__ import annotations

import textwrap

import pytest

from mugkit.web.browser.imports import ImportGraphError, local_modules


def folder(tmp_path, files: dict) -> str:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path)


def test_sibling_modules_packages_and_relative_imports_are_followed(tmp_path):
    base = folder(tmp_path, {
        "study.py": """
            import mugkit as mk
            import numpy as np                 # installed: not shipped
            import helpers
            import pkg.sub                     # the package's __init__ and the submodule
            from game import rules             # `rules` is a submodule of the package game
            from game.board import Board       # `Board` is a name: only game/board.py
            """,
        "helpers.py": "from util import clamp\n",
        "util.py": "",
        "pkg/__init__.py": "",
        "pkg/sub.py": "from . import deep\nfrom .deeper.leaf import x\n",
        "pkg/deep.py": "",
        "pkg/deeper/__init__.py": "from .. import sibling\n",
        "pkg/deeper/leaf.py": "",
        "pkg/sibling.py": "",
        "game/__init__.py": "",
        "game/rules.py": "",
        "game/board.py": "",
        "unused.py": "",
        "game/unused.py": "",
    })
    assert local_modules(f"{base}/study.py", base) == [
        "study.py", "helpers.py", "pkg/__init__.py", "pkg/sub.py", "game/__init__.py", "game/rules.py",
        "game/board.py", "util.py", "pkg/deep.py", "pkg/deeper/__init__.py", "pkg/deeper/leaf.py",
        "pkg/sibling.py"]


def test_imports_inside_functions_and_literal_import_module_are_followed(tmp_path):
    base = folder(tmp_path, {
        "study.py": """
            import importlib

            def make():
                from lazy import Env
                return importlib.import_module("plugins.one")

            def dynamic(name):
                return importlib.import_module(name)   # cannot be followed: declare it in files=
            """,
        "lazy.py": "", "plugins/__init__.py": "", "plugins/one.py": "", "plugins/two.py": "",
    })
    assert local_modules(f"{base}/study.py", base) == ["study.py", "lazy.py", "plugins/__init__.py",
                                                       "plugins/one.py"]


def test_server_only_branches_of_mk_in_browser_are_not_followed(tmp_path):
    base = folder(tmp_path, {
        "study.py": """
            import mugkit as mk
            from mugkit import in_browser

            if not mk.in_browser:
                import config
            else:
                import browser_side

            if in_browser:
                import browser_too
            else:
                import server_secrets

            def step():
                if not mk.in_browser:
                    from keys import API_KEY
            """,
        "config.py": "", "browser_side.py": "", "browser_too.py": "", "server_secrets.py": "", "keys.py": "",
    })
    assert local_modules(f"{base}/study.py", base) == ["study.py", "browser_side.py", "browser_too.py"]


def test_a_namespace_folder_ships_only_the_modules_imported_from_it(tmp_path):
    base = folder(tmp_path, {"study.py": "import ns.mod\nimport models\n", "ns/mod.py": "", "ns/other.py": "",
                             "models/chaser.onnx": ""})
    assert local_modules(f"{base}/study.py", base) == ["study.py", "ns/mod.py"]


def test_a_module_that_is_not_python_is_named(tmp_path):
    base = folder(tmp_path, {"study.py": "import broken\n", "broken.py": "def (:\n"})
    with pytest.raises(ImportGraphError, match=r"^broken.py:1: syntax error"):
        local_modules(f"{base}/study.py", base)
