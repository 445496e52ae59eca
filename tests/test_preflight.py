"""`mugkit serve`'s pre-flight: a study participants could not get through is refused before the
server opens, with `mugkit check`'s report of what to fix; `--no-preflight` opens anyway."""

import os
import subprocess
import sys

import pytest

from checkrun import ROOT, reproduction

sys.path.insert(0, os.path.join(ROOT, "tests", "web"))
from serving import free_port, serve  # noqa: E402

STUDIES = os.path.join("tests", "preflight")


def refused(study: str, tmp_path) -> subprocess.CompletedProcess:
    """Runs `mugkit serve` on one of tests/preflight's studies; asserts it never opened."""
    proc = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", os.path.join(STUDIES, study),
                           "--port", str(free_port()), "--data", str(tmp_path / "data")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "admin:" not in proc.stdout and "mugkit serving" not in proc.stdout
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mugkit serve: refusing to start: participants would meet the problem(s) above")
    assert f"`mugkit check {os.path.join(STUDIES, study)}`" in last and "--no-preflight" in last
    return proc


def test_a_missing_page_file_is_refused_with_the_close_name(tmp_path):
    proc = refused("_missing_page.py", tmp_path)
    assert ("tests/preflight/_missing_page.py::instructions::page: tests/preflight/_missing_page.py:6: the page "
            "scene raised FileNotFoundError: page body file not found: "
            f"{ROOT}/tests/preflight/instruction.md (did you mean `instructions.md`?)") in proc.stdout


def test_a_key_outside_the_action_space_is_refused_naming_the_key_once(tmp_path):
    proc = refused("_bad_key.py", tmp_path)
    assert ("tests/preflight/_bad_key.py::walk::contract: [build] tests/preflight/_bad_key.py:9: walk: "
            "keys[\" \"] = 5 is outside the action space of 'player', Discrete(3); its actions are 0 … 2: "
            "map it to an action inside it") in proc.stdout
    # Both steps share the mistake: one failure, the other step's contract points to it.
    assert "1 failed, 1 skipped" in proc.stdout


def test_an_env_that_raises_at_frame_3_is_refused_with_a_reproduction_that_raises_it(tmp_path):
    proc = refused("_crash.py", tmp_path)
    assert ("tests/preflight/_crash.py::walk::contract: [frames] the game raised ZeroDivisionError: the walker "
            "fell off the edge") in proc.stdout
    assert "tests/preflight/_walker.py:22 in step" in proc.stdout
    assert ("tests/preflight/_crash.py::walk_longer::contract: [frames] the game raised ZeroDivisionError"
            in proc.stdout)  # the frame-50 crash too
    program = reproduction(proc.stdout)
    again = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "the game raised ZeroDivisionError: the walker fell off the edge" in again.stderr


def test_no_preflight_opens_a_study_that_would_be_refused(tmp_path):
    served = serve(os.path.join(STUDIES, "_crash.py"), data=str(tmp_path / "data"), extra=["--no-preflight"])
    try:
        assert "pre-flight checks skipped (--no-preflight)\n" in served.output
    finally:
        served.stop()


def test_serve_says_where_each_game_runs_and_warns_of_a_confounded_comparison(tmp_path):
    served = serve(os.path.join(STUDIES, "_compare.py"), data=str(tmp_path / "data"), preflight=True)
    try:
        out = "".join(served.output)
    finally:
        served.stop()
    assert "tests/preflight/_compare.py::on_server: server (runtime='server')" in out
    assert ("tests/preflight/_compare.py::in_browser: server (runtime='browser' asked, but 5 humans: a browser "
            "game has at most four, so it runs on the server)") in out
    assert ("warning: tests/preflight/_compare.py: mk.counterbalance(on_server, in_browser) compares "
            "runtime='server' with runtime='browser', but all of them run on the server (in_browser: see above), "
            "so its conditions do not differ by runtime: the comparison is confounded") in out
    assert "pre-flight passed: 2 checks passed" in out  # a warning, not a refusal


@pytest.mark.slow
def test_the_examples_pass_preflight(tmp_path):
    served = serve("experiments", data=str(tmp_path / "data"), preflight=True)
    try:
        text = "".join(served.output)
        assert "pre-flight passed:" in text and "checks passed" in text
        assert "experiments/catch.py::catch: browser (runtime='browser', one human" in text
        assert "experiments/gather.py::round_in_browser: browser (runtime='browser', two humans" in text
    finally:
        served.stop()


