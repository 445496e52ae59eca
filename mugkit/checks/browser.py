"""Pyodide in headless Chromium, for the ``parity`` check: the browser half of every comparison.

:class:`BrowserPython` starts a small HTTP server on the loopback interface that serves what
``serve`` serves a browser step — the pinned Pyodide and onnxruntime-web (checked against their
recorded hashes), the step's wheels (:func:`step_bundle`), the browser runtime's loader
(``boot.js``, ``onnx.js``) — plus a runner page (``static/parity.html``). It opens that page in
headless Chromium through Playwright, boots Pyodide there and loads the step. Then
:meth:`BrowserPython.play` plays one example at a time through :mod:`mugkit.checks.browser_side`
(ONNX players through onnxruntime-web) and returns its frame hashes (and, when asked, one
frame's data), as :func:`mugkit.checks.play.play` gives them in CPython.

Chromium is looked for in this order: the ``MUGKIT_CHROMIUM`` environment variable (a path),
``chromium``, ``chromium-browser``, ``google-chrome`` and ``google-chrome-stable`` on ``PATH``,
then the browser Playwright installed itself (``playwright install chromium``). None of them is
a :class:`BrowserUnavailable` error: ``parity`` then fails, it never skips.
"""

from __future__ import annotations

import base64
import http.server
import mimetypes
import os
import pickle
import shutil
import threading
from typing import Any

from ..paths import MUGKIT_DIR
from .inputs import KeyPlan, plan_to_data

__all__ = ["BrowserPython", "BrowserUnavailable", "find_chromium", "step_bundle"]

_STATIC = os.path.join(MUGKIT_DIR, "checks", "static")
_CLIENT = os.path.join(MUGKIT_DIR, "web", "static", "client")
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_PAGE_TYPE = "text/html; charset=utf-8"  # the runner page; the runtime's files as serve types them


class BrowserUnavailable(Exception):
    """No Chromium could be started, or Playwright is missing; the message says how to get one."""


def find_chromium() -> str | None:
    """The Chromium executable to launch, or None to let Playwright use the one it installed."""
    given = os.environ.get("MUGKIT_CHROMIUM")
    if given:
        return given
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


