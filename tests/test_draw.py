"""mugkit.draw shapes and their validation (what the contract check's render part uses)."""

import pytest

from mugkit import draw


def test_shapes_are_plain_dicts_with_ids_only_when_given():
    r = draw.rect(1, 2, 3, 4, color="#00ff00", id="p")
    assert r == {"type": "rect", "x": 1, "y": 2, "w": 3, "h": 4, "color": "#00ff00", "stroke": None,
                 "line_width": 1, "depth": 0, "id": "p"}
    assert "id" not in draw.circle(0, 0, 1)
    assert draw.line([(0, 0), (1, 1)])["points"] == [[0, 0], [1, 1]]


def test_well_formed_frames_have_no_problems():
    shapes = [draw.rect(0, 0, 10, 10, id="a"), draw.circle(5, 5, 2, color="rgba(0, 0, 0, 0.5)"),
              draw.polygon([(0, 0), (1, 0), (0, 1)], color="hsl(120, 50%, 50%)"),
              draw.text(1, 1, "score", color="white"), draw.sprite(0, 0, 8, 8, "static/car.png", id="car")]
    assert draw.validate(shapes) == []


@pytest.mark.parametrize("shapes, problem", [
    ("nope", "render() must return a list of mugkit.draw shapes, got str"),
    ([{"type": "blob"}], "shape 0 is not a mugkit.draw shape"),
    ([draw.rect(0, 0, float("nan"), 1)], "shape 0 (rect): w must be a finite Python number, got nan"),
    ([draw.rect(0, 0, -1, 1)], "shape 0 (rect): w must not be negative, got -1"),
    ([draw.circle(0, 0, 1, color="#zzz")], "shape 0 (circle): color '#zzz' is not a CSS color"),
    ([draw.circle(0, 0, 1, color="blue ")], "shape 0 (circle): color 'blue ' is not a CSS color"),
    ([draw.line([(0, 0)])], "shape 0 (line): points must be at least 2 (x, y) number pairs"),
    ([draw.rect(0, 0, 1, 1, id="a"), draw.rect(0, 0, 1, 1, id="a")], "shape 1 (rect): id 'a' is used by two shapes"),
    ([draw.text(0, 0, 5)], "shape 0 (text): text must be a str, got int"),
])
def test_each_problem_is_named(shapes, problem):
    problems = draw.validate(shapes)
    assert any(p.startswith(problem) for p in problems), problems


def test_numpy_numbers_are_named_as_the_likely_cause():
    import numpy as np

    (problem,) = draw.validate([draw.circle(np.int64(1), 2, 3)])  # np.float64 is a float: fine
    assert "a numpy scalar? convert with float() or int()" in problem


def test_sprites_cut_from_a_texture_atlas():
    from mugkit import draw

    s = draw.sprite(0, 0, 32, 32, "sprites/terrain.png", atlas="sprites/terrain.json", frame="counter.png", id="c1")
    assert s["atlas"] == "sprites/terrain.json" and s["frame"] == "counter.png" and draw.validate([s]) == []
    assert "atlas" not in draw.sprite(0, 0, 1, 1, "a.png")
    bad = dict(s, frame=None)
    assert draw.validate([bad]) == ["shape 0 (sprite): a sprite from an atlas needs both atlas (the JSON file) and "
                                    "frame (a name in it)"]


def test_a_frame_drawn_with_something_else_than_shapes_is_an_error_saying_what_to_return():
    """The frame encoder (server games and the browser runtime alike) names the bad shapes and the
    frame instead of failing inside mugkit with a TypeError."""
    from types import SimpleNamespace

    from mugkit.runtime.frames import FrameEncoder, RenderError

    driver = SimpleNamespace(episode=0, frame=SimpleNamespace(index=0, acting=()), turn_based=False,
                             options=SimpleNamespace(episodes=1))
    encoder = FrameEncoder("g", driver)
    good = encoder.encode(SimpleNamespace(episode=0, frame=1, episode_over=False, image=[draw.rect(1, 2, 3, 4, id="a")]))
    assert [s["id"] for s in good["set"]] == ["a"]
    with pytest.raises(RenderError) as err:
        encoder.encode(SimpleNamespace(episode=0, frame=31, episode_over=False, image=[{"kind": "blob"}, "not a shape", None]))
    text = str(err.value)
    assert "render() output is not well formed at episode 0, frame 31" in text
    assert "shape 2 is not a mugkit.draw shape" in text and "Return a list of mugkit.draw shapes" in text
