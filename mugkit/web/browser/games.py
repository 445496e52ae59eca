"""Games that run in the participant's browser (``runtime="browser"``, one human): what the
server does for them.

Rows are checked as they arrive (:meth:`BrowserGames.rows` refuses, at once, frames past
``max_steps``, gaps, a second row of an agent in a frame, actions outside the action space), and
every game is verified when it ends: the server re-simulates it from its seed and the stored human
actions (:mod:`mugkit.web.browser.verify`) and stores the verdict in ``games.verification``. With
``verify="require"`` a game that is not verified does not count. A game whose participant stays
away longer than the grace period is ended by the server (``abandoned``).

The server does not play these games: it tells the browser what to load (the ``boot`` of the
``game`` view: pinned Pyodide, the wheels, the step), stores the step rows the browser sends in
acknowledged batches, answers a reloaded browser with the record it needs to re-simulate the
episode, and ends the game when the browser says every episode is over. Each batch is
acknowledged only once committed; rows at or before the newest stored frame are dropped, so a
batch sent twice (a lost acknowledgement, a reload) is stored once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ...runtime.rows import StepRow
from ...runtime.values import DecodeRefused, to_json
from ...steps import StepError
from ..limits.decoding import decode
from .assets import RuntimeAssets
from .verify import Verifier, report_unverified
from .wheels import BrowserBundle, Wheel

__all__ = ["BrowserGames", "BrowserGame", "MAX_ROWS_TEXT", "MAX_PEERS", "RowError", "parse_row", "runs_in_browser"]

log = logging.getLogger("mugkit.browser")

#: Largest ``rows`` batch, in characters of tagged JSON (engine.io drops a connection above 1 MB).
MAX_ROWS_TEXT = 512 * 1024
#: Fields of a row the browser sends (mugkit.runtime.browser_game.row_dict) and its two timings.
#: ``loaded``/``load_failed`` messages stored per game: a page sends one per load, a script could
#: fill the database with them (``--limit game_events``).
GAME_EVENTS = 50
#: Characters of rows one game may store in one server run (``--limit game_bytes``).
GAME_BYTES = 256 * 1024 * 1024
#: Frames per episode of a step with no ``max_steps`` (``--limit frames_per_episode``): 30 fps for two hours.
FRAMES_PER_EPISODE = 216_000
ROW_KEYS = frozenset({"episode", "frame", "agent", "action", "keys", "filled", "decided_at", "reward", "terminated",
                      "truncated", "observation", "info", "x", "t_client", "late_ms", "predicted", "rollback_depth"})
#: Most humans of a browser game: a full mesh of data channels between 2–4 peers
#: (mugkit/web/browser/peers.py); a step with more runs on the server.
MAX_PEERS = 4


def runs_in_browser(step: Any) -> bool:
    """True for a game step the browser runtime plays: ``runtime="browser"`` with one human, or
    with two to :data:`MAX_PEERS` humans, each playing in their own browser, kept in step by the
    rollback session (mugkit/web/browser/peers.py)."""
    return getattr(step, "runtime", None) == "browser" and 1 <= len(step.humans) <= MAX_PEERS


class RowError(ValueError):
    """A ``rows`` batch that does not follow the protocol; the message says what is wrong."""


@dataclass
class BrowserGame:
    """What the server keeps of one browser-runtime game."""

    game_id: str
    participant: str
    experiment: str
    step: Any
    agent: Any
    last: tuple = (-1, -1)          # (episode, frame) of the newest stored row
    over: bool = False              # the last episode's final frame is stored: the game may end
    ended: bool = False             # the newest stored frame ends its episode (the next row starts one)
    spaces: dict | None = None      # agent -> action space, built on the first batch
    ending: bool = False            # finish() has begun: a second end (game_over twice) does nothing
    session: str | None = None      # the page now playing it (the last to ask for the record)
    events: int = 0                 # loaded / load_failed messages stored in this server run (limit game_events)
    load_failures: int = 0          # load_failed messages: the game is given up after a few (lobby.py)
    stored_text: int = 0            # characters of the batches stored in this server run (limit game_bytes)
    record_text: tuple | None = None  # (last, tagged JSON of the record at that frame): resume's answer
    readies: set = field(default_factory=set)  # (screen, episode) answered: each is stored once
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def plays_here(self, data: dict) -> bool:
        """Whether a message comes from the page now playing the game: another window took the
        game over when it asked for the record since (a game that never had a session takes any)."""
        return self.session is None or data.get("session") == self.session


class BrowserGames:
    """The browser-runtime games of a study, and what their browsers load.

    Args:
        assets: the pinned Pyodide / onnxruntime-web files.
        bundles: (experiment, step name) → its wheels and Pyodide packages.
        packages_url: Pyodide's package base URL (numpy and other Pyodide-built packages).
        storage: the study's storage.
        packages_dir: a local folder of Pyodide packages this server serves (offline labs), or None.
        paths: experiment name → its module's file (to re-simulate its games).
        steps: (experiment name, step name) → its browser-runtime step.
        verifier: re-simulates ended games (default: one worker process, started on first use).
    """

    def __init__(self, assets: RuntimeAssets, bundles: dict[tuple, BrowserBundle], packages_url: str, storage: Any,
                 packages_dir: str | None = None, paths: dict[str, str] | None = None,
                 steps: dict[tuple, Any] | None = None, verifier: Verifier | None = None):
        self.assets = assets
        self.packages_dir = packages_dir
        self.bundles = bundles
        self.packages_url = packages_url
        self.storage = storage
        #: Last frame of an episode when the step sets no ``max_steps`` (rows past it are refused).
        self.frames_per_episode = FRAMES_PER_EPISODE
        #: Characters of rows one game may store in this run (``--limit game_bytes``).
        self.game_bytes = GAME_BYTES
        #: ``loaded``/``load_failed`` messages stored per game (``--limit game_events``).
        self.game_events = GAME_EVENTS
        self.games: dict[str, BrowserGame] = {}
        self.wheels: dict[str, Wheel] = {w.sha256: w for b in bundles.values() for w in b.wheels}
        self.paths = dict(paths or {})
        self.steps = dict(steps or {})
        self.verifier = verifier or Verifier()
        #: ``(game id, participant id, agent, new rows) -> None``, told of every stored batch (the monitor).
        self.on_rows: Callable[..., None] | None = None
        self._verifying: set[asyncio.Task] = set()
        #: Ids of the ended games this process is verifying now.
        self.verifying: set[str] = set()
        #: ``(game id, stored) -> awaitable``, once a background verification ends: ``stored``
        #: says whether its verdict was stored (the lobby lets go of the game's lease then).
        self.on_verified: Any = None
        self._absent: dict[str, asyncio.Task] = {}  # game id -> its grace clock while its participant is away
        #: ``(game id, outcome, reason) -> awaitable``, once a game's outcome is stored (the lobby's
        #: plugin hook, mugkit/web/game_hooks.py).
        self.on_end: Any = None

    async def start(self, experiments: dict | None = None, grace: float | None = None) -> None:
        """After a (re)start: verifies, in the background, the browser games that ended but were
        never verified (the server stopped first); and gives every browser game still open —
        it went on in its browser while the server was down — ``grace`` seconds for its page to
        come back, else it ends ``abandoned`` (so a stop leaves no game without an outcome for
        good). A game of several humans still open ends ``interrupted`` (reason ``server_stop``)."""
        for row in await self.storage.games():
            if row.get("runtime") != "browser":
                continue
            if row.get("outcome") is not None and row.get("verification") in (None, "pending"):
                self._background(row["game_id"])
            elif row.get("outcome") is None and (row.get("detail") or {}).get("peers"):
                # A game of several humans: the server's part of it (waitroom group, ready gate,
                # relay) did not survive the stop, so it ends; its rows so far are verified.
                await self.storage.end_game(row["game_id"], "interrupted", outcome_reason="server_stop",
                                            verification="pending")
                self._background(row["game_id"])
            elif row.get("outcome") is None and experiments is not None and grace is not None:
                if await self.find(row["game_id"], experiments) is not None:
                    self.left(row["game_id"], grace)

    async def close(self) -> None:
        """Stops verifying (unfinished verifications stay ``pending``: :meth:`start` redoes them)."""
        for task in [*self._verifying, *self._absent.values()]:
            task.cancel()
        await asyncio.gather(*self._verifying, *self._absent.values(), return_exceptions=True)
        self.verifier.close()

    # -- starting and finding games --------------------------------------------------------

    async def add(self, game: BrowserGame) -> None:
        """A new game (stored by the caller)."""
        self.games[game.game_id] = game

    async def find(self, game_id: str, experiments: dict) -> BrowserGame | None:
        """The game ``game_id``: in memory, or — after a server restart — rebuilt from the database
        when it is a browser game without an outcome (it kept running in the browser)."""
        if game_id in self.games:
            return self.games[game_id]
        row = await self.storage.get_game(game_id)
        if row is None or row.get("runtime") != "browser" or row.get("outcome") is not None:
            return None
        players = [p for p in await self.storage.players(game_id) if p.get("participant_id")]
        if len(players) != 1 or row["experiment"] not in experiments:
            return None
        step = experiments[row["experiment"]].step(row["step"])
        game = BrowserGame(game_id, players[0]["participant_id"], row["experiment"], step, players[0]["agent"])
        game.last = await self.storage.last_frame(game_id) or (-1, -1)
        if game.last != (-1, -1):
            newest = [StepRow(*game.last, agent, terminated=done) for frame, agent, *_, done
                      in await self.storage.step_inputs(game_id, game.last[0]) if frame == game.last[1]]
            game.ended = any(r.terminated for r in newest)
            game.over = self._final(game, newest)
        self.games[game_id] = game
        return game

    def boot(self, game: BrowserGame, seed: int, who: Any, group: list | None = None) -> dict:
        """The ``boot`` of the game's view: what the browser loads, and the game to open. A game
        of several humans (``group``: each one's participant, in the step's order of humans) has
        ``group`` in its spec: every peer builds the env with the same group."""
        bundle = self.bundles[(game.experiment, game.step.name)]
        spec = {"module": bundle.module_path, "step": game.step.name, "game": game.game_id, "seed": seed,
                "agent": game.agent, "participant": _who(who)}
        if group is not None:
            spec["group"] = [_who(q) for q in group]
        from .boot import boot_files  # that module builds BrowserGames: imported here, not at the top

        return {**boot_files(self.assets, bundle, self.packages_url), "spec": to_json(spec, "the game's spec")}

    # -- messages --------------------------------------------------------------------------

    async def rows(self, game: BrowserGame, data: dict) -> dict:
        """A ``rows`` batch: stores what is new in it; the ack says up to where rows are stored."""
        text = data.get("rows")
        if not isinstance(text, str) or len(text) > MAX_ROWS_TEXT:
            raise RowError(f"rows.rows must be the tagged JSON text of a list of rows, at most {MAX_ROWS_TEXT} "
                           f"characters")
        try:
            items = await decode(text)   # off the event loop, within limits (limits/decoding.py)
        except DecodeRefused as exc:
            raise RowError(f"rows.rows refused: {exc}; send smaller batches and arrays") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise RowError(f"rows.rows is not tagged JSON: {exc}") from None
        if not isinstance(items, list):
            raise RowError("rows.rows must hold a list of rows")
        async with game.lock:  # socket.io handlers may run concurrently: one batch at a time per game
            if not game.plays_here(data):
                # Another window took the game over (a second tab, a reload): two pages must not
                # both record it, or the rows would mix two different plays. Checked under the
                # lock: a `resume` between the check and the commit would miss these rows.
                return {"ok": False, "superseded": True,
                        "error": "this game continues in another window or tab; its rows come from there"}
            if game.spaces is None:
                game.spaces = await self._spaces(game)
            parsed = [self._row(game, item, i) for i, item in enumerate(items)]
            new = [r for r in parsed if (r[0].episode, r[0].frame) > game.last]
            self._continues(game, [r for r, _, _ in new])
            if new and game.stored_text + len(text) > self.game_bytes:
                raise RowError(f"rows refused: this game's rows passed {self.game_bytes} characters (limit "
                               f"game_bytes); it stores no more")
            if new:
                game.stored_text += len(text)
                await self.storage.add_steps(game.game_id, [r[0] for r in new], t_server=time.time(),
                                             t_client=[r[1] for r in new], late_ms=[r[2] for r in new],
                                             keep_observations=game.step.options.record_observations)
                game.last = max(game.last, max((r.episode, r.frame) for r, _, _ in new))
                newest = [r for r, _, _ in new if (r.episode, r.frame) == game.last]
                game.ended = any(r.terminated or r.truncated for r in newest)
                game.over = self._final(game, newest)
                if self.on_rows is not None:  # the monitor (mugkit/web/monitor.py): input seen
                    self.on_rows(game.game_id, game.participant, game.agent, [r[0] for r in new])
        return {"ok": True, "batch": data.get("batch"), "last": list(game.last)}

    @staticmethod
    def _final(game: BrowserGame, newest: list) -> bool:
        """Whether the rows of the newest stored frame end the game's last episode. (Any ending
        row counts: refusing a game's end by mistake would hold the participant there for good.)"""
        return game.last[0] == game.step.options.episodes - 1 and any(r.terminated or r.truncated for r in newest)

    def _row(self, game: BrowserGame, item: Any, i: int) -> tuple[StepRow, float | None, float | None]:
        return parse_row(game.step, game.spaces, self.last_frame(game.step), item, i)

    def last_frame(self, step: Any) -> int:
        """The last frame an episode of ``step`` can have: its ``max_steps`` (frame 0 is the
        reset), or :attr:`frames_per_episode` when it sets none."""
        max_steps = step.options.max_steps
        return max_steps if max_steps is not None else self.frames_per_episode

    @staticmethod
    def _continues(game: BrowserGame, new: list[StepRow]) -> None:
        """Refuses new rows that do not continue the stored game frame by frame: a gap, an agent
        twice in a frame, a new episode where no row of the frame before ended one. (Whether the
        env really ended it, and rows past the env's own end, only re-simulation can tell.)"""
        last, ended, seen = game.last, game.ended or game.last == (-1, -1), set()
        for row in new:
            here = (row.episode, row.frame)
            if here == last:
                if row.agent in seen:
                    raise RowError(f"episode {row.episode} frame {row.frame} has two rows of agent {row.agent!r}")
            else:
                nexts = [(last[0], last[1] + 1)] if last != (-1, -1) else []
                nexts += [(last[0] + 1, 0)] if ended else []
                if here not in nexts:
                    raise RowError(f"rows must continue the game frame by frame: after episode {last[0]} frame "
                                   f"{last[1]} comes {' or '.join(f'episode {e} frame {f}' for e, f in nexts)}, "
                                   f"not episode {row.episode} frame {row.frame}")
                last, ended, seen = here, False, set()
            seen.add(row.agent)
            ended = ended or row.terminated or row.truncated

    async def _spaces(self, game: BrowserGame) -> dict:
        """The game's action spaces (agent → space), from its env built as the browser builds it
        (in a thread: the step function is the user's code). Empty when it does not build here:
        then only re-simulation checks the actions."""
        row = await self.storage.get_game(game.game_id) or {}
        who = await self.storage.get_participant(game.participant) or {}
        try:
            return await asyncio.to_thread(_action_spaces, game, int(row.get("seed") or 0), who)
        except StepError as exc:  # the user's step function raised: verification will say so too
            log.warning("game %s: its env does not build on the server (%s); actions are checked when it is "
                        "verified", game.game_id, exc)
            return {}

    async def record(self, game: BrowserGame, session: Any = None) -> dict | None:
        """What a (re)loaded page re-simulates: the current episode's recorded human inputs and,
        to check the replay against, every agent's stored action and reward —
        ``{"episode", "frames": [[frame, {human: [action, keys, filled]}, {agent: [action,
        reward]}]], "last"}`` — or None when nothing is stored yet (the game starts afresh). The
        asking page's ``session`` plays the game from now on: rows from any other page are refused.
        Taken under the game's lock, so a batch being stored is either in the record or refused."""
        async with game.lock:
            self._take_over(game, session)
            return await self._record(game)

    async def record_json(self, game: BrowserGame, session: Any = None) -> str | None:
        """:meth:`record` as tagged JSON text (``resume``'s answer). Read and encoded once per
        stored frame, the encoding off the event loop: a page asks once per load, and a flood of
        ``resume`` messages must not cost a whole episode's encoding each (other games would wait)."""
        async with game.lock:
            self._take_over(game, session)
            if game.last == (-1, -1):
                return None
            if game.record_text is None or game.record_text[0] != game.last:
                record = await self._record(game)
                game.record_text = (game.last, await asyncio.to_thread(to_json, record, "the game's record"))
            return game.record_text[1]

    @staticmethod
    def _take_over(game: BrowserGame, session: Any) -> None:
        if isinstance(session, str) and 0 < len(session) <= 64:
            game.session = session

    async def _record(self, game: BrowserGame) -> dict | None:
        if game.last == (-1, -1):
            return None
        episode = game.last[0]
        frames: dict = {}
        for frame, agent, action, keys, filled, reward, _ in await self.storage.step_inputs(game.game_id, episode):
            humans, stored = frames.setdefault(frame, ({}, {}))
            if agent == game.agent:
                humans[agent] = [action, keys, filled]
            stored[agent] = [action, reward]
        return {"episode": episode, "frames": [[f, h, s] for f, (h, s) in sorted(frames.items()) if f > 0],
                "last": list(game.last)}

    async def finish(self, game: BrowserGame, outcome: str, reason: str) -> bool | None:
        """Ends the game with ``outcome`` and ``reason`` (``games.outcome_reason``), and verifies it:
        in the background with ``verify="flag"``, before the outcome is stored with
        ``verify="require"`` (a restart meanwhile leaves the game open: the page's ``game_over``
        comes again). Returns whether the game counts towards completion: always with ``"flag"``;
        with ``"require"`` only a ``completed`` game whose rows are ``verified``; None when the game
        is ending already (a second ``game_over``, or ``load_failed`` after it): nothing to do."""
        if game.ending:
            return None
        game.ending = True
        if game.step.options.verify == "require":
            result = await self.verifier.verify_game(self.storage, self.paths, game.game_id, outcome)
            await report_unverified(self.storage, game.game_id, result)
            await self.storage.end_game(game.game_id, outcome, ended_at=time.time(), outcome_reason=reason,
                                        **_columns(result))
            self.games.pop(game.game_id, None)
            counts = outcome == "completed" and result["verification"] == "verified"
        else:
            await self.storage.end_game(game.game_id, outcome, ended_at=time.time(), outcome_reason=reason,
                                        verification="pending")
            self.games.pop(game.game_id, None)
            self._background(game.game_id)
            counts = True
        log.info("game %s: over in the browser (%s: %s)", game.game_id, outcome, reason)
        if self.on_end is not None:
            await self.on_end(game.game_id, outcome, reason)
        return counts

    async def counts(self, game_id: str) -> bool:
        """Whether an ended game counts towards completion (see :meth:`finish`); True for a game that
        is not a browser game or not ended."""
        row = await self.storage.get_game(game_id)
        if row is None or row.get("runtime") != "browser" or row.get("outcome") is None:
            return True
        step = self.steps.get((row["experiment"], row["step"]))
        if step is None or step.options.verify != "require":
            return True
        return row["outcome"] == "completed" and row.get("verification") == "verified"

    # -- participants away -----------------------------------------------------------------

    def left(self, game_id: str, grace: float) -> None:
        """The game's participant has no connection left: unless they are back within ``grace``
        seconds, the server ends the game as ``abandoned`` (reason ``grace_expired``). (Only games
        the server holds in memory: after a restart, a game whose participant never comes back
        keeps no outcome.)"""
        if game_id in self.games and game_id not in self._absent:
            self._absent[game_id] = asyncio.get_running_loop().create_task(self._expire(game_id, grace))

    def back(self, game_id: str) -> None:
        """The game's participant is connected again: the grace clock stops."""
        task = self._absent.pop(game_id, None)
        if task is not None:
            task.cancel()

    async def _expire(self, game_id: str, grace: float) -> None:
        await asyncio.sleep(grace)
        self._absent.pop(game_id, None)
        game = self.games.get(game_id)
        if game is not None:
            async with game.lock:
                await self.finish(game, "abandoned", "grace_expired")

    # -- verification ----------------------------------------------------------------------

    def _background(self, game_id: str) -> None:
        """Verifies ended game ``game_id`` in the background (once at a time per game here)."""
        if game_id in self.verifying:
            return
        self.verifying.add(game_id)
        task = asyncio.get_running_loop().create_task(self._verify_and_store(game_id))
        self._verifying.add(task)
        task.add_done_callback(self._verified)

    def _verified(self, task: asyncio.Task) -> None:
        self._verifying.discard(task)
        if not task.cancelled() and task.exception() is not None:  # the storage failed: say so, stay pending
            log.error("storing a verification failed; the game stays pending and is verified again at the next "
                      "start", exc_info=task.exception())

    async def _verify_and_store(self, game_id: str) -> None:
        stored = False
        try:
            result = await self.verifier.verify_game(self.storage, self.paths, game_id)
            await report_unverified(self.storage, game_id, result)  # first: a verdict read back has its event
            await self.storage.update_game(game_id, **_columns(result))
            stored = True
        finally:
            self.verifying.discard(game_id)
            if self.on_verified is not None:
                await self.on_verified(game_id, stored)

    def wheel(self, sha256: str, filename: str) -> Wheel | None:
        """The wheel behind ``/runtime/wheels/<sha256>/<filename>``, or None."""
        w = self.wheels.get(sha256)
        return w if w is not None and w.filename == filename else None


