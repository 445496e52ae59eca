"""mugkit.runtime.driver: one FrameDriver plays a game step exactly as a study does.

Each test builds a real step with ``@mk.scene`` and plays it through ``build_game(...).driver()``.
"""

from __future__ import annotations

import random

import gymnasium
import pytest

import mugkit as mk
from mugkit.games import build_game
from mugkit.runtime.ai import AIPlayer
from mugkit.runtime.driver import HookError
from mugkit.runtime.keys import KeyInput, peer_input
from mugkit.runtime.seeding import episode_seed
from mugkit.spaces import Discrete

ARROWS = {"ArrowLeft": 1, "ArrowRight": 2, ("ArrowLeft", "ArrowRight"): 3, ("Shift", "ArrowLeft", "ArrowRight"): 4}


class Walk:
    """A numpy-free parallel env; every agent's action is recorded; the episode lasts ``length``
    frames. Agent ids are whatever ``agents`` holds (ints too)."""

    def __init__(self, agents=("player",), length=1000):
        self.possible_agents = list(agents)
        self.length = length
        self.seeds: list = []

    def action_space(self, agent):
        return Discrete(5)

    def observation_space(self, agent):
        return Discrete(10_000)

    def reset(self, seed=None, options=None):
        self.seeds.append(seed)
        self.agents = list(self.possible_agents)
        self.t = 0
        self.pos = {a: 0 for a in self.agents}
        return dict(self.pos), {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        for a, act in actions.items():
            self.pos[a] += act
        done = self.t >= self.length
        out = (dict(self.pos), {a: float(actions[a]) for a in self.agents}, {a: done for a in self.agents},
               {a: False for a in self.agents}, {a: {} for a in self.agents})
        if done:
            self.agents = []
        return out

    def render(self):
        return [mk.draw.rect(0, 0, 1, 1, color="#000")]


def driver_of(env_factory, policies=None, **options):
    options.setdefault("players", {"player": mk.HUMAN})
    if any(p is mk.HUMAN for p in options["players"].values()):
        options.setdefault("keys", ARROWS)
        options.setdefault("default_action", 0)

    @mk.scene(**options)
    def game(seed):
        return env_factory()

    return build_game(game, policies or {}, seed=5).driver()


def tap(*keys):
    return KeyInput.of(down=keys, up=keys)


def actions_for(driver, inputs, agent="player"):
    driver.start()
    out = []
    for keys in inputs:
        result = driver.tick({agent: keys})
        out.append(next(r.action for r in result.rows if r.agent == agent))
    return out


# -- keys ------------------------------------------------------------------------------------

def test_the_longest_matching_combination_wins():
    d = driver_of(Walk)
    held = [KeyInput.of(held={"ArrowLeft"}), KeyInput.of(held={"ArrowLeft", "ArrowRight"}),
            KeyInput.of(held={"ArrowLeft", "ArrowRight", "Shift"}), KeyInput.of(held={"Shift"}), None]
    assert actions_for(d, held) == [1, 3, 4, 0, 0]


def test_pressed_mode_counts_a_tap_between_two_frames_once():
    d = driver_of(Walk)
    # ArrowRight went down and up between two ticks: it never shows as held, yet counts once.
    assert actions_for(d, [KeyInput.of(down={"ArrowRight"}, up={"ArrowRight"}), None,
                           KeyInput.of(held={"ArrowLeft"}), KeyInput.of(held={"ArrowLeft"})]) == [2, 0, 1, 1]


def test_keydown_mode_acts_only_on_the_frame_a_key_goes_down():
    d = driver_of(Walk, input_mode="keydown")
    held = KeyInput.of(held={"ArrowLeft"})
    assert actions_for(d, [held, held, held, None, held]) == [1, 0, 0, 0, 1]


def test_keyup_mode_acts_on_release():
    d = driver_of(Walk, input_mode="keyup")
    held = KeyInput.of(held={"ArrowRight"})
    assert actions_for(d, [held, held, None, tap("ArrowLeft")]) == [0, 0, 2, 1]


@pytest.mark.parametrize("fill, expected", [("default", [2, 0, 0, 1, 0]), ("previous", [2, 2, 2, 1, 1])])
def test_fill_and_the_filled_flag(fill, expected):
    d = driver_of(Walk, fill=fill)
    d.start()
    rows = [d.tick({"player": k}).rows[0] for k in [tap("ArrowRight"), None, None, tap("ArrowLeft"), None]]
    assert [r.action for r in rows] == expected
    assert [r.filled for r in rows] == [False, True, True, False, True]
    assert rows[0].keys == ("ArrowRight",) and rows[1].keys == ()


# -- episodes --------------------------------------------------------------------------------

def test_episodes_have_their_own_seeds_and_the_driver_finishes():
    env = Walk(length=3)
    d = driver_of(lambda: env, episodes=3)
    d.start()
    results = []
    while not d.finished:
        results.append(d.tick())
    assert env.seeds == [episode_seed(5, e) for e in range(3)]
    assert [(r.episode, r.frame) for r in results] == [(0, 1), (0, 2), (0, 3), (1, 0), (1, 1), (1, 2), (1, 3),
                                                        (2, 0), (2, 1), (2, 2), (2, 3)]
    assert [r.episode_over for r in results].count(True) == 3 and results[-1].finished
    assert d.tick() is None


def test_a_step_asking_for_episode_is_called_again_each_episode():
    calls = []

    @mk.scene(players={"player": "random"}, episodes=2, max_steps=2)
    def game(seed, episode):
        calls.append((seed, episode))
        return Walk()

    d = build_game(game, {}, seed=9).driver()
    d.start()
    while not d.finished:
        d.tick()
    assert calls == [(episode_seed(9, 0), 0), (episode_seed(9, 1), 1)]


def test_max_steps_truncates_every_episode():
    d = driver_of(Walk, max_steps=4, episodes=2)
    d.start()
    rows = []
    while not d.finished:
        rows += d.tick().rows
    last = [r for r in rows if r.frame == 4]
    assert len(last) == 2 and all(r.truncated and not r.terminated for r in last)
    assert max(r.frame for r in rows) == 4


def test_a_rollback_peer_maps_keys_as_the_driver_does():
    inputs = [KeyInput.of(held={"ArrowLeft"}), tap("ArrowRight"), None, KeyInput.of(held={"ArrowLeft", "ArrowRight"}),
              KeyInput.of(held={"Shift", "ArrowLeft", "ArrowRight"}), None]
    d = driver_of(Walk)
    expected = actions_for(d, inputs)
    press = peer_input(d.options, "player", lambda i: inputs[i])
    assert [press(i, d.frame) for i in range(len(inputs))] == expected == [1, 2, 0, 3, 4, 0]


def test_a_rollback_peer_sends_no_move_on_a_turn_with_no_legal_key_and_the_game_waits():
    class Frame:
        observations = {"player": {"action_mask": [0, 0, 1, 1, 1]}}
        infos = {"player": {}}

    d = driver_of(Walk, turn_based=True)
    keys = [KeyInput.of(down={"ArrowLeft"}), None, KeyInput.of(down={"ArrowRight"})]
    press = peer_input(d.options, "player", lambda i: keys[i])
    # ArrowLeft (1) is masked, then nothing is held: no move (None), never a move made for them.
    assert [press(0, Frame), press(1, Frame), press(2, Frame)] == [None, None, 2]
    d.start()
    assert d.advance({"player": None}) is None and d.waiting_for == ("player",)
    assert d.advance({"player": 2}).frame == 1

# -- turn-based ------------------------------------------------------------------------------

def test_a_turn_based_gymnasium_env_waits_for_the_human():
    keys = {"ArrowLeft": 0, "ArrowDown": 1, "ArrowRight": 2, "ArrowUp": 3}

    @mk.scene(players={"player": mk.HUMAN}, keys=keys, turn_based=True)
    def lake(seed):
        return gymnasium.make("FrozenLake-v1", is_slippery=False, render_mode="ansi")

    d = build_game(lake, {}, seed=1).driver()
    d.start()
    assert d.tick({}) is None and d.waiting_for == ("player",)
    held = KeyInput.of(held={"ArrowRight"})
    first = d.tick({"player": held})
    assert first.frame == 1 and first.rows[0].action == 2 and first.rows[0].observation == 1
    assert d.tick({"player": held}) is None  # a key held on: no second turn until it goes down again
    assert d.tick({"player": tap("ArrowDown")}).rows[0].observation == 5


# -- AI players ------------------------------------------------------------------------------

def test_two_agents_with_a_late_ai():
    """The AI's answer to the request of frame f plays when it arrives, recorded as decided at f."""

    @mk.policy
    def bot():
        return lambda obs: 4

    d = driver_of(lambda: Walk(agents=("player", "bot")), players={"player": mk.HUMAN, "bot": "bot"},
                  policies={"bot": bot})
    d.ais["bot"] = AIPlayer(d.ais["bot"].policy, run_async=True)
    d.start()
    bot_rows = []
    held = []
    for frame in range(1, 7):
        result = d.tick({"player": None})
        bot_rows.append(next(r for r in result.rows if r.agent == "bot"))
        held += d.take_requests()
        if frame in (2, 5):  # answers arrive two ticks late
            for request in held:
                d.answer(request, 4)
            held = []
    assert [r.action for r in bot_rows] == [0, 0, 4, 4, 4, 4]
    assert [r.decided_at for r in bot_rows] == [None, None, 0, 0, 0, 2]
    assert [r.filled for r in bot_rows] == [True, True, False, True, True, False]


def test_int_agent_ids_and_a_policy_acting_every_fifth_frame():
    @mk.policy(every=5)
    def partner():
        return lambda obs, frame: 1 + frame % 3

    d = driver_of(lambda: Walk(agents=(0, 1)), players={0: mk.HUMAN, 1: "partner"}, policies={"partner": partner})
    d.start()
    rows = [next(r for r in d.tick({0: None}).rows if r.agent == 1) for _ in range(11)]
    assert [r.action for r in rows] == [1] * 5 + [3] * 5 + [2]
    assert [r.decided_at for r in rows] == [0] * 5 + [5] * 5 + [10]
    assert [r.filled for r in rows] == [False] + [True] * 4 + [False] + [True] * 4 + [False]


def test_a_policy_plays_the_default_action_between_decisions():
    @mk.policy(every=3, fill="default")
    def partner():
        return lambda obs: 4

    d = driver_of(lambda: Walk(agents=("player", "bot")), players={"player": mk.HUMAN, "bot": "partner"},
                  policies={"partner": partner})
    d.start()
    bot = [next(r for r in d.tick().rows if r.agent == "bot") for _ in range(7)]
    assert [(r.action, r.filled) for r in bot] == [(4, False), (0, True), (0, True)] * 2 + [(4, False)]


def test_a_policy_may_read_the_env():
    seen = []

    @mk.policy
    def scripted():
        def act(obs, env, agent):
            seen.append(env.pos[agent])
            return 1
        return act

    d = driver_of(Walk, players={"player": "scripted"}, policies={"scripted": scripted})
    d.start()
    for _ in range(3):
        d.tick()
    assert seen == [0, 1, 2]


# -- hooks -----------------------------------------------------------------------------------

def test_hook_columns_and_episode_hooks():
    events = []

    def on_step(frame, actions, env):
        return {"pos": env.pos["player"], "double": 2 * frame}

    d = driver_of(lambda: Walk(length=2), on_step=on_step, episodes=2,
                  on_episode_start=lambda episode, seed: events.append(("start", episode, seed)),
                  on_episode_end=lambda episode, returns: events.append(("end", episode, returns)))
    d.start()
    results = [d.tick({"player": tap("ArrowRight")}) for _ in range(4)]
    assert results[0].rows[0].to_dict()["x_pos"] == 2 and results[1].rows[0].x == {"pos": 4, "double": 4}
    assert events == [("start", 0, episode_seed(5, 0)), ("end", 0, {"player": 4.0}),
                      ("start", 1, episode_seed(5, 1))]


def test_a_failing_hook_is_reported_with_episode_and_frame():
    def on_step(frame):
        if frame == 3:
            raise ValueError("no score yet")

    d = driver_of(Walk, on_step=on_step)
    d.start()
    d.tick()
    d.tick()
    with pytest.raises(HookError, match=r"game: on_step at episode 0, frame 3 raised ValueError: no score yet at "
                                        r".*test_driver\.py:\d+$"):
        d.tick()


def test_a_hook_returning_a_non_dict_is_an_error():
    d = driver_of(Walk, on_step=lambda: 3)
    d.start()
    with pytest.raises(HookError, match="returned int; a hook returns a dict of columns or None"):
        d.tick()


# -- snapshots -------------------------------------------------------------------------------

def test_save_and_load_replay_the_same_frames_with_fill_previous():
    d = driver_of(Walk, fill="previous")
    d.start()
    rng = random.Random(3)
    inputs = [rng.choice([None, tap("ArrowLeft"), tap("ArrowRight")]) for _ in range(30)]
    for k in inputs[:10]:
        d.tick({"player": k})
    snap = d.save()
    first = [(d.tick({"player": k}).actions, d.checksum()) for k in inputs[10:]]
    d.load(snap)
    again = [(d.tick({"player": k}).actions, d.checksum()) for k in inputs[10:]]
    assert first == again


def test_a_recurrent_onnx_policy_rolled_back_mid_episode_replays_exactly(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    # h_out = h_in + obs; the logits are h_out, so each action depends on the whole history.
    graph = helper.make_graph(
        [helper.make_node("Add", ["h_in", "obs"], ["h_out"]), helper.make_node("Identity", ["h_out"], ["logits"])],
        "memory", [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 5]),
                   helper.make_tensor_value_info("h_in", TensorProto.FLOAT, [1, 5])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5]),
         helper.make_tensor_value_info("h_out", TensorProto.FLOAT, [1, 5])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = str(tmp_path / "memory.onnx")
    onnx.save(model, path)

    class Cycle(Walk):
        """Observations whose running sum's argmax keeps moving."""

        def _obs(self):
            # The first entry drifts upward: a state carried into the next episode starts it ahead.
            drift = [0.05] + [float((self.t * k) % m - (m - 1) / 2) for k, m in ((3, 4), (5, 3), (2, 7), (11, 6))]
            return {a: drift for a in self.agents}

        def observation_space(self, agent):
            return mk.spaces.Box(-10, 10, shape=(5,))

        def reset(self, seed=None, options=None):
            super().reset(seed)
            return self._obs(), {a: {} for a in self.agents}

        def step(self, actions):
            _, r, te, tr, info = super().step(actions)
            return self._obs(), r, te, tr, info

    @mk.policy
    def memory():
        return mk.Onnx(path, input="obs", output="logits", state={"h_in": "h_out"})

    def run(d, n):
        return [(d.tick().rows[0].action, d.checksum()) for _ in range(n)]

    d = driver_of(Cycle, players={"player": "memory"}, policies={"memory": memory}, episodes=2, max_steps=30)
    d.start()
    run(d, 12)
    snap = d.save()
    first = run(d, 40)  # into the second episode: the state is reset there
    assert len({a for a, _ in first}) > 2
    d.load(snap)
    assert run(d, 40) == first
    # Observations repeat each episode; so do the actions, since the state is reset per episode.
    d2 = driver_of(Cycle, players={"player": "memory"}, policies={"memory": memory}, episodes=2, max_steps=30)
    d2.start()
    actions = [a for a, _ in run(d2, 61)]
    assert actions[:30] == actions[31:] and actions[12:52] == [a for a, _ in first]
