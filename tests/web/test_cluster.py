"""Cluster (mugkit/web/cluster.py): messages and requests between server processes, over one
process's memory and over a real Redis (two Cluster objects stand for two processes)."""

from __future__ import annotations

import asyncio

import pytest

from mugkit.web.cluster import Cluster, ClusterError
from mugkit.web.shared import MemoryState


@pytest.fixture(params=["memory", "redis"])
def states(request):
    """``() -> (state of process a, state of process b)``: one shared state seen by two processes."""
    if request.param == "memory":
        shared = MemoryState()
        return lambda: (shared, shared)
    from mugkit.web.shared_redis import RedisState

    url, study = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_study")
    return lambda: (RedisState(url, study), RedisState(url, study))


def run(states, body):
    async def main():
        sa, sb = states()
        a = Cluster(sa, "host:1:aaaaaa", info=lambda: {"games": 1})
        b = Cluster(sb, "host:2:bbbbbb", info=lambda: {"games": 2})
        await a.start()
        await b.start()
        try:
            return await body(a, b)
        finally:
            await a.close()
            await b.close()
            for s in {id(sa): sa, id(sb): sb}.values():
                await s.close()

    return asyncio.run(main())


def test_a_request_gets_the_other_process_handlers_reply_with_bytes_intact(states):
    async def body(a, b):
        async def echo(message):
            return {"got": message["data"], "by": "b"}

        b.on("echo", echo)
        return await a.request(b.id, "echo", {"data": {"packet": b"\x00\xff raw", "n": 3}})

    assert run(states, body) == {"got": {"packet": b"\x00\xff raw", "n": 3}, "by": "b"}


def test_a_participants_objects_that_look_like_encoded_bytes_arrive_as_they_were_sent(states):
    """A page's message is forwarded as it came: an object of its own shaped like the marker of
    encoded bytes is not turned into bytes on the way (the record would depend on which process
    the participant's socket landed on)."""
    sent = {"events": [{"kind": "desync", "ours": {"$b64": "AAAA"}}, {"$obj": {"$b64": "AAAA"}}, {"$obj": 1}],
            "packet": b"\x01"}

    async def body(a, b):
        async def echo(message):
            return {"got": message["data"]}

        b.on("echo", echo)
        return await a.request(b.id, "echo", {"data": sent})

    assert run(states, body) == {"got": sent}


def test_tell_all_reaches_every_process_and_tell_only_the_one_named(states):
    async def body(a, b):
        seen = {"a": [], "b": []}
        for name, c in (("a", a), ("b", b)):
            async def keep(message, name=name):
                seen[name].append(message["n"])
            c.on("note", keep)
        await a.tell_all("note", {"n": 1})
        await a.tell(b.id, "note", {"n": 2})
        for _ in range(100):
            if len(seen["a"]) == 1 and len(seen["b"]) == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # nothing more arrives
        return seen

    assert run(states, body) == {"a": [1], "b": [1, 2]}


def test_a_failing_handler_and_a_silent_process_are_errors_that_say_so(states):
    async def body(a, b):
        async def broken(message):
            raise ValueError("no such game here")

        b.on("broken", broken)
        with pytest.raises(ClusterError, match="no such game here"):
            await a.request(b.id, "broken", {})
        with pytest.raises(ClusterError, match="host:9:gone.*did not answer"):
            await a.request("host:9:gone", "broken", {}, timeout=0.3)
        return True

    assert run(states, body)


def test_every_live_process_and_its_figures_are_known_to_each(states):
    async def body(a, b):
        await asyncio.sleep(1.2)  # a heartbeat each
        return await a.alive(), b.alive_ids

    alive, known_to_b = run(states, body)
    assert {p: i["games"] for p, i in alive.items()} == {"host:1:aaaaaa": 1, "host:2:bbbbbb": 2}
    assert known_to_b == {"host:1:aaaaaa", "host:2:bbbbbb"}
