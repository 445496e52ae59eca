"""A protocol-level player of MUG's server-authoritative games (multi-user-gymnasium 0.1.2, read
from its source: mug/server/app.py and mug/server/game_manager.py), for the capacity bench.

What a MUG page does, over socket.io (websocket transport):
  GET /<subject_id>                  registers the subject (its stager: the scenes)
  register_subject {subject_id}      ties the socket to the subject; the start scene shows
  advance_scene {}                   on to the game scene (its game manager)
  join_game {session_id}             into the waitroom; two players make a game, which after a
                                     3 s countdown sends start_game {game_id, ...}
  player_action {key, game_id}       a key press: the next tick's action (MUG's "single
                                     keystroke" input: one action per press)
  server_render_state {...}          each frame (render_state: the shapes that changed)
  end_game {}                        the episodes are over

Keys: the same plan generator as mugkit's bots (people-like holds, mugkit.loadtest.players);
sent when the held key changes (a press), or with ``every_frame`` once per frame received.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import urllib.request
from dataclasses import dataclass

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STUDY = os.path.join(ROOT, "bench", "studies", "_capacity.py")
PLAN_FRAMES = 600
_STEP = None


def _step():
    """The mugkit bench study's game step: its keys give the plan generator what to hold."""
    global _STEP
    if _STEP is None:
        sys.path.insert(0, ROOT)
        from mugkit.collect import load_experiment

        _STEP = next(s for s in load_experiment(STUDY).steps if s.name == "pair")
    return _STEP


@dataclass
class Outcome:
    status: str
    reason: str = ""


@dataclass
class Log:
    outcome: Outcome


class MugBot:
    """One MUG participant: joins, plays its game to the end, leaves."""

    def __init__(self, number: int, url: str, run_id: str, *, every_frame: bool = False):
        self.url, self.every_frame = url, every_frame
        self.subject = f"bench-{run_id}-{number}"
        self.rng = random.Random(f"{run_id}:{number}")
        self.game_id: str | None = None
        self.ended = asyncio.Event()
        self.plan = None
        self.tick = 0
        self.held: tuple = ()
        self.sent = 0

    def on_state(self, data: dict) -> None:
        """A frame: the keys for the next one (a task, so this handler returns at once)."""
        if self.game_id is None:
            return
        from mugkit.loadtest.players import sample_plan

        if self.plan is None or self.tick >= len(self.plan):
            self.plan, self.tick = sample_plan(_step(), PLAN_FRAMES, self.rng), 0
        held = self.plan.held("a", self.tick)
        self.tick += 1
        pressed = [k for k in held if k not in self.held]
        self.held = held
        if self.every_frame:
            key = (held or ("none",))[0]
        elif pressed:
            key = pressed[0]
        else:
            return
        self.sent += 1
        asyncio.ensure_future(self.sio.emit("player_action", {"key": key, "game_id": self.game_id}))

    async def run(self) -> Log:
        import socketio

        try:
            await asyncio.to_thread(lambda: urllib.request.urlopen(f"{self.url}/{self.subject}", timeout=30).read())
            self.sio = sio = socketio.AsyncClient(reconnection=False)

            async def start_game(data):
                self.game_id = data.get("game_id")

            async def state(data):
                self.on_state(data)

            async def end_game(data=None):
                self.ended.set()

            sio.on("start_game", start_game)
            sio.on("server_render_state", state)
            sio.on("end_game", end_game)
            sio.on("disconnect", end_game)
            await sio.connect(self.url, transports=["websocket"], wait_timeout=30)
            await sio.call("register_subject", {"subject_id": self.subject, "interactiveGymGlobals": {}}, timeout=60)
            await sio.call("advance_scene", {}, timeout=60)
            await sio.call("join_game", {"session_id": None}, timeout=60)
            await self.ended.wait()
            if sio.connected:
                await sio.disconnect()
            return Log(Outcome("completed" if self.game_id else "failed", "" if self.game_id else "no game"))
        except Exception as exc:
            return Log(Outcome("failed", f"{type(exc).__name__}: {exc}"))
