"""Rollback netcode in pure Python (stdlib only): the same code runs on the server, in tests and
in the browser (Pyodide). No I/O, no threads, no clock: the caller passes time in
(``poll(now_ms)``) and moves bytes through a two-method :class:`Transport`.

The pieces:

- :class:`SessionBuilder` → :class:`P2PSession` (2–4 players over a transport) or
  :class:`SyncTestSession` (one process, rollback every frame, GGRS-style, for a game loop in
  development; mugkit's ``synctest`` check is exhaustive and lives in :mod:`mugkit.checks`).
- A session never calls the game. ``advance_frame()`` returns :class:`SaveState`,
  :class:`LoadState` and :class:`AdvanceFrame` requests; the caller fulfils them in order
  (:class:`GameRunner` does it for a GameEnv). Events (:class:`DesyncDetected`,
  :class:`Disconnected`, :class:`WaitingForInputs`, :class:`WaitRecommendation`, ...) wait in a
  bounded queue read by ``events()``.
- :mod:`.codec` encodes actions and messages losslessly (big ints, ``-0.0``, NaN bits, bool vs
  int, tuples vs lists); :mod:`.simnet` simulates a network on a virtual clock;
  :func:`~mugkit.netcode.check.check_rollback` is the ``rollback`` check.

AI players: an AI's actions are ordinary inputs. One designated peer (the host) asks the policy
at each of its frames — outside the simulation step, from the frame it sees then (predicted or
not) and with a (seed, frame, agent) seeded policy — and adds the answer with
``add_local_input`` for the AI's handle, exactly like a human's key presses; it is sent,
acknowledged, predicted and rolled back like any input. No peer ever runs the policy inside
``AdvanceFrame``, so a re-simulation cannot produce a different AI action and peers cannot
disagree on it (and onnxruntime-web's asynchronous ``run()`` fits: its result is simply the input
of a later frame). :func:`~mugkit.netcode.simnet.run_peers` takes such input sources, and the
``rollback`` check plays a step's policies that way.

Actions: anything the codec takes (None, bool, int of any size, float bit-exact, str, bytes,
lists, tuples, dicts). A prediction repeats a player's last confirmed action; before the first
one, and after a disconnect, the builder's ``default_action`` stands in.
"""

from .builder import (CHECK_DISTANCE, CHECKSUM_INTERVAL, DEFAULT_ACTION, DISCONNECT_NOTIFY_MS,
                      DISCONNECT_TIMEOUT_MS, EVENT_QUEUE_SIZE, FPS, INPUT_DELAY, MAX_PLAYERS,
                      MAX_ROLLBACK, MAX_ROLLBACK_LIMIT, MIN_PLAYERS, NUM_PLAYERS, SessionBuilder)
from .codec import CodecError
from .errors import InvalidRequest, MismatchedChecksum, ProtocolError
from .events import (DesyncDetected, Disconnected, Event, NetworkInterrupted, NetworkResumed,
                     Synchronized, WaitingForInputs, WaitRecommendation)
from .game import GameRunner
from .messages import MAX_PACKET_BYTES
from .p2p import P2PSession, SessionStats
from .requests import (AdvanceFrame, GameStateCell, InputStatus, LoadState, PlayerInput,
                       SaveState)
from .synctest import SyncTestSession
from .transport import Transport

__all__ = [
    "SessionBuilder", "P2PSession", "SyncTestSession", "SessionStats", "Transport", "GameRunner",
    "SaveState", "LoadState", "AdvanceFrame", "GameStateCell", "PlayerInput", "InputStatus",
    "Event", "Synchronized", "NetworkInterrupted", "NetworkResumed", "Disconnected",
    "DesyncDetected", "WaitingForInputs", "WaitRecommendation",
    "InvalidRequest", "ProtocolError", "MismatchedChecksum", "CodecError",
    "NUM_PLAYERS", "MIN_PLAYERS", "MAX_PLAYERS", "INPUT_DELAY", "MAX_ROLLBACK", "MAX_ROLLBACK_LIMIT",
    "CHECK_DISTANCE", "CHECKSUM_INTERVAL", "DISCONNECT_TIMEOUT_MS", "DISCONNECT_NOTIFY_MS", "FPS",
    "EVENT_QUEUE_SIZE", "DEFAULT_ACTION", "MAX_PACKET_BYTES",
]
