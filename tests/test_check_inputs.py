"""Checks play like people (held keys, taps, combinations, idle, fast changes; legal moves under a
mask and on every turn), play researchers' playthroughs, say what they could not reach, and report
failures as data."""

import json
import os
import random
import re
import subprocess
import sys

import pytest

import mugkit as mk
from checkrun import ROOT, run_check
from mugkit import draw, spaces
from mugkit.checks.inputs import HumanInput, KeyPlan, fixed_plans, plan_strategy, sample_plan
from mugkit.checks.play import key_inputs, make_game, play


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    return run_check("tests/faults/_inputs.py", "--json", str(tmp / "report.json"), tmp_path=tmp), tmp


@pytest.mark.slow
def test_a_field_reached_only_by_held_keys_and_missing_from_set_state_is_caught(inputs):
    results, _ = inputs
    assert results.outcome("::meet::synctest") == "failed"
    msg = results.message("::meet::synctest")
    assert "set_state() leaves out stun" in msg
    assert re.search(r"keys held \(\d+ frames, shrunk\): \{'p0': .*\('Arrow(Left|Right)',\)\] \* \d+", msg), msg
    assert results.outcome("::meet_twin::synctest") == "passed"


@pytest.mark.slow
def test_a_playthrough_is_played_by_every_check(inputs):
    results, _ = inputs
    msg = results.message("::secret::synctest")
    assert "set_state() leaves out secret" in msg
    assert "keys held (6 frames): {'player': [('ArrowUp',)] * 3 + [('ArrowDown',)] * 3}" in msg  # not shrunk


@pytest.mark.slow
def test_fields_no_run_changed_are_named(inputs):
    results, _ = inputs
    assert results.outcome("::kept_secret::synctest") == "passed"
    assert re.search(r"tests/faults/_inputs\.py::kept_secret: explored \d+ frames .*; never changed: secret$",
                     results.output, re.M), results.output


@pytest.mark.slow
def test_failures_are_data_in_json_and_junit(inputs):
    results, tmp = inputs
    report = json.loads((tmp / "report.json").read_text())
    by_id = {c["nodeid"]: c for c in report["checks"]}
    failure = by_id["tests/faults/_inputs.py::secret::synctest"]["failure"]
    assert failure["check"] == "synctest" and failure["seed"] == 0 and failure["frame"] == 0
    assert failure["keys"] == [["player", [["ArrowUp"]] * 3 + [["ArrowDown"]] * 3]]
    assert "state.secret: 0 != 1" in failure["differs"]
    assert failure["reproduce"].startswith("from mugkit.checks.reproduce import reproduce")
    assert by_id["tests/faults/_inputs.py::meet_twin::synctest"]["outcome"] == "passed"
    assert report["explorations"]["tests/faults/_inputs.py::kept_secret"]["never_changed"] == ["secret"]
    xml = (tmp / "junit.xml").read_text()
    assert 'name="mugkit_failure"' in xml and "&quot;check&quot;: &quot;synctest&quot;" in xml


