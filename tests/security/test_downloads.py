"""What a participant can download: a browser step's experiment wheel holds only the modules its
experiment imports, its model and the files it declares, and ``/<experiment>/files/`` serves only
assets — never secrets, data, databases, backups, hidden files or what a symlink points to
outside the folder.

The experiment is written to a temporary folder, next to the kinds of files a real study folder
gathers: a ``config.py`` with an API key nobody imports, a server-only module imported under
``if not mk.in_browser:``, a pilot's data export, a database backup, a hidden folder, a ``.env``
and a symlink to a file outside the folder (standing in for ``/etc/passwd``). A real ``mugkit
serve`` serves it; a protocol-level participant takes the wheel URL from its game view.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from mugkit.collect import load_experiment
from mugkit.loadtest.server import free_port, start_server
from mugkit.web.browser.assets import RuntimeAssets
from mugkit.web.browser.boot import build_bundle
from mugkit.web.browser.shipping import ShippingError, step_files

pytestmark = pytest.mark.slow

API_KEY = "sk-FAKE-0123456789abcdef"        # in config.py, which nothing imports
SERVER_KEY = "sk-SERVER-ONLY-fedcba9876"     # in server_keys.py, imported under `if not mk.in_browser`
PASSWD = "root:x:0:0:root:/root:/bin/bash"   # the file outside the folder a symlink points to

STUDY = '''
import mugkit as mk
from mugkit import draw, spaces

import dl_helpers
from dl_envs.walker import Walker

if not mk.in_browser:
    from server_keys import SERVER_KEY   # the server alone needs it


@mk.scene(players={"me": mk.HUMAN}, runtime="browser", fps=30, keys={"ArrowUp": 1}, default_action=0,
          files=("levels/level1.txt",))
def walk(seed):
    return Walker(dl_helpers.length())


@mk.scene
def done():
    return mk.Completion(code="DL1")
'''

WALKER = '''
import os

from mugkit import draw, spaces

from . import tiles


class Walker:
    """One agent walks; the level file (declared in files=) sets where it starts."""
    possible_agents = ["me"]
    metadata = {"render_modes": ["mug"]}

    def __init__(self, length):
        self.length = length
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(here, "levels", "level1.txt")) as f:
            self.start = int(f.read())

    def observation_space(self, agent):
        return spaces.Discrete(1000)

    def action_space(self, agent):
        return spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        self.agents, self.x, self.t = ["me"], self.start, 0
        return {"me": self.x}, {"me": {}}

    def step(self, actions):
        self.x, self.t = self.x + tiles.STEP * actions["me"], self.t + 1
        done = self.t >= self.length
        if done:
            self.agents = []
        return {"me": self.x}, {"me": 0}, {"me": False}, {"me": done}, {"me": {}}

    def get_state(self):
        return [self.x, self.t]

    def set_state(self, state):
        self.x, self.t = state

    def render(self):
        return [draw.circle(10 + self.x, 50, 5, color="#36c", id="me")]
'''

#: Files planted in the experiment's folder that must never reach a participant.
SECRETS = {
    "config.py": f'API_KEY = "{API_KEY}"\n',
    "server_keys.py": f'SERVER_KEY = "{SERVER_KEY}"\n',
    "pilot/export/participants.csv": "participant,prolific_pid\np1,5f3e9a0c1d2b\n",
    "pilot/export/participants.json": '[{"participant": "p1", "prolific_pid": "5f3e9a0c1d2b"}]\n',
    "study.db.bak": "SQLite format 3\x00 backup of the pilot\n",
    "data/mugkit.sqlite": "SQLite format 3\x00",
    ".secret/token.json": '{"token": "hidden-folder-secret"}\n',
    ".env": f"API_KEY={API_KEY}\n",
    "notes.py": "# not imported: the researcher's scratch file\n",
}
#: Symlinks in the folder pointing outside it: name in the folder.
LINKS = ("passwd.json", "passwd.png", "passwd.txt")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The experiment folder (``exp/dlstudy.py``) with its secrets planted next to it."""
    root = tmp_path_factory.mktemp("downloads")
    folder = root / "exp"
    files = {"dlstudy.py": STUDY, "dl_helpers.py": "def length():\n    return 30\n", "dl_envs/__init__.py": "",
             "dl_envs/walker.py": WALKER, "dl_envs/tiles.py": "STEP = 2\n", "levels/level1.txt": "7\n",
             "sprite.png": "\x89PNG fake image", **SECRETS}
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(textwrap.dedent(text))
    outside = root / "passwd"
    outside.write_text(PASSWD)
    for name in LINKS:
        os.symlink(outside, folder / name)
    os.symlink(".secret/token.json", folder / "inner_link.json")   # inside the folder, onto a hidden file
    return folder


