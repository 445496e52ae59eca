"""What a page scene returns: :class:`Page`, :class:`Consent`, :class:`Completion`."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from .runtime.files import missing_file

__all__ = ["Page", "Consent", "Completion", "resolve_body"]

_FILE_SUFFIXES = (".md", ".html", ".txt")


def resolve_body(body: str, depth: int = 2) -> str:
    """``body`` as text: a file name ending in .md, .html or .txt is read, relative to the module
    that builds the page (the caller ``depth`` frames up); anything else is the text itself.

    Raises:
        FileNotFoundError: ``body`` names a file that does not exist (the message gives the path, and
            the files of a close name in its folder).
    """
    if not isinstance(body, str):
        raise TypeError(f"body must be text or the name of a .md/.html/.txt file, got {type(body).__name__}")
    if "\n" in body or not body.strip().endswith(_FILE_SUFFIXES):
        return body
    path = body.strip()
    if not os.path.isabs(path):
        caller = sys._getframe(depth).f_globals.get("__file__")
        base = os.path.dirname(os.path.abspath(caller)) if caller else os.getcwd()
        path = os.path.join(base, path)
    if not os.path.exists(path):
        raise FileNotFoundError(missing_file("page body file", path))
    with open(path, encoding="utf-8") as f:
        return f.read()


@dataclass
class Page:
    """A page of text with a button. ``body`` is Markdown, or a ``.md``/``.html`` file next to the module."""

    title: str = ""
    body: str = ""
    button: str = "Continue"

    def __post_init__(self):
        self.body = resolve_body(self.body, depth=3)


@dataclass
class Consent:
    """A consent form. Declining ends the study with ``decline_code`` (the panel's code for it)."""

    body: str
    decline_code: str
    title: str = "Consent"
    agree: str = "I agree"
    decline: str = "I do not agree"

    def __post_init__(self):
        self.body = resolve_body(self.body, depth=3)
        if not self.decline_code:
            raise ValueError("Consent needs a decline_code (the completion code for a participant who declines)")


@dataclass
class Completion:
    """The last page: shows the completion ``code`` and, with ``redirect``, sends the participant
    on (``{code}`` and ``{token}`` in ``redirect`` or ``body`` are filled in; ``{token}`` is a
    per-participant unguessable token the server stores for verification).

    ``timeout_code``: the code of a participant whose wait for partners timed out (default: ``code``;
    panels usually pay for the time spent waiting).

    ``error_code``: the code of a participant the study could not go on for, because a page or
    survey failed on the server (a technical problem on the study's side, docs/participants.md);
    default: ``code`` — they are not to pay for the study's bug.

    ``screening_code``: the code of a participant a screening step (``@mk.screen``) turned away;
    ``exclusion_code``: of one excluded during the study (a hidden tab, idle, a bad connection, the
    researcher's decision; docs/screening.md). Default None: they are shown no code and asked to
    return the study on their panel."""

    code: str
    redirect: str | None = None
    title: str = "Thank you"
    body: str = "You have finished the study. Your completion code is **{code}**."
    extra: dict = field(default_factory=dict)
    timeout_code: str | None = None
    error_code: str | None = None
    screening_code: str | None = None
    exclusion_code: str | None = None

    def __post_init__(self):
        self.body = resolve_body(self.body, depth=3)
        if not self.code:
            raise ValueError("Completion needs a code (the study's completion code on the panel)")
