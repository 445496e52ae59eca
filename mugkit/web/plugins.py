"""Plugins: a lab's own actions on the server's events, without editing mugkit.

A plugin is any object (a module, a class instance) with functions marked ``@mk.hookimpl`` and
named like the hooks of :class:`Hooks`. pluggy (pytest's plugin system) calls them::

    import mugkit as mk

    class Notify:
        @mk.hookimpl
        def mugkit_participant_excluded(self, participant, reason, by):
            print(participant["id"], "excluded:", reason, "by", by)

A hook function asks only for the arguments it needs, by name (as pytest's hooks do). Plugins
come from ``mugkit serve --plugin module.path`` (a module, or ``module:attribute``), from
installed packages that declare a ``mugkit`` entry point, and from ``Study(plugins=[...])``.

Hooks run on the server's event loop, after the event is stored: a hook must return quickly
(start a thread for slow work, such as a web request). A hook that raises is logged, counted
(``mugkit_errors_total{kind="plugin"}``) and otherwise ignored: a lab's plugin never stops a
participant or loses data.

Every ``participant`` argument is a plain dict (:func:`participant_info`): ``id``,
``experiment``, ``status``, ``step``, ``index``, ``condition``, ``params``, ``code``, ``reason``.
"""

from __future__ import annotations

import copy
import importlib
import logging
from typing import Any, Callable, Iterable

import pluggy

__all__ = ["Hooks", "Plugins", "hookimpl", "hookspec", "participant_info", "load_plugin"]

log = logging.getLogger("mugkit.plugins")

hookspec = pluggy.HookspecMarker("mugkit")
#: Marks a plugin's hook function (``@mk.hookimpl``).
hookimpl = pluggy.HookimplMarker("mugkit")


class Hooks:
    """The server's events, each a hook (the arguments a hook function may ask for)."""

    @hookspec
    def mugkit_participant_entered(self, participant: dict) -> None:
        """A new participant arrived (stored; not called again when they reload)."""

    @hookspec
    def mugkit_participant_moved(self, participant: dict, step: str | None, index: int) -> None:
        """A participant is now at step ``step`` (``index`` in their flow; None past its end)."""

    @hookspec
    def mugkit_participant_screened(self, participant: dict, step: str, passed: bool, reason: str | None,
                                    detail: dict) -> None:
        """A screening step decided (``reason``: why not, when ``passed`` is False; ``detail``:
        what it measured: browser, device, window, round-trip times, …)."""

    @hookspec
    def mugkit_participant_excluded(self, participant: dict, reason: str, by: str, detail: dict) -> None:
        """A participant was excluded or screened out (``by``: ``"server"``, ``"screening"`` or the
        admin who did it; ``reason``: a short key such as ``tab_hidden``, ``idle``, ``rtt``,
        ``browser``, ``admin``)."""

    @hookspec
    def mugkit_participant_finished(self, participant: dict, status: str, code: str | None) -> None:
        """A participant's study ended: ``completed``, ``declined``, ``timed_out``,
        ``screened_out``, ``excluded`` or ``error``, with the code they were given."""

    @hookspec
    def mugkit_answers_stored(self, participant: dict, step: str, answers: dict) -> None:
        """A survey's answers were stored (question name → value)."""

    @hookspec
    def mugkit_game_started(self, game: dict) -> None:
        """A game started: ``game_id``, ``experiment``, ``step``, ``runtime`` and ``players``
        (agent → participant id or policy name)."""

    @hookspec
    def mugkit_game_ended(self, game: dict, outcome: str, reason: str | None) -> None:
        """A game ended with ``outcome`` (``completed``, ``partner_left``, ``excluded``, …)."""


def participant_info(p: Any) -> dict:
    """A participant as hooks get them: a plain dict, a copy (a plugin cannot change them)."""
    step = p.flow[p.index][0] if p.index < len(p.flow) else None
    return {"id": p.id, "experiment": p.experiment, "status": p.status, "step": step, "index": p.index,
            "condition": p.condition, "params": dict(p.params), "code": p.outcome_code,
            "reason": p.row.get("reason")}


def load_plugin(spec: str) -> Any:
    """``module.path`` or ``module.path:attribute`` → the plugin object (``--plugin``).

    Raises:
        ValueError: it cannot be imported (the message says what to fix).
    """
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"--plugin {spec}: cannot import {module_name!r} ({exc}); is it on the Python path "
                         "(run mugkit from its folder, or pip install it)?") from None
    if not attribute:
        return module
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(f"--plugin {spec}: module {module_name!r} has no {attribute!r}") from None


class Plugins:
    """The plugins of one server process, and the hooks' callers (see the module's docstring).

    Args:
        plugins: plugin objects (or ``"module:attribute"`` strings) to register.
        entry_points: also load installed packages' ``mugkit`` entry points.
    """

    def __init__(self, plugins: Iterable[Any] = (), entry_points: bool = True):
        self.manager = pluggy.PluginManager("mugkit")
        self.manager.add_hookspecs(Hooks)
        #: Called with ``(hook name, exception)`` when a plugin's hook raised (the metrics count it).
        self.on_error: Callable[[str, BaseException], None] | None = None
        if entry_points:
            self.manager.load_setuptools_entrypoints("mugkit")
        for plugin in plugins:
            self.register(load_plugin(plugin) if isinstance(plugin, str) else plugin)

    def register(self, plugin: Any, name: str | None = None) -> None:
        """Adds ``plugin``; a function named like no hook is an error that names the hooks."""
        self.manager.register(plugin, name)
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as exc:
            self.manager.unregister(plugin)
            hooks = ", ".join(n for n in dir(Hooks) if n.startswith("mugkit_"))
            raise ValueError(f"plugin {plugin!r}: {exc} (the hooks are: {hooks})") from None

    def call(self, hook: str, **kwargs: Any) -> None:
        """Calls every plugin's ``hook`` with the arguments it asks for; each on its own, so one
        that raises neither stops the others nor the caller (it is logged), and each with its own
        copy of them, so one that changes what it got changes nothing for the next one (the
        metrics count exclusions from the participant's ``reason``)."""
        caller = getattr(self.manager.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # pluggy's order: last registered first
            try:
                impl.function(*[copy.deepcopy(kwargs[name]) for name in impl.argnames])
            except Exception as exc:
                log.exception("plugin %s: its hook %s failed (ignored)", impl.plugin_name, hook)
                if self.on_error is not None:
                    self.on_error(hook, exc)
