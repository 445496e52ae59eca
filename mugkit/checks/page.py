"""``page``: a page scene builds: it returns an ``mk.Page``, ``mk.Consent`` or ``mk.Completion``
whose files exist, and a completion's redirect is a web address with only the placeholders
mugkit fills (``{code}``, ``{token}``)."""

from __future__ import annotations

import os
import re
import string

from ..pages import Completion, Consent, Page
from .base import CheckContext, call_step
from .report import CheckFailure

__all__ = ["check_page", "PLACEHOLDERS"]

#: What mugkit fills in a completion's redirect and body.
PLACEHOLDERS = ("code", "token")


def _placeholders(text: str) -> list[str]:
    try:
        return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:  # an unmatched brace
        return [f"<{exc}>"]


def check_page(ctx: CheckContext) -> None:
    """Raises :class:`CheckFailure` saying what is wrong with the page scene."""
    for page in call_step(ctx, "page scene"):
        _check_one(ctx, page)


def _check_one(ctx: CheckContext, page) -> None:
    step = ctx.step
    if not isinstance(page, (Page, Consent, Completion)):
        raise CheckFailure(ctx.nodeid, f"{step.location()}: a page scene must return mk.Page, mk.Consent or "
                           f"mk.Completion, got {type(page).__name__}"
                           + (": did you forget `return`?" if page is None else ""))
    if isinstance(page, Completion) and getattr(step, "timeout", None) is not None:
        raise CheckFailure(ctx.nodeid, f"{step.location()}: a completion page with timeout={step.timeout:g}: the "
                           f"participant has finished there, so nothing would happen; remove the timeout")
    if isinstance(page, Completion):
        for where, text in (("redirect", page.redirect or ""), ("body", page.body)):
            unknown = [p for p in _placeholders(text) if p not in PLACEHOLDERS]
            if unknown:
                raise CheckFailure(ctx.nodeid, f"{step.location()}: the completion {where} has placeholder(s) "
                                   f"{unknown}; mugkit fills only {{code}} and {{token}}")
        if page.redirect and not page.redirect.startswith(("https://", "http://")):
            raise CheckFailure(ctx.nodeid, f"{step.location()}: the completion redirect {page.redirect!r} is not "
                               f"a web address (https://…)")
    _render(ctx, page)


def _render(ctx: CheckContext, page) -> None:
    """Renders the page as the server sends it to the participant's page (Markdown to HTML)."""
    from ..paths import passes_through_user_code
    from ..web.views import page_view

    try:
        view = page_view(page, token="check-token")
    except Exception as exc:
        if not passes_through_user_code(exc):
            raise  # mugkit's own bug: shown with its traceback
        raise CheckFailure(ctx.nodeid, f"{ctx.step.location()}: the page does not render: "
                           f"{type(exc).__name__}: {exc}") from None
    _check_files(ctx, view.get("html") or "")


#: ``src="…"`` and ``poster="…"`` in the page's HTML: images, audio and video it loads.
_SOURCES = re.compile(r'\b(?:src|poster)="([^"]*)"')


def _check_files(ctx: CheckContext, html: str) -> None:
    """Every image or media file the page loads from the experiment's folder (``files/…`` or
    ``/<experiment>/files/…``, as the server serves them) is there."""
    from html import unescape

    from ..runtime.files import did_you_mean

    folder = os.path.dirname(os.path.abspath(ctx.experiment.path))
    for source in _SOURCES.findall(html):
        url = unescape(source).split("?")[0].split("#")[0]
        for prefix in ("files/", "./files/", f"/{ctx.experiment.name}/files/"):
            if url.startswith(prefix):
                path = os.path.join(folder, *url[len(prefix):].split("/"))
                if not os.path.isfile(path):
                    raise CheckFailure(ctx.nodeid, f"{ctx.step.location()}: the page loads {url}, but there is "
                                       f"no file {path}{did_you_mean(path)}; files/… is served from the "
                                       f"experiment's folder, {folder}")
