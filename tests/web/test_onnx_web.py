"""ONNX agreement: onnxruntime-web in headless Chromium (a module Web Worker importing
mugkit/web/static/client/runtime/onnx.js, as the browser runtime does) and Python onnxruntime give
the same outputs within 1e-5 on generated inputs — the chase example's chaser and a recurrent
model — and the same actions: chosen from those outputs, in games driven through the prefetch
path (mugkit.runtime.browser_ai), and in Pyodide playing the chase example in that worker.

Only the files onnx.js names in ORT_FILES are served from onnxruntime-web's dist/: anything else
the browser asks for is a 404, and the test fails."""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("onnxruntime")

from onnx_play import (CHASER, chase_driver, key_plan, play, save_recurrent)  # noqa: E402

from mugkit.runtime import browser_ai  # noqa: E402
from mugkit.runtime.onnx import NativeSession, Onnx, PrefetchSession, TensorInfo  # noqa: E402
from mugkit.runtime.tensors import flat_float32  # noqa: E402
from mugkit.spaces import Discrete  # noqa: E402

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ONNX_JS = ROOT / "mugkit" / "web" / "static" / "client" / "runtime" / "onnx.js"
ORT_DIST = ROOT / "node_modules" / "onnxruntime-web" / "dist"
PYODIDE = ROOT / "node_modules" / "pyodide"
CHROMIUM = "/usr/bin/chromium"
TOLERANCE = 1e-5
TYPES = {".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".zip": "application/zip", ".json": "application/json", ".whl": "application/zip"}


def ort_files() -> tuple[str, list[str]]:
    """onnx.js's ORT_VERSION and ORT_FILES: the one list of what must be served."""
    text = ONNX_JS.read_text()
    version = re.search(r'ORT_VERSION = "([^"]+)"', text).group(1)
    return version, json.loads(re.search(r"ORT_FILES = (\[[^\]]*\])", text).group(1))


class Site:
    """A static server: /test/ (tests/web/onnx), /static/, /runtime/onnxruntime-web/<version>/
    (ORT_FILES only), /pyodide/ and /wheels/ (files put into ``wheels``). Records 404s."""

    def __init__(self, wheels: dict):
        version, files = ort_files()
        self.missing: list[str] = []
        self.wheels = wheels
        mounts = {"/test/": ROOT / "tests" / "web" / "onnx", "/static/": ROOT / "mugkit" / "web" / "static",
                  "/pyodide/": PYODIDE}
        ort = {f"/runtime/onnxruntime-web/{version}/{f}": ORT_DIST / f for f in files}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?")[0]
                target = ort.get(path)
                for prefix, folder in mounts.items():
                    if target is None and path.startswith(prefix) and ".." not in path:
                        target = folder / path[len(prefix):]
                body = site.wheels.get(path) if target is None else (target.read_bytes() if target.is_file() else None)
                if body is None:
                    site.missing.append(path)
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", TYPES.get(Path(path).suffix, "application/octet-stream"))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def site():
    if not (ORT_DIST / "ort.wasm.bundle.min.mjs").exists():
        pytest.fail("onnxruntime-web is not installed: npm ci (package.json pins it)")
    s = Site({})
    yield s
    s.stop()


@pytest.fixture(scope="module")
def page(site):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.on("console", lambda m: print("console:", m.text))
        page.goto(f"{site.url}/test/index.html")
        page.wait_for_function("window.ready === true")
        yield page
        browser.close()
    assert site.missing == [], f"the browser asked for files that are not served: {site.missing}"


def call(page, method: str, args: dict):
    return page.evaluate("([m, a]) => call(m, a)", [method, args])


@pytest.fixture(scope="module")
def recurrent(tmp_path_factory):
    return save_recurrent(str(tmp_path_factory.mktemp("rnn") / "recurrent.onnx"))


@pytest.fixture(scope="module")
def models(page, recurrent):
    """Both models opened in the worker: path -> (key, metadata onnxruntime-web gives)."""
    out = {}
    for path in (CHASER, recurrent):
        data = Path(path).read_bytes()
        key = hashlib.sha256(data).hexdigest()[:16]
        meta = call(page, "load", {"models": [{"key": key, "name": Path(path).name, "data": list(data)}]})
        out[path] = (key, meta[key])
    return out


def web_session(models, path) -> PrefetchSession:
    key, meta = models[path]
    infos = {side: [TensorInfo(m["name"], tuple(m["shape"]), m["type"]) for m in meta[side]]
             for side in ("inputs", "outputs")}
    return PrefetchSession(key, Path(path).name, infos["inputs"], infos["outputs"])


def observations(seed: int, n: int) -> list[list[float]]:
    """Chaser observations: positions in the arena (floats and ints), and some far outside it."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 5 == 4:
            out.append([rng.uniform(-1e4, 1e4) for _ in range(4)])
        elif i % 2:
            out.append([rng.randrange(0, 600), rng.randrange(0, 436), rng.randrange(0, 600), rng.randrange(0, 436)])
        else:
            out.append([rng.uniform(0, 600) for _ in range(4)])
    return out


def both_engines(page, models, path, feeds_list) -> list[tuple[dict, dict]]:
    """(onnxruntime-web's outputs, onnxruntime's outputs) for each of ``feeds_list``, as tensors."""
    key = models[path][0]
    policy = Onnx(path, state={"h_in": "h_out"} if "recurrent" in path else None)
    fetch = policy.fetch()
    runs = [browser_ai.ModelRun("ai", key, 0, i, feeds, tuple(fetch)).plain() for i, feeds in enumerate(feeds_list)]
    web = call(page, "run", {"runs": runs})
    native = NativeSession(path)
    out = []
    for feeds, got in zip(feeds_list, web):
        server = dict(zip(fetch, native.run(fetch, feeds)))
        out.append(({n: (tuple(t["dims"]), t["type"], t["data"]) for n, t in got.items()}, server))
    return out


def worst(pairs) -> float:
    """The largest difference between the engines' outputs, relative to magnitudes above 1."""
    diff = 0.0
    for web, server in pairs:
        assert web.keys() == server.keys()
        for name, (dims, type, data) in server.items():
            assert web[name][:2] == (dims, type), name
            diff = max(diff, *(abs(a - b) / max(1.0, abs(b)) for a, b in zip(web[name][2], data)))
    return diff


def test_the_chaser_agrees_on_generated_observations(page, models):
    policy = Onnx(CHASER)
    pairs = both_engines(page, models, CHASER, [policy.feeds(obs) for obs in observations(1, 500)])
    assert len(pairs) == 500
    diff = worst(pairs)
    print(f"chaser.onnx: largest difference {diff:.3g} over 500 observations")
    assert diff <= TOLERANCE


def test_a_recurrent_model_agrees_on_generated_observations_and_states(page, models, recurrent):
    rng = random.Random(2)
    policy = Onnx(recurrent, state={"h_in": "h_out"})
    feeds = [policy.feeds(obs, {"h_in": ((1, 8), "float32", flat_float32([rng.uniform(-1, 1) for _ in range(8)]))})
             for obs in observations(3, 400)]
    pairs = both_engines(page, models, recurrent, feeds)
    diff = worst(pairs)
    print(f"recurrent.onnx: largest difference {diff:.3g} over 400 observations and states")
    assert diff <= TOLERANCE
    assert len({tuple(web["h_out"][2]) for web, _ in pairs}) > 300  # the state really moved (some saturate)


def test_the_metadata_is_what_onnxruntime_says(models, recurrent):
    key, meta = models[recurrent]
    assert meta == {"inputs": [{"name": "obs", "type": "float32", "shape": [1, 4]},
                               {"name": "h_in", "type": "float32", "shape": ["batch", 8]}],
                    "outputs": [{"name": "logits", "type": "float32", "shape": [1, 9]},
                                {"name": "h_out", "type": "float32", "shape": [1, 8]}]}


@pytest.mark.parametrize("sample", [False, True])
def test_the_actions_chosen_from_the_outputs_agree(page, models, sample):
    native, web = Onnx(CHASER, sample=sample), Onnx(CHASER, sample=sample)
    web.use_session(web_session(models, CHASER))
    rng = random.Random(4)
    obs_list = observations(5, 300)
    outputs = call(page, "run", {"runs": [browser_ai.ModelRun("ai", models[CHASER][0], 0, i, web.feeds(o),
                                                              ("logits",)).plain() for i, o in enumerate(obs_list)]})
    chosen = {"native": [], "web": []}
    for frame, (obs, out) in enumerate(zip(obs_list, outputs)):
        mask = [rng.random() < 0.6 for _ in range(9)] if frame % 2 else None
        observation = {"observation": obs, "action_mask": mask} if mask else obs
        web.session.supply(web.prefetch(observation, frame=frame)[0],
                           {"logits": ((1, 9), "float32", out["logits"]["data"])})
        for name, policy in (("native", native), ("web", web)):
            chosen[name].append(policy.act(observation, agent="chaser", frame=frame, seed=9, space=Discrete(9)))
    assert chosen["web"] == chosen["native"]
    assert len(set(chosen["web"])) >= 5


def browser_engine(page):
    return lambda plain: call(page, "run", {"runs": [plain]})[0]


def test_games_prefetched_through_onnxruntime_web_play_the_servers_rows(page, models, recurrent):
    plan = key_plan(6, 300)
    driver = chase_driver(3)
    browser_ai.attach(driver, models[CHASER][0], models[CHASER][1])
    assert play(driver, plan, browser_engine(page)) == play(chase_driver(3), plan)
    for sample in (False, True):
        normal = play(chase_driver(5, Onnx(recurrent, state={"h_in": "h_out"}, sample=sample)), plan)
        driver = chase_driver(5, Onnx(recurrent, state={"h_in": "h_out"}, sample=sample))
        browser_ai.attach(driver, models[recurrent][0], models[recurrent][1])
        first = play(driver, plan[:150], browser_engine(page))
        snapshot = driver.save()
        assert first + play(driver, plan, browser_engine(page), start=150) == normal
        driver.load(snapshot)  # rolled back mid-episode
        assert play(driver, plan[:220], browser_engine(page), start=150) == normal[150:220]


def test_a_model_onnxruntime_web_cannot_open_is_a_policy_error(page):
    meta = call(page, "load", {"models": [{"key": "broken", "name": "broken.onnx", "data": list(b"not a model")}]})
    assert set(meta) == {"broken"} and meta["broken"]["error"]
    driver = chase_driver(1)
    (f,) = browser_ai.model_files(driver)
    with pytest.raises(browser_ai.PolicyError, match=r"^mk\.Onnx: cannot load chaser\.onnx in the browser "
                                                     r"\(onnxruntime-web\): \S"):
        browser_ai.attach(driver, f.key, meta["broken"])


# The same game in Pyodide (in the worker, beside onnxruntime-web) and in CPython: new_driver(),
# tick(driver, i) -> bool, result(driver) -> JSON of every frame's rows and checksum.
GAME = '''
import json, os, random, sys
sys.path.insert(0, STUDY)
os.chdir(STUDY)
from mugkit.collect import load_step
from mugkit.games import build_game
from mugkit.runtime.keys import KeyInput

rng = random.Random(6)
PLAN, held = [], frozenset()
for _ in range(300):
    if rng.random() < 0.2:
        held = frozenset(rng.sample(("ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"), rng.choice((0, 1, 1, 2))))
    PLAN.append(KeyInput.of(held=held))
FRAMES = []

def new_driver():
    experiment, step = load_step("chase.py::chase", STUDY)
    return build_game(step, experiment.policies, seed=3).driver()

def tick(driver, i):
    result = driver.tick({"runner": PLAN[i]}) if i < len(PLAN) else None
    if result is not None:
        FRAMES.append([[r.episode, r.frame, r.agent, r.action, r.filled, r.decided_at, r.reward] for r in result.rows]
                      + [driver.checksum()])
    return result is not None

def result(driver):
    return json.dumps(FRAMES)
'''


def test_pyodide_plays_the_chase_example_with_its_chaser_in_onnxruntime_web(site, page):
    from mugkit.collect import load_experiment
    from mugkit.web.browser.shipping import step_files
    from mugkit.web.browser.wheels import experiment_wheel, mugkit_wheel

    chase = load_experiment(str(ROOT / "experiments" / "chase.py"), str(ROOT))
    shipped = step_files(chase, chase.step("chase")).files   # what serve ships: the model among them
    wheels = []
    for wheel, folder in ((mugkit_wheel(), "/lib/python3.14/site-packages"),
                          (experiment_wheel(str(ROOT / "experiments"), "chase", shipped), "/study")):
        site.wheels[f"/wheels/{wheel.filename}"] = wheel.data
        wheels.append({"url": f"/wheels/{wheel.filename}", "dir": folder})
    got = call(page, "playInPyodide", {"wheels": wheels, "code": "STUDY = '/study'\n" + GAME})
    scope = {"STUDY": str(ROOT / "experiments")}
    exec(GAME, scope)
    driver = scope["new_driver"]()
    i = 0
    while scope["tick"](driver, i):
        i += 1
    cpython = json.loads(scope["result"](driver))
    assert got["numpy"] is False  # mk.Onnx ran without numpy
    assert got["runs"] >= 290  # the chaser decided through onnxruntime-web on (nearly) every frame
    assert json.loads(got["result"]) == cpython
