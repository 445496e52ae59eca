"""mugkit.steps: the decorators, their options and defaults, and StepError messages that start with path:line."""

from __future__ import annotations

import copy
import os
import pickle
import re

import pytest

import mugkit as mk
from mugkit.runtime.options import GameOptions
from mugkit.steps import GAME_DEFAULTS, GameStep, PageStep, PolicyDef, StepError, SurveyStep

HUMAN_GAME = {"players": {"p": mk.HUMAN}, "keys": {"ArrowLeft": 0, "ArrowRight": 1}, "default_action": 0}


def _where(fn) -> str:
    """The ``path:line`` prefix a StepError about ``fn`` must start with (regex-escaped)."""
    path = os.path.abspath(fn.__code__.co_filename)
    rel = os.path.relpath(path)
    return re.escape(f"{path if rel.startswith('..') else rel}:{fn.__code__.co_firstlineno}")


def _error(decorate, fn) -> str:
    with pytest.raises(StepError) as info:
        decorate(fn)
    return str(info.value)


# --- what the decorators make ---------------------------------------------------------------------------------


def test_bare_scene_is_a_page_step():
    @mk.scene
    def welcome():
        return "page"

    assert isinstance(welcome, PageStep) and welcome.kind == "page" and welcome.name == "welcome"
    assert welcome() == "page"  # still callable
    assert welcome.line == welcome.fn.__code__.co_firstlineno and welcome.file == os.path.abspath(__file__)
    assert welcome.location() == f"{os.path.relpath(__file__)}:{welcome.line}"


def test_scene_with_empty_parentheses_is_a_page_step():
    @mk.scene()
    def info(participant):
        return participant

    assert isinstance(info, PageStep) and info.params == ("participant",)


def test_game_scene_fills_defaults():
    @mk.scene(players={"runner": mk.HUMAN, "chaser": "random"}, keys={"ArrowUp": 1, ("a", "b"): 2},
              default_action=0, fps=60, packages=["chess==1.11.2"])
    def chase(seed, episode):
        return seed, episode

    assert isinstance(chase, GameStep) and chase.kind == "game" and chase.params == ("seed", "episode")
    assert set(GameOptions.names()) == set(GAME_DEFAULTS)
    assert chase.options.fps == 60 and chase.options.runtime == "server" and chase.options.max_rollback == 8
    assert chase.options.packages == ("chess==1.11.2",)
    assert chase.humans == ["runner"] and chase.policy_names == []
    assert chase.options.fps == 60 and chase.runtime == "server"
    assert chase(1, 2) == (1, 2)


def test_players_dict_is_copied_and_human_survives_copies():
    players = {"p": mk.HUMAN, "q": "bot"}

    @mk.scene(players=players, keys={"x": 0}, default_action=0)
    def game():
        pass

    players["z"] = "random"
    assert list(game.players) == ["p", "q"] and game.policy_names == ["bot"]
    assert copy.deepcopy(game.options).players["p"] is mk.HUMAN
    assert pickle.loads(pickle.dumps(mk.HUMAN)) is mk.HUMAN
    assert repr(mk.HUMAN) == "mk.HUMAN"


def test_survey_and_policy():
    @mk.survey
    def after(participant):
        return []

    @mk.policy
    def bot():
        return lambda obs: 0

    assert isinstance(after, SurveyStep) and after.kind == "survey" and after.params == ("participant",)
    assert isinstance(bot, PolicyDef) and bot.name == "bot" and bot()(None) == 0


# --- errors, with path:line ---------------------------------------------------------------------------------------


def test_unknown_option_suggests_the_closest():
    def game():
        pass

    message = _error(mk.scene(players={"p": "random"}, fsp=30), game)
    assert re.fullmatch(_where(game) + r": game: unknown option 'fsp' \(did you mean 'fps'\?\); "
                        r"game step options are players, runtime, fps, .*, on_episode_end", message), message


def test_unknown_option_without_a_close_match_has_no_hint():
    def game():
        pass

    message = _error(mk.scene(players={"p": "random"}, zzzzzz=1), game)
    assert re.fullmatch(_where(game) + r": game: unknown option 'zzzzzz'; game step options are .*", message)


def test_missing_players():
    def game():
        pass

    message = _error(mk.scene(fps=30), game)
    assert re.fullmatch(_where(game) + r": game: a game step needs players=\.\.\.; a page scene takes no options",
                        message), message


def test_misspelt_players_suggests_players():
    def game():
        pass

    message = _error(mk.scene(playres={"p": "random"}), game)
    assert "unknown option 'playres' (did you mean 'players'?)" in message


def test_missing_keys_with_a_human():
    def game():
        pass

    message = _error(mk.scene(players={"p": mk.HUMAN}, default_action=0), game)
    assert re.fullmatch(_where(game) + r": game: keys is required when a human plays: a dict KeyboardEvent\.key "
                        r"name -> action", message), message


