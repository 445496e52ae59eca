"""Fixtures for the browser client's tests: a small static file server and Chromium via Playwright.

The server serves ``/static/`` (mugkit/web/static), ``/harness/`` (this folder: a page that runs
the real client modules over a fake socket), ``/demo/`` (the real page template, experiment
"demo"), ``/demo/files/`` (test images and atlases written by :func:`write_assets`), ``/landed``
(where completion redirects go) and ``POST /mturk/externalSubmit`` (recorded). Every response
carries the Content-Security-Policy and ``nosniff`` that ``mugkit serve`` sends, so a view that
the policy would break logs a console error, and the ``harness`` fixture fails on it. Test
modules import the fixtures: ``from client_harness import *``.
"""

from __future__ import annotations

import base64
import html
import json
import os
import struct
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mugkit.web.headers import content_security_policy

__all__ = ["ROOT", "STATIC", "TEMPLATE", "SCREENSHOTS", "png", "png_data_url", "write_assets", "site",
           "browser", "context", "harness", "open_harness", "shot", "CHROMIUM"]

ROOT = Path(__file__).resolve().parents[3]
STATIC = ROOT / "mugkit" / "web" / "static"
TEMPLATE = ROOT / "mugkit" / "web" / "templates" / "page.html"
HARNESS = Path(__file__).resolve().parent
SCREENSHOTS = ROOT / "tests" / "web" / "screenshots"
CHROMIUM = os.environ.get("MUGKIT_CHROMIUM", "/usr/bin/chromium")

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".json": "application/json", ".png": "image/png", ".map": "application/json",
         ".LICENSE": "text/plain; charset=utf-8"}


# -- images ------------------------------------------------------------------------------------

def png(width: int, height: int, pixel) -> bytes:
    """A PNG of ``width`` × ``height`` whose pixel (x, y) is ``pixel(x, y)`` -> (r, g, b, a)."""
    rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_data_url(width: int, height: int, pixel) -> str:
    return "data:image/png;base64," + base64.b64encode(png(width, height, pixel)).decode()


RED, GREEN, BLUE = (255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 255, 255)
YELLOW, MAGENTA, CYAN = (255, 255, 0, 255), (255, 0, 255, 255), (0, 255, 255, 255)
ORANGE, WHITE, CLEAR = (255, 128, 0, 255), (255, 255, 255, 255), (0, 0, 0, 0)


