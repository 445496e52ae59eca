"""The participant registry: who takes part, where in their flow they are, and one transition at
a time.

Every change of a participant's place — leaving a step, a game starting or ending, a status — is
made by :class:`Registry` and stored before anything is acknowledged. Each runs inside
:meth:`Registry.transition`, held by one task at a time per participant, and the caller checks,
inside it, that the message still belongs to the step the participant is at: a message sent twice,
late, or at the same time as another never moves anyone twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator

from ..games import Participant as Who
from .logs import PARTICIPANT
from .plugins import participant_info
from .shared import SharedState

__all__ = ["Participant", "Registry", "FINISHED", "EXCLUDED"]

log = logging.getLogger("mugkit.study")

#: The statuses of a participant who will not go on.
FINISHED = ("completed", "declined", "timed_out", "screened_out", "excluded", "error")
#: Of those, the statuses that say the participant was turned away, with a reason.
EXCLUDED = ("screened_out", "excluded")


@dataclass
class Participant:
    """One participant, as the server holds them while they take part (their row in storage)."""

    id: str
    experiment: str
    token: str
    flow: list                   # [step name, repetition] per visit, in order
    index: int = 0               # where in the flow they are
    status: str = "active"
    condition: Any = None
    params: dict = field(default_factory=dict)
    outcome_code: str | None = None
    game: str | None = None      # the game they are in (its id), if any
    row: dict = field(default_factory=dict)
    device: int = 0              # how often they moved to another browser (their resume key changes each time)
    screens: bool = False        # their page shows the screens around games (ready, countdown): not stored

    @classmethod
    def from_row(cls, row: dict) -> "Participant":
        position = row.get("position") or {}
        return cls(row["participant_id"], row["experiment"], row["token"], row.get("flow") or [],
                   position.get("index", 0), row.get("status") or "active", row.get("condition"),
                   row.get("params") or {}, row.get("outcome_code"), position.get("game"), row,
                   position.get("device", 0))

    def who(self) -> Who:
        """The participant as step functions get them (``participant`` / ``group``)."""
        return Who(self.id, dict(self.params), self.condition)

    def stamp(self) -> float:
        """Notes that this copy changes now (its ``updated_at``, as stored with the change)."""
        self.row["updated_at"] = now = time.time()
        return now

    def newer(self, row: dict) -> bool:
        """Whether stored ``row`` holds a later change than this copy (made by another process)."""
        return (row.get("updated_at") or 0) > (self.row.get("updated_at") or 0)

    def position(self) -> dict:
        """Their place, as stored (``participants.position``)."""
        return {"index": self.index, "game": self.game, "device": self.device}


class Registry:
    """The participants of a study: found, created, moved — one transition at a time.

    Args:
        storage: the study's storage.
        state: the state shared between server processes (transitions, the participants' cache).
        secret: the secret resume keys are derived from.
    """

    def __init__(self, storage: Any, state: SharedState, secret: bytes):
        self.storage = storage
        self.state = state
        self._secret = secret
        #: The server's plugins (mugkit/web/plugins.py), or None.
        self.plugins: Any = None

    # -- finding ---------------------------------------------------------------------------

    async def get(self, participant_id: Any) -> Participant | None:
        """The participant ``participant_id`` (cached, else read from storage), or None."""
        if not isinstance(participant_id, str):
            return None
        p = self.state.participant(participant_id)
        if p is None:
            row = await self.storage.get_participant(participant_id)
            if row is None:
                return None
            p = Participant.from_row(row)
            self.state.keep_participant(p)
        return p

    async def resumed(self, experiment: str, participant_id: Any, resume: Any) -> Participant | None:
        """The participant a browser names with its resume key, when the key is theirs (of their
        current device)."""
        if not isinstance(participant_id, str) or not isinstance(resume, str) or len(resume) > 64:
            return None
        p = await self.get(participant_id)
        ok = p is not None and p.experiment == experiment and hmac.compare_digest(resume, self.resume_key(p))
        return p if ok else None

    def resume_key(self, p: Participant) -> str:
        """What a browser shows to resume participant ``p`` after a reload. Derived from a secret
        kept in the database and from ``p``'s device number, so a move to another browser makes
        the old one's key worthless. Unlike the completion ``{token}`` it is never sent to a panel."""
        message = p.id.encode() if p.device == 0 else f"{p.id}#{p.device}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    async def add(self, p: Participant, row: dict) -> None:
        """A new participant (``row``: their ``participants`` columns)."""
        await self.storage.add_participant(row)
        self.state.keep_participant(p)

    # -- moving ----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def transition(self, p: Participant) -> AsyncIterator[None]:
        """Held while a message changes ``p``'s place: one at a time per participant. Inside it
        ``p`` is up to date: a copy that is not the cached one (the participant was dropped from
        memory and read again meanwhile, or the shared state dropped it because another process
        moved them) is first read again from storage, where every earlier transition has been
        written."""
        named = PARTICIPANT.set(p.id)  # the log lines inside name them (mugkit/web/logs.py)
        try:
            async with self.state.transition(f"p:{p.id}"):
                if self.state.participant(p.id) is not p:
                    row = await self.storage.get_participant(p.id)
                    if row is not None:
                        screens = p.screens  # a property of the page this copy serves, not stored
                        vars(p).update(vars(Participant.from_row(row)))
                        p.screens = screens
                    self.state.keep_participant(p)
                yield
        finally:
            with contextlib.suppress(ValueError):  # closed from another context: nothing to restore there
                PARTICIPANT.reset(named)

    def forget(self, p: Participant) -> None:
        """Drops ``p`` from memory (they have no window open; storage keeps them)."""
        self.state.forget_participant(p.id)

    async def move(self, p: Participant, index: int, game: str | None = None) -> None:
        """``p`` is now at step ``index`` (in game ``game``)."""
        moved = index != p.index
        p.index, p.game = index, game
        await self.storage.update_participant(p.id, position=p.position(), updated_at=p.stamp())
        await self.state.touched(p.id)  # a partner's transition moves them too: other processes read them again
        if moved:
            step = p.flow[index][0] if index < len(p.flow) else None
            self.hook("mugkit_participant_moved", participant=participant_info(p), step=step, index=index)

    async def new_device(self, p: Participant) -> None:
        """``p`` moved to another browser: their resume key changes."""
        p.device += 1
        await self.storage.update_participant(p.id, position=p.position(), updated_at=p.stamp())
        await self.state.touched(p.id)

    async def set_status(self, p: Participant, status: str, code: str | None, reason: str | None = None,
                         reason_text: str | None = None) -> None:
        """``p`` finished (``completed``, ``declined``, ``timed_out``, ``screened_out``,
        ``excluded``, ``error``) with ``code``; ``reason`` (a short key) and ``reason_text`` (what
        they read) say why, for a participant screened out or excluded."""
        if p.status == status:
            return
        p.status, p.outcome_code = status, code
        p.row["reason"], p.row["reason_text"] = reason, reason_text
        now = p.stamp()
        await self.storage.update_participant(p.id, status=status, outcome_code=code, finished_at=now, updated_at=now,
                                              reason=reason, reason_text=reason_text)
        await self.state.touched(p.id)
        log.info("participant %s: %s (code %s%s)", p.id, status, code, f", reason {reason}" if reason else "")
        self.hook("mugkit_participant_finished", participant=participant_info(p), status=status, code=code)

    def hook(self, name: str, **kwargs: Any) -> None:
        """Calls the plugins' hook ``name`` (mugkit/web/plugins.py), when there are plugins."""
        if self.plugins is not None:
            self.plugins.call(name, **kwargs)
