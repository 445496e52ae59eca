"""mk.Onnx with named tensors and recurrent state: the state advances once per frame, resets each
episode, and survives a snapshot (get_state/set_state) exactly."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mugkit.runtime.hashing import encode
from mugkit.runtime.policies import Onnx, Policy, PolicyError, RandomPolicy
from mugkit.spaces import Discrete

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402  (after the importorskip)

F, I64 = TensorProto.FLOAT, TensorProto.INT64


def _save(d, name, nodes, inputs, outputs):
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = d / f"{name}.onnx"
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_state")
    return {
        # two outputs: a 1-number "value" first, then the 3 "logits"
        "heads": _save(d, "heads", [helper.make_node("ReduceSum", ["obs"], ["value"]),
                                    helper.make_node("Identity", ["obs"], ["logits"])],
                       [("obs", F, [1, 3])], [("value", F, [1, 1]), ("logits", F, [1, 3])]),
        # two inputs, only one of which is the observation and neither a state
        "two_inputs": _save(d, "two_inputs", [helper.make_node("Add", ["a", "b"], ["y"])],
                            [("a", F, [1, 3]), ("b", F, [1, 3])], [("y", F, [1, 3])]),
        # recurrent: h_out = h_in + obs, logits = h_out; the state input comes first, with a symbolic batch dim
        "sum": _save(d, "sum", [helper.make_node("Add", ["h_in", "obs"], ["h_out"]),
                                helper.make_node("Identity", ["h_out"], ["logits"])],
                     [("h_in", F, ["batch", 3]), ("obs", F, [1, 3])], [("logits", F, [1, 3]), ("h_out", F, [1, 3])]),
        # an int64 counter state next to a float state: count_out = count_in + 1, logits = obs
        "counter": _save(d, "counter", [helper.make_node("Constant", [], ["one"], value_int=1),
                                        helper.make_node("Add", ["count_in", "one"], ["count_out"]),
                                        helper.make_node("Identity", ["obs"], ["logits"])],
                         [("obs", F, [1, 2]), ("count_in", I64, [])], [("logits", F, [1, 2]), ("count_out", I64, [])]),
    }


def _recurrent(models):
    return Onnx(models["sum"], state={"h_in": "h_out"})


def _play(policy, observations, start=0, agent="ai"):
    return [policy.act(obs, agent=agent, frame=start + i, seed=0, space=Discrete(3))
            for i, obs in enumerate(observations)]


# A sequence whose running sum changes the argmax several times, unlike the observations alone.
OBS = [[float(((i * 7) % 5) - 2), float(((i * 3) % 4) - 1.5), float(((i * 5) % 3) - 1)] for i in range(30)]


def _expected(observations):
    h = np.zeros(3)
    actions = []
    for obs in observations:
        h = h + np.asarray(obs, dtype=np.float32)
        actions.append(int(np.argmax(h)))
    return actions


# --- named tensors ------------------------------------------------------------------------------------------


def test_output_is_chosen_by_name(models):
    obs = [0.0, 5.0, 1.0]
    assert Onnx(models["heads"], output="logits").act(obs, agent="a", frame=0, seed=0, space=Discrete(3)) == 1
    assert Onnx(models["heads"], output="value").logits(obs).tolist() == [6.0]
    # the default is the first output, here the value, which does not fit three actions
    with pytest.raises(PolicyError, match=r"the model gives 1 outputs but the action space Discrete\(3\)"):
        Onnx(models["heads"]).act(obs, agent="a", frame=0, seed=0, space=Discrete(3))


def test_the_observation_input_defaults_to_the_first_that_is_not_a_state(models):
    assert _play(_recurrent(models), OBS) == _expected(OBS)  # h_in is the model's first input
    named = Onnx(models["sum"], input="obs", output="logits", state={"h_in": "h_out"})
    assert _play(named, OBS) == _play(_recurrent(models), OBS)


@pytest.mark.parametrize("kwargs, message", [
    ({"input": "observation"}, "the model has no input named 'observation'"),
    ({"output": "action"}, "the model has no output named 'action'"),
    ({"state": {"h": "h_out"}}, "the model has no input named 'h'"),
    ({"state": {"h_in": "h_next"}}, "the model has no output named 'h_next'"),
])
def test_unknown_names_list_the_models_tensors(models, kwargs, message):
    policy = Onnx(models["sum"], **{"state": {"h_in": "h_out"}, **kwargs})
    full = rf"^sum\.onnx: {message}; its inputs are 'h_in', 'obs' and its outputs 'logits', 'h_out'$"
    with pytest.raises(PolicyError, match=full):
        policy.load()
    with pytest.raises(PolicyError, match=full):  # a failed load is not half-done: it fails again
        policy.act(OBS[0], agent="a", frame=0, seed=0, space=Discrete(3))


def test_an_input_fed_by_nothing_is_named(models):
    with pytest.raises(PolicyError, match=r"^two_inputs\.onnx: nothing feeds the model input 'a': the observation "
                                          r"goes to 'b'; name state inputs with state=\{input: output\}$"):
        Onnx(models["two_inputs"], input="b").load()
    # a recurrent model without its state= cannot feed its state input either
    with pytest.raises(PolicyError, match="nothing feeds the model input 'obs': the observation goes to 'h_in'"):
        Onnx(models["sum"]).load()


def test_a_model_with_only_state_inputs(models):
    with pytest.raises(PolicyError, match="every model input is a state input"):
        Onnx(models["two_inputs"], state={"a": "y", "b": "y"}).load()


# --- recurrent state ----------------------------------------------------------------------------------------


def test_actions_depend_on_history(models):
    actions = _play(_recurrent(models), OBS)
    assert actions == _expected(OBS)
    assert actions != [int(np.argmax(o)) for o in OBS]  # the observations alone would not give these
    # the same observation at frame 2 gives another action after another history
    assert _play(_recurrent(models), [[0, 0, 5], [0, 0, 5], [0, 1, 0]]) == [2, 2, 2]
    assert _play(_recurrent(models), [[0, 0, 0], [0, 0, 0], [0, 1, 0]]) == [0, 0, 1]


def test_reset_returns_to_zeros(models):
    policy = _recurrent(models)
    first = _play(policy, OBS)
    assert policy.get_state()["state"] is not None
    policy.reset()
    assert policy.get_state() == {"frame": None, "state": None, "before": None}
    assert _play(policy, OBS) == first  # the second episode starts where the first did
    assert policy.logits([0, 0, 0]).tolist() == list(np.sum(np.asarray(OBS, dtype=np.float32), axis=0))


def test_a_snapshot_restores_the_same_future(models):
    policy = _recurrent(models)
    _play(policy, OBS[:10])
    saved = policy.get_state()
    kept = copy.deepcopy(saved)
    later = _play(policy, OBS[10:], start=10)
    assert saved == kept  # acting on did not change the saved value
    encode(saved)  # plain data: the canonical hash encodes it
    policy.set_state(saved)
    assert _play(policy, OBS[10:], start=10) == later
    # restoring into a fresh instance gives the same future too
    fresh = _recurrent(models)
    fresh.set_state(copy.copy(saved))
    assert _play(fresh, OBS[10:], start=10) == later
    assert later == _expected(OBS)[10:]


def test_state_keeps_the_inputs_shape_and_type(models):
    policy = Onnx(models["counter"], state={"count_in": "count_out"})
    for f in range(3):
        policy.act([1.0, 0.0], agent="a", frame=f, seed=0, space=Discrete(2))
    state = policy.get_state()
    assert state["frame"] == 2
    assert state["state"] == {"count_in": ((), "<i8", np.int64(3).tobytes())}
    assert state["before"] == {"count_in": ((), "<i8", np.int64(2).tobytes())}
    h = _recurrent(models)
    h.act(OBS[0], agent="a", frame=0, seed=0, space=Discrete(3))
    # the symbolic batch dim of h_in counts as 1
    assert h.get_state()["before"] == {"h_in": ((1, 3), "<f4", np.zeros((1, 3), np.float32).tobytes())}


def test_asking_again_for_a_frame_does_not_advance_twice(models):
    policy = Onnx(models["counter"], state={"count_in": "count_out"})

    def ask(frame):
        return policy.act([0.0, 1.0], agent="a", frame=frame, seed=0, space=Discrete(2))

    def count():
        return int(np.frombuffer(policy.get_state()["state"]["count_in"][2], dtype="<i8")[0])

    for f in range(5):
        assert ask(f) == ask(f) == ask(f) == 1  # as the policy check asks
    assert count() == 5
    recurrent = _recurrent(models)
    once = _play(_recurrent(models), OBS)
    twice = []
    for f, obs in enumerate(OBS):
        a = recurrent.act(obs, agent="a", frame=f, seed=0, space=Discrete(3))
        assert recurrent.act(obs, agent="a", frame=f, seed=0, space=Discrete(3)) == a
        twice.append(a)
    assert twice == once


def test_asking_again_after_a_restore(models):
    policy = _recurrent(models)
    _play(policy, OBS[:5])
    saved = policy.get_state()  # taken after frame 4 was asked
    again = policy.act(OBS[4], agent="ai", frame=4, seed=0, space=Discrete(3))
    rest = _play(policy, OBS[5:], start=5)
    policy.set_state(saved)
    assert policy.act(OBS[4], agent="ai", frame=4, seed=0, space=Discrete(3)) == again
    assert _play(policy, OBS[5:], start=5) == rest == _expected(OBS)[5:]


def test_a_recurrent_instance_serves_one_agent(models):
    policy = _recurrent(models)
    policy.act(OBS[0], agent=0, frame=0, seed=0, space=Discrete(3))
    with pytest.raises(PolicyError, match=r"keeps the state of agent 0 and cannot also play 1: return a new "
                                          r"mk\.Onnx from the @mk\.policy factory"):
        policy.act(OBS[0], agent=1, frame=0, seed=0, space=Discrete(3))
    policy.reset()
    policy.act(OBS[0], agent=0, frame=0, seed=0, space=Discrete(3))  # the same agent next episode


def test_set_state_checks_the_names(models):
    policy = _recurrent(models)
    other = Onnx(models["counter"], state={"count_in": "count_out"})
    other.act([0, 1], agent="a", frame=0, seed=0, space=Discrete(2))
    with pytest.raises(PolicyError, match="a saved state for inputs 'count_in' does not fit the state inputs 'h_in'"):
        policy.set_state(other.get_state())
    _play(policy, OBS[:3])
    policy.set_state(None)  # None is a fresh episode
    assert policy.get_state() == {"frame": None, "state": None, "before": None}


def test_policies_without_memory_have_no_state(models):
    for policy in (Onnx(models["heads"], output="logits"), RandomPolicy(), Policy()):
        policy.reset()
        assert policy.get_state() is None
        policy.set_state(None)
    stateless = Onnx(models["heads"], output="logits")
    first = _play(stateless, OBS)
    stateless.reset()
    assert _play(stateless, OBS) == first == [int(np.argmax(o)) for o in OBS]
