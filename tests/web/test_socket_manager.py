"""The socket layer's cheaper sends and keys (mugkit/web/socket_manager.py, limits/sockets.py):
a room's emit reaches each member once, in order, and not the skipped one; ``keys`` messages
of one connection are handled in the order sent; an emit that wants acknowledgements still gets
them. A real socket.io server (mugkit's) on loopback, real python-socketio clients."""

from __future__ import annotations

import asyncio
import socket

import pytest
import socketio
import uvicorn

from mugkit.web.server import socket_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _serving(sio: socketio.AsyncServer) -> tuple[uvicorn.Server, asyncio.Task, str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(socketio.ASGIApp(sio), host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    return server, task, f"http://127.0.0.1:{port}"


async def _client(url: str, events: dict) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    for event, handler in events.items():
        client.on(event, handler)
    await client.connect(url, transports=["websocket"])
    return client


def test_a_room_emit_reaches_every_member_once_in_order_but_the_skipped():
    async def main():
        sio = socket_server()
        joined = asyncio.Queue()

        @sio.event
        async def join(sid, data=None):
            await sio.enter_room(sid, "room")
            await joined.put(sid)

        server, task, url = await _serving(sio)
        got = [[], [], []]
        clients = [await _client(url, {"n": got[i].append}) for i in range(3)]
        sids = []
        for c in clients:
            await c.emit("join")
            sids.append(await asyncio.wait_for(joined.get(), 10))
        for n in range(300):
            await sio.emit("n", n, room="room", skip_sid=sids[2] if n % 2 else None)
        await sio.emit("n", "last", room="room")
        for _ in range(200):
            if all(g and g[-1] == "last" for g in got):
                break
            await asyncio.sleep(0.05)
        for c in clients:
            await c.disconnect()
        server.should_exit = True
        await task
        return got

    got = asyncio.run(main())
    assert got[0] == got[1] == list(range(300)) + ["last"]
    assert got[2] == [n for n in range(300) if n % 2 == 0] + ["last"]


def test_keys_of_one_connection_are_handled_in_the_order_sent():
    async def main():
        sio = socket_server()
        handled = []

        @sio.on("keys")
        async def keys(sid, data):
            await asyncio.sleep(0.002 * (data["seq"] % 3))  # a handler that waits: later ones could overtake
            handled.append(data["seq"])

        server, task, url = await _serving(sio)
        client = await _client(url, {})
        for seq in range(60):
            await client.emit("keys", {"seq": seq})
        for _ in range(200):
            if len(handled) == 60:
                break
            await asyncio.sleep(0.05)
        await client.disconnect()
        server.should_exit = True
        await task
        return handled

    assert asyncio.run(main()) == list(range(60))


def test_an_emit_asking_for_acknowledgement_gets_it():
    async def main():
        sio = socket_server()
        joined = asyncio.Queue()

        @sio.event
        async def join(sid, data=None):
            await sio.enter_room(sid, "room")
            await joined.put(sid)

        server, task, url = await _serving(sio)
        client = await _client(url, {"ask": lambda data: {"echo": data}})
        await client.emit("join")
        sid = await asyncio.wait_for(joined.get(), 10)
        reply = await sio.call("ask", 41, to=sid, timeout=10)
        await client.disconnect()
        server.should_exit = True
        await task
        return reply

    assert asyncio.run(main()) == {"echo": 41}


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
