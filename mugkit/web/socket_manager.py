"""python-socketio's client manager with a cheaper emit to a room: a server game sends every
frame to its players, thirty times a second, and the per-recipient cost of python-socketio's own
emit (a task per recipient, then waiting for all of them) was a large share of a game's frame.

:class:`DirectManager` encodes the packet once (as python-socketio does) and puts it straight on
each recipient's engine.io send queue, which that socket's writer task drains in order, so the
order of messages to one socket is unchanged. An emit that asks for acknowledgements goes the
usual way.

With several processes, python-socketio's pub/sub managers deliver an emit to every process and
each process's manager then emits locally with ``AsyncManager.emit``: putting this class after the
pub/sub manager among the bases (``class M(socketio.AsyncRedisManager, DirectManager)``) makes that
local emit this one.
"""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

__all__ = ["DirectManager"]


class DirectManager(socketio.AsyncManager):
    """An :class:`socketio.AsyncManager` whose emit without a callback queues the one encoded
    packet on each recipient's socket directly (no task per recipient)."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if callback is not None:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                                      to=to, **kwargs)
        room = to or room
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event] + args).encode()
        eio_packets = [eio_packet.Packet(eio_packet.MESSAGE, p)
                       for p in (encoded if isinstance(encoded, list) else [encoded])]
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            socket = sockets.get(eio_sid) if sid not in skip else None
            if socket is None or socket.closed:
                continue  # gone meanwhile: engine.io's own send would drop it too
            for p in eio_packets:
                socket.queue.put_nowait(p)