class _Files(http.server.ThreadingHTTPServer):
    """Serves URL prefixes from folders and single paths from bytes, on 127.0.0.1 (a random port)."""

    daemon_threads = True

    def __init__(self, assets: Any) -> None:
        self.assets = assets
        self.folders: dict[str, str] = {}
        self.blobs: dict[str, bytes] = {}
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def lookup(self, path: str) -> bytes | None:
        if path in self.blobs:
            return self.blobs[path]
        parts = path.split("/")
        if len(parts) == 5 and parts[1] == "runtime":  # /runtime/<package>/<version>/<file>: checked
            found = self.assets.path(parts[2], parts[3], parts[4])
            if found is not None:
                return found.read_bytes()
        for prefix, folder in self.folders.items():
            if path.startswith(prefix):
                full = os.path.realpath(os.path.join(folder, path[len(prefix):]))
                if full.startswith(os.path.realpath(folder) + os.sep) and os.path.isfile(full):
                    with open(full, "rb") as f:
                        return f.read()
        return None


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.server.lookup(self.path.split("?", 1)[0])
        if body is None:
            self.send_error(404)
            return
        from ..web.browser.assets import CONTENT_TYPES

        ext = os.path.splitext(self.path.split("?", 1)[0])[1]
        kind = _PAGE_TYPE if ext == ".html" else CONTENT_TYPES.get(ext)
        self.send_response(200)
        self.send_header("Content-Type", kind or mimetypes.guess_type(self.path)[0] or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass  # the check reports what matters; a request log would bury it


def step_bundle(node: str, rootdir: str, assets: Any) -> Any:
    """The :class:`~mugkit.web.browser.wheels.BrowserBundle` ``serve`` builds for the step ``node``
    (:func:`mugkit.web.browser.boot.prepare_browser_runtime`: the same wheels, byte for byte).

    Steps with two to four humans are played by one peer in each browser, which install the
    same wheels; a step with more runs on the server and gets no bundle from ``serve``, so it is
    built here the same way."""
    from ..collect import load_step
    from ..web.browser.boot import build_bundle

    experiment, step = load_step(node, rootdir)
    return build_bundle(experiment, step, assets)


class BrowserPython:
    """One browser step's game in Pyodide in headless Chromium (see the module docstring).

    Use it as a context manager::

        with BrowserPython("experiments/catch.py::catch", rootdir) as browser:
            boot = browser.loaded      # {"ok": True, "python": "3.14…"} or {"ok": False, "error": …}
            answer = browser.play(seed=1, plan=plan, frames=300)   # {"hashes": [...]}

    Args:
        node: the step's node id, relative to ``rootdir``.
        rootdir: the folder node ids are relative to.
        packages_url: Pyodide's package base URL (or a folder) for Pyodide-built ``packages=``
            (numpy …), as ``serve --pyodide-packages`` takes it; default
            ``$MUGKIT_PYODIDE_PACKAGES``, else Pyodide's official distribution.
        timeout: seconds for Chromium to open the page and for Pyodide to boot.

    Raises:
        BrowserUnavailable: at :meth:`start`, when Chromium or Playwright is missing.
    """

    def __init__(self, node: str, rootdir: str, *, timeout: float = 180.0, packages_url: str | None = None):
        from ..collect import basedir_and_name, load_step

        self.node = node
        self.rootdir = os.path.abspath(rootdir)
        self.packages_url = packages_url or os.environ.get("MUGKIT_PYODIDE_PACKAGES")
        self._basedir = basedir_and_name(load_step(node, self.rootdir)[0].path)[0]
        self.timeout = timeout
        self.loaded: dict = {}
        self._server: _Files | None = None
        self._playwright = None
        self._browser = None
        self._page = None

    def __enter__(self) -> "BrowserPython":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> dict:
        """Serves the files, opens the runner page and boots Pyodide; returns the boot answer
        (also kept in :attr:`loaded`)."""
        self._serve()
        self._open()
        self.loaded = self._page.evaluate("d => window.mugkitParity.boot(d)", self._boot_description())
        return self.loaded

    def play(self, seed: int, plan: KeyPlan, frames: int, *, data_at: int | None = None) -> dict:
        """Plays one example in the browser: ``{"hashes": [...]}``, with ``"data"`` (frame
        ``data_at``'s data, unpickled) when asked, and ``"error"`` when the game raised there."""
        request = {"seed": seed, "keys": plan_to_data(plan), "frames": frames, "data_at": data_at}
        answer = self._page.evaluate("r => window.mugkitParity.play(r)", request)
        if answer.get("data") is not None:
            answer["data"] = pickle.loads(base64.b64decode(answer["data"]))
        return answer

    def close(self) -> None:
        """Closes Chromium and stops the server (safe to call twice)."""
        for thing, how in ((self._browser, "close"), (self._playwright, "stop")):
            if thing is not None:
                try:
                    getattr(thing, how)()
                except Exception:
                    pass  # already gone: nothing left to clean
        self._browser = self._playwright = self._page = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- set-up ----------------------------------------------------------------------------

    def _serve(self) -> None:
        from ..web.browser.assets import RuntimeAssets

        assets = RuntimeAssets.load()
        assets.require()
        server = _Files(assets)
        server.folders["/parity/"] = _STATIC
        server.folders["/client/"] = _CLIENT  # boot.js and onnx.js: the browser runtime's own loader
        self._bundle = step_bundle(self.node, self.rootdir, assets)
        for wheel in self._bundle.wheels:
            server.blobs[wheel.url] = wheel.data
        threading.Thread(target=server.serve_forever, name="mugkit-parity-files", daemon=True).start()
        self._server = server
        self._assets = assets
        self._packages = self._packages_url(server, assets)

    def _packages_url(self, server: _Files, assets: Any) -> str:
        """Pyodide's package base URL, as ``serve --pyodide-packages`` takes it: a URL, a local
        folder (served here), or by default Pyodide's official distribution."""
        from ..web.browser.boot import packages_location

        folder, url = packages_location(self.packages_url, assets.versions["pyodide"])
        if folder is None:
            return url
        server.folders[url] = folder
        return server.url + url

    def _boot_description(self) -> dict:
        """What the page boots: a game view's ``boot`` as ``serve`` gives it (minus the game's
        spec), the step's node id and its folder relative to the root folder."""
        from ..web.browser.boot import boot_files

        folder = os.path.relpath(self._basedir, self.rootdir).replace(os.sep, "/")
        return {"boot": boot_files(self._assets, self._bundle, self._packages, base=self._server.url),
                "node": "::".join(self.node.split("::")[:2]), "folder": folder}

    def _open(self) -> None:
        self._launch()
        self._page = self._browser.new_page()
        self._page.set_default_timeout(self.timeout * 1000)
        self._page.goto(f"{self._server.url}/parity/parity.html")
        self._page.wait_for_function("() => window.mugkitParity !== undefined")

    def _launch(self, check: str = "parity", args: tuple = ()) -> None:
        """Starts Playwright and Chromium (``args``: launch flags); :class:`BrowserUnavailable`
        saying what to install when either is missing."""
        try:
            from playwright.sync_api import Error as PlaywrightError
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise BrowserUnavailable(f"the {check} check drives Chromium with Playwright, which is not installed: "
                                     "pip install playwright") from exc
        executable = find_chromium()
        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(executable_path=executable, args=list(args))
        except PlaywrightError as exc:
            self.close()
            where = executable or "Playwright's own Chromium"
            raise BrowserUnavailable(
                f"no Chromium could be started ({where}): {str(exc).splitlines()[0]}. Install one "
                f"(Debian/Ubuntu: apt-get install chromium; or: playwright install chromium), or set "
                f"MUGKIT_CHROMIUM to its path") from None
