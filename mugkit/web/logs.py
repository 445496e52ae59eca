"""The server's log: plain lines for people, or JSON lines for a log collector.

``mugkit serve --log-format json`` (or ``MUGKIT_LOG_FORMAT=json``) writes one JSON object per
line to stderr: ``t`` (ISO 8601, UTC), ``level``, ``logger``, ``msg`` (the message with its
arguments filled in), and when known ``participant`` and ``game`` (ids), ``process`` (with
several server processes) and ``exc`` (a traceback). The ids come from the record's ``extra``
(``log.info(..., extra={"participant": pid})``), else from the context of the task that logged:
the socket layer notes the participant whose message it handles, and a server game's clock its
game, in :data:`PARTICIPANT` and :data:`GAME`.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import os
import sys
from typing import Any

__all__ = ["PARTICIPANT", "GAME", "JsonFormatter", "configure_logging", "LOG_FORMATS", "log_format"]

#: The participant whose message the current task handles (None: none).
PARTICIPANT: contextvars.ContextVar[str | None] = contextvars.ContextVar("mugkit_participant", default=None)
#: The game the current task plays or handles (None: none).
GAME: contextvars.ContextVar[str | None] = contextvars.ContextVar("mugkit_game", default=None)

#: ``--log-format`` values.
LOG_FORMATS = ("text", "json")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring).

    Args:
        process: this server process's id, added to every line (None: left out).
    """

    def __init__(self, process: str | None = None):
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "t": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key, var in (("participant", PARTICIPANT), ("game", GAME)):
            value = getattr(record, key, None) or var.get()
            if value is not None:
                out[key] = str(value)
        if self.process is not None:
            out["process"] = self.process
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.stack_info:
            out["exc"] = self.formatStack(record.stack_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def log_format(given: str | None) -> str:
    """``--log-format``, else ``$MUGKIT_LOG_FORMAT``, else ``text``.

    Raises:
        ValueError: a value that is neither (says which are).
    """
    value = (given or os.environ.get("MUGKIT_LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        where = "--log-format" if given else "MUGKIT_LOG_FORMAT"
        raise ValueError(f"{where} {value!r}: use one of {', '.join(LOG_FORMATS)}")
    return value


def configure_logging(fmt: str = "text", level: int = logging.INFO, process: str | None = None,
                      stream: Any = None) -> None:
    """The root logger writes to ``stream`` (stderr) in ``fmt`` (``text`` or ``json``)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(process) if fmt == "json" else logging.Formatter(_TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