def test_every_condition_is_built_and_rendered(tmp_path):
    from checkrun import run_check

    results = run_check("tests/preflight/_conditions.py", "--mugkit-checks", "contract,page", tmp_path=tmp_path)
    assert results.returncode == 1
    condition = "for a participant in condition {'name': 'fast', 'sped': 4}"
    assert (f"tests/preflight/_conditions.py:10: the page scene raised KeyError {condition}: 'speed'"
            in results.message("instructions::page"))
    assert (f"[build] tests/preflight/_conditions.py:15: walk: calling walk() raised KeyError: 'speed' ({condition})"
            in results.message("walk::contract"))


def test_a_key_name_no_browser_sends_is_refused_with_the_name_to_use(tmp_path):
    proc = refused("_key_name.py", tmp_path)
    assert ("tests/preflight/_key_name.py::walk::contract: [keys] tests/preflight/_key_name.py:7: walk: "
            "keys['Space']: 'Space' is a KeyboardEvent.code (a key's place on the keyboard); keys= takes "
            "KeyboardEvent.key names: did you mean ' '?") in proc.stdout


@pytest.mark.parametrize("name, wanted", [("space", "' '"), ("Up", "'ArrowUp'"), ("ArowUp", "'ArrowUp'"),
                                          ("Esc", "'Escape'"), ("KeyW", "'w'")])
def test_key_names_people_write_get_the_name_browsers_send(name, wanted):
    from mugkit.runtime.key_names import key_name_problem

    assert key_name_problem(name).endswith(f"did you mean {wanted}?")


@pytest.mark.parametrize("name", [" ", "a", "W", "ArrowUp", "Enter", "Shift", "F5", "MediaPlayPause"])
def test_key_names_browsers_send_pass(name):
    from mugkit.runtime.key_names import key_name_problem

    assert key_name_problem(name) is None


def test_a_missing_image_of_a_page_or_sprite_is_named_with_the_close_name(tmp_path):
    from checkrun import run_check

    study = tmp_path / "study"
    study.mkdir()
    (study / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (study / "pics.py").write_text(
        "import mugkit as mk\n"
        "from mugkit import draw, spaces\n\n"
        "class Still:\n"
        "    def __init__(self):\n"
        "        self.action_space, self.observation_space = spaces.Discrete(2), spaces.Discrete(2)\n"
        "    def reset(self, seed=None, options=None):\n        return 0, {}\n"
        "    def step(self, action):\n        return 0, 0.0, False, False, {}\n"
        "    def render(self):\n        return [draw.sprite(0, 0, 10, 10, 'logo.pgn')]\n\n"
        "@mk.scene\n"
        "def hello():\n"
        "    return mk.Page(title='Hi', body='![our logo](files/lgo.png)')\n\n"
        "@mk.scene(players={'p': mk.HUMAN}, keys={'a': 1}, default_action=0, max_steps=5)\n"
        "def still(seed):\n    return Still()\n")
    results = run_check(str(study), "--mugkit-checks", "contract,page", tmp_path=tmp_path)
    assert results.returncode == 1
    assert (f"the page loads files/lgo.png, but there is no file {study}/lgo.png (did you mean `logo.png`?)"
            in results.message("hello::page"))
    assert (f"[render] frame 0: a sprite's image file not found: {study}/logo.pgn (did you mean `logo.png`?)"
            in results.message("still::contract"))


def test_conditions_that_set_a_runtime_are_warned_and_a_real_comparison_is_not(tmp_path):
    from mugkit.collect import collect
    from mugkit.preflight import confounds

    (tmp_path / "study.py").write_text(
        "import sys; sys.path.insert(0, %r)\n"
        "import mugkit as mk\n"
        "from _walker import Walker\n"
        "CONDITIONS = [{'name': 'a', 'runtime': 'server'}, {'name': 'b', 'runtime': 'browser'}]\n"
        "GAME = dict(players={'p': mk.HUMAN}, keys={'a': 0}, default_action=1)\n"
        "@mk.scene(runtime='server', **GAME)\n"
        "def on_server(seed):\n    return Walker()\n"
        "@mk.scene(runtime='browser', **GAME)\n"
        "def in_browser(seed):\n    return Walker()\n"
        "FLOW = [mk.shuffle(on_server, in_browser)]\n" % os.path.join(ROOT, STUDIES))
    warnings = confounds({e.name: e for e in collect([str(tmp_path / "study.py")])})
    # One human per game: the shuffled rounds really run in two places; only CONDITIONS is warned.
    assert len(warnings) == 1 and "CONDITIONS set 'runtime', but where a game runs comes from " \
        "@mk.scene(runtime=...) alone" in warnings[0], warnings
