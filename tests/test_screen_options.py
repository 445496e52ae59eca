"""The options of the screens around games (docs/participants.md): their checks, the scores the
round-over screen shows, and the names participants read for agents."""

from __future__ import annotations

import pytest

import mugkit as mk
from mugkit.games import build_game
from mugkit.runtime.frames import FrameEncoder
from mugkit.runtime.options import GameOptions, OptionsError
from mugkit.web.lobby import agent_name
from mugkit.web.problems import new_ref

from mugkit import draw, spaces


class Pair:
    """Two agents; "a" earns 1 a frame, "b" earns 2."""

    def __init__(self):
        self.possible_agents = ["a", "b"]

    def action_space(self, agent):
        return spaces.Discrete(2)

    def observation_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents, self.t = list(self.possible_agents), 0
        return {a: 0 for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions):
        self.t += 1
        agents = self.agents
        done = {a: self.t >= 3 for a in agents}
        if self.t >= 3:
            self.agents = []   # PettingZoo: an episode is over when no agent is left
        return {a: 0 for a in agents}, {"a": 1.0, "b": 2.0}, done, {a: False for a in agents}, {a: {} for a in agents}

    def render(self):
        return [draw.circle(10, 10, 5, id="dot")]


def options(**kw) -> GameOptions:
    return GameOptions.from_kwargs(players={"a": "random", "b": "random"}, episodes=2, **kw)


def rounds(**kw) -> list[dict]:
    """The ``round`` of every frame message of a two-episode game that ends an episode."""
    @mk.scene(players={"a": "random", "b": "random"}, episodes=2, **kw)
    def game(seed):
        return Pair()

    driver = build_game(game, {}, seed=1).driver(render=True)
    encoder = FrameEncoder("g", driver)
    out, result = [], driver.start()
    while not result.finished:
        result = driver.tick()
        message = encoder.encode(result)
        if "round" in message:
            out.append(message["round"])
    return out


def test_the_screens_are_on_by_default():
    o = options()
    assert (o.ready, o.countdown, o.round_over, o.score, o.labels, o.time_left) == (True, 3, 3, None, None, True)


def test_ill_formed_screen_options_are_each_named():
    with pytest.raises(OptionsError) as e:
        options(countdown=11, round_over=-1, ready="yes", score=3, labels={"c": "You"})
    problems = "; ".join(e.value.problems)
    for part in ("countdown must be whole seconds from 0 to 10, got 11", "round_over must be seconds from 0 to 60",
                 "ready must be True or False", "score must be a function", "labels names 'c'"):
        assert part in problems


def test_a_misspelt_label_suggests_the_agent():
    with pytest.raises(OptionsError, match=r"labels names 'bleu', which is not an agent of players= \(did you mean 'blue'\?\)"):
        GameOptions.from_kwargs(players={"blue": mk.HUMAN}, keys={"x": 1}, default_action=0, labels={"bleu": "You"})


def test_each_player_sees_their_own_return_by_default():
    got = rounds()
    assert [r["episode"] for r in got] == [1, 2] and [r["last"] for r in got] == [False, True]
    assert got[0]["scores"] == [["a", 3.0], ["b", 6.0]]   # each episode's return, not the game's


def test_a_score_function_of_the_returns_is_shown_per_agent_or_to_all():
    per_agent = rounds(score=lambda returns: {agent: f"{int(r)} points" for agent, r in returns.items()})
    assert per_agent[0]["scores"] == [["a", "3 points"], ["b", "6 points"]]
    team = rounds(score=lambda returns: sum(returns.values()))
    assert team[1]["scores"] == [["a", 9.0], ["b", 9.0]]


def test_agent_ids_become_words_participants_can_read():
    assert [agent_name(a) for a in ("player_1", "blue", 0, 1, ("team", 2), "red-team")] == \
        ["Player 1", "Blue", "Player 1", "Player 2", "Team Player 3", "Red team"]


def test_reference_codes_are_short_and_unambiguous():
    refs = {new_ref() for _ in range(200)}
    assert len(refs) == 200
    assert all(len(r) == 8 and r.startswith("E-") and not set(r[2:]) & set("01ILO") for r in refs)


def test_a_score_that_is_not_a_finite_number_is_shown_as_text():
    """NaN and infinities are not JSON: the page could not read the frame carrying the round's end."""
    import json

    from mugkit.runtime.frames import _shown

    assert [_shown(v) for v in (float("nan"), float("inf"), 2.5, 3)] == ["nan", "inf", 2.5, 3]
    json.loads(json.dumps([_shown(float("nan"))]), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