def parse_row(step: Any, spaces: dict | None, last: int, item: Any, i: int) -> tuple[StepRow, float | None,
                                                                                  float | None]:
    """Row ``i`` of a ``rows`` batch of a game of ``step`` (``spaces``: agent → action space, may be
    empty; ``last``: the last frame an episode may have), as (row, t_client, late_ms).

    Raises:
        RowError: not a row object, an unknown field, a frame or episode out of range, no agent of the
            step, an action outside its space, ill-typed keys or hook columns.
    """
    where = f"rows[{i}]"
    if not isinstance(item, dict) or not set(item) <= ROW_KEYS:
        extra = sorted(set(item) - ROW_KEYS) if isinstance(item, dict) else None
        raise RowError(f"{where} must be a row object" + (f"; unknown fields {extra}" if extra else ""))
    for name in ("episode", "frame"):
        v = item.get(name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise RowError(f"{where}.{name} must be a non-negative integer")
    if item["episode"] >= step.options.episodes:
        raise RowError(f"{where}.episode {item['episode']} is past the step's {step.options.episodes} episodes")
    if item["frame"] > last:
        raise RowError(f"{where}.frame {item['frame']} is past the episode's last frame {last} "
                       + ("(the step's max_steps)" if step.options.max_steps is not None
                          else "(limit frames_per_episode: the step sets no max_steps)"))
    if not _is_agent(item.get("agent"), step.players):
        raise RowError(f"{where}.agent {item.get('agent')!r} is not an agent of {step.name}")
    space = (spaces or {}).get(item["agent"])
    if item.get("action") is not None and space is not None and not _contains(space, item["action"]):
        raise RowError(f"{where}.action {item['action']!r:.60} is outside {item['agent']!r}'s action space {space}")
    keys = item.get("keys")
    if keys is not None and not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise RowError(f"{where}.keys must be a list of key names or null")
    x = item.get("x") or {}
    if not isinstance(x, dict) or not all(isinstance(k, str) for k in x):
        raise RowError(f"{where}.x must be an object of hook columns (column name -> value)")
    depth = item.get("rollback_depth")
    if depth is not None and not (isinstance(depth, int) and not isinstance(depth, bool) and 0 <= depth < 2**31):
        raise RowError(f"{where}.rollback_depth must be a non-negative integer or null")
    predicted = item.get("predicted")
    row = StepRow(item["episode"], item["frame"], item["agent"], item.get("action"),
                  None if keys is None else tuple(keys), bool(item.get("filled")), item.get("decided_at"),
                  item.get("reward", 0), bool(item.get("terminated")), bool(item.get("truncated")),
                  item.get("observation"), item.get("info"), x,
                  None if predicted is None else bool(predicted), depth)
    return row, _number(item.get("t_client")), _number(item.get("late_ms"))


def _action_spaces(game: BrowserGame, seed: int, who: dict) -> dict:
    from ...games import Participant, build_env

    participant = Participant(game.participant, dict(who.get("params") or {}), who.get("condition"))
    env = build_env(game.step, seed=seed, participant=participant, group=[participant])
    return {agent: env.action_space(agent) for agent in env.agents}


def _who(who: Any) -> dict:
    return {"id": who.id, "params": dict(who.params), "condition": who.condition}


def _columns(result: dict) -> dict:
    """A verification result as ``games`` columns."""
    return {"verification": result["verification"], "verification_detail": result["detail"],
            "timing": result["timing"]}


def _contains(space: Any, action: Any) -> bool:
    try:
        return bool(space.contains(action))
    except Exception:  # a space that cannot even compare the value: it is not inside
        return False


def _is_agent(agent: Any, players: dict) -> bool:
    try:
        return agent in players
    except TypeError:  # an unhashable value (a list, an object) names no agent
        return False


def _number(v: Any) -> float | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None
