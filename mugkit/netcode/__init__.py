"""Rollback netcode in pure Python (stdlib only): the same code runs on the server, in tests and
in the browser (Pyodide). No I/O, no threads, no clock: the caller passes time in
(``poll(now_ms)``) and moves bytes through a two-method :class:`Transport`.

The pieces:

- :class:`SessionBuilder` → :class:`P2PSession` (2–4 players over a transport) or
  :class:`SyncTestSession` (one process, rollback every frame, GGRS-style, for a game loop in
  development; mugkit's ``synctest`` check is exhaustive and lives in :mod:`mugkit.checks`).
- A session never calls the game. ``advance_frame()`` returns :class:`SaveState`,
  :class:`LoadState` and :class:`AdvanceFrame` requests; the caller fulfils them in order
  (:class:`GameRunner` does it for a GameEnv; the session names each state's frame on its
  :class:`GameStateCell` with ``expect()``). Events (:class:`DesyncDetected`,
  :class:`Disconnected`, :class:`WaitingForInputs`, :class:`WaitRecommendation`, ...) wait in a
  bounded queue read by ``events()``.
- :class:`PeerLoop` is one peer's game loop, one ``tick(now_ms)`` per frame: poll, local inputs
  from a source per handle, advance, fulfil, confirmed frames and events, time sync
  (:class:`TickResult` says what happened). The browser runtime, the server and
  :func:`~mugkit.netcode.simnet.run_peers` all drive sessions with it.
- ``drain_confirmed_frames()`` streams every confirmed frame once, as a
  :class:`ConfirmedFrame`: final inputs, the checksum of the state after it, and whether it was
  predicted and how deep it was rolled back — what a recorder stores.
  ``drain_confirmed()`` gives the ``(frame, checksum)`` of each confirmed state.
- Leaving peers: ``drop_peer(addr)`` disconnects one at once (a server that knows it left); a
  :class:`ClosingTransport` reports closed connections (a data channel's ``close``) and
  ``poll()`` drops them at once; otherwise silence beyond ``disconnect_timeout`` does.
- Packets never exceed :data:`MAX_PACKET_BYTES` (16 KiB, one WebRTC data channel message):
  fewer frames of inputs go in a packet when a backlog is large; bigger ones are dropped unread.
- :mod:`.codec` encodes actions and messages losslessly (big ints, ``-0.0``, NaN bits, bool vs
  int, tuples vs lists); :mod:`.simnet` simulates a network on a virtual clock, with pauses
  and closed connections; :func:`~mugkit.netcode.check.check_rollback` is the ``rollback``
  check.
- Errors: :class:`InvalidRequest` (the caller's misuse), :class:`ProtocolError` (a bad packet,
  dropped and counted), :class:`MismatchedChecksum` (a sync test found nondeterminism), and
  :class:`~mugkit.runtime.errors.InternalError` when one of mugkit's own invariants breaks.

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
from .confirmed import ConfirmedFrame
from .errors import InvalidRequest, MismatchedChecksum, ProtocolError
from .events import (DesyncDetected, Disconnected, Event, NetworkInterrupted, NetworkResumed,
                     Synchronized, WaitingForInputs, WaitRecommendation)
from .game import GameRunner
from .messages import MAX_PACKET_BYTES
from .p2p import P2PSession, SessionStats
from .peer_loop import PeerLoop, TickResult
from .requests import (AdvanceFrame, GameStateCell, InputStatus, LoadState, PlayerInput,
                       SaveState)
from .synctest import SyncTestSession
from .transport import ClosingTransport, Transport

__all__ = [
    "SessionBuilder", "P2PSession", "SyncTestSession", "SessionStats", "Transport", "ClosingTransport",
    "GameRunner", "PeerLoop", "TickResult", "ConfirmedFrame",
    "SaveState", "LoadState", "AdvanceFrame", "GameStateCell", "PlayerInput", "InputStatus",
    "Event", "Synchronized", "NetworkInterrupted", "NetworkResumed", "Disconnected",
    "DesyncDetected", "WaitingForInputs", "WaitRecommendation",
    "InvalidRequest", "ProtocolError", "MismatchedChecksum", "CodecError",
    "NUM_PLAYERS", "MIN_PLAYERS", "MAX_PLAYERS", "INPUT_DELAY", "MAX_ROLLBACK", "MAX_ROLLBACK_LIMIT",
    "CHECK_DISTANCE", "CHECKSUM_INTERVAL", "DISCONNECT_TIMEOUT_MS", "DISCONNECT_NOTIFY_MS", "FPS",
    "EVENT_QUEUE_SIZE", "DEFAULT_ACTION", "MAX_PACKET_BYTES",
]