@pytest.mark.parametrize("option, value, needle", [
    ("runtime", "cloud", "runtime must be 'server' or 'browser', got 'cloud'"),
    ("fps", 0, "fps must be a positive number, got 0"),
    ("fps", "30", "fps must be a positive number, got '30'"),
    ("episodes", 1.5, "episodes must be a positive int, got 1.5"),
    ("max_steps", 0, "max_steps must be a positive int, got 0"),
    ("width", True, "width must be a positive int, got True"),
    ("max_rollback", 0, "max_rollback must be an int from 1 to 64 frames, got 0"),
    ("max_rollback", 65, "max_rollback must be an int from 1 to 64 frames, got 65"),
    ("max_rollback", True, "max_rollback must be an int from 1 to 64 frames, got True"),
    ("input_delay", -1, "input_delay must be an int from 0 to 30 frames, got -1"),
    ("fill", "zero", "fill must be 'default' or 'previous', got 'zero'"),
    ("input_mode", "held", "input_mode must be 'pressed', 'keydown' or 'keyup', got 'held'"),
    ("keys", ["ArrowUp"], "keys must be a dict, got list"),
    ("keys", {"": 0}, "key '' must be a KeyboardEvent.key name or a tuple of names"),
    ("on_step", 3, "on_step must be a function, got 3"),
    ("packages", "chess", "packages must be a list of pinned requirements like 'chess==1.11.2', got 'chess'"),
    ("packages", ["chess"], "packages must be a list of pinned requirements"),
    ("players", {}, "players must be a dict agent id -> mk.HUMAN, 'random' or a policy name"),
    ("players", {"p": 3}, "player 'p' is 3: use mk.HUMAN, 'random' or the name of a @mk.policy"),
    ("players", {1.5: "random"}, "agent id 1.5 must be the env's own id: a str, an int or a tuple of them"),
])
def test_bad_option_values(option, value, needle):
    def game():
        pass

    message = _error(mk.scene(**{**HUMAN_GAME, option: value}), game)
    assert re.match(_where(game) + ": game: ", message), message
    assert needle in message


def test_all_problems_are_reported_at_once():
    def game():
        pass

    message = _error(mk.scene(**{**HUMAN_GAME, "fps": -1, "runtime": "gpu"}), game)
    assert re.fullmatch(_where(game) + r": game: runtime must be 'server' or 'browser', got 'gpu'; "
                        r"fps must be a positive number, got -1", message), message


def test_nan_fps_is_rejected():
    def game():
        pass

    message = _error(mk.scene(**{**HUMAN_GAME, "fps": float("nan")}), game)
    assert "fps must be a positive number, got nan" in message


def test_unknown_parameter_with_hint():
    def game(sed):
        pass

    message = _error(mk.scene(**HUMAN_GAME), game)
    assert re.fullmatch(_where(game) + r": game: unknown parameter 'sed' \(did you mean 'seed'\?\); "
                        r"a step may ask for seed, episode, participant, group", message), message


def test_unknown_parameter_of_a_page_and_a_survey():
    def page(seed):
        pass

    def questions(episode):
        pass

    assert re.fullmatch(_where(page) + r": page: unknown parameter 'seed'; a step may ask for participant",
                        _error(mk.scene, page))
    assert re.fullmatch(_where(questions) + r": questions: unknown parameter 'episode'; a step may ask for "
                        r"participant", _error(mk.survey, questions))


def test_varargs_are_not_parameters():
    @mk.scene(**HUMAN_GAME)
    def game(seed, *args, **kwargs):
        pass

    assert game.params == ("seed",)


def test_participant_and_group_together():
    def game(participant, group):
        pass

    message = _error(mk.scene(**HUMAN_GAME), game)
    assert re.fullmatch(_where(game) + r": game: ask for participant or group, not both", message), message


def test_participant_on_a_two_human_step():
    def duel(seed, participant):
        pass

    options = {**HUMAN_GAME, "players": {"p1": mk.HUMAN, "p2": mk.HUMAN}}
    message = _error(mk.scene(**options), duel)
    assert re.fullmatch(_where(duel) + r": duel: 2 humans play this game, so it is built once per group: "
                        r"ask for group \(the participants\), not participant", message), message

    @mk.scene(**options)
    def duel_ok(seed, group):
        pass

    assert duel_ok.params == ("seed", "group")


def test_one_human_may_ask_for_participant_or_group():
    @mk.scene(**HUMAN_GAME)
    def solo(participant):
        pass

    @mk.scene(players={"a": "random", "b": "random"})
    def ai_only(group):
        pass

    assert solo.params == ("participant",) and ai_only.params == ("group",)


def test_misused_decorators():
    with pytest.raises(StepError, match="use @mk.scene or @mk.scene"):
        mk.scene(lambda: 0, players={"p": "random"})
    with pytest.raises(StepError, match="use @mk.scene or @mk.scene"):
        mk.scene("welcome")
    with pytest.raises(StepError, match="use @mk.survey"):
        mk.survey("x")
    with pytest.raises(StepError, match="use @mk.policy"):
        mk.policy("x")
    with pytest.raises(StepError, match=r"every must be a positive int .* got 0"):
        mk.policy(every=0)(lambda: None)
    with pytest.raises(StepError, match=r"fill must be 'previous' or 'default', got 'x'"):
        mk.policy(fill="x")(lambda: None)


def test_step_error_helper_names_the_step():
    @mk.scene
    def page():
        pass

    assert re.fullmatch(_where(page.fn) + r": page: broken", str(page.error("broken")))
