"""mugkit.runtime.options: one typed source of truth for game step options."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest

import mugkit as mk
from mugkit.runtime import options as options_module
from mugkit.runtime.options import GameOptions, OptionsError


def _field_docs() -> dict[str, str]:
    """Each field's docstring (the string right after its annotation in the class body)."""
    tree = ast.parse(inspect.getsource(GameOptions))
    body = tree.body[0].body
    docs = {}
    for node, after in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant):
            docs[node.target.id] = after.value.value
    return docs


def test_every_option_has_a_docstring_that_says_who_reads_it():
    docs = _field_docs()
    names = [f.name for f in dataclasses.fields(GameOptions)]
    assert sorted(docs) == sorted(names)
    unread = [n for n in names if "Read by" not in docs[n]]
    assert unread == []


def test_defaults_match_the_contract():
    o = GameOptions.from_kwargs(players={"p": "random"})
    assert (o.runtime, o.fps, o.episodes, o.max_steps, o.turn_based, o.fill, o.input_mode, o.input_delay,
            o.max_rollback, o.width, o.height, o.waitroom_timeout, o.packages) == \
        ("server", 30, 1, None, False, "default", "pressed", 2, 8, 600, 400, 300, ())


def test_netcode_builder_shares_defaults_and_limits():
    from mugkit.netcode import builder

    o = GameOptions(players={})
    assert (builder.INPUT_DELAY, builder.MAX_ROLLBACK) == (o.input_delay, o.max_rollback)
    assert builder.MAX_INPUT_DELAY == options_module.INPUT_DELAY_MAX
    assert builder.MAX_ROLLBACK_LIMIT == options_module.MAX_ROLLBACK_MAX


def test_combinations_longest_first_then_as_written():
    o = GameOptions.from_kwargs(players={"p": mk.HUMAN}, default_action=0,
                                keys={"a": 1, ("a", "b"): 2, "b": 3, ("b", "a"): 4})
    assert o.combos == [(frozenset("ab"), 2), (frozenset("ab"), 4), (frozenset("a"), 1), (frozenset("b"), 3)]


def test_every_problem_is_listed():
    with pytest.raises(OptionsError) as e:
        GameOptions.from_kwargs(players={"p": mk.HUMAN}, fps=0, turn_based="yes")
    assert e.value.problems == ["fps must be a positive number, got 0", "turn_based must be True or False, got 'yes'",
                                "keys is required when a human plays: a dict KeyboardEvent.key name -> action"]


def test_files_are_paths_inside_the_folder_for_browser_steps():
    ok = GameOptions.from_kwargs(players={"p": "random"}, runtime="browser", files=["maps/level1.txt", "sprites/"])
    assert ok.files == ("maps/level1.txt", "sprites/")
    for files in ("maps/level1.txt", ["/etc/passwd"], ["../secrets.txt"], ["maps/../../x"], [""], [3]):
        with pytest.raises(OptionsError, match=r"^files must be a list of paths inside the experiment's folder"):
            GameOptions.from_kwargs(players={"p": "random"}, runtime="browser", files=files)
    with pytest.raises(OptionsError, match=r"^files= lists what a browser step ships; this step runs on the server"):
        GameOptions.from_kwargs(players={"p": "random"}, files=["maps/level1.txt"])