def write_assets(folder: Path) -> None:
    """The experiment's files: ``car.png`` (20×10, left half red, right half blue) and a texture
    atlas ``sheet.png`` + ``sheet.json`` (TexturePacker hash format, as MUG's Overcooked sprites)
    and ``sheet-array.json`` (the same frames in the array format). Frames:

    - ``solid.png`` (0, 0, 16, 16): green;
    - ``split.png`` (16, 0, 16, 16): top half yellow, bottom half blue;
    - ``turned.png``: 20×10, top half magenta, bottom half cyan, stored turned 90° clockwise at
      (32, 0) (10 wide, 20 tall: left half cyan, right half magenta);
    - ``trimmed.png``: 16×16 with an 8×8 orange square at (4, 4), stored trimmed at (48, 0, 8, 8).

    Everything else in the sheet is white, so a wrong cut shows.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "car.png").write_bytes(png(20, 10, lambda x, y: RED if x < 10 else BLUE))

    def sheet(x, y):
        if y < 16 and x < 16:
            return GREEN
        if y < 16 and 16 <= x < 32:
            return YELLOW if y < 8 else BLUE
        if y < 20 and 32 <= x < 42:
            return CYAN if x < 37 else MAGENTA
        if y < 8 and 48 <= x < 56:
            return ORANGE
        return WHITE

    (folder / "sheet.png").write_bytes(png(64, 32, sheet))
    frames = {
        "solid.png": {"frame": {"x": 0, "y": 0, "w": 16, "h": 16}, "rotated": False, "trimmed": False,
                      "spriteSourceSize": {"x": 0, "y": 0, "w": 16, "h": 16}, "sourceSize": {"w": 16, "h": 16}},
        "split.png": {"frame": {"x": 16, "y": 0, "w": 16, "h": 16}, "rotated": False, "trimmed": False,
                      "spriteSourceSize": {"x": 0, "y": 0, "w": 16, "h": 16}, "sourceSize": {"w": 16, "h": 16}},
        "turned.png": {"frame": {"x": 32, "y": 0, "w": 20, "h": 10}, "rotated": True, "trimmed": False,
                       "spriteSourceSize": {"x": 0, "y": 0, "w": 20, "h": 10}, "sourceSize": {"w": 20, "h": 10}},
        "trimmed.png": {"frame": {"x": 48, "y": 0, "w": 8, "h": 8}, "rotated": False, "trimmed": True,
                        "spriteSourceSize": {"x": 4, "y": 4, "w": 8, "h": 8}, "sourceSize": {"w": 16, "h": 16}},
    }
    meta = {"app": "https://www.codeandweb.com/texturepacker", "image": "sheet.png", "format": "RGBA8888",
            "size": {"w": 64, "h": 32}, "scale": "1"}
    (folder / "sheet.json").write_text(json.dumps({"frames": frames, "meta": meta}))
    (folder / "sheet-array.json").write_text(json.dumps(
        {"frames": [{"filename": k, **v} for k, v in frames.items()], "meta": meta}))


# -- the static server ---------------------------------------------------------------------------

class Site:
    """The running test server: ``url``, the requests it got, the forms posted to it."""

    def __init__(self, files: Path):
        self.files = files
        self.requests: list[str] = []
        self.posts: list[dict] = []
        self.template_override: str | None = None
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8"):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Content-Security-Policy", content_security_policy())
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                self.wfile.write(body)

            def file(self, root: Path, relative: str):
                path = (root / urllib.parse.unquote(relative)).resolve()
                if not str(path).startswith(str(root.resolve()) + os.sep) or not path.is_file():
                    return self.send(404, b"not found", "text/plain")
                self.send(200, path.read_bytes(), TYPES.get(path.suffix, "application/octet-stream"))

            def do_GET(self):
                site.requests.append(self.path)
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/static/"):
                    return self.file(STATIC, path[len("/static/"):])
                if path.startswith("/harness/"):
                    return self.file(HARNESS, path[len("/harness/"):])
                if path.startswith("/demo/files/"):
                    return self.file(site.files, path[len("/demo/files/"):])
                if path == "/demo/":
                    page = site.template_override or TEMPLATE.read_text()
                    page = page.replace("__EXPERIMENT__", "demo").replace("__TITLE__", html.escape("A study & more"))
                    return self.send(200, page.encode())
                if path == "/landed":
                    return self.send(200, b"<!doctype html><link rel=icon href=data:,><title>Landed</title><p id=landed>landed</p>")
                self.send(404, b"not found", "text/plain")

            def do_POST(self):
                site.requests.append("POST " + self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                site.posts.append({"path": self.path, "form": {k: v[0] for k, v in form.items()}})
                self.send(200, b"<!doctype html><link rel=icon href=data:,><title>Submitted</title><p id=submitted>submitted</p>")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# Module scope, not session: each test module imports these fixtures, and pytest keeps one instance
# per importing module, so a session-wide Playwright would be started twice in one thread.
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    files = tmp_path_factory.mktemp("demo-files")
    write_assets(files)
    s = Site(files)
    yield s
    s.stop()


# -- the browser ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture
def context(browser, site):
    """A fresh browser context (1280×800, device pixel ratio 1) that records requests leaving the site."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    ctx.outside = []
    ctx.console = []
    ctx.on("request", lambda r: None if r.url.startswith((site.url, "data:")) else ctx.outside.append(r.url))
    yield ctx
    ctx.close()


START = 1_800_000_000_000   # the fake clock's start, ms since 1970


def open_harness(ctx, site, clock: bool = False):
    """A page of the harness, ready (``window.harness`` defined). ``clock``: Playwright's fake
    clock (performance.now, timers and animation frames advance only with ``page.clock``)."""
    page = ctx.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    if clock:
        page.clock.install(time=START)
    page.goto(site.url + "/harness/index.html")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    if clock:
        page.clock.pause_at(START + 10_000)   # from here on, time moves only with page.clock.run_for
    return page


@pytest.fixture
def harness(context, site):
    page = open_harness(context, site)
    yield page
    assert not page.console_errors, page.console_errors
    assert not context.outside, f"requests left the server: {context.outside}"


def shot(page, name: str, **kwargs) -> Path:
    """A screenshot in tests/web/screenshots/ (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ignore = SCREENSHOTS / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path

