"""The game view's canvas, through the harness page: every mugkit.draw shape drawn where draw.py
puts it (pixels read back at known coordinates), texture-atlas sprites, persistent shapes that
move smoothly without drifting and disappear when deleted, RGB-array images, the HUD and whose
turn it is, and a canvas that fits the window with its aspect ratio kept."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

from mugkit import draw

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))
from client_harness import (ROOT, browser, context, harness, open_harness, png_data_url, shot,  # noqa: E402,F401
                            site)

pytestmark = pytest.mark.browser

BG = "#202020"
BG_RGB = (32, 32, 32)


def game_view(**fields) -> dict:
    return {"kind": "game", "index": 2, "total": 6, "step": "chase", "game": "g1", "width": 600, "height": 400,
            "fps": 30, "keys": ["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"], "turn_based": False,
            "you": "runner", "agents": ["runner", "chaser"], "runtime": "server", **fields}


def frame(n: int, set=(), delete=(), once=(), image=None, turn=None, hud=None, episode=0, game="g1") -> dict:
    return {"game": game, "episode": episode, "frame": n, "set": list(set), "del": list(delete), "once": list(once),
            "image": image, "turn": turn, "hud": hud}


def background() -> dict:
    return draw.rect(0, 0, 600, 400, color=BG)


def send(page, event: str, message: dict):
    page.evaluate("([e, m]) => harness.receive(e, m)", [event, message])


def settle(page, clock: bool = False):
    if clock:
        page.clock.run_for(40)
    else:
        page.evaluate("harness.frames(3)")


def pixel(page, x, y) -> tuple:
    return tuple(page.evaluate("([x, y]) => harness.pixel(x, y)", [x, y])[:3])


def close(rgb, expected, tol=24) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(rgb, expected))


def find(page, rgb, region=None, tol=40):
    return page.evaluate("([rgb, region, tol]) => harness.find(rgb, region || undefined, tol)", [rgb, region, tol])


def test_every_shape_type_is_drawn_where_draw_py_puts_it(harness):
    send(harness, "view", game_view())
    shapes = [
        background(),
        draw.rect(20, 20, 60, 40, color="#ff0000", stroke="#00ff00", line_width=6),
        draw.circle(150, 50, 25, color="#0000ff"),
        draw.line([(200, 20), (300, 20), (300, 80)], color="#ffff00", width=6),
        draw.polygon([(350, 20), (450, 20), (400, 80)], color="#ff00ff", stroke="#00ffff", line_width=4),
        draw.text(100, 150, "MMMM", size=40, color="#ffffff"),
        draw.text(300, 220, "MMMM", size=40, color="#ffffff", align="center"),
        draw.text(500, 290, "MMMM", size=40, color="#ffffff", align="right"),
        draw.sprite(20, 250, 40, 20, "car.png"),
        # colors in every CSS form draw.py accepts
        draw.rect(100, 320, 20, 20, color="#f00"),
        draw.rect(130, 320, 20, 20, color="rgb(0, 128, 255)"),
        draw.rect(160, 320, 20, 20, color="hsl(120, 100%, 50%)"),
        draw.rect(190, 320, 20, 20, color="rebeccapurple"),
        draw.rect(220, 320, 20, 20, color="#0000ff80"),
        draw.rect(250, 320, 20, 20, color="rgba(255, 255, 255, 0.5)"),
        # depth beats list order: the red square is listed first but lies on top
        draw.rect(300, 320, 40, 40, color="#ff0000", depth=1),
        draw.rect(320, 340, 40, 40, color="#00ff00"),
    ]
    assert draw.validate(shapes) == []
    send(harness, "frame", frame(1, once=shapes))
    harness.wait_for_function("() => harness.pixel(25, 260)[0] > 200")   # the sprite's image has loaded
    settle(harness)
    # rect: fill, and a stroke centred on its edge
    assert close(pixel(harness, 50, 40), (255, 0, 0))
    assert close(pixel(harness, 20, 40), (0, 255, 0))
    assert close(pixel(harness, 15, 40), BG_RGB)
    # circle: round, not a square
    assert close(pixel(harness, 150, 50), (0, 0, 255)) and close(pixel(harness, 170, 50), (0, 0, 255))
    assert close(pixel(harness, 130, 30), BG_RGB) and close(pixel(harness, 179, 50), BG_RGB)
    # line: a polyline, not closed or filled
    assert close(pixel(harness, 250, 20), (255, 255, 0)) and close(pixel(harness, 300, 50), (255, 255, 0))
    assert close(pixel(harness, 250, 50), BG_RGB)
    # polygon: filled, outlined, closed
    assert close(pixel(harness, 400, 40), (255, 0, 255))
    assert close(pixel(harness, 400, 20), (0, 255, 255))
    assert close(pixel(harness, 360, 70), BG_RGB)
    # text: anchored on the baseline, left / centre / right of x
    left = find(harness, (255, 255, 255), [0, 100, 600, 160])
    centre = find(harness, (255, 255, 255), [0, 170, 600, 230])
    right = find(harness, (255, 255, 255), [0, 240, 600, 300])
    assert abs(left["x0"] - 100) <= 5 and abs(left["y1"] - 150) <= 2
    assert abs(centre["cx"] - 300) <= 3 and abs(centre["y1"] - 220) <= 2
    assert abs(right["x1"] - 500) <= 5 and abs(right["y1"] - 290) <= 2
    assert 25 <= left["y1"] - left["y0"] <= 40            # 40 px type: capitals about 29 px tall
    # sprite: the image fills its box
    assert close(pixel(harness, 25, 260), (255, 0, 0)) and close(pixel(harness, 55, 260), (0, 0, 255))
    assert close(pixel(harness, 65, 260), BG_RGB)
    # colors
    assert close(pixel(harness, 110, 330), (255, 0, 0))
    assert close(pixel(harness, 140, 330), (0, 128, 255))
    assert close(pixel(harness, 170, 330), (0, 255, 0))
    assert close(pixel(harness, 200, 330), (102, 51, 153))
    assert close(pixel(harness, 230, 330), (16, 16, 144), tol=6)      # half blue over the background
    assert close(pixel(harness, 260, 330), (144, 144, 144), tol=6)
    # depth
    assert close(pixel(harness, 330, 350), (255, 0, 0))
    assert close(pixel(harness, 350, 370), (0, 255, 0))
    shot(harness, "game-shapes")


def atlas_sprite(x, y, w, h, frame_name, atlas="sheet.json", **kw) -> dict:
    """A sprite cut from a texture atlas: draw.sprite plus the two fields the client reads
    (``atlas``: the frames JSON, ``frame``: the frame's name) — not yet in draw.py."""
    return {**draw.sprite(x, y, w, h, "sheet.png", **kw), "atlas": atlas, "frame": frame_name}


def test_sprites_are_cut_from_a_texture_atlas(harness):
    send(harness, "view", game_view())
    send(harness, "frame", frame(1, once=[
        background(),
        atlas_sprite(20, 20, 32, 32, "solid.png"),
        atlas_sprite(80, 20, 32, 32, "split.png"),
        atlas_sprite(140, 20, 40, 20, "turned.png"),
        atlas_sprite(200, 20, 32, 32, "trimmed.png"),
        atlas_sprite(260, 20, 32, 32, "split.png", atlas="sheet-array.json"),
        atlas_sprite(320, 20, 32, 32, "no-such-frame.png"),
    ]))
    harness.wait_for_function("() => harness.pixel(36, 36)[1] > 200 && harness.pixel(276, 26)[0] > 200")
    settle(harness)
    assert close(pixel(harness, 36, 36), (0, 255, 0))
    assert find(harness, (255, 255, 255), [0, 0, 600, 80], tol=10) is None   # nothing cut from outside a frame
    assert close(pixel(harness, 96, 26), (255, 255, 0)) and close(pixel(harness, 96, 46), (0, 0, 255))
    # stored turned 90° clockwise: drawn upright, magenta on top
    assert close(pixel(harness, 160, 24), (255, 0, 255)) and close(pixel(harness, 160, 36), (0, 255, 255))
    magenta = find(harness, (255, 0, 255), [130, 10, 190, 50])
    assert (magenta["x0"], magenta["y0"], magenta["x1"], magenta["y1"]) == pytest.approx((140, 20, 180, 30), abs=1)
    # trimmed: the 8×8 frame sits at (4, 4) of its 16×16 source, scaled ×2
    orange = find(harness, (255, 128, 0), [190, 10, 250, 70])
    assert (orange["x0"], orange["y0"], orange["x1"], orange["y1"]) == pytest.approx((208, 28, 224, 44), abs=1)
    assert close(pixel(harness, 204, 24), BG_RGB)
    # the array format of the frames JSON
    assert close(pixel(harness, 276, 26), (255, 255, 0)) and close(pixel(harness, 276, 46), (0, 0, 255))
    # an unknown frame draws nothing (and is reported once, as a warning)
    assert close(pixel(harness, 336, 36), BG_RGB)


def test_persistent_shapes_stay_until_deleted_and_once_shapes_last_one_frame(harness):
    send(harness, "view", game_view())
    send(harness, "frame", frame(1, once=[background(), draw.rect(400, 300, 30, 30, color="#ffff00")],
                                 set=[draw.rect(20, 20, 40, 40, color="#00ff00", id="a"),
                                      draw.rect(100, 20, 40, 40, color="#0000ff", id=7)]))
    settle(harness)
    assert close(pixel(harness, 40, 40), (0, 255, 0)) and close(pixel(harness, 120, 40), (0, 0, 255))
    assert close(pixel(harness, 415, 315), (255, 255, 0))
    send(harness, "frame", frame(2, once=[background()]))      # nothing changed: both stay
    settle(harness)
    assert close(pixel(harness, 40, 40), (0, 255, 0)) and close(pixel(harness, 120, 40), (0, 0, 255))
    assert close(pixel(harness, 415, 315), BG_RGB)
    send(harness, "frame", frame(3, once=[background()], delete=["a"]))
    settle(harness)
    assert close(pixel(harness, 40, 40), BG_RGB) and close(pixel(harness, 120, 40), (0, 0, 255))
    send(harness, "frame", frame(4, once=[background()], delete=[7]))   # int ids too
    settle(harness)
    assert close(pixel(harness, 120, 40), BG_RGB)


def test_int_and_str_ids_are_different_shapes(harness):
    send(harness, "view", game_view())
    send(harness, "frame", frame(1, once=[background()], set=[draw.rect(20, 20, 40, 40, color="#00ff00", id=7),
                                                             draw.rect(100, 20, 40, 40, color="#0000ff", id="7")]))
    send(harness, "frame", frame(2, once=[background()], delete=[7]))
    settle(harness)
    assert close(pixel(harness, 40, 40), BG_RGB) and close(pixel(harness, 120, 40), (0, 0, 255))


def test_at_equal_depth_persistent_shapes_lie_on_the_frames_background(harness):
    """The env's render list is split into `set` and `once`, so their order at equal depth is lost:
    the client draws `once` shapes (backgrounds, usually) under persistent ones."""
    send(harness, "view", game_view())
    send(harness, "frame", frame(1, set=[draw.circle(300, 200, 20, color="#ff0000", id="coin")],
                                 once=[background()]))
    settle(harness)
    assert close(pixel(harness, 300, 200), (255, 0, 0))


def red_x(page) -> float:
    box = find(page, (255, 0, 0), [0, 150, 600, 250])
    return box["cx"]


@pytest.fixture
def clocked(context, site):
    """The harness with Playwright's fake clock: time (and animation frames) move only when told."""
    page = open_harness(context, site, clock=True)
    yield page
    assert not page.console_errors, page.console_errors


def test_a_moved_shape_slides_between_the_last_two_frames_and_ends_exactly_there(clocked):
    page = clocked
    send(page, "view", game_view(fps=10))                 # frames 100 ms apart
    send(page, "frame", frame(1, once=[background()], set=[draw.circle(100, 200, 10, color="#ff0000", id="p")]))
    page.clock.run_for(200)
    assert red_x(page) == pytest.approx(100, abs=0.6)
    send(page, "frame", frame(2, set=[draw.circle(200, 200, 10, color="#ff0000", id="p")]))
    seen = []
    for _ in range(12):
        page.clock.run_for(10)
        seen.append(red_x(page))
    assert seen == sorted(seen), seen                     # forward only
    assert all(100 - 0.6 <= x <= 200 + 0.6 for x in seen), seen
    assert 120 < seen[4] < 180, seen                      # half way, about 50 ms in
    assert seen[-1] == pytest.approx(200, abs=0.6)        # and then exactly the server's position
    shot(page, "game-moving")


def test_smooth_movement_never_drifts_from_the_servers_positions(clocked):
    page = clocked
    send(page, "view", game_view(fps=30))
    send(page, "frame", frame(0, once=[background()], set=[draw.circle(50, 200, 10, color="#ff0000", id="p")]))
    page.clock.run_for(100)
    gaps = [33, 20, 50, 33, 5, 70, 33, 33, 10, 60, 33, 33, 25, 41, 33, 33, 80, 2, 33, 33]   # jittery arrivals
    previous, x = 50, 50
    for n, gap in enumerate(gaps, start=1):
        previous, x = x, x + 10
        send(page, "frame", frame(n, set=[draw.circle(x, 200, 10, color="#ff0000", id="p")]))
        page.clock.run_for(gap)
        shown = page.evaluate("harness.app.view.scene.shapesAt(performance.now()).find(s => s.id === 'p').x")
        assert previous <= shown <= x, (n, previous, shown, x)   # always between the last two frames
    page.clock.run_for(200)
    assert page.evaluate("harness.app.view.scene.shapesAt(performance.now()).find(s => s.id === 'p').x") == x
    assert red_x(page) == pytest.approx(x, abs=0.6)


def test_jumps_and_new_episodes_are_drawn_at_once_not_slid(clocked):
    page = clocked
    send(page, "view", game_view(fps=10))
    send(page, "frame", frame(1, once=[background()], set=[draw.circle(100, 200, 10, color="#ff0000", id="p")]))
    page.clock.run_for(100)
    send(page, "frame", frame(2, set=[draw.circle(500, 200, 10, color="#ff0000", id="p")]))   # a respawn
    page.clock.run_for(20)
    assert red_x(page) == pytest.approx(500, abs=0.6)
    send(page, "frame", frame(0, episode=1, set=[draw.circle(480, 200, 10, color="#ff0000", id="p")]))
    page.clock.run_for(20)
    assert red_x(page) == pytest.approx(480, abs=0.6)


def test_lines_polygons_and_sizes_blend_too(clocked):
    page = clocked
    send(page, "view", game_view(fps=10))
    send(page, "frame", frame(1, once=[background()], set=[
        draw.rect(100, 180, 40, 40, color="#ff0000", id="bar"),
        draw.line([(100, 300), (200, 300)], color="#00ff00", width=4, id="beam")]))
    page.clock.run_for(100)
    send(page, "frame", frame(2, set=[draw.rect(100, 180, 80, 40, color="#ff0000", id="bar"),
                                      draw.line([(140, 300), (240, 300)], color="#00ff00", width=4, id="beam")]))
    page.clock.run_for(50)
    shapes = {s["id"]: s for s in page.evaluate("harness.app.view.scene.shapesAt(performance.now())") if "id" in s}
    assert 50 < shapes["bar"]["w"] < 70 and 110 < shapes["beam"]["points"][0][0] < 130
    page.clock.run_for(100)
    shapes = {s["id"]: s for s in page.evaluate("harness.app.view.scene.shapesAt(performance.now())") if "id" in s}
    assert shapes["bar"]["w"] == 80 and shapes["beam"]["points"] == [[140, 300], [240, 300]]


def test_an_rgb_array_frame_is_drawn_scaled_to_the_canvas_under_the_shapes(harness):
    send(harness, "view", game_view(width=600, height=400))
    image = png_data_url(60, 40, lambda x, y: (255, 0, 0, 255) if x < 30 else (0, 0, 255, 255))
    send(harness, "frame", frame(1, image=image, once=[draw.rect(290, 190, 20, 20, color="#00ff00")]))
    harness.wait_for_function("() => harness.pixel(150, 200)[0] > 200")
    assert close(pixel(harness, 150, 200), (255, 0, 0)) and close(pixel(harness, 450, 200), (0, 0, 255))
    assert close(pixel(harness, 5, 5), (255, 0, 0)) and close(pixel(harness, 595, 395), (0, 0, 255))
    assert close(pixel(harness, 300, 200), (0, 255, 0))
    send(harness, "frame", frame(2, image=None))         # no new image: the last one stays
    settle(harness)
    assert close(pixel(harness, 150, 200), (255, 0, 0))


def test_frames_of_another_game_are_ignored(harness):
    send(harness, "view", game_view())
    send(harness, "frame", frame(1, once=[draw.rect(0, 0, 600, 400, color="#ff0000")], game="other"))
    settle(harness)
    assert close(pixel(harness, 300, 200), (0, 0, 0))
    assert harness.is_visible("text=Get ready")


def test_the_hud_shows_the_frames_status_and_whose_turn_it_is(harness):
    send(harness, "view", game_view(turn_based=True, you="p0", agents=["p0", "p1"],
                                    names=[["p0", "Red"], ["p1", "Partner"]], named=["p1"],
                                    keys=[" ", "ArrowDown", "ArrowLeft", "ArrowRight", "ArrowUp"]))
    send(harness, "frame", frame(1, once=[background()], turn="p0", hud={"episode": 1, "team_score": 3.14159}))
    assert harness.inner_text(".mk-turn") == "Your turn"
    hud = harness.inner_text(".mk-hud-items")
    assert "Episode" in hud and "Team score" in hud and "3.14" in hud and "You play\nRed" in hud and "p0" not in hud
    assert harness.inner_text(".mk-controls").split() == ["Controls", "↑", "↓", "←", "→", "Space"]
    send(harness, "frame", frame(2, turn="p1", hud={"episode": 1, "scores": {"p0": 2, "p1": 5}}))
    assert harness.inner_text(".mk-turn") == "Waiting for Partner…"   # the step's label, not the id
    assert "p0 2 · p1 5" in harness.inner_text(".mk-hud-items")
    send(harness, "frame", frame(3, turn=None, hud={"episode": 2, "episodes": 3}))
    assert harness.inner_text(".mk-hud-items").split("\n")[-2:] == ["Episode", "2 of 3"]
    assert not harness.is_visible(".mk-turn")


def test_integer_agent_ids_as_cogrid_uses_them(harness):
    send(harness, "view", game_view(turn_based=True, you=0, agents=[0, 1], names=[[0, "Player 1"], [1, "Player 2"]]))
    send(harness, "frame", frame(1, turn=0))
    assert harness.inner_text(".mk-turn") == "Your turn"
    send(harness, "frame", frame(2, turn=1))
    assert harness.inner_text(".mk-turn") == "Waiting for Player 2…"


def test_the_time_left_counts_down_from_max_steps(harness):
    send(harness, "view", game_view(max_steps=90, fps=30))
    send(harness, "frame", frame(30, once=[background()]))
    assert "Time left\n0:02" in harness.inner_text(".mk-hud-items")
    send(harness, "frame", frame(89))
    assert "Time left\n0:01" in harness.inner_text(".mk-hud-items")   # whole seconds, rounded up


def canvas_box(page) -> dict:
    return page.evaluate("""(() => { const c = harness.canvas(); const r = c.getBoundingClientRect();
        const s = document.querySelector('.mk-stage').getBoundingClientRect();
        return {w: r.width, h: r.height, pw: c.width, ph: c.height, left: r.left - s.left, right: s.right - r.right,
                top: r.top - s.top, bottom: s.bottom - r.bottom, stageW: s.width, stageH: s.height}; })()""")


@pytest.mark.parametrize("dpr", [1, 2])
def test_the_canvas_fits_the_window_with_its_aspect_ratio_and_device_pixels(browser, site, dpr):
    ctx = browser.new_context(viewport={"width": 1100, "height": 620}, device_scale_factor=dpr)
    try:
        page = open_harness(ctx, site)
        send(page, "view", game_view(width=600, height=400))
        send(page, "frame", frame(1, once=[background(), draw.rect(290, 190, 20, 20, color="#ff0000"),
                                           draw.rect(0, 0, 10, 10, color="#00ff00"),
                                           draw.rect(590, 390, 10, 10, color="#0000ff")]))
        settle(page)
        for viewport in ({"width": 1100, "height": 620}, {"width": 700, "height": 900}, {"width": 1600, "height": 1000}):
            page.set_viewport_size(viewport)
            settle(page)
            box = canvas_box(page)
            assert box["w"] / box["h"] == pytest.approx(1.5, abs=0.01), box
            # it fills the stage in one direction and is centred in the other
            assert min(box["stageW"] - box["w"], box["stageH"] - box["h"]) < 2, box
            assert abs(box["left"] - box["right"]) <= 1 and abs(box["top"] - box["bottom"]) <= 1, box
            assert box["pw"] == round(box["w"] * dpr) and box["ph"] == round(box["h"] * dpr), box
            assert page.evaluate("document.documentElement.scrollHeight <= innerHeight"), "the game page scrolls"
            red = find(page, (255, 0, 0))
            assert red["x0"] == pytest.approx(290, abs=1) and red["y1"] == pytest.approx(210, abs=1)
            assert close(pixel(page, 5, 5), (0, 255, 0)) and close(pixel(page, 595, 395), (0, 0, 255))
        shot(page, f"game-fit-dpr{dpr}")
        assert not page.console_errors
    finally:
        ctx.close()


# -- a real game's frames, for the screenshots -------------------------------------------------------

def example_env(module: str):
    """An env of experiments/envs, loaded under a private package name."""
    name = "_mugkit_example_envs"
    if name not in sys.modules:
        folder = ROOT / "experiments" / "envs"
        spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.{module}")


def server_frames(shapes_per_frame: list[list[dict]], game: str = "g1") -> list[dict]:
    """Frames as the protocol describes them: changed shapes with ids in `set`, gone ids in `del`,
    shapes without an id in `once`."""
    out, before = [], {}
    for n, shapes in enumerate(shapes_per_frame):
        now = {s["id"]: s for s in shapes if "id" in s}
        out.append({"game": game, "episode": 0, "frame": n,
                    "set": [s for i, s in now.items() if before.get(i) != s],
                    "del": [i for i in before if i not in now],
                    "once": [s for s in shapes if "id" not in s], "image": None, "turn": None,
                    "hud": {"episode": "1 of 3"}})
        before = now
    return out


def test_a_real_games_frames_look_right(harness):
    chase = example_env("chase")
    env = chase.ChaseEnv(render_mode="mug")
    env.reset(seed=3)
    renders = []
    for t in range(40):
        env.step({"runner": 3 if t < 20 else 1, "chaser": 0})
        renders.append(env.render())
    send(harness, "view", game_view())
    for message in server_frames(renders):
        assert all(not draw.validate([s]) for s in message["set"] + message["once"])
        send(harness, "frame", message)
    settle(harness)
    # the runner (id "runner") is where the env last put it
    last = {s["id"]: s for s in renders[-1] if "id" in s}["runner"]
    cyan = find(harness, (0x4c, 0xc9, 0xf0), [last["x"] - 20, last["y"] - 20, last["x"] + 20, last["y"] + 20], tol=12)
    harness.wait_for_timeout(100)
    cyan = find(harness, (0x4c, 0xc9, 0xf0), [last["x"] - 20, last["y"] - 20, last["x"] + 20, last["y"] + 20], tol=12)
    assert cyan["cx"] == pytest.approx(last["x"], abs=1.5) and cyan["cy"] == pytest.approx(last["y"], abs=1.5)
    shot(harness, "game")


def test_a_turn_based_game_screenshot(harness):
    cells = []
    for r in range(3):
        for c in range(3):
            cells.append(draw.rect(150 + c * 100, 50 + r * 100, 96, 96, color="#2b2d42", stroke="#4a4e69", line_width=2))
    marks = [draw.circle(200, 100, 30, color="rgba(0,0,0,0)", stroke="#4cc9f0", line_width=8, id="o1"),
             draw.line([(270, 170), (330, 230)], color="#ff4d6d", width=8, id="x1a"),
             draw.line([(330, 170), (270, 230)], color="#ff4d6d", width=8, id="x1b")]
    send(harness, "view", game_view(turn_based=True, you="player_1", agents=["player_1", "player_2"],
                                    keys=["1", "2", "3", "4", "5", "6", "7", "8", "9"]))
    send(harness, "frame", frame(1, once=[draw.rect(0, 0, 600, 400, color="#1b1b2f")] + cells, set=marks,
                                 turn="player_1", hud={"episode": "2 of 5", "wins": 1}))
    settle(harness)
    shot(harness, "game-turn-based")