@pytest.fixture(scope="module")
def served(study, tmp_path_factory):
    server = start_server([str(study / "dlstudy.py")], str(tmp_path_factory.mktemp("data")), timeout=120)
    yield server
    server.stop()


def wheel_url(url: str) -> str:
    """The experiment wheel's URL, as a participant reaching the browser step gets it."""
    import socketio

    async def main() -> str:
        views: asyncio.Queue = asyncio.Queue()
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("view", views.put)
        await sio.connect(url, transports=["websocket"], socketio_path="socket.io",
                          auth={"experiment": "dlstudy", "query": {}})
        try:
            view = await asyncio.wait_for(views.get(), 20)
        finally:
            await sio.disconnect()
        assert view["kind"] == "game", view
        (wheel,) = [w for w in view["boot"]["wheels"] if w["kind"] == "experiment"]
        return url + wheel["url"]

    with ThreadPoolExecutor(1) as pool:  # an event loop of its own, whatever the test runner runs
        return pool.submit(asyncio.run, main()).result()


def contents(data: bytes) -> dict[str, bytes]:
    """A wheel's entries (without its .dist-info) and their bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if ".dist-info/" not in n}


EXPECTED = {"dlstudy.py", "dl_helpers.py", "dl_envs/__init__.py", "dl_envs/walker.py", "dl_envs/tiles.py",
            "levels/level1.txt"}


def assert_holds_nothing_secret(entries: dict[str, bytes]) -> None:
    assert set(entries) == EXPECTED
    everything = b"".join(entries.values())
    for secret in (API_KEY, SERVER_KEY, PASSWD, "5f3e9a0c1d2b", "hidden-folder-secret", "SQLite format"):
        assert secret.encode() not in everything, secret


def test_the_served_wheel_holds_the_imported_modules_and_the_declared_file_and_no_secret(served):
    with urllib.request.urlopen(wheel_url(served.url)) as r:
        entries = contents(r.read())
    assert_holds_nothing_secret(entries)
    assert entries["levels/level1.txt"] == b"7\n" and b"STEP = 2" in entries["dl_envs/tiles.py"]


def test_the_wheel_object_holds_the_same(study):
    experiment = load_experiment(str(study / "dlstudy.py"), str(study))
    bundle = build_bundle(experiment, experiment.step("walk"), RuntimeAssets.load())
    (wheel,) = [w for w in bundle.wheels if w.kind == "experiment"]
    assert_holds_nothing_secret(contents(wheel.data))
    assert {rel: why for rel, (_, why) in bundle.shipped.items()} == {
        "dlstudy.py": "module", "dl_helpers.py": "module", "dl_envs/__init__.py": "module",
        "dl_envs/walker.py": "module", "dl_envs/tiles.py": "module", "levels/level1.txt": "declared"}


def test_serve_prints_what_each_browser_step_ships(served):
    import time

    for _ in range(100):  # the list comes right after the admin link
        if any(line.startswith("  levels/level1.txt") for line in served.output):
            break
        time.sleep(0.1)
    text = "".join(served.output)
    assert "dlstudy::walk ships 6 file(s) of the experiment to browsers" in text
    assert "  dl_envs/tiles.py  9 B  (module)" in text and "  levels/level1.txt  2 B  (declared)" in text
    assert "config.py" not in text and ".env" not in text


@pytest.mark.parametrize("path", sorted(SECRETS) + list(LINKS) + [
    "%2Esecret/token.json", ".secret%2Ftoken.json", "../exp/.env", "..%2F.env", "%2e%2e/passwd",
    "envs/../.env", "inner_link.json", "dlstudy.py", "levels/level1.txt", "pilot/export/participants.json",
])
def test_files_serves_none_of_them(served, path):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{served.url}/dlstudy/files/{path}")
    assert err.value.code == 404


def test_files_still_serves_an_asset(served):
    with urllib.request.urlopen(f"{served.url}/dlstudy/files/sprite.png") as r:
        assert r.read() == "\x89PNG fake image".encode()


# -- declaring a file that may not leave the server stops the start --------------------------------

def declaring(study, tmp_path, entry: str) -> str:
    """A copy of the study whose step declares ``entry`` in files=; the path of its module."""
    source = (study / "dlstudy.py").read_text().replace('files=("levels/level1.txt",)',
                                                      f'files=("levels/level1.txt", {entry!r})')
    module = study / ("declares_" + re.sub(r"\W", "_", entry) + ".py")
    module.write_text(source)
    return str(module)


@pytest.mark.parametrize("entry, why", [
    (".env", "'.env' is hidden"),
    (".secret/token.json", "'.secret' is hidden"),
    ("study.db.bak", "it is a backup"),
    ("pilot/export/participants.csv", "the folder 'export' is never shipped"),
    ("data/mugkit.sqlite", "the folder 'data' is never shipped"),
    ("passwd.txt", "it is a symlink that leads out of the experiment's folder"),
])
def test_a_declared_file_that_may_not_leave_is_an_error_saying_why(study, tmp_path, entry, why):
    path = declaring(study, tmp_path, entry)
    try:
        experiment = load_experiment(path, str(study))
        with pytest.raises(ShippingError) as err:
            step_files(experiment, experiment.step("walk"))
    finally:
        os.remove(path)
    assert f"files= entry {entry!r} (declared) is never shipped to browsers: {why}" in str(err.value)


def test_serve_refuses_to_start_naming_the_declared_file(study, tmp_path):
    path = declaring(study, tmp_path, ".env")
    try:
        out = subprocess.run([sys.executable, "-m", "mugkit.cli", "serve", path, "--port", str(free_port()),
                              "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60)
    finally:
        os.remove(path)
    assert out.returncode != 0
    assert "files= entry '.env' (declared) is never shipped to browsers: '.env' is hidden" in out.stderr


def test_a_model_outside_the_folder_or_missing_stops_the_start_saying_so(study, tmp_path):
    outside = tmp_path / "chaser.onnx"
    outside.write_bytes(b"onnx")
    for model, message in ((str(outside), "chaser.onnx is outside the experiment's folder"),
                           ("models/none.onnx", "mk.Onnx: no model file at"),
                           (".secret/token.json", "token.json (model) is never shipped to browsers: '.secret' is hidden")):
        source = (study / "dlstudy.py").read_text().replace('players={"me": mk.HUMAN}',
                                                            'players={"me": mk.HUMAN, "bot": "bot"}')
        source += f"\n\n@mk.policy\ndef bot():\n    return mk.Onnx({model!r})\n"
        module = study / "with_model.py"
        module.write_text(source)
        try:
            experiment = load_experiment(str(module), str(study))
            with pytest.raises(ShippingError) as err:
                step_files(experiment, experiment.step("walk"))
        finally:
            os.remove(module)
            sys.modules.pop("with_model", None)
        assert message in str(err.value)


# -- what ships is enough: the study plays in a real browser -----------------------------------------------

@pytest.mark.browser
def test_the_study_plays_in_the_browser_from_what_shipped(served, chromium):
    """Pyodide imports the study from the wheel alone: its relative imports resolve, the env reads
    the declared level file, and the server-only import under `if not mk.in_browser` is skipped
    (server_keys.py is not there)."""
    import sqlite3

    page = chromium.new_page()
    page.goto(f"{served.url}/dlstudy/")
    from browser_data import through_screens   # tests/web, on the path (conftest.py)

    through_screens(page, "text=DL1", timeout=90_000)   # the game played to its end, then the completion page
    with sqlite3.connect(served.database) as db:
        # (the other game is the protocol-level participant's of the wheel test, who never played)
        (game, runtime), = db.execute("select game_id, runtime from games where outcome = 'completed'").fetchall()
        assert runtime == "browser"
        assert db.execute("select count(*) from events where kind in ('game_load_failed', 'game_error')"
                          ).fetchone() == (0,)
        assert db.execute("select count(*) from steps where game_id = ?", (game,)).fetchone() == (31,)  # frames 0-30


def test_a_declared_folder_ships_what_may_leave_and_lists_what_it_left_out(study, tmp_path):
    extra = {"levels/.draft.txt": "9\n", "levels/level2.txt.bak": "8\n"}
    for rel, text in extra.items():
        (study / rel).write_text(text)
    path = declaring(study, tmp_path, "levels/")
    try:
        experiment = load_experiment(path, str(study))
        found = step_files(experiment, experiment.step("walk"))
        (study / "levels" / "scores.csv").write_text("level,best\n1,7\n")   # now levels/ holds data
        extra["levels/scores.csv"] = ""
        with pytest.raises(ShippingError) as err:
            step_files(experiment, experiment.step("walk"))
    finally:
        os.remove(path)
        for rel in extra:
            os.remove(study / rel)
    assert found.files["levels/level1.txt"] == "declared"
    assert found.left_out == {"levels/.draft.txt": "'.draft.txt' is hidden",
                              "levels/level2.txt.bak": "it is a backup (by its name)"}
    assert "is never shipped to browsers: the folder 'levels' holds data (scores.csv)" in str(err.value)


def test_a_data_folder_inside_the_experiments_folder_gives_nothing_away(tmp_path):
    """`--data` pointed at the experiment's own folder: its identity file and marker stay home."""
    from mugkit.web.browser.public_files import refusal

    for name in ("mugkit-study.json", "mugkit.running", "mugkit.sqlite", "mugkit.sqlite-wal"):
        (tmp_path / name).write_text("{}")
        assert refusal(str(tmp_path), name) == "it is a database (by its name)", name
    (tmp_path / "level.json").write_text("{}")
    assert refusal(str(tmp_path), "level.json") is None
