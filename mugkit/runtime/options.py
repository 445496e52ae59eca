"""The options of a game step: one typed source of truth.

``@mk.scene(players=..., fps=..., ...)`` builds a :class:`GameOptions`; the frame driver, the
netcode builder, the checks and the server read their settings from it and nowhere else. Every
field says who reads it. Limits are named constants, shared with :mod:`mugkit.netcode.builder`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, Callable, Hashable, Mapping

from .monitor import Monitor, monitor_problems

__all__ = ["GameOptions", "OptionsError", "HUMAN", "FILLS", "INPUT_MODES", "RUNTIMES", "VERIFY_MODES",
           "INPUT_DELAY_MAX", "MAX_ROLLBACK_MIN", "MAX_ROLLBACK_MAX"]

INPUT_DELAY_MAX = 30      #: largest input delay in frames (one second at 30 fps)
MAX_ROLLBACK_MIN = 1      #: smallest prediction window in frames
MAX_ROLLBACK_MAX = 64     #: largest prediction window in frames
RUNTIMES = ("server", "browser")
FILLS = ("default", "previous")
INPUT_MODES = ("pressed", "keydown", "keyup")
VERIFY_MODES = ("flag", "require")


class _Human:
    """The marker for a human player (``mk.HUMAN``)."""

    def __repr__(self) -> str:
        return "mk.HUMAN"

    def __reduce__(self):
        return "HUMAN"


HUMAN = _Human()


class OptionsError(ValueError):
    """Ill-formed game step options; ``problems`` lists every one, each saying what to fix."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class GameOptions:
    """The keyword options of a game step, validated, with their defaults.

    Build it with :meth:`from_kwargs` (what ``@mk.scene`` does), which checks every value.
    """

    players: Mapping[Hashable, Any]
    """Agent id → ``mk.HUMAN``, ``"random"`` or a ``@mk.policy`` name, in the order of rows and
    netcode handles. Agent ids are any hashable value the env uses (``"runner"``, ``0``). Read by
    the driver (who acts how) and the game builder."""

    runtime: str = "server"
    """``"server"`` or ``"browser"``: where the env runs. Read by the server and the checks."""

    fps: float = 30
    """Frames per second of a real-time game; in a turn-based game it paces AI turns only. Read by
    the server's clock and the netcode builder (time sync); the driver has no clock."""

    episodes: int = 1
    """Episodes per participant or group. Read by the driver."""

    max_steps: int | None = None
    """Frames per episode before it is truncated (None: no cap). Read by the driver."""

    keys: Mapping[Any, Any] | None = None
    """``KeyboardEvent.key`` name, or a tuple of names for a combination → action. The longest
    combination whose keys are all active wins; among equally long ones, the first written.
    Read by the driver."""

    turn_based: bool = False
    """A human's frame waits for their input instead of running at ``fps``. Always true for AEC
    envs (the driver reads the env's kind too). Read by the driver and the server's clock."""

    default_action: Any = None
    """The action of a human with no mapped key active in a real-time frame (``fill="default"``),
    and of an AI between its decisions. Required for real-time games with a human. Read by the
    driver and the netcode builder (the action before a player's first input)."""

    fill: str = "default"
    """What a human's missing input becomes in a real-time frame: ``"default"``
    (``default_action``) or ``"previous"`` (their last action). Rows say ``filled``. Read by the
    driver."""

    input_mode: str = "pressed"
    """Which keys are active in a frame: ``"pressed"`` (held, or pressed and released since the
    last frame), ``"keydown"`` (went down since the last frame), ``"keyup"`` (went up since the
    last frame). In turn-based frames ``"pressed"`` counts a key once, when it goes down. Read by
    the driver."""

    input_delay: int = 2
    """Rollback netcode: frames between a key press and the frame it applies to (0 to
    :data:`INPUT_DELAY_MAX`). Read by the netcode builder."""

    max_rollback: int = 8
    """Rollback netcode: the prediction window in frames, never exceeded (1 to
    :data:`MAX_ROLLBACK_MAX`). Read by the netcode builder and the ``synctest`` check."""

    render: Callable[[Any], list] | None = None
    """``env -> list of mugkit.draw shapes``, for envs without ``render_mode="mug"``. Read by the
    driver (through the env adapter)."""

    width: int = 600
    """Canvas width in pixels. Read by the browser client."""

    height: int = 400
    """Canvas height in pixels. Read by the browser client."""

    waitroom_timeout: float = 300
    """Seconds to wait for partners before the participant moves on with its own code. Read by
    the server's matchmaking."""

    record_observations: bool = True
    """Store every frame's observations in the ``steps`` table (arrays compressed). False leaves
    them out — for pixel observations a study does not need. Read by the server's storage."""

    verify: str = "flag"
    """Browser runtime: what a game whose rows do not verify (the server re-simulates every
    browser game from its seed and the stored human actions) means for the participant.
    ``"flag"``: the verdict is stored (``games.verification``) and the participant goes on at
    once. ``"require"``: the server verifies before the participant goes on, and a game that is
    not ``completed`` and ``verified`` (forged rows, ended by the page, not re-simulable) earns no
    completion code: the participant is ``excluded``. Read by the server's browser games."""

    packages: tuple = ()
    """Extra pinned Python packages (``"chess==1.11.2"``) the browser runtime installs. Read by the
    browser runtime."""

    files: tuple = ()
    """Data files and folders (paths relative to the experiment module's folder) a
    ``runtime="browser"`` step's env reads, shipped with it — beyond the modules it imports and
    its ``mk.Onnx`` models, which ship by themselves. Read by the browser runtime
    (``mugkit.web.browser.shipping``)."""

    # -- the screens around a game (docs/participants.md) -----------------------------------

    ready: bool = True
    """Show "Press space or click when ready" before the game's first episode; the clock waits.
    With several humans the game starts when every one is ready; one who is not ready within
    ``waitroom_timeout`` seconds ends the game (outcome ``not_ready``) and its players move on as
    from a waitroom that timed out. Read by the server's clock and the browser client."""

    countdown: int = 3
    """Seconds of a 3-2-1 countdown before each episode's clock starts (0: none). Read by the
    server's clock and the browser client."""

    round_over: float = 3
    """Seconds the round-over screen (the episode's score) shows after each episode, unless the
    participant dismisses it sooner (0: no screen). Between episodes the clock waits for it; with
    several humans, until every one dismissed it or the time is up. Read by the server's clock and
    the browser client."""

    score: Callable[[dict], Any] | None = None
    """What the round-over screen shows: ``returns -> score``, where ``returns`` maps every agent
    id to its return in the episode; a dict result maps agent id → what that agent's player sees,
    any other value is shown to every player. None: each player sees their own agent's return.
    Read by the frame encoder (in both runtimes)."""

    labels: Mapping[Any, str] | None = None
    """Agent id → the name participants see for it (``{"blue": "You", "orange": "Partner"}``), in
    the HUD and on the round-over screen. Unnamed agents: "You" for the participant's own, the
    id in words for the others ("player_1" → "Player 1"). Read by the server's game view
    (``mugkit.web.lobby.game_message``) for the browser client."""

    time_left: bool = True
    """Show the time left in the episode above the game, when ``max_steps`` is set (moves left in
    a turn-based game). Read by the browser client."""

    monitor: Monitor | None = None
    """``mk.Monitor(...)``: in-game monitoring of the humans (a hidden tab, no input, a slow
    connection), with a warning and then exclusion (docs/exclusion-in-game.md). None: off. Read by
    the server (mugkit/web/monitor.py) and the browser client."""

    on_step: Callable | None = None
    """Hook called after every frame; a dict it returns becomes ``x_<name>`` columns of that frame's
    rows. Read by the driver."""

    on_episode_start: Callable | None = None
    """Hook called after each episode's reset. Read by the driver."""

    on_episode_end: Callable | None = None
    """Hook called when an episode ends (terminated, truncated or ``max_steps``). Read by the
    driver."""

    # -- derived ---------------------------------------------------------------------------

    @property
    def humans(self) -> list:
        """Agent ids played by humans, in ``players`` order."""
        return [a for a, p in self.players.items() if p is HUMAN]

    @property
    def key_actions(self) -> list:
        """Every action the keys map to, then ``default_action`` (if set)."""
        actions = list((self.keys or {}).values())
        if self.default_action is not None:
            actions.append(self.default_action)
        return actions

    @cached_property  # read every frame by the driver; options never change
    def combos(self) -> list[tuple[frozenset, Any]]:
        """``keys`` as (set of key names, action), longest combination first; among equally long
        ones the order written (so the first written wins)."""
        pairs = [(frozenset(k if isinstance(k, tuple) else (k,)), a) for k, a in (self.keys or {}).items()]
        return sorted(pairs, key=lambda pair: -len(pair[0]))

    # -- building --------------------------------------------------------------------------

    @classmethod
    def names(cls) -> list[str]:
        """The option names, in the order of API.md §2."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_kwargs(cls, **options: Any) -> "GameOptions":
        """Validated options from ``@mk.scene``'s keyword arguments.

        Raises:
            OptionsError: listing every problem (unknown names with a "did you mean", missing
                ``players``, values of the wrong type or outside their limits).
        """
        names = cls.names()
        unknown = [k for k in options if k not in names]
        if unknown:
            hint = difflib.get_close_matches(unknown[0], names, 1)
            raise OptionsError([f"unknown option {unknown[0]!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                                + f"; game step options are {', '.join(names)}"])
        if "players" not in options:
            raise OptionsError(["a game step needs players=...; a page scene takes no options"])
        problems = _problems({**{f.name: f.default for f in fields(cls) if f.name != "players"}, **options})
        if problems:
            raise OptionsError(problems)
        options["players"] = dict(options["players"])
        if options.get("labels") is not None:
            options["labels"] = dict(options["labels"])
        for name in ("packages", "files"):
            if name in options:
                options[name] = tuple(options[name])
        return cls(**options)


def _is_int_between(v: Any, low: int, high: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _players_problems(players: Any) -> list[str]:
    if not isinstance(players, dict) or not players:
        return ["players must be a dict agent id -> mk.HUMAN, 'random' or a policy name"]
    out = []
    for agent, who in players.items():
        if agent is None or isinstance(agent, (bool, float, list, dict, set)):
            out.append(f"agent id {agent!r} must be the env's own id: a str, an int or a tuple of them")
        if not (who is HUMAN or isinstance(who, str)):
            out.append(f"player {agent!r} is {who!r}: use mk.HUMAN, 'random' or the name of a @mk.policy")
    return out


def _number_problems(o: dict) -> list[str]:
    out = []
    for name, kind, allow_none in (("fps", (int, float), False), ("episodes", int, False),
                                   ("max_steps", int, True), ("width", int, False), ("height", int, False),
                                   ("waitroom_timeout", (int, float), False)):
        v = o[name]
        if v is None and allow_none:
            continue
        # `not v > 0` also refuses NaN, which compares false with everything.
        if not isinstance(v, kind) or isinstance(v, bool) or not v > 0 or v == float("inf"):
            out.append(f"{name} must be a positive {'int' if kind is int else 'number'}, got {v!r}")
    if not _is_int_between(o["input_delay"], 0, INPUT_DELAY_MAX):
        out.append(f"input_delay must be an int from 0 to {INPUT_DELAY_MAX} frames, got {o['input_delay']!r}")
    if not _is_int_between(o["max_rollback"], MAX_ROLLBACK_MIN, MAX_ROLLBACK_MAX):
        out.append(f"max_rollback must be an int from {MAX_ROLLBACK_MIN} to {MAX_ROLLBACK_MAX} frames, "
                   f"got {o['max_rollback']!r}")
    return out


def _keys_problems(keys: Any, has_human: bool) -> list[str]:
    if keys is None or keys == {}:
        return ["keys is required when a human plays: a dict KeyboardEvent.key name -> action"] if has_human else []
    if not isinstance(keys, dict):
        return [f"keys must be a dict, got {type(keys).__name__}"]
    out = []
    for k in keys:
        names = k if isinstance(k, tuple) else (k,)
        if not names or not all(isinstance(n, str) and n for n in names):
            out.append(f"key {k!r} must be a KeyboardEvent.key name or a tuple of names")
    return out


def _one_of(o: dict, name: str, allowed: tuple) -> list[str]:
    if o[name] in allowed:
        return []
    names = [repr(a) for a in allowed]
    return [f"{name} must be {', '.join(names[:-1])} or {names[-1]}, got {o[name]!r}"]


def _other_problems(o: dict) -> list[str]:
    out = _one_of(o, "fill", FILLS) + _one_of(o, "input_mode", INPUT_MODES) + _one_of(o, "verify", VERIFY_MODES)
    for flag in ("turn_based", "record_observations", "ready", "time_left"):
        if not isinstance(o[flag], bool):
            out.append(f"{flag} must be True or False, got {o[flag]!r}")
    for hook in ("render", "on_step", "on_episode_start", "on_episode_end", "score"):
        if o[hook] is not None and not callable(o[hook]):
            out.append(f"{hook} must be a function, got {o[hook]!r}")
    packages = o["packages"]
    if isinstance(packages, str) or not all(isinstance(p, str) and "==" in p for p in packages):
        out.append(f"packages must be a list of pinned requirements like 'chess==1.11.2', got {packages!r}")
    files = o["files"]
    if isinstance(files, str) or not isinstance(files, (list, tuple)) \
            or not all(isinstance(f, str) and f and not f.startswith("/") and ".." not in f.split("/") for f in files):
        out.append(f"files must be a list of paths inside the experiment's folder like 'maps/level1.txt', got {files!r}")
    elif files and o["runtime"] != "browser":
        out.append("files= lists what a browser step ships; this step runs on the server, which reads its folder itself")
    return out


def _screen_problems(o: dict) -> list[str]:
    out = []
    countdown = o["countdown"]
    if not isinstance(countdown, int) or isinstance(countdown, bool) or not 0 <= countdown <= 10:
        out.append(f"countdown must be whole seconds from 0 to 10, got {countdown!r}")
    shown = o["round_over"]
    if not isinstance(shown, (int, float)) or isinstance(shown, bool) or not 0 <= shown <= 60:
        out.append(f"round_over must be seconds from 0 to 60 (0: no round-over screen), got {shown!r}")
    labels = o["labels"]
    if labels is not None:
        players = o["players"] if isinstance(o["players"], dict) else {}
        if not isinstance(labels, dict) or not all(isinstance(v, str) and v.strip() for v in labels.values()):
            out.append(f"labels must be a dict agent id -> the name participants see, got {labels!r}")
        else:
            unknown = [a for a in labels if a not in players]
            if unknown:
                hint = difflib.get_close_matches(str(unknown[0]), [str(a) for a in players], 1)
                out.append(f"labels names {unknown[0]!r}, which is not an agent of players="
                           + (f" (did you mean {hint[0]!r}?)" if hint else f" ({', '.join(map(repr, players))})"))
    return out


def _problems(o: dict) -> list[str]:
    players = o["players"]
    has_human = isinstance(players, dict) and any(p is HUMAN for p in players.values())
    return (_players_problems(players) + _one_of(o, "runtime", RUNTIMES) + _number_problems(o) + _other_problems(o)
            + _keys_problems(o["keys"], has_human) + _screen_problems(o)
            + monitor_problems(o["monitor"], [a for a, p in players.items() if p is HUMAN] if has_human else [],
                               o["runtime"]))
