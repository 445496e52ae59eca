"""What a participant reads when the study fails on its own side: a page or survey that cannot be
shown, a game that cannot start or crashes (docs/participants.md, "When something fails").

The wording is neutral — "a technical problem on our side" — and never suggests the participant's
computer is at fault. Each failure gets a short reference code, shown to the participant and
written into the server's log beside the traceback and into the ``events`` table, so a
participant's message to the researchers leads straight to the cause.

What happens next depends on what failed:

- a game (it could not start, or stopped mid-play): the participant reads what happened and goes
  on to the next step (``Continue``); the game's outcome is ``error``;
- a page or a survey: the study cannot go on without it (it may be the consent form), so it ends
  for this participant with status ``error`` and the completion page's ``error_code`` (default:
  its ``code``), with the link back to the panel.
"""

from __future__ import annotations

import secrets

from .views import fill, markdown_html

__all__ = ["new_ref", "game_problem", "study_problem_view", "PROBLEM_TITLE"]

#: Letters and digits that cannot be misread for one another (no 0/O, 1/I/L).
_REF_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

PROBLEM_TITLE = "Sorry — a technical problem on our side"


def new_ref() -> str:
    """A short reference code for one failure (``E-7KQ3PX``): easy to read out and to find in
    the server's log."""
    return "E-" + "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))


def game_problem(ref: str, *, started: bool) -> dict:
    """The ``problem`` shown before the next step's view after a game failed: it could not start
    (``started`` False) or stopped in the middle."""
    what = ("The game stopped because of a technical problem on our side." if started
            else "The game could not be started because of a technical problem on our side.")
    return {"title": PROBLEM_TITLE, "ref": ref, "button": "Continue",
            "html": markdown_html(f"{what} It has nothing to do with your computer or your connection, and "
                                  "what you have done so far is saved.\n\nThe study continues with the next part.")}


def study_problem_view(ref: str | None, code: str | None, redirect: str | None, token: str | None) -> dict:
    """The ``problem`` view of a participant the study ended for because a page or survey failed:
    the code to report to the panel and, with the completion page's ``redirect``, the way back."""
    text = ("This part of the study could not be shown because of a technical problem on our side. It has "
            "nothing to do with your computer or your connection, and you cannot fix it by reloading.\n\n"
            "The study ends here for you. ")
    text += ("Please return to the panel with the code below: it tells the researchers that the study stopped on their side."
             if code else "Please contact the researchers and give them the reference below.")
    return {"kind": "problem", "title": PROBLEM_TITLE, "html": markdown_html(text), "ref": ref, "code": code,
            "redirect": fill(redirect, code, token) if redirect and code else None}
