"""Who arrives: panel ids from the study link, and the ids and tokens the server makes.

Prolific sends ``PROLIFIC_PID``, ``STUDY_ID`` and ``SESSION_ID``; MTurk sends ``workerId``,
``assignmentId``, ``hitId`` and ``turkSubmitTo`` (and ``assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE``
while a worker only previews the HIT: nothing starts then). Anyone else gets a fresh id.

Panel ids are normalised (spaces, invisible characters and case do not make another person) and
checked against the panel's format: a Prolific id is 24 hexadecimal digits, an MTurk worker id
upper-case letters and digits starting with ``A``. A link with a malformed id, or with the ids of
both panels, starts nothing.
The panel's per-attempt id — Prolific's ``SESSION_ID``, MTurk's ``assignmentId`` — is what lets
a person who moved to another browser take their place back (:mod:`mugkit.web.flow`): a panel
id alone is public enough (researchers and other participants see it) never to be a key.

``turkSubmitTo`` says where the completion form is POSTed, so a crafted link could send a
worker's completion code to any host: only MTurk's own two origins are accepted
(:func:`mturk_submit_to`, an exact match of scheme and host). Any other value stays in ``params``
(what the link said, for the record) but never becomes the ``turk_submit_to`` column or a submit
target.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Entry", "parse_entry", "normalise_id", "prolific_like", "new_id", "new_token", "mturk_submit_to",
           "MTURK_PREVIEW", "MTURK_SUBMIT_TO", "MAX_PARAM_LENGTH"]

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
#: Per panel: the parameter naming the person, its column, its format, the case it is kept in,
#: and the parameter naming this attempt (what a move to another browser must show).
_PANELS = {
    "prolific": ("PROLIFIC_PID", "prolific_pid", re.compile(r"[0-9a-f]{24}"), str.lower, "SESSION_ID"),
    "mturk": ("workerId", "worker_id", re.compile(r"A[0-9A-Z]{9,31}"), str.upper, "assignmentId"),
}
_FORMATS = {"prolific": "24 characters 0-9 and a-f", "mturk": "capital letters and digits starting with A"}


@dataclass(frozen=True)
class Entry:
    """The study link's parameters, read.

    Attributes:
        params: every parameter (strings, cut to :data:`MAX_PARAM_LENGTH`).
        panel: ``"prolific"``, ``"mturk"`` or None.
        panel_key, panel_id: the column and value that identify the person on their panel
            (``"prolific_pid"``/``"worker_id"``), or None.
        preview: an MTurk preview: show the task, start nothing.
        invalid: why the link's panel id is malformed (nothing starts), or None.
        attempt: the panel's id of this attempt (Prolific's ``SESSION_ID``, MTurk's
            ``assignmentId``), normalised, or None.
    """

    params: dict = field(default_factory=dict)
    panel: str | None = None
    panel_key: str | None = None
    panel_id: str | None = None
    preview: bool = False
    invalid: str | None = None
    attempt: str | None = None

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
    if params.get("assignmentId") == MTURK_PREVIEW and not params.get("PROLIFIC_PID"):
        return Entry(params, "mturk", None, None, preview=True)
    if params.get("turkSubmitTo") and mturk_submit_to(params["turkSubmitTo"]) is None:
        log.warning("turkSubmitTo %r is not MTurk's: kept in params, never used as the submit target",
                    params["turkSubmitTo"][:80])
    named = [name for name, *_ in _PANELS.values() if name in params]
    if len(named) > 1:
        # One person, one panel: a second panel's id would be stored unchecked next to the first
        # (someone else's worker id, say, in the data a researcher pays or deduplicates by).
        return Entry(params, invalid=f"the link has ids of two panels ({' and '.join(named)}); open the link "
                                     f"your panel gave you")
    for panel, (name, column, pattern, case, attempt) in _PANELS.items():
        if name not in params:
            continue
        raw = params[name]
        value = case(normalise_id(raw))
        if not pattern.fullmatch(value):
            return Entry(params, panel, invalid=f"{name} {raw[:40]!r} is not a valid id ({_FORMATS[panel]})")
        params[name] = value  # stored as normalised: one person, one spelling
        return Entry(params, panel, column, value, attempt=normalise_id(params.get(attempt, "")) or None)
    return Entry(params)


def normalise_id(value: str) -> str:
    """``value`` without surrounding spaces and invisible characters (zero-width spaces, joiners,
    direction marks), in Unicode's compatibility form: what a copy-paste or a crafted link adds
    to an id without changing what a person reads."""
    value = unicodedata.normalize("NFKC", value)
    return "".join(c for c in value if unicodedata.category(c) not in ("Cf", "Cc", "Zs", "Zl", "Zp")).strip()


def prolific_like(text: str) -> str:
    """A well-formed Prolific id made from ``text`` (24 hexadecimal digits; the same text gives
    the same id): for load-test bots, tests and demonstrations."""
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()[:24]


def new_id() -> str:
    """A fresh participant or game id: 12 URL-safe characters."""
    return secrets.token_urlsafe(9)


def new_token() -> str:
    """An unguessable per-participant token (completion verification, resuming)."""
    return secrets.token_urlsafe(18)
