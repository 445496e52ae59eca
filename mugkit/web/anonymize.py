"""``mugkit data export --anonymize``: the tables without what identifies a participant to
anyone outside the study (docs/data.md#anonymized-exports).

- Panel ids — Prolific's ``PROLIFIC_PID`` and ``SESSION_ID``, MTurk's ``workerId`` and
  ``assignmentId`` — become *pseudonyms*: HMAC-SHA256 of the id keyed with a salt, as 16 hex
  digits. The same id gives the same pseudonym in every column and table (``prolific_pid`` and
  ``params["PROLIFIC_PID"]`` agree), and in every export made with the same salt.
- Every other URL parameter's value becomes a pseudonym too, except the study-wide ones
  (:data:`STUDY_PARAMS`: the same for every participant): mugkit cannot tell whether a
  parameter of the researcher's own (``?email=``) names a person. Equal values still get equal
  pseudonyms, so a parameter can still be grouped by.
- User agents (``participants.user_agent``, ``user_agent`` in events' ``detail``) and the
  completion ``token`` are left out.
- Inside texts — events' ``detail`` (an error message quoting the participant) and answers (a
  panel id typed into a text box) — every such id or value of six characters or more is replaced
  by its pseudonym.

The salt is kept in the data folder (:data:`SALT_FILENAME`, made at the first anonymized export)
or given with ``--salt``; it is never exported. Whoever has the salt and a panel id can tell
whether that person is in the data, so keep the salt as private as the data folder itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Any

__all__ = ["anonymize", "pseudonym", "folder_salt", "SALT_FILENAME", "PANEL_COLUMNS", "STUDY_PARAMS",
           "DROPPED"]

#: The file in a data folder that holds the salt of its anonymized exports.
SALT_FILENAME = "mugkit-export-salt"

#: ``participants`` columns holding an id of a person (or of their attempt) on a panel, and the
#: URL parameter each comes from.
PANEL_COLUMNS = {"prolific_pid": "PROLIFIC_PID", "session_id": "SESSION_ID", "worker_id": "workerId",
                 "assignment_id": "assignmentId"}

#: URL parameters that are the same for every participant of a study (the study, the HIT, where
#: MTurk takes the completion): kept as they are, like their columns.
STUDY_PARAMS = frozenset({"STUDY_ID", "hitId", "turkSubmitTo"})

#: Columns left out of an anonymized export, per table.
DROPPED = {"participants": ("token", "user_agent")}


def pseudonym(value: str, salt: str) -> str:
    """The pseudonym of ``value`` under ``salt``: 16 hex digits of HMAC-SHA256, the same for the
    same value and salt. Use it to join other files (a panel's demographics) to an anonymized
    export: ``their_ids.map(lambda v: pseudonym(v, salt))``."""
    return hmac.new(salt.encode("utf-8"), str(value).encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def folder_salt(directory: str | os.PathLike) -> str:
    """The salt of a data folder's anonymized exports, from its :data:`SALT_FILENAME`; made (256
    random bits, readable by the owner only) when the folder has none.

    Raises:
        OSError: the file cannot be read or made; the message says to give ``--salt``.
    """
    path = os.path.join(os.fspath(directory), SALT_FILENAME)
    try:
        with open(path, encoding="utf-8") as f:
            salt = f.read().strip()
        if salt:
            return salt
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise OSError(f"cannot read the salt in {path} ({exc.strerror}); give one with --salt") from None
    salt = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(salt + "\n")
    except FileExistsError:  # another export made it just now: use theirs
        return folder_salt(directory)
    except OSError as exc:
        raise OSError(f"cannot keep a salt in {path} ({exc.strerror}); give one with --salt") from None
    return salt


def anonymize(tables: dict[str, dict[str, list]], salt: str) -> dict[str, dict[str, list]]:
    """``tables`` (``{table: {column: values}}``, as :func:`mugkit.data.read_columns` gives them)
    with panel ids and URL parameters as pseudonyms and without user agents and tokens."""
    if not isinstance(salt, str) or not salt:
        raise ValueError("the salt must be a non-empty string")
    scrub = _scrubber(tables.get("participants", {}), salt)
    out = {}
    for table, columns in tables.items():
        columns = {name: values for name, values in columns.items() if name not in DROPPED.get(table, ())}
        if table == "participants":
            for name in PANEL_COLUMNS:
                if name in columns:
                    columns[name] = [_hashed(v, salt) for v in columns[name]]
            if "params" in columns:
                columns["params"] = [_params(p, salt) for p in columns["params"]]
        if table == "events" and "detail" in columns:
            columns["detail"] = [scrub(_event_detail(d, salt)) for d in columns["detail"]]
        if table == "answers" and "value" in columns:
            columns["value"] = [scrub(v) for v in columns["value"]]
        out[table] = columns
    return out


#: Shorter identifying values are not searched for inside texts (they would match by chance).
MIN_SCRUBBED = 6


def _scrubber(participants: dict[str, list], salt: str):
    """A function that replaces, inside texts (an error message quoting the participant, a panel
    id typed into a text answer), every identifying value of the participants table — panel ids
    and URL parameters' values — with its pseudonym; nested lists and dicts are searched too."""
    raw = {str(v) for name in PANEL_COLUMNS for v in participants.get(name, ()) if v is not None}
    for params in participants.get("params", ()):
        if isinstance(params, dict):
            raw |= {str(v) for k, v in params.items() if k not in STUDY_PARAMS and v is not None}
    # Longest first (an id inside a longer value is replaced as part of it); each hashed once.
    found = [(v, pseudonym(v, salt)) for v in sorted((v for v in raw if len(v) >= MIN_SCRUBBED), key=len, reverse=True)]

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            for v, alias in found:
                if v in value:
                    value = value.replace(v, alias)
            return value
        if isinstance(value, dict):
            return {k: scrub(x) for k, x in value.items()}
        if isinstance(value, (list, tuple)):
            return [scrub(x) for x in value]
        return value

    return scrub


def _hashed(value: Any, salt: str) -> Any:
    return None if value is None else pseudonym(value, salt)


def _params(params: Any, salt: str) -> Any:
    if not isinstance(params, dict):
        return params
    return {name: value if name in STUDY_PARAMS else _hashed(value, salt) for name, value in params.items()}


def _event_detail(detail: Any, salt: str) -> Any:
    """An event's detail without the user agent, its panel ``attempt`` id as a pseudonym."""
    if not isinstance(detail, dict):
        return detail
    detail = {k: v for k, v in detail.items() if k != "user_agent"}
    if "attempt" in detail:
        detail["attempt"] = _hashed(detail["attempt"], salt)
    return detail
