"""The shared state of a study's server processes, in Redis (:class:`RedisState`).

Every key lives under ``mugkit:{<study id>}:`` (the braces make it a Redis Cluster hash tag, so a
study's keys sit in one slot and its Lua scripts may touch several), so studies can share a Redis.
Whatever must happen once across processes is one Lua script, which Redis runs atomically:

- **transitions**: a lock ``lock:<key>`` holding a random token with a TTL, renewed while held
  (so a process that dies releases it within :data:`LOCK_SECONDS`) and released by a
  compare-and-delete script (never someone else's). Tasks of one process queue on a local lock
  first, so only one task per process polls Redis; the holding task may enter again.
- **participants' freshness**: acquiring ``p:<id>`` also bumps the version counter ``ver:<id>``
  and returns the one before, and so does every change the registry stores (``touched``: a
  partner's transition may move a participant outside their own). This process's cached copy is
  kept only when that is the version it left behind; else it is dropped, and
  :meth:`Registry.transition` reads the participant again from storage, where every earlier change
  has been committed.
- **counters** are hashes (``HINCRBY``); ``first`` is ``SET NX``.
- **waitrooms** are sorted sets scored by the Redis clock at joining: a join and the group it
  completes is one script, so a group is formed once, on one process; ``waitroom_timeouts``
  takes the timed-out out in one script, so each is returned to exactly one process.
- **game leases**: ``game:<id>`` holds the owner with a TTL, and the set ``games`` the games
  claimed and not released. A game in the set whose key expired is orphaned; claiming it is one
  script, so exactly one process wins.
- **heartbeats**: ``proc:<id>`` holds a process's info with a TTL.
- **step deadlines**: the sorted set ``deadlines`` (participant, scored by the deadline's
  ``time.time()``) and the hash ``deadline_index`` (participant → step index); taking the due
  ones is one script, so each is returned to exactly one process. A timed survey's answers so far
  are ``draft:<participant>`` (JSON, with a TTL).
- **messages** go through Redis *streams*, one per process (``inbox:<process>``) and one for
  broadcasts, not pub/sub: pub/sub drops whatever is published while a subscriber is
  reconnecting, whereas a stream keeps it, and the reader goes on from the last id it read.
  A process's inbox stream is deleted as it is read, and expires when nobody reads it (its process
  died); the broadcast stream is capped.

**Redis unreachable or restarting.** An operation is retried for up to :data:`RETRY_SECONDS`
(a restart takes well under a second), then raises :class:`~mugkit.web.shared.SharedStateError`
naming the URL. (A command retried after a dropped connection may have run once already: a counter
may count twice, a message arrive twice; a restart loses them anyway.)

A Redis that restarted empty (no persistence) is noticed by its ``boot`` key, which each start
gets anew; the periodic calls (``waiting``, ``waitroom_timeouts``, ``renew_games``, ``heartbeat``)
look at it, and this process puts back what it knows:

- its games' leases (else their renewal would stop them);
- the participants it put in a waitroom who were still waiting, with their waiting time so far
  (a group is formed at the next arrival; else they time out as usual). One put in a group by
  another process in the second before the restart could be put back: the group's game start
  reads their stored place (a transition) and finds them in a game.
- the counters are not put back: ``first`` answers True again, so the flow counts the stored
  participants again (:meth:`Flow._seed_counters`), and the step deadlines are derived again
  from the participants' stored places (:class:`~mugkit.web.timeouts.StepTimeouts`). The participants' versions are gone, so every
  process reads each participant again at their next transition.

Lost for good: the answers a timed survey's page sent so far, messages not yet read, transition locks held across the restart (logged when
released), and the leases of a process that died during the restart (its games are not seen as
orphaned).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import urllib.parse
from typing import Any, AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import BusyLoadingError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .shared import LEASE_SECONDS, SharedState, SharedStateError, _Reentrant, reentrant

__all__ = ["RedisState", "LOCK_SECONDS"]

log = logging.getLogger("mugkit.shared")

#: Seconds a transition's lock outlives a process that died holding it (renewed every third).
LOCK_SECONDS = 10.0
#: Seconds an unread inbox stream is kept (its process died or never started).
INBOX_SECONDS = 3600
#: Broadcasts kept for readers that reconnect (approximately).
BROADCASTS_KEPT = 10_000
#: Seconds an operation is retried while Redis cannot be reached, before SharedStateError.
RETRY_SECONDS = 5.0
#: Seconds a participant's version counter outlives their last transition.
VERSION_SECONDS = 86_400

# KEYS: lock, [version]; ARGV: token, ttl ms, version ttl s → nil (taken), or the version before (0
# without one). A version key expires a day after the participant's last transition: a process that
# kept their copy longer reads them again (it is not the version it left behind).
_ACQUIRE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return nil end
if not KEYS[2] then return 0 end
local version = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return version - 1
"""
# KEYS: lock; ARGV: token → 1 released, 0 not ours (expired, taken).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: locks; ARGV: ttl ms, tokens… → the indexes (1-based) of locks no longer ours.
_RENEW_LOCKS = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1]) else lost[#lost + 1] = i end
end
return lost
"""
# KEYS: room, conf, rooms; ARGV: participant, needed, timeout, room id → the group formed, or {}.
_JOIN = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[2], 'needed', ARGV[2], 'timeout', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[1], 'NX', tonumber(t[1]) + tonumber(t[2]) / 1e6, ARGV[1])
local needed = tonumber(ARGV[2])
if redis.call('ZCARD', KEYS[1]) < needed then return {} end
local group = redis.call('ZRANGE', KEYS[1], 0, needed - 1)
redis.call('ZREM', KEYS[1], unpack(group))
return group
"""
# KEYS: room, conf, rooms; ARGV: participant, needed, timeout, room id, seconds waited → nothing.
# Puts a waiting participant back after a restart, without forming a group.
_REJOIN = """
local t = redis.call('TIME')
redis.call('HSET', KEYS[2], 'needed', ARGV[2], 'timeout', ARGV[3])
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[1], 'NX', tonumber(t[1]) + tonumber(t[2]) / 1e6 - tonumber(ARGV[5]), ARGV[1])
return 0
"""
# KEYS: rooms; ARGV: prefix, participant → nothing.
_LEAVE = """
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('ZREM', ARGV[1] .. 'wr:' .. room, ARGV[2]) end
return 0
"""
# KEYS: room, conf; ARGV: participant → {present, needed, timeout, remaining as a string}.
_STATUS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local timeout = tonumber(redis.call('HGET', KEYS[2], 'timeout') or '0')
local since = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or now)
return {redis.call('ZCARD', KEYS[1]), tonumber(redis.call('HGET', KEYS[2], 'needed') or '0'),
        tostring(math.max(0, timeout - (now - since)))}
