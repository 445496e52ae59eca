"""``mk.Monitor``: the ``monitor=`` option of game steps, checked when the experiment is collected
(a StepError naming the file, line, step and field, saying what to fix)."""

from __future__ import annotations

import re

import pytest

import mugkit as mk
from mugkit.collect import collect
from mugkit.steps import StepError

from test_collect import ENV, HEADER, line_of, project, write  # noqa: F401  (project: a fixture)

PLAYERS = {"a": mk.HUMAN, "b": mk.HUMAN}
GAME = dict(keys={"ArrowLeft": 0}, default_action=0)


def _problem(monitor, players=PLAYERS, runtime="server") -> str:
    with pytest.raises(StepError) as info:
        @mk.scene(players=players, runtime=runtime, monitor=monitor, **GAME)
        def game(group):
            return None
    return str(info.value)


def test_a_default_monitor_watches_hidden_tabs_and_idle_players_and_not_round_trips():
    m = mk.Monitor()
    assert (m.hidden_seconds, m.idle_seconds, m.max_rtt_ms, m.rtt_violations, m.warn_seconds, m.takeover) == \
        (10, 60, None, (3, 5), 5, None)

    @mk.scene(players={"p": mk.HUMAN}, monitor=m, **GAME)
    def game(seed):
        return None

    assert game.options.monitor is m
    assert m.as_view() == {"heartbeat_ms": 1000, "focus": False, "hidden_seconds": 10, "idle_seconds": 60,
                           "max_rtt_ms": None}


@pytest.mark.parametrize("monitor, says", [
    ({"hidden_seconds": 10}, r"monitor must be mk\.Monitor\(\.\.\.\), got dict"),
    (mk.Monitor(hidden_seconds=-1), r"monitor hidden_seconds must be a positive number or None \(off\), got -1"),
    (mk.Monitor(idle_seconds=float("nan")), r"monitor idle_seconds must be a positive number or None"),
    (mk.Monitor(max_rtt_ms="200"), r"monitor max_rtt_ms must be a positive number or None \(off\), got '200'"),
    (mk.Monitor(hidden_seconds=None, idle_seconds=None), r"monitor watches nothing: set hidden_seconds, idle_seconds"),
    (mk.Monitor(hidden_seconds=4, warn_seconds=5), r"monitor warn_seconds \(5\) must be less than hidden_seconds \(4\)"),
    (mk.Monitor(warn_seconds=-1), r"monitor warn_seconds must be a number of seconds >= 0, got -1"),
    (mk.Monitor(max_rtt_ms=200, rtt_violations=(6, 5)), r"monitor rtt_violations must be \(k, n\).*got \(6, 5\)"),
    (mk.Monitor(max_rtt_ms=200, rtt_violations=3), r"monitor rtt_violations must be \(k, n\)"),
    (mk.Monitor(ping_seconds=0.1), r"monitor ping_seconds must be from 0\.5 to 60 seconds, got 0\.1"),
    (mk.Monitor(focus_lost="yes"), r"monitor focus_lost must be True or False, got 'yes'"),
    (mk.Monitor(takeover=3), r"monitor takeover must be the name of a @mk\.policy or 'random', got 3"),
])
def test_a_bad_monitor_is_a_step_error_naming_the_field(monitor, says):
    message = _problem(monitor)
    assert re.search(says, message), message
    assert re.match(r"^tests/test_monitor_options\.py:\d+: game: ", message), message


def test_takeover_is_for_server_games_with_partners_and_a_monitor_needs_a_human():
    assert "takeover works in server games only" in _problem(mk.Monitor(takeover="random"), runtime="browser")
    assert "takeover needs two or more humans" in _problem(mk.Monitor(takeover="random"), players={"a": mk.HUMAN,
                                                                                                    "b": "random"})
    assert "this step has none" in _problem(mk.Monitor(), players={"a": "random"})


def test_a_takeover_policy_the_module_does_not_define_is_named_at_collection(project):
    path = write(project, "bad.py", HEADER + ENV + """
@mk.policy
def chaser():
    return lambda obs: 0
@mk.scene(players={"p": mk.HUMAN, "q": mk.HUMAN}, keys={"a": 0}, default_action=0,
          monitor=mk.Monitor(takeover="chasr"))
def game(group):
    return Env()
""")
    with pytest.raises(StepError) as info:
        collect([str(path)])
    line = line_of(project, "bad.py", "@mk.scene(players")
    assert re.match(rf"^bad\.py:{line}: game: monitor takeover names policy 'chasr', which is not a @mk\.policy of "
                    rf"this module \(defined here: chaser\) or 'random'$", str(info.value)), str(info.value)


def test_a_takeover_by_a_defined_policy_or_random_collects(project):
    path = write(project, "good.py", HEADER + ENV + """
@mk.policy
def chaser():
    return lambda obs: 0
@mk.scene(players={"p": mk.HUMAN, "q": mk.HUMAN}, keys={"a": 0}, default_action=0,
          monitor=mk.Monitor(takeover="chaser"))
def game(group):
    return Env()
@mk.scene(players={"p": mk.HUMAN, "q": mk.HUMAN}, keys={"a": 0}, default_action=0,
          monitor=mk.Monitor(takeover="random"))
def other(group):
    return Env()
""")
    (exp,) = collect([str(path)])
    assert [s.options.monitor.takeover for s in exp.steps] == ["chaser", "random"]
