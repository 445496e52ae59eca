"""Collection: which modules are experiments, node ids, and errors that name file and line."""

import re
import sys
import textwrap

import pytest

from mugkit.collect import CollectError, collect, find_experiment_files, is_experiment_source, load_step
from mugkit.games import build_game
from mugkit.steps import StepError

HEADER = "import mugkit as mk\nfrom mugkit import spaces\n"

ENV = '''
class Env:
    metadata = {"render_modes": ["mug"]}
    def __init__(self):
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Discrete(5)
    def reset(self, seed=None, options=None):
        return 0, {}
    def step(self, a):
        return 0, 0, False, False, {}
    def render(self):
        return []
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder of experiment files, the working directory, with clean module names."""
    monkeypatch.chdir(tmp_path)
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        mod = sys.modules[name]
        if str(tmp_path) in str(getattr(mod, "__file__", "") or ""):
            del sys.modules[name]
    sys.path[:] = [p for p in sys.path if str(tmp_path) not in p]


def write(folder, name, body):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body))
    return path


def test_experiment_source_needs_mugkit_and_a_step():
    assert is_experiment_source(HEADER + "@mk.scene\ndef a():\n    pass\n")
    assert is_experiment_source("from mugkit import survey\n@survey\ndef a():\n    pass\n")
    assert not is_experiment_source(HEADER + "def a():\n    pass\n")  # an env module
    assert not is_experiment_source("@scene\ndef a():\n    pass\n")  # no mugkit import


def test_folder_collection_skips_private_test_and_env_modules(project):
    step = HEADER + "@mk.scene\ndef page():\n    return mk.Page(body='hi')\n"
    write(project, "exp/one.py", step)
    write(project, "exp/_private.py", step)
    write(project, "exp/test_thing.py", step)
    write(project, "exp/envs/__init__.py", "")
    write(project, "exp/envs/walk.py", HEADER + ENV)
    write(project, "exp/sub/two.py", step)
    found = [p.replace(str(project), "") for p in find_experiment_files(str(project / "exp"))]
    assert found == ["/exp/one.py", "/exp/sub/two.py"]
    # Named explicitly, a private module is collected (as pytest does).
    assert find_experiment_files(str(project / "exp/_private.py")) == [str(project / "exp/_private.py")]


def test_sibling_imports_and_node_ids(project):
    write(project, "exp/walkers/__init__.py", "")
    write(project, "exp/walkers/walk.py", HEADER + ENV)
    write(project, "exp/game.py", HEADER + """
from walkers.walk import Env
@mk.scene(players={"p": mk.HUMAN}, keys={"a": 0}, default_action=1)
def play(seed):
    return Env()
""")
    (exp,) = collect(["exp"])
    assert exp.name == "game" and exp.nodeid == "exp/game.py"
    experiment, step = load_step("exp/game.py::play")
    assert experiment.step_nodeid(step) == "exp/game.py::play"
    assert step.params == ("seed",)


def test_flow_defaults_to_definition_order_and_honours_FLOW(project):
    write(project, "exp/flow.py", HEADER + """
@mk.scene
def a():
    return mk.Page(body="a")
@mk.survey
def b():
    return [mk.Text("t", "text?")]
@mk.scene
def c():
    return mk.Page(body="c")
FLOW = [c, mk.repeat(b, 2), a]
""")
    (exp,) = collect(["exp"])
    assert [s.name for s in exp.steps] == ["c", "b", "a"]


def error_of(project, body, name="bad.py"):
    path = write(project, name, HEADER + ENV + body)
    with pytest.raises(StepError) as info:
        (exp,) = collect([str(path)])
        for step in exp.steps:
            build_game(step, exp.policies, seed=0)
    return str(info.value)


def line_of(project, name, needle):
    lines = (project / name).read_text().splitlines()
    return next(i + 1 for i, line in enumerate(lines) if needle in line)


def test_unknown_policy_names_file_line_and_the_known_ones(project):
    msg = error_of(project, """
@mk.policy
def chaser():
    return lambda obs: 0
@mk.scene(players={"p": "chaserr"})
def game():
    return Env()
""")
    line = line_of(project, "bad.py", "chaserr")  # the decorator line: where the options are
    assert re.match(rf"^bad\.py:{line}: game: unknown policy 'chaserr' \(did you mean 'chaser'\?\); .*"
                    rf"\(defined here: chaser\)$", msg), msg


def test_keys_outside_the_action_space(project):
    msg = error_of(project, """
@mk.scene(players={"p": mk.HUMAN}, keys={"ArrowUp": 7}, default_action=0)
def game():
    return Env()
""")
    assert re.match(r'^bad\.py:\d+: game: keys\["ArrowUp"\] = 7 is outside the action space of \'p\', '
                    r"Discrete\(3\); its actions are 0 … 2: map it to an action inside it$", msg), msg


def test_a_bad_default_action_is_named(project):
    msg = error_of(project, """
@mk.scene(players={"p": mk.HUMAN}, keys={"ArrowUp": 1, ("a", " "): 2}, default_action=-1)
def game():
    return Env()
""")
    assert "game: default_action = -1 is outside the action space of 'p'" in msg, msg


def test_a_step_that_returns_no_env(project):
    msg = error_of(project, """
@mk.scene(players={"p": "random"})
def game():
    Env()
""")
    assert "game: a game step must return an env" in msg and "did you forget `return`?" in msg
    assert msg.startswith("bad.py:")


def test_duplicate_agents_in_players(project):
    msg = error_of(project, """
@mk.scene(players={"p": "random", "p": mk.HUMAN}, keys={"a": 0}, default_action=0)
def game():
    return Env()
""")
    line = line_of(project, "bad.py", '"p": "random", "p"')
    assert msg == (f"bad.py:{line}: game: agent 'p' appears twice in players (first at line {line}); "
                   f"each agent plays once")


def test_real_time_human_without_default_action(project):
    msg = error_of(project, """
@mk.scene(players={"p": mk.HUMAN}, keys={"a": 0})
def game():
    return Env()
""")
    assert "game: a real-time game with a human needs default_action=" in msg


def test_players_that_are_not_the_envs_agents(project):
    msg = error_of(project, """
@mk.scene(players={"p": "random", "q": "random"})
def game():
    return Env()
""")
    assert "single-agent env, so players must name exactly one agent; it names 2: p, q" in msg


def test_import_failure_names_the_line_and_hints(project):
    path = write(project, "broken.py", HEADER + "import not_a_module_xyz\n@mk.scene\ndef a():\n    pass\n")
    with pytest.raises(CollectError) as info:
        collect([str(path)])
    msg = str(info.value)
    assert msg.startswith("broken.py: failed to import: ModuleNotFoundError: No module named 'not_a_module_xyz'")
    assert "broken.py:3 in <module>: import not_a_module_xyz" in msg and "Hint:" in msg


def test_syntax_error_names_the_line(project):
    path = write(project, "syntax.py", HEADER + "@mk.scene\ndef a(:\n    pass\n")
    with pytest.raises(CollectError, match=r"^syntax\.py:4: syntax error: "):
        collect([str(path)])


def test_bad_option_at_import_names_the_step(project):
    path = write(project, "opt.py", HEADER + ENV + """
@mk.scene(players={"p": "random"}, fsp=30)
def game():
    return Env()
""")
    with pytest.raises(CollectError) as info:
        collect([str(path)])
    assert re.search(r"opt\.py:\d+: game: unknown option 'fsp' \(did you mean 'fps'\?\)", str(info.value))


def test_missing_path_is_a_clear_error(project):
    with pytest.raises(CollectError, match="no such file or folder"):
        collect(["nowhere"])
