"""Cheaper sends for python-socketio: a server game sends every frame to its players thirty times
a second, and the per-recipient cost of python-socketio's own emit (a task per recipient, then
waiting for all of them) and of engine.io's writer (a task per wake-up, from ``asyncio.wait_for``)
was a large share of a game's frame (bench/RESULTS-capacity.md).

:class:`DirectManager` encodes the packet once (as python-socketio does) and puts it straight on
each recipient's engine.io send queue, which that socket's writer task drains in order, so the
order of messages to one socket is unchanged. An emit that asks for acknowledgements goes the
usual way.

With several processes, python-socketio's pub/sub managers deliver an emit to every process and
each process's manager then emits locally with ``AsyncManager.emit``: putting this class after the
pub/sub manager among the bases (``class M(socketio.AsyncRedisManager, DirectManager)``) makes that
local emit this one.

:func:`install_quick_poll` gives one engine.io socket a writer's wait that keeps engine.io's
timeout with ``asyncio.timeout`` instead of ``asyncio.wait_for`` (which makes a task each time).
"""

from __future__ import annotations

import asyncio
import types
from typing import Any

import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from socketio import packet

__all__ = ["DirectManager", "RedisDirectManager", "install_quick_poll"]


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


async def _quick_poll(self: Any) -> list:
    """engine.io's ``AsyncSocket.poll`` (the packets queued for the client, waiting at most a ping
    interval and timeout for the first), with ``asyncio.timeout`` in place of ``asyncio.wait_for``."""
    queue = self.queue
    try:
        async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
            packets = [await queue.get()]
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    queue.task_done()
    if packets == [None]:
        return []
    while True:
        try:
            pkt = queue.get_nowait()
        except asyncio.QueueEmpty:
            break
        queue.task_done()
        if pkt is None:
            queue.put_nowait(None)
            break
        packets.append(pkt)
    return packets


def install_quick_poll(socket: Any) -> None:
    """Gives engine.io socket ``socket`` (before its writer starts) :func:`_quick_poll`."""
    socket.poll = types.MethodType(_quick_poll, socket)


class RedisDirectManager(socketio.AsyncRedisManager, DirectManager):
    """Several processes: emits travel between them through Redis (python-socketio's pub/sub),
    and each process's own emit to its sockets is :class:`DirectManager`'s (see the module's
    docstring)."""
