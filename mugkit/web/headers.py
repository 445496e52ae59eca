"""Security headers on every HTTP response: a Content-Security-Policy, ``nosniff``, and
``no-store`` on the admin pages.

The policy lets the participant's page do what it does and nothing more: scripts only from this
server (never inline, so injected markup cannot run script), WebAssembly for Pyodide and
onnxruntime-web (``'wasm-unsafe-eval'``), workers from this server, fetches from this server and
from where browsers load Pyodide's packages (``--pyodide-packages``, which may be another
origin), inline styles (SurveyJS sets them), and forms posted only to this server or MTurk. Pages
may be framed by this server and by MTurk (a HIT shows the study in a frame), nobody else.

Browsers report what the policy blocked to ``POST /csp-report``; the server logs it (a warning
starting ``content security policy blocked``), so a researcher sees when a page of theirs needs
something the policy does not allow, and the browser tests fail on any such line.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

__all__ = ["content_security_policy", "add_security_headers", "MTURK_FRAMERS", "REPORT_PATH", "BLOCKED"]

log = logging.getLogger("mugkit.csp")

#: Where browsers send reports of what the policy blocked.
REPORT_PATH = "/csp-report"
#: How every logged report starts (tests look for it).
BLOCKED = "content security policy blocked"
#: Reports logged per server process (a page could send them in a loop).
MAX_REPORTS_LOGGED = 100

#: Who may show mugkit's pages in a frame, besides the server itself: MTurk (and its sandbox).
MTURK_FRAMERS = ("https://*.mturk.com", "https://workersandbox.mturk.com")
#: Where a completion form may be POSTed (entry.py accepts only these two as ``turkSubmitTo``;
#: ``*.mturk.com`` because MTurk may redirect the POST within its own site).
MTURK_FORMS = ("https://www.mturk.com", "https://workersandbox.mturk.com", "https://*.mturk.com")


def _origin(url: str | None) -> str | None:
    """The origin of an absolute http(s) URL, or None (a path on this server, or nothing)."""
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def content_security_policy(packages_url: str | None = None) -> str:
    """The Content-Security-Policy of every response; ``packages_url`` is where browsers load
    Pyodide's packages from (its origin is allowed to be fetched and to serve scripts)."""
    packages = [o] if (o := _origin(packages_url)) else []
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "'wasm-unsafe-eval'", *packages],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'", *packages],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "data:", "blob:"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'", *MTURK_FORMS],
        "frame-ancestors": ["'self'", *MTURK_FRAMERS],
        "report-uri": [REPORT_PATH],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def add_security_headers(app: Any, packages_url: str | None = None) -> None:
    """Registers a response middleware on the Sanic ``app`` that adds the headers to every
    response (pages, files, errors): the policy, ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy: no-referrer``, and ``Cache-Control: no-store`` under ``/admin`` and on ``/metrics``."""
    policy = content_security_policy(packages_url)

    async def security_headers(request: Any, response: Any) -> None:
        headers = response.headers
        headers["content-security-policy"] = policy
        headers["x-content-type-options"] = "nosniff"
        headers["referrer-policy"] = "no-referrer"
        if request.path in ("/admin", "/metrics") or request.path.startswith("/admin/"):
            headers["cache-control"] = "no-store"

    app.register_middleware(security_headers, "response")
    app.add_route(_csp_report(), REPORT_PATH, methods=["POST"], name="csp_report")


def _csp_report():
    logged = 0

    async def csp_report(request: Any) -> Any:
        from sanic import response

        nonlocal logged
        logged += 1
        if logged <= MAX_REPORTS_LOGGED:
            log.warning("%s: %s%s", BLOCKED, _describe(request.body[:4000]),
                        "" if logged < MAX_REPORTS_LOGGED else " (no more reports are logged until a restart)")
        return response.empty(status=204)

    return csp_report


def _describe(body: bytes) -> str:
    """A one-line summary of a ``application/csp-report`` body (or its raw start)."""
    try:
        report = json.loads(body).get("csp-report", {})
        text = (f"{str(report.get('blocked-uri', '?'))[:200]} ({str(report.get('violated-directive', '?'))[:100]}) "
                f"on {str(report.get('document-uri', '?'))[:200]}")
    except (ValueError, AttributeError):
        return repr(body[:200])
    return "".join(c if c.isprintable() else "?" for c in text)  # a report cannot forge log lines