"""Getting the browser runtime ready when ``mugkit serve`` starts: the pinned Pyodide (and
onnxruntime-web) checked, and per browser-runtime step the wheels its browsers install — with
the experiment's files each step ships listed at start-up (:func:`shipped_report`).

Everything is built once, at start, from the very files the server runs; a problem — Pyodide not
installed, a ``packages=`` entry the browser cannot get — stops the start with what to do, rather
than failing for a participant later.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from ...collect import basedir_and_name
from .games import BrowserGames, runs_in_browser
from .assets import RuntimeAssets
from .shipping import ShippingError, step_files
from .wheels import BrowserBundle, Wheel, WheelError, experiment_wheel, mugkit_wheel, package_wheels

__all__ = ["prepare_browser_runtime", "build_bundle", "boot_files", "shipped_report", "PreparedRuntime",
           "default_packages_url", "packages_location"]

#: Where a server serves a local Pyodide package folder (``--pyodide-packages DIR``).
PACKAGES_PATH = "/runtime/pyodide-packages/"


def default_packages_url(pyodide_version: str) -> str:
    """Pyodide's official package distribution for the pinned version."""
    return f"https://cdn.jsdelivr.net/pyodide/v{pyodide_version}/full/"


def packages_location(given: str | None, pyodide_version: str) -> tuple[str | None, str]:
    """Where Pyodide's own packages load from, as ``serve --pyodide-packages`` takes ``given``:
    ``(folder, PACKAGES_PATH)`` for a local folder the server serves, else ``(None, URL)`` — the
    URL given, or by default Pyodide's official distribution."""
    if given and os.path.isdir(given):
        return os.path.abspath(given), PACKAGES_PATH
    return None, given or default_packages_url(pyodide_version)


@dataclass
class PreparedRuntime:
    """The checked assets and each browser step's bundle, ready to make the study's
    :class:`BrowserGames`."""

    assets: RuntimeAssets
    bundles: dict
    paths: dict = field(default_factory=dict)  # experiment name -> its module's file (verification)
    steps: dict = field(default_factory=dict)  # (experiment name, step name) -> the browser step

    def games(self, storage: Any, pyodide_packages: str | None) -> BrowserGames:
        """The study's browser games, loading Pyodide's packages from ``pyodide_packages``: a URL,
        a folder this server serves at ``/runtime/pyodide-packages/``, or None (the official
        distribution)."""
        folder, url = packages_location(pyodide_packages, self.assets.versions["pyodide"])
        return BrowserGames(self.assets, self.bundles, url, storage, packages_dir=folder, paths=self.paths,
                            steps=self.steps)


def prepare_browser_runtime(experiments: dict, assets: RuntimeAssets | None = None) -> PreparedRuntime | None:
    """The runtime for the experiments' browser steps, or None when none has one.

    Raises:
        RuntimeAssetError: Pyodide is not installed as pinned.
        WheelError: a wheel cannot be built or a package cannot go to the browser.
    """
    steps = [(name, e, s) for name, e in experiments.items() for s in e.steps if runs_in_browser(s)]
    if not steps:
        return None
    assets = assets or RuntimeAssets.load()
    assets.require()
    runtime = mugkit_wheel()
    folders: dict[str, Any] = {}
    bundles = {(name, step.name): build_bundle(experiment, step, assets, runtime, folders)
               for name, experiment, step in steps}
    return PreparedRuntime(assets, bundles, {name: e.path for name, e in experiments.items()},
                           {(name, step.name): step for name, _, step in steps})


def boot_files(assets: RuntimeAssets, bundle: BrowserBundle, packages_url: str, base: str = "") -> dict:
    """What a browser loads for a step (a game view's ``boot`` without the game's spec): Pyodide,
    Pyodide's package base URL and the packages to load from it, onnxruntime-web, the wheels.
    ``base`` goes before the server's own URLs (a page served from another origin)."""
    ort = "onnxruntime-web" in assets.versions
    return {"pyodide": base + assets.url("pyodide"), "packages_url": packages_url,
            "pyodide_packages": list(bundle.pyodide_packages),
            "ort": base + assets.url("onnxruntime-web") if ort else None,
            "sizes": assets.sizes("pyodide"), "wheels": [w.describe() for w in bundle.wheels]}


def build_bundle(experiment: Any, step: Any, assets: RuntimeAssets, runtime: Wheel | None = None,
                 folders: dict | None = None) -> BrowserBundle:
    """What browsers install for one step: mugkit's wheel (``runtime``, built when None), the
    step's ``packages=`` and its experiment wheel — only the files the step needs
    (:func:`mugkit.web.browser.shipping.step_files`). ``folders`` keeps experiment wheels by their file
    set, so steps shipping the same files share one.

    Raises:
        WheelError: a wheel cannot be built, a package cannot go to the browser, or a file the
            step needs may not leave the server (the message says which and why).
    """
    folders = {} if folders is None else folders
    lock_path = assets.path("pyodide", assets.versions["pyodide"], "pyodide-lock.json")
    lock = json.loads(lock_path.read_text()) if lock_path else None
    try:
        chosen = step_files(experiment, step)
    except ShippingError as exc:
        raise WheelError(str(exc)) from None
    basedir, module = basedir_and_name(experiment.path)
    key = (basedir, tuple(chosen.files))
    if key not in folders:
        folders[key] = experiment_wheel(basedir, os.path.basename(basedir) or module, chosen.files)
    extra, native = package_wheels(step.options.packages, lock)
    module_path = os.path.relpath(experiment.path, basedir).replace(os.sep, "/")
    shipped = {rel: (os.path.getsize(os.path.join(basedir, rel)), why) for rel, why in chosen.files.items()}
    return BrowserBundle([runtime or mugkit_wheel(), *extra, folders[key]], native, module_path, shipped,
                         dict(chosen.left_out))


def shipped_report(bundles: dict) -> list[str]:
    """What ``mugkit serve`` prints at start-up: per browser step, the experiment's files its
    browsers download, with their sizes, and what a declared folder left out."""
    lines = []
    for (experiment, step), bundle in sorted(bundles.items()):
        total = sum(size for size, _ in bundle.shipped.values())
        lines.append(f"{experiment}::{step} ships {len(bundle.shipped)} file(s) of the experiment to browsers "
                     f"({_size(total)}):")
        lines += [f"  {rel}  {_size(size)}  ({why})" for rel, (size, why) in bundle.shipped.items()]
        lines += [f"  left out: {rel} ({why})" for rel, why in bundle.left_out.items()]
    return lines


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} kB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"
