"""mk.Onnx by prefetching (mugkit.runtime.browser_ai), the browser runtime's path: a game whose model
outputs are computed outside ``act`` and supplied before each tick plays exactly the rows of the
normal path — the chase example, a recurrent chaser across episodes and a rollback, seeded
sampling — and a run that was not prefetched, or a model the browser could not open, fails loudly."""

from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime")

from onnx_play import (CHASER, attach_all, chase_driver, key_plan, onnxruntime_engine,  # noqa: E402
                       onnxruntime_metadata, play, save_recurrent)

from mugkit.runtime import browser_ai  # noqa: E402
from mugkit.runtime.errors import InternalError  # noqa: E402
from mugkit.runtime.onnx import Onnx  # noqa: E402
from mugkit.runtime.policies import PolicyError  # noqa: E402


@pytest.fixture(scope="module")
def recurrent(tmp_path_factory):
    return save_recurrent(str(tmp_path_factory.mktemp("rnn") / "recurrent.onnx"))


def prefetching(driver, path):
    """``driver`` with its models attached as the browser attaches them; the engine to prefetch with."""
    files = attach_all(driver, lambda f: onnxruntime_metadata(path))
    return onnxruntime_engine({key: path for key in files})


def test_the_chase_example_plays_the_same_rows_by_prefetching():
    plan = key_plan(3, 400)
    normal = play(chase_driver(11), plan)
    driver = chase_driver(11)
    prefetched = play(driver, plan, prefetching(driver, CHASER))
    assert prefetched == normal
    chaser_moves = {row[3] for frame, _ in normal for row in frame if row[2] == "chaser"}
    assert len(chaser_moves) >= 3  # the model really steered


def recurrent_policy(path, **kwargs):
    return Onnx(path, state={"h_in": "h_out"}, **kwargs)


@pytest.mark.parametrize("sample", [False, True])
def test_a_recurrent_model_across_episodes_and_a_rollback(recurrent, sample):
    plan = key_plan(5, 1000)  # the first 30-second round ends within it
    normal = play(chase_driver(2, recurrent_policy(recurrent, sample=sample)), plan)
    driver = chase_driver(2, recurrent_policy(recurrent, sample=sample))
    engine = prefetching(driver, recurrent)
    first = play(driver, plan[:250], engine)
    snapshot = driver.save()
    later = play(driver, plan, engine, start=250)
    assert first + later == normal
    assert {frame[0][0] for frame, _ in normal} == {0, 1}  # two episodes: the state was reset between
    driver.load(snapshot)  # rolled back mid-episode: the model's state with the env
    assert play(driver, plan[:400], engine, start=250) == normal[250:400]


def test_the_recurrent_state_is_the_same_plain_data_on_both_paths(recurrent):
    plan = key_plan(8, 60)
    normal_driver = chase_driver(4, recurrent_policy(recurrent))
    play(normal_driver, plan)
    driver = chase_driver(4, recurrent_policy(recurrent))
    play(driver, plan, prefetching(driver, recurrent))
    state = driver.ais["chaser"].policy.get_state()
    assert state == normal_driver.ais["chaser"].policy.get_state()
    assert state["frame"] == 58 and state["state"]["h_in"][:2] == ((1, 8), "<f4")


def test_model_runs_are_plain_data_the_tick_needs():
    driver = chase_driver(1)
    files = browser_ai.model_files(driver)
    assert [(f.name, len(f.key)) for f in files] == [("chaser.onnx", 16)]
    assert files[0].plain()["data"] == open(CHASER, "rb").read()
    assert browser_ai.model_runs(driver) == []  # the first tick only starts the game
    prefetching(driver, CHASER)
    driver.tick()
    (run,) = browser_ai.model_runs(driver)
    obs = driver.frame.observations["chaser"]
    assert run.plain() == {"agent": "chaser", "key": files[0].key, "episode": 0, "frame": 0,
                           "feeds": {"obs": {"dims": [1, 4], "type": "float32", "data": [float(v) for v in obs]}},
                           "fetch": ["logits"]}


def test_a_tick_without_its_prefetch_is_mugkits_error():
    driver = chase_driver(1)
    engine = prefetching(driver, CHASER)
    driver.tick()
    with pytest.raises(InternalError, match=r"chaser\.onnx: the model was asked for a run that was not prefetched "
                                            r"\(nothing was supplied\)"):
        driver.tick()
    (run,) = browser_ai.model_runs(driver)
    browser_ai.supply(driver, run, engine(run.plain()))
    driver.tick()
    stale = run
    (run,) = browser_ai.model_runs(driver)
    with pytest.raises(InternalError, match=r"outputs for episode 0, frame 0 supplied at episode 0, frame 1"):
        browser_ai.supply(driver, stale, engine(stale.plain()))
    # outputs of other feeds (the previous frame's) never stand in for this frame's
    driver.ais["chaser"].policy.session.supply(stale.feeds, engine(stale.plain()))
    with pytest.raises(InternalError, match=r"not prefetched \(other feeds were supplied\)"):
        driver.tick()
    with pytest.raises(InternalError, match=r"lack \['logits'\]"):
        browser_ai.supply(driver, run, {})


def test_model_runs_need_attach():
    driver = chase_driver(1)
    driver.tick()
    with pytest.raises(InternalError, match=r"runs without a prefetch session; call browser_ai\.attach"):
        browser_ai.model_runs(driver)


def test_a_model_the_browser_cannot_open_is_a_policy_error():
    driver = chase_driver(1)
    (f,) = browser_ai.model_files(driver)
    with pytest.raises(PolicyError, match=r"^mk\.Onnx: cannot load chaser\.onnx in the browser \(onnxruntime-web\): "
                                          r"no backend$"):
        browser_ai.attach(driver, f.key, {"error": "no backend"})
    # the names are checked against what the browser says, with the server's messages
    driver = chase_driver(1, Onnx(CHASER, input="obs"))
    meta = onnxruntime_metadata(CHASER)
    meta["inputs"][0]["name"] = "x"
    with pytest.raises(PolicyError, match=r"^chaser\.onnx: the model has no input named 'obs'; its inputs are 'x' "
                                          r"and its outputs 'logits'$"):
        browser_ai.attach(driver, f.key, meta)