@pytest.mark.slow
def test_checks_from_a_folder_holding_mugkit_envs_and_tests_folders(tmp_path):
    """A clone of mugkit beside one's experiments (a folder named mugkit), or folders named envs and
    tests, change no verdict; Hypothesis writes nothing into the folder; `::` options pass through."""
    for name in ("mugkit", "envs", "tests"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('the wrong package was imported')\n")
    (tmp_path / "mugkit" / "checks").mkdir()
    target = os.path.join(ROOT, "tests", "faults", "_faults.py")
    mugkit = os.path.join(os.path.dirname(sys.executable), "mugkit")  # the command, as a researcher runs it
    proc = subprocess.run([mugkit, "check", f"{target}::twin", f"{target}::hash_seeded",
                           "-W", "ignore::DeprecationWarning", "-q", "-p", "no:randomly"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    out = proc.stdout + proc.stderr
    assert "the wrong package was imported" not in out
    assert re.search(r"1 failed, 5 passed", out), out  # hash_seeded::determinism fails, as anywhere
    assert "hash_seeded::determinism" in out and "numpy" not in out.split("short test summary")[0].split("FAILURES")[-1]
    assert not (tmp_path / ".hypothesis").exists()


@pytest.mark.slow
def test_an_unseeded_generator_is_blamed_and_an_irrelevant_uuid_only_seen(inputs):
    results, _ = inputs
    for check in ("determinism", "synctest"):
        msg = results.message(f"::ties::{check}")
        cause = msg.split("likely cause: ")[1].split("\n")[0]
        assert re.match(r"The env \(or a library it calls\) creates a random generator without a seed.*"
                        r"numpy\.random\.default_rng\(\) at tests/faults/_inputs\.py:\d+", cause), cause
        assert re.search(r"Also seen, but not what makes the frames differ: uuid\.uuid4\(\) at "
                         r"tests/faults/_inputs\.py:\d+", cause), cause


@pytest.mark.slow
def test_the_explanation_is_the_same_from_one_run_to_the_next(tmp_path):
    causes = set()
    for k in range(3):
        (tmp_path / str(k)).mkdir()
        r = run_check("tests/faults/_inputs.py::ties::synctest", tmp_path=tmp_path / str(k))
        msg = r.message("::ties::synctest")
        causes.add((msg.splitlines()[0], msg.split("likely cause: ")[1].split("\n")[0]))
    assert len(causes) == 1, causes


@pytest.mark.slow
def test_the_contract_plays_playthroughs_too(inputs):
    results, _ = inputs
    msg = results.message("::secret_overflow::contract")
    assert "[frames] frame 6: the observation of 'player' is outside its observation space Discrete(1): 1" in msg


# -- what each input mode gets (fast: plans played in this process) ----------------------------

ARROWS = {"ArrowLeft": 1, "ArrowRight": 2, "ArrowUp": 3}


class Walk:
    """A walker on a line; actions 0 stay, 1 left, 2 right, 3 up (stays). With ``masked``, the
    info's action mask forbids right, and left at cell 0, and a forbidden action raises."""

    metadata = {"name": "walk"}

    def __init__(self, masked=False):
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Discrete(200)
        self.masked = masked

    def mask(self):
        return [1, int(self.x > 0), 0, 1] if self.masked else [1, 1, 1, 1]

    def reset(self, seed=None, options=None):
        self.x, self.t = 100, 0
        return self.x, {"action_mask": self.mask()}

    def step(self, action):
        if not self.mask()[action]:
            raise ValueError(f"forbidden action {action} at {self.x}")
        self.t += 1
        self.x = max(0, self.x + {0: 0, 1: -1, 2: 1, 3: 0}[action])
        return self.x, 0.0, False, self.t >= 500, {"action_mask": self.mask()}

    def get_state(self):
        return {"x": self.x, "t": self.t}

    def set_state(self, s):
        self.x, self.t = s["x"], s["t"]

    def render(self):
        return [draw.circle(self.x * 3, 50, 5, id="walker")]


class NoRepeat:
    """A turn-based game of ten moves where the mask forbids repeating the last move; eight
    different moves in a row raise (the crash a varied player reaches)."""

    metadata = {"name": "no_repeat"}

    def __init__(self, crash=True):
        self.crash = crash
        self.action_space = spaces.Discrete(10)
        self.observation_space = spaces.Discrete(10)

    def mask(self):
        return [int(not self.moves or a != self.moves[-1]) for a in range(10)]

    def reset(self, seed=None, options=None):
        self.moves = []
        return 0, {"action_mask": self.mask()}

    def step(self, action):
        if not self.mask()[action]:
            raise ValueError(f"forbidden move {action}")
        self.moves.append(action)
        if self.crash and len(set(self.moves[-8:])) == 8:
            raise RuntimeError("eight different moves in a row")
        return action, 0.0, False, len(self.moves) >= 200, {"action_mask": self.mask()}

    def get_state(self):
        return {"moves": list(self.moves)}

    def set_state(self, s):
        self.moves = list(s["moves"])

    def render(self):
        return [draw.text(10, 10, str(self.moves[-8:]))]


def walk_step(mode, masked=False):
    @mk.scene(players={"player": mk.HUMAN}, keys=ARROWS, default_action=0, input_mode=mode)
    def walk():
        return Walk(masked)
    return walk


def no_repeat_step(crash=True):
    @mk.scene(players={"player": mk.HUMAN}, keys={str(k): k for k in range(10)}, turn_based=True)
    def no_repeat():
        return NoRepeat(crash)
    return no_repeat


def presses_in_a_row(seq) -> int:
    """The longest series of presses of one combination, with only no key between them."""
    best, count, last = 0, 0, None
    for t, keys in enumerate(seq):
        if keys and (t == 0 or seq[t - 1] != keys):  # a press
            count = count + 1 if keys == last else 1
            last = keys
            best = max(best, count)
        elif keys and keys != last:
            count, last = 0, None
    return best


def tapped_share(plans) -> float:
    """The share of the frames with a key held that are single-frame presses (taps)."""
    held = taps = 0
    for plan in plans:
        for seq in plan.frames.values():
            for t, keys in enumerate(seq):
                if keys:
                    held += 1
                    taps += (t == 0 or seq[t - 1] != keys) and (t + 1 == len(seq) or seq[t + 1] != keys)
    return taps / held


def test_keydown_and_keyup_plans_mostly_tap_many_times_in_a_row():
    for mode in ("keydown", "keyup"):
        plans = [sample_plan(walk_step(mode), 120, random.Random(s)) for s in range(20)]
        assert tapped_share(plans) > 0.6, mode
        assert max(presses_in_a_row(p.frames["player"]) for p in plans) >= 15, mode
    pressed = [sample_plan(walk_step("pressed"), 120, random.Random(s)) for s in range(20)]
    assert 0.05 < tapped_share(pressed) < 0.6  # holds and taps
    assert max(presses_in_a_row(p.frames["player"]) for p in pressed) >= 8


def test_hypothesis_plans_tap_in_keydown_steps_and_shrink_to_one_short_segment():
    from hypothesis import HealthCheck, find, settings

    quick = settings(max_examples=500, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    strategy = plan_strategy(walk_step("keydown"), 60)
    many = find(strategy, lambda p: presses_in_a_row(p.frames["player"]) >= 11, settings=quick)
    assert presses_in_a_row(many.frames["player"]) == 11
    one = find(strategy, lambda p: any(p.frames["player"]), settings=quick)
    assert one.frames["player"] == (("ArrowLeft",), ())  # one tap of the first combination


def test_the_fixed_plans_alone_tap_to_a_fault_eleven_taps_away():
    from mugkit.collect import load_step

    _, edge = load_step("tests/faults/_inputs.py::edge", ROOT)
    _, twin = load_step("tests/faults/_inputs.py::edge_twin", ROOT)
    raised = []
    for plan in fixed_plans(edge, 40):
        play(make_game(twin, {}, 1), plan, 40)
        try:
            play(make_game(edge, {}, 1), plan, 40)
        except IndexError:
            raised.append(plan)
    assert raised and all(presses_in_a_row(p.frames["player"]) >= 11 for p in raised)


@pytest.mark.slow
def test_a_check_reaches_the_keydown_fault_at_the_edge_and_passes_its_twin(tmp_path):
    results = run_check("tests/faults/_inputs.py::edge", "tests/faults/_inputs.py::edge_twin", "-k", "not parity",
                        tmp_path=tmp_path)
    for check in ("determinism", "synctest"):
        msg = results.message(f"::edge::{check}")
        assert results.outcome(f"::edge::{check}") == "failed"
        assert "the game raised IndexError" in msg
        assert re.search(r"tests/faults/_inputs\.py:\d+ in step: self\.row\[self\.x\] \+= 1", msg), msg
        assert "[('ArrowRight',), ()] * " in msg  # the taps, folded
    twin = {k: v for k, v in results.outcomes.items() if k.startswith("edge_twin::")}
    assert twin and all(v[0] in ("passed", "skipped") for v in twin.values()), twin


def test_turn_based_plans_spread_over_the_legal_moves():
    """No press, or a held key the mask forbids every other turn, becomes a legal move that
    follows from the entry and the frame: a player with nothing planned plays varied moves."""
    no_repeat = no_repeat_step()
    with pytest.raises(RuntimeError, match="eight different moves"):
        play(make_game(no_repeat, {}, 0), KeyPlan.of({"player": []}), 40)
    run = play(make_game(no_repeat, {}, 0), KeyPlan.of({"player": ["3"] * 30}), 30)
    moves = [a["player"] for a in run.actions]
    assert moves[::2] == [3] * 15 and len(set(moves[1::2])) > 3
    again = play(make_game(no_repeat, {}, 0), KeyPlan.of({"player": ["3"] * 30}), 30)
    assert again.actions == run.actions


@pytest.mark.parametrize("mode", ["pressed", "keydown", "keyup"])
def test_masked_real_time_plans_play_legal_key_moves_only(mode):
    step = walk_step(mode, masked=True)
    for s in range(10):  # Walk raises on a forbidden action
        play(make_game(step, {}, s), sample_plan(step, 80, random.Random(s)), 80)
    for plan in fixed_plans(step, 40):
        play(make_game(step, {}, 1), plan, 40)
    # Each tap of the forbidden right arrow plays a legal key move (left or up), not the default action.
    run = play(make_game(step, {}, 1), KeyPlan.of({"player": ["ArrowRight", None] * 10}), 20)
    moves = [a["player"] for a in run.actions if a["player"] != 0]
    assert len(moves) == 10 and set(moves) == {1, 3}, run.actions


def record_human(step, seed, ticks, reset_at=None):
    """Plays ``ticks`` ticks with HumanInput; returns the plan it recorded and the actions."""
    driver = make_game(step, {}, seed).driver()
    driver.start()
    human = HumanInput(step, random.Random(seed))
    entries, actions = {h: [] for h in step.humans}, []
    for i in range(ticks):
        if driver.frame.done:
            break
        if i == reset_at:
            human.reset()
        held = human.keys(driver)
        for h in entries:
            entries[h].append(held.get(h, ()))
        result = driver.tick(key_inputs(driver, held))
        assert result is not None
        actions.append(result.actions)
    return KeyPlan.of(entries), actions


@pytest.mark.parametrize("kind", ["pressed", "keydown", "keyup", "masked-pressed", "masked-keydown", "turn-based"])
def test_human_input_recorded_into_a_plan_replays_to_the_same_actions(kind):
    step = no_repeat_step(crash=False) if kind == "turn-based" else walk_step(kind.split("-")[-1], "masked" in kind)
    entries = []
    for seed in range(4):
        plan, actions = record_human(step, seed, 200, reset_at=70)
        assert play(make_game(step, {}, seed), plan, 200).actions == actions
        entries += plan.frames["player"]
        if step.options.turn_based:
            assert all(plan.frames["player"])  # a press every turn
    assert len(set(entries)) > 2  # several combinations


def test_human_input_taps_in_keydown_steps_and_keeps_to_the_mask():
    longest = max(presses_in_a_row(record_human(walk_step("keydown"), s, 300)[0].frames["player"]) for s in range(5))
    assert longest >= 10
    for s in range(5):
        seq = record_human(walk_step("pressed", masked=True), s, 300)[0].frames["player"]
        assert ("ArrowRight",) not in seq  # never holds a forbidden key


def test_a_printed_plan_folds_holds_and_taps_and_reads_back_as_the_same_plan():
    plan = KeyPlan.of({"p0": ["ArrowUp"] * 3 + ["ArrowRight", None] * 11 + [("ArrowLeft", "ArrowUp"), None, None] * 2,
                       "p1": []})
    text = plan.literal()
    assert text == ("{'p0': [('ArrowUp',)] * 3 + [('ArrowRight',), ()] * 11 + [('ArrowLeft', 'ArrowUp'), (), ()] * 2, "
                    "'p1': []}")
    assert KeyPlan.of(eval(text)) == plan
