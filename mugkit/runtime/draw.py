"""Shapes an env draws with: plain dicts, the same in CPython and Pyodide.

``env.render()`` with ``render_mode="mug"`` (or a scene's ``render=`` hook) returns a list of
these. Coordinates are canvas pixels, origin top left, ``x`` to the right and ``y`` down. A shape
with an ``id`` persists: the client moves it smoothly to its new place in the next frame. A shape
without one is drawn for that frame only. Higher ``depth`` is drawn on top.

Colors are CSS strings (``"#ff0000"``, ``"red"``, ``"rgba(0,0,0,0.5)"``).

Example:
    >>> from mugkit import draw
    >>> draw.rect(10, 20, 30, 40, color="#00ff00", id="player")["type"]
    'rect'
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

__all__ = ["rect", "circle", "line", "polygon", "text", "sprite", "validate", "is_color", "KINDS"]

Point = Sequence[float]


def _shape(kind: str, id: str | None, depth: int, **fields: Any) -> dict:
    shape = {"type": kind, **fields, "depth": depth}
    if id is not None:
        shape["id"] = id
    return shape


def rect(x: float, y: float, w: float, h: float, *, color: str = "#ffffff", id: str | None = None,
         stroke: str | None = None, line_width: float = 1, depth: int = 0) -> dict:
    """A rectangle with its top-left corner at (x, y)."""
    return _shape("rect", id, depth, x=x, y=y, w=w, h=h, color=color, stroke=stroke, line_width=line_width)


def circle(x: float, y: float, r: float, *, color: str = "#ffffff", id: str | None = None,
           stroke: str | None = None, line_width: float = 1, depth: int = 0) -> dict:
    """A circle centred on (x, y) with radius ``r``."""
    return _shape("circle", id, depth, x=x, y=y, r=r, color=color, stroke=stroke, line_width=line_width)


def line(points: Sequence[Point], *, color: str = "#ffffff", width: float = 1, id: str | None = None,
         depth: int = 0) -> dict:
    """A polyline through ``points`` (at least two (x, y) pairs)."""
    return _shape("line", id, depth, points=[[p[0], p[1]] for p in points], color=color, width=width)


def polygon(points: Sequence[Point], *, color: str = "#ffffff", id: str | None = None,
            stroke: str | None = None, line_width: float = 1, depth: int = 0) -> dict:
    """A closed, filled polygon through ``points`` (at least three (x, y) pairs)."""
    return _shape("polygon", id, depth, points=[[p[0], p[1]] for p in points], color=color,
                  stroke=stroke, line_width=line_width)


def text(x: float, y: float, text: str, *, size: float = 16, color: str = "#ffffff", align: str = "left",
         id: str | None = None, depth: int = 0) -> dict:
    """Text whose anchor (left, center or right of its baseline, by ``align``) is at (x, y)."""
    return _shape("text", id, depth, x=x, y=y, text=text, size=size, color=color, align=align)


def sprite(x: float, y: float, w: float, h: float, image: str, *, atlas: str | None = None,
           frame: str | None = None, id: str | None = None, depth: int = 0) -> dict:
    """An image in the box (x, y, w, h). ``image`` is a file next to the experiment (served at
    ``/<experiment>/files/…``, e.g. ``"sprites/car.png"``).

    For a texture atlas — one image holding many sprites, as MUG's Overcooked ships them — give
    ``atlas``, the atlas's JSON file (TexturePacker's format: ``{"frames": {name: {"frame": {"x",
    "y", "w", "h"}}}}``), and ``frame``, the name of the sprite to cut from ``image``."""
    fields = {"x": x, "y": y, "w": w, "h": h, "image": image}
    if atlas is not None or frame is not None:
        fields.update(atlas=atlas, frame=frame)
    return _shape("sprite", id, depth, **fields)


_NUMBER_FIELDS = {
    "rect": ("x", "y", "w", "h"),
    "circle": ("x", "y", "r"),
    "line": (),
    "polygon": (),
    "text": ("x", "y", "size"),
    "sprite": ("x", "y", "w", "h"),
}
KINDS = tuple(_NUMBER_FIELDS)
_MIN_POINTS = {"line": 2, "polygon": 3}
_SIZES = ("w", "h", "r", "size", "width", "line_width")
_COLOR_FIELDS = ("color", "stroke")
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_FUNCTION = re.compile(r"(rgb|rgba|hsl|hsla)\([0-9.,%\s/+-]+\)")
_NAME = re.compile(r"[a-zA-Z]+")


def is_color(value: Any) -> bool:
    """True for a CSS color the canvas understands: ``#rgb``/``#rrggbb`` (with alpha),
    ``rgb()``/``rgba()``/``hsl()``/``hsla()``, or a name such as ``"red"``."""
    return isinstance(value, str) and any(p.fullmatch(value) for p in (_HEX, _FUNCTION, _NAME))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def validate(shapes: Any) -> list[str]:
    """Problems with a render result, one readable sentence each; empty when it is well formed."""
    if not isinstance(shapes, (list, tuple)):
        return [f"render() must return a list of mugkit.draw shapes, got {type(shapes).__name__}"]
    problems = []
    ids: set = set()
    for i, s in enumerate(shapes):
        where = f"shape {i}"
        if not isinstance(s, dict) or s.get("type") not in _NUMBER_FIELDS:
            problems.append(f"{where} is not a mugkit.draw shape (use draw.rect, draw.circle, …): {s!r:.80}")
            continue
        kind = s["type"]
        where = f"shape {i} ({kind})"
        for f in _NUMBER_FIELDS[kind]:
            if not _is_number(s.get(f)):
                problems.append(f"{where}: {f} must be a finite Python number, got {s.get(f)!r}"
                                + (" (a numpy scalar? convert with float() or int())"
                                   if hasattr(s.get(f), "dtype") else ""))
        for f in _SIZES:
            if f in s and _is_number(s[f]) and s[f] < 0:
                problems.append(f"{where}: {f} must not be negative, got {s[f]!r}")
        for f in _COLOR_FIELDS:
            if s.get(f) is not None and not is_color(s[f]):
                problems.append(f"{where}: {f} {s[f]!r} is not a CSS color (#rrggbb, rgb(…), or a name like 'red')")
        if kind in _MIN_POINTS:
            pts = s.get("points")
            if (not isinstance(pts, list) or len(pts) < _MIN_POINTS[kind]
                    or not all(isinstance(p, list) and len(p) == 2 and all(map(_is_number, p)) for p in pts)):
                problems.append(f"{where}: points must be at least {_MIN_POINTS[kind]} (x, y) number pairs")
        if kind == "text" and not isinstance(s.get("text"), str):
            problems.append(f"{where}: text must be a str, got {type(s.get('text')).__name__}")
        if kind == "sprite" and not isinstance(s.get("image"), str):
            problems.append(f"{where}: image must be a URL string")
        if kind == "sprite" and ("atlas" in s or "frame" in s) and not (
                isinstance(s.get("atlas"), str) and isinstance(s.get("frame"), str)):
            problems.append(f"{where}: a sprite from an atlas needs both atlas (the JSON file) and frame (a name in it)")
        if "id" in s:
            if not isinstance(s["id"], (str, int)) or isinstance(s["id"], bool):
                problems.append(f"{where}: id must be a str or int, got {s['id']!r}")
            elif s["id"] in ids:
                problems.append(f"{where}: id {s['id']!r} is used by two shapes in one frame")
            else:
                ids.add(s["id"])
    return problems
