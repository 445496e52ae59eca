"""mugkit.nodeid: one node-id type for the CLI, collection, checks and reports."""

from __future__ import annotations

import pickle

import pytest

from mugkit.nodeid import NodeId


def test_parse_and_parts():
    n = NodeId.parse("experiments/chase.py::chase::synctest")
    assert (n.file, n.step, n.check) == ("experiments/chase.py", "chase", "synctest")
    assert n == "experiments/chase.py::chase::synctest" and isinstance(n, str)
    assert n.step_id == "experiments/chase.py::chase" and n.step_id.check is None
    assert NodeId("a.py").child("s").child("contract") == "a.py::s::contract"
    assert pickle.loads(pickle.dumps(n)).check == "synctest"


@pytest.mark.parametrize("text", ["a.py::", "a.py::s::c::d", "::s"])
def test_malformed_ids_are_refused(text):
    with pytest.raises(ValueError, match=r"is not a node id: write file\.py, file\.py::step or file\.py::step::check"):
        NodeId.parse(text)


def test_an_experiment_id_has_no_step_id_and_a_check_no_children():
    with pytest.raises(ValueError, match="names an experiment, not a step"):
        NodeId("a.py").step_id
    with pytest.raises(ValueError, match="names a check: it has no children"):
        NodeId("a.py", "s", "c").child("x")


@pytest.mark.parametrize("arg, expected", [("experiments/chase.py::chase", True), ("x.py::s::contract", True),
                                           ("ignore::DeprecationWarning", False), ("-W", False),
                                           ("experiments/", False), ("error::UserWarning", False)])
def test_looks_like_tells_node_ids_from_option_values(arg, expected):
    assert NodeId.looks_like(arg) is expected
