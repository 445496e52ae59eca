"""Who arrives: panel ids from the study link, and the ids and tokens the server makes.

Prolific sends ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID``; MTurk sends ``workerId``,
``assignmentId``, ``hitId`` and ``turkSubmitTo`` (and ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``
while a worker only previews the HIT: nothing starts then). Anyone else gets a fresh id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

__all__ = ["Entry", "parse_entry", "new_id", "new_token", "MTURK_PREVIEW", "MAX_PARAM_LENGTH"]

MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
#: Longest URL parameter kept (longer ones are cut: ids on both panels are short).
MAX_PARAM_LENGTH = 256
#: Most URL parameters kept.
MAX_PARAMS = 50

_COLUMNS = {"PROLIFIC_PID": "prolific_pid", "STUDY_ID": "study_id", "SESSION_ID": "session_id",
            "workerId": "worker_id", "assignmentId": "assignment_id", "hitId": "hit_id",
            "turkSubmitTo": "turk_submit_to"}


@dataclass(frozen=True)
class Entry:
    """The study link's parameters, read.

    Attributes:
        params: every parameter (strings, cut to :data:`MAX_PARAM_LENGTH`).
        panel: ``"prolific"``, ``"mturk"`` or None.
        panel_key, panel_id: the column and value that identify the person on their panel
            (``"prolific_pid"``/``"worker_id"``), or None.
        preview: an MTurk preview: show the task, start nothing.
    """

    params: dict = field(default_factory=dict)
    panel: str | None = None
    panel_key: str | None = None
    panel_id: str | None = None
    preview: bool = False

    def columns(self) -> dict:
        """The ``participants`` columns these parameters fill."""
        return {column: self.params[name] for name, column in _COLUMNS.items() if self.params.get(name)}


def parse_entry(query: object) -> Entry:
    """The :class:`Entry` of a query (a dict of strings; anything else counts as no parameters)."""
    if not isinstance(query, dict):
        query = {}
    params = {str(k)[:MAX_PARAM_LENGTH]: str(v)[:MAX_PARAM_LENGTH] for k, v in list(query.items())[:MAX_PARAMS]
              if isinstance(k, str) and isinstance(v, (str, int))}
    if params.get("PROLIFIC_PID"):
        return Entry(params, "prolific", "prolific_pid", params["PROLIFIC_PID"])
    if params.get("assignmentId") == MTURK_PREVIEW:
        return Entry(params, "mturk", None, None, preview=True)
    if params.get("workerId"):
        return Entry(params, "mturk", "worker_id", params["workerId"])
    return Entry(params)


def new_id() -> str:
    """A fresh participant or game id: 12 URL-safe characters."""
    return secrets.token_urlsafe(9)


def new_token() -> str:
    """An unguessable per-participant token (completion verification, resuming)."""
    return secrets.token_urlsafe(18)