"""
# KEYS: rooms; ARGV: prefix → the participants whose wait ran out (taken out); empty rooms forgotten.
_TIMEOUTS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'wr:' .. room
  local timeout = tonumber(redis.call('HGET', ARGV[1] .. 'wrconf:' .. room, 'timeout') or '0')
  local late = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. tostring(now - timeout))
  for _, pid in ipairs(late) do redis.call('ZREM', key, pid); out[#out + 1] = pid end
  if redis.call('ZCARD', key) == 0 then redis.call('SREM', KEYS[1], room) end
end
return out
"""
# KEYS: lease, games; ARGV: owner, ttl ms, game id → 1 claimed (or renewed), 0 another owner holds it.
_OWN = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""
# KEYS: games; ARGV: prefix, owner, ttl ms, game ids… → the ids the owner no longer holds. A lease
# that expired but that nobody claimed is the owner's again (its loop was late, not dead).
_RENEW_GAMES = """
local lost = {}
for i = 4, #ARGV do
  local key = ARGV[1] .. 'game:' .. ARGV[i]
  local holder = redis.call('GET', key)
  if holder == ARGV[2] or (not holder and redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1) then
    redis.call('SET', key, ARGV[2], 'PX', ARGV[3])
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""
# KEYS: games; ARGV: prefix → the games claimed, not released, and without a live lease.
_ORPHANS = """
local out = {}
for _, game in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'game:' .. game) == 0 then out[#out + 1] = game end
end
return out
"""
# KEYS: deadlines, deadline_index; ARGV: participant, at, index → nothing.
_SET_DEADLINE = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
return 0
"""
# KEYS: deadlines, deadline_index; ARGV: now → {participant, index, …} of the due deadlines, taken out.
_DUE_DEADLINES = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1000)
local out = {}
for _, pid in ipairs(due) do
  redis.call('ZREM', KEYS[1], pid)
  out[#out + 1] = pid
  out[#out + 1] = redis.call('HGET', KEYS[2], pid) or '-1'
  redis.call('HDEL', KEYS[2], pid)
end
return out
"""

# KEYS: stream, seq; ARGV: message, expire s (0: none), maxlen (0: none) → the entry's id. Ids come
# from one counter for the study, so the entries of a process's inbox and of the broadcasts have one
# order (that of adding). The counter starts from the Redis clock (µs), so after a restart it is
# ahead of the ids a reader saw before.
_ADD = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])))
end
local id = string.format('%d', redis.call('INCR', KEYS[2])) .. '-1'
if tonumber(ARGV[3]) > 0 then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], id, 'm', ARGV[1])
else
  redis.call('XADD', KEYS[1], id, 'm', ARGV[1])
end
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return id
"""


def _encode(key: Any) -> str:
    return json.dumps(key, separators=(",", ":"))


def _decode(text: str) -> Any:
    value = json.loads(text)
    return _tuples(value)


def _tuples(value: Any) -> Any:
    """JSON's lists back to tuples (a counter's key, a room: hashable, as they were given)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


class RedisState(SharedState):
    """:class:`~mugkit.web.shared.SharedState` on Redis, for several processes of study ``study``
    (see the module's docstring).

    Args:
        url: ``redis://host:port/db``, ``rediss://…`` or ``unix:///path/to.sock``.
        study: the study's id (its storage's ``study_id``): the namespace of its keys.
    """

    def __init__(self, url: str, study: str):
        if not isinstance(study, str) or not study:
            raise ValueError(f"RedisState needs the study's id (its storage's study_id), not {study!r}")
        self.url = _without_password(url)  # as logs and errors name it
        self.prefix = f"mugkit:{{{study}}}:"
        try:  # retried by _do, with one deadline for the whole operation
            self.redis = aioredis.from_url(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5,
                                           retry=Retry(NoBackoff(), 0), health_check_interval=10)
        except ValueError as exc:
            raise ValueError(f"--redis {self.url}: {exc} (give redis://host:port/db or unix:///path/to.sock)") from None
        self._scripts = {name: self.redis.register_script(code) for name, code in (
            ("acquire", _ACQUIRE), ("release", _RELEASE), ("renew_locks", _RENEW_LOCKS), ("join", _JOIN),
            ("leave", _LEAVE), ("status", _STATUS), ("timeouts", _TIMEOUTS), ("own", _OWN),
            ("renew_games", _RENEW_GAMES), ("orphans", _ORPHANS), ("add", _ADD), ("rejoin", _REJOIN),
            ("set_deadline", _SET_DEADLINE), ("due_deadlines", _DUE_DEADLINES))}
        self._local: dict[str, _Reentrant] = {}
        self._held: dict[str, str] = {}          # lock key -> token, for the renewer
        self._renewer: asyncio.Task | None = None
        self._participants: dict[str, Any] = {}
        self._versions: dict[str, int] = {}      # participant id -> the version this process left behind
        # What this process put back after a restart (see the module's docstring):
        self._boot: str | None = None                 # the boot key's value it saw last
        self._leases: dict[str, tuple[str, float]] = {}   # game -> (owner, ttl) claimed here, not released
        self._waiters: dict[str, tuple] = {}          # participant -> (room id, needed, timeout, since)
        self._failing = False                         # logged once per outage
        self._closed = False
        self._untouched: set[str] = set()             # participants changed here whose version is not bumped yet

    def __repr__(self) -> str:
        return f"RedisState({self.url!r}, prefix={self.prefix!r})"

    def _k(self, name: str) -> str:
        return self.prefix + name

    async def _do(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        """Runs ``operation()`` (Redis commands), retried while Redis cannot be reached, for up to
        :data:`RETRY_SECONDS`; then :class:`SharedStateError` naming the URL."""
        deadline = time.monotonic() + RETRY_SECONDS
        pause = 0.05
        task = asyncio.current_task()
        cancels = task.cancelling() if task is not None else 0
        while True:
            try:
                result = await operation()
                # Python 3.11's asyncio.wait_for (used inside redis-py) returns the result when a
                # cancel arrives as the reply does, and the cancel is lost: a caller's own
                # wait_for would then wait for a polling loop forever. Raise it here instead.
                if task is not None and task.cancelling() > cancels:
                    raise asyncio.CancelledError()
            except (RedisConnectionError, RedisTimeoutError, BusyLoadingError, OSError) as exc:
                if not self._failing:
                    self._failing = True
                    log.warning("the shared state at %s cannot be reached (%s); retrying", self.url, exc)
                if time.monotonic() + pause > deadline:
                    raise SharedStateError(f"the shared state at {self.url} cannot be reached ({exc}); is "
                                           f"redis-server running there?") from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.5)
                continue
            except RedisError as exc:
                raise SharedStateError(f"the shared state at {self.url} failed: {exc}") from None
            if self._failing:
                self._failing = False
                log.warning("the shared state at %s answers again", self.url)
            return result

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        return await self._do(lambda: self._scripts[script](keys=keys, args=args))

    async def close(self) -> None:
        """Stops renewing locks, ends the inboxes being read and closes the connections."""
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
        await self.redis.aclose()

    # -- transitions -----------------------------------------------------------------------

    def transition(self, key: str) -> contextlib.AbstractAsyncContextManager:
        # One task of this process at a time (re-entrant), then the lock in Redis for the processes.
        return reentrant(self._local, key, lambda: self._acquire(key), lambda token: self._release(key, token))

    async def _acquire(self, key: str) -> str:
        """Takes ``key``'s lock in Redis (waiting for another process to let go of it); for a
        participant, drops the cached copy when another process moved them meanwhile."""
        if self._untouched:
            await self._touch_pending()
        token = secrets.token_hex(8)
        pid = key[2:] if key.startswith("p:") else None
        keys = [self._k(f"lock:{key}")] + ([self._k(f"ver:{pid}")] if pid is not None else [])
        pause = 0.002
        while True:
            try:
                before = await self._run("acquire", keys, [token, int(LOCK_SECONDS * 1000), VERSION_SECONDS])
            except asyncio.CancelledError:  # perhaps after Redis gave it: let go (only of this token)
                asyncio.get_running_loop().create_task(self._release(key, token, quiet=True))
                raise
            if before is not None:
                break
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)
        self._held[keys[0]] = token
        self._start_renewer()
        if pid is not None:
            if self._versions.get(pid) != before:  # moved elsewhere (or never seen): read it again
                self._participants.pop(pid, None)
            self._versions[pid] = before + 1
        return token

    async def _release(self, key: str, token: str, quiet: bool = False) -> None:
        lock = self._k(f"lock:{key}")
        self._held.pop(lock, None)
        try:
            released = await self._run("release", [lock], [token])
        except SharedStateError as exc:  # it expires by itself; what was done inside is stored
            log.warning("transition %s: its lock could not be released (%s); it expires in %g s",
                        key, exc, LOCK_SECONDS)
            return
        if not released and not quiet:
            log.error("transition %s outlived its lock (held over %g s without renewal: was the event loop "
                      "blocked?); another process may have moved the same participant", key, LOCK_SECONDS)

    def _start_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_locks())

    async def _renew_locks(self) -> None:
        """Extends the locks this process holds, every third of their TTL."""
        while self._held:
            await asyncio.sleep(LOCK_SECONDS / 3)
            held = list(self._held.items())
            if not held:
                continue
            try:
                lost = await self._run("renew_locks", [k for k, _ in held],
                                       [int(LOCK_SECONDS * 1000)] + [t for _, t in held])
            except SharedStateError as exc:
                log.warning("transition locks could not be renewed: %s", exc)
                continue
            for i in lost:
                log.error("transition lock %s was lost while held", held[int(i) - 1][0])

    # -- participants ----------------------------------------------------------------------

    def participant(self, participant_id: str) -> Any | None:
        return self._participants.get(participant_id)

    def keep_participant(self, participant: Any) -> None:
        self._participants[participant.id] = participant

    def forget_participant(self, participant_id: str) -> None:
        self._participants.pop(participant_id, None)
        self._versions.pop(participant_id, None)

    def cached_participants(self) -> dict[str, Any]:
        return self._participants

    async def touched(self, participant_id: str) -> None:
        """Never raises: the change is stored, so what follows must go on. Unreachable, the bump
        waits for the next operation that reaches Redis (nobody transitions meanwhile: that
        needs Redis too)."""
        try:
            await self._bump(participant_id)
        except SharedStateError as exc:
            self._untouched.add(participant_id)
            log.warning("participant %s: other processes are told to read them again once %s answers (%s)",
                        participant_id, self.url, exc)

    async def _bump(self, participant_id: str) -> None:
        key = self._k(f"ver:{participant_id}")

        async def bump() -> int:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, VERSION_SECONDS)
            return (await pipe.execute())[0]

        # This process's copy is the one just changed: it stays; the others' are now stale.
        self._versions[participant_id] = await self._do(bump)
        self._untouched.discard(participant_id)

    async def _touch_pending(self) -> None:
        for pid in list(self._untouched):
            await self._bump(pid)

    # -- counters --------------------------------------------------------------------------

    async def count(self, counter: str, key: Any = None, by: int = 1) -> int:
        return await self._do(lambda: self.redis.hincrby(self._k(f"count:{counter}"), _encode(key), by)) - by

    async def counts(self, counter: str) -> dict:
        values = await self._do(lambda: self.redis.hgetall(self._k(f"count:{counter}")))
        return {_decode(k): int(v) for k, v in values.items()}

    async def first(self, name: str) -> bool:
        return bool(await self._do(lambda: self.redis.set(self._k(f"first:{name}"), "1", nx=True)))

    # -- a Redis that restarted empty ------------------------------------------------------

    async def _restarted(self) -> None:
        """Notices a Redis that restarted empty (its ``boot`` key is new) and puts back this
        process's leases and waiting participants (see the module's docstring)."""
        if self._untouched:
            await self._touch_pending()
        seen = await self._do(lambda: self.redis.set(self._k("boot"), secrets.token_hex(8), nx=True, get=True))
        if seen is None:  # this call made the key: Redis is new (or this study is)
            seen = await self._do(lambda: self.redis.get(self._k("boot")))
        before, self._boot = self._boot, seen
        if before is None or before == seen:
            return
        log.error("the shared state at %s restarted empty: putting back this process's %d game lease(s) and %d "
                  "waiting participant(s); the counters are counted again from the database", self.url,
                  len(self._leases), len(self._waiters))
        for game_id, (owner, ttl) in list(self._leases.items()):
            await self._run("own", [self._k(f"game:{game_id}"), self._k("games")], [owner, int(ttl * 1000), game_id])
        now = time.monotonic()
        for pid, (rid, needed, timeout, since) in list(self._waiters.items()):
            await self._run("rejoin", [self._k(f"wr:{rid}"), self._k(f"wrconf:{rid}"), self._k("rooms")],
                            [pid, needed, timeout, rid, now - since])

    # -- waitrooms -------------------------------------------------------------------------

    async def join_waitroom(self, room: tuple, participant_id: str, needed: int, timeout: float) -> list[str] | None:
        rid = _encode(room)
        group = await self._run("join", [self._k(f"wr:{rid}"), self._k(f"wrconf:{rid}"), self._k("rooms")],
                                [participant_id, int(needed), float(timeout), rid])
        if group:
            for pid in group:
                self._waiters.pop(pid, None)
            return list(group)
        self._waiters.setdefault(participant_id, (rid, int(needed), float(timeout), time.monotonic()))
        return None

    async def leave_waitrooms(self, participant_id: str) -> None:
        self._waiters.pop(participant_id, None)
        await self._run("leave", [self._k("rooms")], [self.prefix, participant_id])

    async def waitroom_status(self, room: tuple, participant_id: str) -> dict:
        rid = _encode(room)
        present, needed, remaining = await self._run("status", [self._k(f"wr:{rid}"), self._k(f"wrconf:{rid}")],
                                                     [participant_id])
        return {"present": int(present), "needed": int(needed), "timeout": float(remaining)}

    async def waiting(self) -> dict[tuple, list[str]]:
        await self._restarted()

        async def read() -> tuple[list, list]:
            rooms = sorted(await self.redis.smembers(self._k("rooms")))
            pipe = self.redis.pipeline(transaction=False)
            for rid in rooms:
                pipe.zrange(self._k(f"wr:{rid}"), 0, -1)
            return rooms, await pipe.execute()

        rooms, members = await self._do(read)
        present = {pid for m in members for pid in m}
        for pid in [pid for pid in self._waiters if pid not in present]:  # grouped by another process
            del self._waiters[pid]
        return {_decode(rid): list(m) for rid, m in zip(rooms, members) if m}

    async def waitroom_timeouts(self) -> list[str]:
        await self._restarted()
        out = list(await self._run("timeouts", [self._k("rooms")], [self.prefix]))
        for pid in out:
            self._waiters.pop(pid, None)
        return out

    # -- processes -------------------------------------------------------------------------

    async def heartbeat(self, process: str, info: dict, ttl: float) -> None:
        await self._restarted()

        def write() -> Awaitable:  # a pipeline anew at each try: a failed one forgets its commands
            pipe = self.redis.pipeline(transaction=False)
            pipe.set(self._k(f"proc:{process}"), json.dumps(info), px=max(1, int(ttl * 1000)))
            pipe.sadd(self._k("procs"), process)
            return pipe.execute()

        await self._do(write)

    async def processes(self) -> dict[str, dict]:
        async def read() -> tuple[list, list]:
            names = sorted(await self.redis.smembers(self._k("procs")))
            infos = await self.redis.mget([self._k(f"proc:{n}") for n in names]) if names else []
            dead = [n for n, info in zip(names, infos) if info is None]
            if dead:
                await self.redis.srem(self._k("procs"), *dead)
            return names, infos

        names, infos = await self._do(read)
        return {n: json.loads(info) for n, info in zip(names, infos) if info is not None}

    # -- game leases -----------------------------------------------------------------------

    async def own_game(self, game_id: str, owner: str, ttl: float = LEASE_SECONDS) -> bool:
        owned = bool(await self._run("own", [self._k(f"game:{game_id}"), self._k("games")],
                                     [owner, max(1, int(ttl * 1000)), game_id]))
        if owned:
            self._leases[game_id] = (owner, ttl)
        return owned

    async def renew_games(self, owner: str, game_ids: list[str], ttl: float = LEASE_SECONDS) -> list[str]:
        await self._restarted()
        if not game_ids:
            return []
        lost = list(await self._run("renew_games", [self._k("games")],
                                    [self.prefix, owner, max(1, int(ttl * 1000)), *game_ids]))
        for game_id in lost:
            self._leases.pop(game_id, None)
        return lost

    async def game_owner(self, game_id: str) -> str | None:
        return await self._do(lambda: self.redis.get(self._k(f"game:{game_id}")))

    async def orphaned_games(self) -> list[str]:
        return sorted(await self._run("orphans", [self._k("games")], [self.prefix]))

    async def release_game(self, game_id: str) -> None:
        self._leases.pop(game_id, None)

        def write() -> Awaitable:
            pipe = self.redis.pipeline(transaction=True)
            pipe.delete(self._k(f"game:{game_id}"))
            pipe.srem(self._k("games"), game_id)
            return pipe.execute()

        await self._do(write)

    # -- step deadlines --------------------------------------------------------------------

    async def set_deadline(self, participant_id: str, index: int, at: float) -> None:
        await self._run("set_deadline", [self._k("deadlines"), self._k("deadline_index")],
                        [participant_id, repr(float(at)), int(index)])

    async def due_deadlines(self, now: float) -> list[tuple[str, int]]:
        flat = await self._run("due_deadlines", [self._k("deadlines"), self._k("deadline_index")], [repr(float(now))])
        return [(flat[i], int(flat[i + 1])) for i in range(0, len(flat), 2)]

    async def keep_draft(self, participant_id: str, index: int, answers: dict, ttl: float) -> None:
        text = json.dumps({"index": int(index), "answers": answers})
        await self._do(lambda: self.redis.set(self._k(f"draft:{participant_id}"), text, px=max(1, int(ttl * 1000))))

    async def draft(self, participant_id: str, index: int) -> dict | None:
        text = await self._do(lambda: self.redis.get(self._k(f"draft:{participant_id}")))
        kept = json.loads(text) if text else None
        return kept["answers"] if kept is not None and kept.get("index") == index else None

    # -- messages --------------------------------------------------------------------------

    async def send(self, process: str, message: dict) -> None:
        await self._run("add", [self._k(f"inbox:{process}"), self._k("message_seq")],
                        [json.dumps(message), INBOX_SECONDS, 0])

    async def broadcast(self, message: dict) -> None:
        await self._run("add", [self._k("broadcast"), self._k("message_seq")], [json.dumps(message), 0, BROADCASTS_KEPT])

    async def inbox(self, process: str) -> AsyncIterator[dict]:
        own, everyone = self._k(f"inbox:{process}"), self._k("broadcast")
        # Its own stream from the start (sent before it listened), broadcasts from now on.
        last = {own: "0", everyone: await self._last_id(everyone)}
        while not self._closed:
            try:
                batch = await self._do(lambda: self.redis.xread(last, block=1000, count=500))
            except SharedStateError as exc:  # reconnect and go on from the last id read
                if not self._closed:
                    log.error("inbox of %s: %s; retrying", process, exc)
                continue
            entries = []
            for stream, items in batch or []:
                for entry_id, fields in items:
                    entries.append((_id_order(entry_id), stream, entry_id, fields))
                    last[stream] = entry_id
            entries.sort(key=lambda e: e[0])  # one order across the two streams: that of adding (_ADD)
            read = [entry_id for _, stream, entry_id, _ in entries if stream == own]
            for _, _, _, fields in entries:
                yield json.loads(fields["m"])
            if read:
                with contextlib.suppress(SharedStateError):
                    await self._do(lambda: self.redis.xdel(own, *read))

    async def _last_id(self, stream: str) -> str:
        while not self._closed:
            try:
                newest = await self._do(lambda: self.redis.xrevrange(stream, count=1))
                return newest[0][0] if newest else "0"
            except SharedStateError as exc:
                log.error("the broadcasts cannot be read: %s; retrying", exc)
        return "0"


def _without_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, fit for a log."""
    parts = urllib.parse.urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _id_order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
