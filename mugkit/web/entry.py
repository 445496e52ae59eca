"""Who arrives: panel ids from the study link, and the ids and tokens the server makes.

Prolific sends ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID``; MTurk sends ``workerId``,
``assignmentId``, ``hitId`` and ``turkSubmitTo`` (and ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``
while a worker only previews the HIT: nothing starts then). Anyone else gets a fresh id.

``turkSubmitTo`` says where the completion form is POSTed, so a crafted link could send a
worker's completion code to any host: only MTurk's own two origins are accepted
(:func:`mturk_submit_to`, an exact match of scheme and host). Any other value stays in ``params``
(what the link said, for the record) but never becomes the ``turk_submit_to`` column or a submit
target.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Entry", "parse_entry", "new_id", "new_token", "mturk_submit_to", "MTURK_PREVIEW", "MTURK_SUBMIT_TO",
           "MAX_PARAM_LENGTH"]

log = logging.getLogger("mugkit.entry")

MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
#: The only ``turkSubmitTo`` values accepted: MTurk's live site and its sandbox.
MTURK_SUBMIT_TO = ("https://www.mturk.com", "https://workersandbox.mturk.com")
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
        columns = {column: self.params[name] for name, column in _COLUMNS.items() if self.params.get(name)}
        if "turk_submit_to" in columns:
            submit_to = mturk_submit_to(columns.pop("turk_submit_to"))
            columns.update({"turk_submit_to": submit_to} if submit_to else {})
        return columns


def mturk_submit_to(value: object) -> str | None:
    """The MTurk origin ``value`` names (``https://www.mturk.com`` or
    ``https://workersandbox.mturk.com``), or None for anything else: another scheme, host or port,
    a user name, a path other than ``/``, a query or a fragment.

    Example:
        >>> mturk_submit_to("https://workersandbox.mturk.com/"), mturk_submit_to("https://evil.example")
        ('https://workersandbox.mturk.com', None)
    """
    if not isinstance(value, str):
        return None
    try:
        url = urlsplit(value.strip())
        port = url.port
    except ValueError:
        return None
    origin = f"{url.scheme}://{url.netloc}".lower()
    exact = port is None and url.path in ("", "/") and not url.query and not url.fragment
    return origin if exact and origin in MTURK_SUBMIT_TO else None


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
    if params.get("turkSubmitTo") and mturk_submit_to(params["turkSubmitTo"]) is None:
        log.warning("turkSubmitTo %r is not MTurk's: kept in params, never used as the submit target",
                    params["turkSubmitTo"][:80])
    if params.get("workerId"):
        return Entry(params, "mturk", "worker_id", params["workerId"])
    return Entry(params)


def new_id() -> str:
    """A fresh participant or game id: 12 URL-safe characters."""
    return secrets.token_urlsafe(9)


def new_token() -> str:
    """An unguessable per-participant token (completion verification, resuming)."""
    return secrets.token_urlsafe(18)
