"""What a browser-runtime step's ``packages=`` bring to the browser: pure-Python packages served by
our server as wheels (dependencies resolved), Pyodide-built ones loaded from the package base URL,
and a clear message — for the participant and in the server log — when one cannot load."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
import io

import pytest

from browser_data import query, through_screens, wait_loaded
from serving import ROOT, free_port, serve

from mugkit.web.browser.wheels import WheelError, experiment_wheel, package_wheels

LOCK = json.loads(open(os.path.join(ROOT, "node_modules", "pyodide", "pyodide-lock.json")).read()) \
    if os.path.exists(os.path.join(ROOT, "node_modules", "pyodide", "pyodide-lock.json")) else {"packages": {}}


def names(wheel) -> set:
    return set(zipfile.ZipFile(io.BytesIO(wheel.data)).namelist())


def test_a_pure_package_is_served_with_its_dependencies_and_pyodides_own_are_loaded_by_name():
    wheels, native = package_wheels(["gymnasium==1.4.0"], LOCK)
    files = {w.filename for w in wheels}
    assert "gymnasium-1.4.0-py3-none-any.whl" in files
    assert any(f.startswith("farama_notifications-") for f in files)   # a dependency, resolved
    assert "numpy" in native and "cloudpickle" in native               # Pyodide builds these
    gym = next(w for w in wheels if w.filename.startswith("gymnasium"))
    assert "gymnasium/core.py" in names(gym) and gym.url.endswith(gym.filename)
    again, _ = package_wheels(["gymnasium==1.4.0"], LOCK)
    assert [w.sha256 for w in again] == [w.sha256 for w in wheels]       # reproducible: same URL


@pytest.mark.parametrize("requirement, message", [
    ("surely-not-installed-pkg==1.0", "is not installed on the server"),
    ("gymnasium==0.1.0", "is pinned but the server has gymnasium 1.4.0"),
    ("onnxruntime==" + __import__("importlib.metadata").metadata.version("onnxruntime"), "has compiled code"),
])
def test_a_package_the_browser_cannot_get_is_refused_with_what_to_do(requirement, message):
    with pytest.raises(WheelError, match=message):
        package_wheels([requirement], LOCK)


def test_the_experiment_wheel_holds_the_files_given_and_refuses_data(tmp_path):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "__init__.py").write_text("")
    (tmp_path / "study.py").write_text("import mugkit as mk\n")
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    (tmp_path / "other.py").write_text("")
    (tmp_path / "answers.csv").write_text("a,b\n")
    wheel = experiment_wheel(str(tmp_path), "study", ["study.py", "envs/__init__.py", "model.onnx"])
    inside = {n for n in names(wheel) if ".dist-info/" not in n}
    assert inside == {"envs/__init__.py", "study.py", "model.onnx"}
    with pytest.raises(WheelError, match=r"^answers.csv may not be shipped to browsers: it is a data export"):
        experiment_wheel(str(tmp_path), "study", ["study.py", "answers.csv"])


ENV = '''
import mugkit as mk
from mugkit import draw, spaces

class Counter:
    """A tiny one-agent env: the action adds to a counter; over after 40 frames."""
    metadata = {"render_modes": ["mug"]}
    possible_agents = ["me"]
    DELAY = 0.0  # seconds each step takes: a machine too slow for the fps
    LENGTH = 40  # frames in an episode
    REWARD = staticmethod(lambda: 0)  # tests replace it (an unseeded reward)

    def step_hook(self):
        """Called at each step: tests replace it (an env that raises)."""

    def __init__(self):
        self.n = self.t = 0
        self.agents = ["me"]

    def observation_space(self, agent):
        return spaces.Discrete(1000)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.n = self.t = 0
        self.agents = ["me"]
        return {"me": 0}, {"me": {}}

    def step(self, actions):
        import time
        start = time.perf_counter()
        while time.perf_counter() - start < self.DELAY:
            pass
        self.step_hook()
        self.n += actions["me"]
        self.t += 1
        done = self.t >= self.LENGTH
        if done:
            self.agents = []  # a parallel env's episode ends when no agent is left
        return {"me": self.n}, {"me": self.REWARD()}, {"me": False}, {"me": done}, {"me": {}}

    def get_state(self):
        return [self.n, self.t]

    def set_state(self, state):
        self.n, self.t = state

    def render(self):
        return [draw.text(10, 10, f"count {self.n}", id="n")]
'''


def study(tmp_path, imports: str, packages: tuple) -> str:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "counter.py").write_text(textwrap.dedent(ENV))
    (folder / "pkgstudy.py").write_text(textwrap.dedent(f'''
        import mugkit as mk
        from counter import Counter

        @mk.scene(players={{"me": mk.HUMAN}}, runtime="browser", fps=30, episodes=1,
                  keys={{"ArrowUp": 1}}, default_action=0, packages={packages!r})
        def count(seed):
            {imports}
            return Counter()

        @mk.scene
        def done():
            return mk.Completion(code="PKG1")
    '''))
    return str(folder / "pkgstudy.py")


@pytest.mark.browser
@pytest.mark.slow
class TestInTheBrowser:
    def test_a_served_pure_package_imports_in_the_browser(self, chromium, tmp_path):
        path = study(tmp_path, "import farama_notifications  # served by our server as a wheel",
                     ("farama-notifications==0.0.6",))
        served = serve(path, data=str(tmp_path / "data"))
        try:
            page = chromium.new_page()
            page.goto(f"{served.url}/pkgstudy/")
            through_screens(page, "text=PKG1", 90_000)   # played to the end
        finally:
            served.stop()

    def test_a_package_that_cannot_load_says_which_and_why(self, chromium, tmp_path):
        path = study(tmp_path, "import numpy", ("numpy==2.4.6",))
        dead = f"http://127.0.0.1:{free_port()}/"   # nothing listens: the package base URL is unreachable
        served = serve(path, data=str(tmp_path / "data"), extra=["--pyodide-packages", dead])
        try:
            page = chromium.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"{served.url}/pkgstudy/")
            page.wait_for_selector(".mk-game[data-failed]", timeout=90_000)
            assert page.get_attribute(".mk-game", "data-failed") == "packages"
            text = page.inner_text(".mk-stage-overlay")
            # Neutral: a package that did not arrive may be the connection; never "your computer".
            assert "could not be loaded" in text and "your computer" not in text and "Reload" in text
            page.screenshot(path=os.path.join(os.path.dirname(__file__), "screenshots", "browser-load-failed.png"))
            page.wait_for_timeout(500)
            log = "".join(served.output)
            assert "failed at packages (package numpy)" in log
        finally:
            served.stop()


    def test_a_machine_too_slow_for_the_fps_plays_late_visibly_and_measurably(self, chromium, tmp_path):
        path = study(tmp_path, "Counter.DELAY = 0.06  # 60 ms a frame: at most 16 of the 30 fps", ())
        served = serve(path, data=str(tmp_path / "data"))
        try:
            page = chromium.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"{served.url}/pkgstudy/")
            wait_loaded(page)
            page.wait_for_selector(".mk-game[data-slow=true]", timeout=90_000)
            assert "slower than intended" in page.inner_text(".mk-slow-note")
            through_screens(page, "text=PKG1", 90_000)   # every frame is still played
            late = query(served.data, "select frame, late_ms from steps where frame > 0 order by frame")
            assert [f for f, _ in late] == list(range(1, 41))
            assert sum(ms > 20 for _, ms in late) > 30               # each row says how late it was
        finally:
            served.stop()


def test_serve_stops_at_start_when_a_package_cannot_go_to_the_browser(tmp_path):
    path = study(tmp_path, "pass", ("surely-not-installed-pkg==1.0",))
    out = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", path, "--port", str(free_port()), "--data",
                          str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "surely-not-installed-pkg is not installed on the server" in out.stderr


def test_runtime_files_and_wheels_are_served_pinned_and_cached_for_good(tmp_path):
    import urllib.request

    served = serve(os.path.join(ROOT, "experiments", "catch.py"), data=str(tmp_path / "data"))
    try:
        from mugkit.web.browser.assets import RuntimeAssets

        version = RuntimeAssets.load().versions["pyodide"]
        with urllib.request.urlopen(f"{served.url}/runtime/pyodide/{version}/pyodide.asm.wasm") as r:
            assert r.headers.get_all("cache-control") == ["public, max-age=31536000, immutable"]
            assert r.headers["content-type"] == "application/wasm"
        for bad in (f"/runtime/pyodide/{version}/package.json", "/runtime/pyodide/0.0.1/pyodide.asm.wasm",
                    f"/runtime/pyodide/{version}/../../../pyproject.toml", "/runtime/wheels/00/mugkit.whl"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(served.url + bad)
            assert err.value.code == 404, bad
    finally:
        served.stop()


@pytest.mark.browser
@pytest.mark.slow
def test_an_env_that_raises_mid_game_ends_it_as_error_and_the_participant_goes_on(chromium, tmp_path):
    path = study(tmp_path, "Counter.step_hook = lambda self: 1 / (self.t != 25)  # the step to frame 26 raises", ())
    served = serve(path, data=str(tmp_path / "data"), extra=["--no-preflight"])  # pre-flight would refuse it
    try:
        page = chromium.new_page()
        page.goto(f"{served.url}/pkgstudy/")
        through_screens(page, "text=PKG1", 90_000)   # the completion page: the participant went on
        frames = [f for (f,) in query(served.data, "select frame from steps order by frame")]
        assert frames == list(range(26))                        # every frame played before the error is stored
        assert query(served.data, "select outcome from games") == [("error",)]
        assert query(served.data, "select count(*) from events where kind = 'game_load_failed'") == [(0,)]
        (detail,), = query(served.data, "select detail from events where kind = 'game_error'")
        assert "ZeroDivisionError" in detail
        # where the game stood and the experiment's line that raised, for the researcher to fix
        assert "the game stood at episode 0, frame 25" in detail and re.search(r"pkgstudy\.py:\d+ in <lambda>", detail), detail
        assert any("ZeroDivisionError" in line and "pkgstudy.py:" in line for line in served.output)
    finally:
        served.stop()


def test_an_offline_lab_serves_pyodides_packages_from_a_folder(tmp_path):
    import urllib.request

    folder = tmp_path / "pyodide-packages"
    folder.mkdir()
    (folder / "numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl").write_bytes(b"wheel bytes")
    path = study(tmp_path, "pass", ())
    served = serve(path, data=str(tmp_path / "data"), extra=["--pyodide-packages", str(folder)])
    try:
        url = f"{served.url}/runtime/pyodide-packages/numpy-2.4.6-cp314-cp314-pyemscripten_2026_0_wasm32.whl"
        with urllib.request.urlopen(url) as r:
            assert r.read() == b"wheel bytes"
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{served.url}/runtime/pyodide-packages/..%2F..%2Fdata%2Fmugkit.sqlite")
    finally:
        served.stop()
    from mugkit.collect import collect
    from mugkit.web.browser.boot import prepare_browser_runtime

    games = prepare_browser_runtime({e.name: e for e in collect([path])}).games(None, str(folder))
    assert games.packages_url == "/runtime/pyodide-packages/" and games.packages_dir == str(folder)


@pytest.mark.browser
@pytest.mark.slow
def test_a_resume_whose_replay_differs_from_the_record_is_reported(chromium, tmp_path):
    setup = "import random; Counter.LENGTH = 600; Counter.REWARD = staticmethod(random.random)  # unseeded"
    served = serve(study(tmp_path, setup, ()), data=str(tmp_path / "data"), extra=["--no-preflight"])  # unseeded on purpose
    try:
        page = chromium.new_page()
        page.goto(f"{served.url}/pkgstudy/")
        wait_loaded(page)
        page.wait_for_timeout(1500)
        page.reload()
        wait_loaded(page)
        page.wait_for_timeout(500)
        (detail,), = query(served.data, "select detail from events where kind = 'game_resume_diverged'")
        diverged = json.loads(detail)["diverged"]
        assert (diverged["episode"], diverged["frame"], diverged["agent"]) == (0, 1, "me")  # the first replayed frame
        assert diverged["stored"][1] != diverged["replayed"][1]      # the unseeded reward
        assert "not deterministic" in "".join(served.output)
    finally:
        served.stop()


def run_apart(coroutine):
    """Runs ``coroutine`` to its end in a thread of its own: this module's Chromium (sync
    Playwright) keeps an event loop running in the test's thread."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_malformed_browser_messages_are_refused_with_what_is_wrong_and_nothing_is_lost(tmp_path):
    """A page speaking the browser runtime's protocol badly: each message gets an error saying what
    is wrong; rows sent twice are stored once; the game's data stay whole."""
    from mugkit.runtime.values import to_json
    from serving import Browser

    def row(frame: int, **extra) -> dict:
        return {"episode": 0, "frame": frame, "agent": "me", "action": 0, "keys": [], "filled": True,
                "reward": 0, "terminated": False, "truncated": False, **extra}

    async def main(url: str) -> dict:
        b = Browser(url, "pkgstudy")
        await b.connect()
        view = await b.view("game")
        game = view["game"]
        out = {"resume": await b.call("resume", {"game": game, "session": "s1"})}
        send = lambda rows, **kw: b.call("rows", {"game": game, "session": "s1", "batch": 0, "rows": rows, **kw})
        out["not_json"] = await send("{no")
        out["not_a_list"] = await send(to_json({"a": 1}))
        out["bad_frame"] = await send(to_json([row(-1)]))
        out["unknown_field"] = await send(to_json([row(1, evil=1)]))
        out["ghost_agent"] = await send(to_json([{**row(1), "agent": "ghost"}]))
        out["other_page"] = await b.call("rows", {"game": game, "session": "s2", "batch": 0, "rows": to_json([row(1)])})
        out["good"] = await send(to_json([row(0), row(1)]))
        out["again"] = await send(to_json([row(0), row(1), row(2)]))
        out["early_over"] = await b.call("game_over", {"game": game, "session": "s1"})
        out["rest"] = await send(to_json([row(f, truncated=f == 40) for f in range(3, 41)]))
        await b.close()
        return out, b.identity, game

    async def finish(url: str, identity: dict, game: str) -> dict:
        b = Browser(url, "pkgstudy", identity=identity)   # the same participant, after a restart
        await b.connect()
        await b.view("game")
        over = await b.call("game_over", {"game": game, "session": "s1"})
        done = await b.view()
        await b.close()
        return {"over": over, "next": done["kind"]}

    path = study(tmp_path, "pass", ())
    served = serve(path, data=str(tmp_path / "data"))
    try:
        out, identity, game = run_apart(main(served.url))
        stored = query(served.data, "select frame from steps order by frame")
        served.stop()
        served = serve(path, data=str(tmp_path / "data"))   # the server forgets: the end is read back
        ended = run_apart(finish(served.url, identity, game))
    finally:
        served.stop()
    assert out["resume"] == {"ok": True, "record": None}
    assert "rows.rows is not tagged JSON" in out["not_json"]["error"]
    assert out["not_a_list"]["error"] == "rows.rows must hold a list of rows"
    assert out["bad_frame"]["error"] == "rows[0].frame must be a non-negative integer"
    assert out["unknown_field"]["error"] == "rows[0] must be a row object; unknown fields ['evil']"
    assert out["ghost_agent"]["error"] == "rows[0].agent 'ghost' is not an agent of count"
    assert out["other_page"]["superseded"] is True
    assert out["good"] == {"ok": True, "batch": 0, "last": [0, 1]}
    assert out["again"] == {"ok": True, "batch": 0, "last": [0, 2]}       # frames 0 and 1 not stored twice
    assert "not stored yet" in out["early_over"]["error"]
    assert stored == [(i,) for i in range(41)]
    assert out["rest"]["last"] == [0, 40]
    assert ended == {"over": {"ok": True}, "next": "completion"}
