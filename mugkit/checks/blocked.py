"""One mistake, one failure: which checks a step's setup failure makes pointless.

A game step that does not build (a key outside the action space, a policy that does not load, a
step function that raises) would fail every one of its checks with the same sentence, and a
``keys=`` dict shared by several steps would fail all of theirs. The ``contract`` check of the
first step with that error reports it; the others are skipped, pointing to it. A browser step
whose experiment does not import without server-only packages (``contract``'s
``[browser_import]``) cannot pass ``parity`` either: it is skipped too.

Only when that ``contract`` item runs in the same session: with ``-k determinism`` alone, the
determinism check fails with the error itself, so nothing is silently skipped.
"""

from __future__ import annotations

from typing import Any, Callable

from ..steps import GameStep, Step, StepError

__all__ = ["build_error", "blocked_by"]


def build_error(step: Step, build: Callable[[], Any]) -> str | None:
    """The error of building ``step`` (``build()`` raises :class:`StepError`) without its
    ``file:line: name:`` prefix, so that the same mistake in two steps reads the same; None when it
    builds (or is not a game step)."""
    if not isinstance(step, GameStep):
        return None
    try:
        build()
    except StepError as exc:
        text, prefix = str(exc), f"{step.location()}: {step.name}: "
        return text[len(prefix):] if text.startswith(prefix) else text
    except Exception:  # not a setup error: the check itself reports it
        return None
    return None


def blocked_by(check: str, step: Step, steps: list[Step], errors: Callable[[Step], str | None],
               selected: Callable[[Step, str], bool], contract_failed: Callable[[Step], str | None]) -> str | None:
    """The ``contract`` item (its step) whose failure makes check ``check`` of ``step`` pointless,
    or None when the check should run.

    Args:
        steps: the experiment's steps, in order (the first step with an error reports it).
        errors: a step's :func:`build_error`.
        selected: whether the item ``(step, check name)`` runs in this session.
        contract_failed: the named part (``build``, ``browser_import`` …) of a step's ``contract``
            failure in this session so far, or None.
    """
    error = errors(step)
    if error is None:
        if check == "parity" and contract_failed(step) == "browser_import" and selected(step, "contract"):
            return step.name
        return None
    owner = next((s for s in steps if s is step or (errors(s) == error and selected(s, "contract"))), step)
    if owner is step and (check == "contract" or not selected(step, "contract")):
        return None
    return owner.name
