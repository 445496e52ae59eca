"""The page-HTML cleaner and the turkSubmitTo check on their own: known injection vectors, and a
property over generated markup (the cleaned HTML, parsed again, holds nothing that runs)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mugkit.web.entry import mturk_submit_to
from mugkit.web.headers import content_security_policy
from mugkit.web.sanitize import ALLOWED_TAGS, clean_html
from mugkit.web.views import markdown_html


class Found(HTMLParser):
    """What a cleaned text holds: its tags and attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(k, v or "") for k, v in attrs]


def found(text: str) -> Found:
    f = Found()
    f.feed(text)
    f.close()
    return f


def assert_inert(cleaned: str) -> None:
    f = found(cleaned)
    assert set(f.tags) <= ALLOWED_TAGS, cleaned
    for name, value in f.attrs:
        assert not name.startswith("on") and name not in ("srcdoc", "formaction", "xlink:href"), cleaned
        squeezed = "".join(c for c in value if c > " ").lower()
        if name in ("href", "src", "cite", "poster", "action", "background"):
            assert not squeezed.startswith(("javascript:", "vbscript:", "data:text")), cleaned


VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<script/>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"jav&#x09;ascript:alert(1);\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)>",
    "<a href=\"&#14;  javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt&colon;alert(1)\">x</a>",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"x.swf\"></object><embed src=x>",
    "<form action=\"https://evil.example\"><button formaction=javascript:alert(1)>x</button></form>",
    "<body onload=alert(1)>",
    "<div style=\"x\" onmouseover=\"alert(1)\">hover</div>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<style>@import 'https://evil.example/x.css';</style>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<img src=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
    "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "\"><img src=x onerror=alert(1)>",
    "<<script>script>alert(1)<</script>/script>",
    "<img \"\"\"><script>alert(1)</script>\">",
    "<template><script>alert(1)</script></template>",
]


@pytest.mark.parametrize("vector", VECTORS)
def test_known_injections_come_out_inert(vector):
    cleaned = clean_html(vector)
    assert_inert(cleaned)
    assert "<script" not in cleaned.lower() and "alert(1)</script" not in cleaned
    assert_inert(markdown_html("Hello " + vector))   # the Markdown path too


def test_what_a_researcher_writes_survives():
    page = ('<h2 id="s">Task</h2><p class="lead" style="color:#333">Press <kbd>←</kbd> &amp; <em>→</em>.</p>'
            '<img src="/chase/files/keys.png" alt="the keys" width="200">'
            '<a href="https://example.org/info" target="_blank">more</a>'
            '<table><tr><th colspan="2">A</th></tr><tr><td>1</td><td>2</td></tr></table>'
            '<video src="/chase/files/demo.mp4" controls></video><details open><summary>Why?</summary>Because.</details>')
    cleaned = clean_html(page)
    for kept in ('<h2 id="s">', 'style="color:#333"', "<kbd>←</kbd> &amp; <em>→</em>",
                 '<img src="/chase/files/keys.png" alt="the keys" width="200">',
                 '<a href="https://example.org/info" target="_blank" rel="noopener noreferrer">more</a>',
                 '<th colspan="2">', '<video src="/chase/files/demo.mp4" controls="">', "<details open=\"\">"):
        assert kept in cleaned, (kept, cleaned)
    assert "<strong>bold</strong>" in markdown_html("**bold** and `<code>`")
    assert "&lt;code&gt;" in markdown_html("**bold** and `<code>`")


tags = st.sampled_from(["script", "img", "a", "p", "svg", "iframe", "style", "b", "textarea", "noscript",
                        "math", "div", "video", "source", "object", "template", "title", "xmp"])
attrs = st.sampled_from(["onerror", "onload", "href", "src", "style", "ONCLICK", "srcdoc", "formaction",
                         "title", "class", "xlink:href", "on"])
values = st.sampled_from(["javascript:alert(1)", " jav\tascript:x", "JAVASCRIPT&colon;x", "x", "data:text/html,x",
                          "\"><script>alert(1)</script>", "alert(1)", "https://ok.example/", "&#106;avascript:x"])
pieces = st.one_of(
    st.builds(lambda t, a, v, q: f"<{t} {a}={q}{v}{q}>", tags, attrs, values, st.sampled_from(["", "'", '"'])),
    st.builds(lambda t: f"</{t}>", tags),
    st.sampled_from(["<!--", "-->", "<", ">", "\"", "'", "/", "=", "<![CDATA[", "]]>", "&lt;", "text"]),
    st.text(max_size=5),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pieces, max_size=12))
def test_whatever_markup_goes_in_nothing_that_runs_comes_out(parts):
    cleaned = clean_html("".join(parts))
    assert_inert(cleaned)
    assert clean_html(cleaned) == cleaned   # cleaning is stable: what comes out is what the browser gets


@pytest.mark.parametrize("value, expected", [
    ("https://www.mturk.com", "https://www.mturk.com"),
    ("https://workersandbox.mturk.com/", "https://workersandbox.mturk.com"),
    ("HTTPS://WWW.MTURK.COM", "https://www.mturk.com"), (" https://www.mturk.com ", "https://www.mturk.com"),
    ("http://www.mturk.com", None), ("https://mturk.com", None), ("https://www.mturk.com.evil.example", None),
    ("https://evil.example/www.mturk.com", None), ("https://www.mturk.com@evil.example", None),
    ("https://user@www.mturk.com", None), ("https://www.mturk.com:443", None), ("https://www.mturk.com/x", None),
    ("https://www.mturk.com/?a=b", None), ("https://www.mturk.com/#x", None), ("//www.mturk.com", None),
    ("https://[::1", None), ("", None), (None, None), (7, None),
])
def test_turk_submit_to_is_exactly_one_of_mturks_origins(value, expected):
    assert mturk_submit_to(value) == expected


def test_the_policy_allows_the_packages_origin_and_nothing_else_from_afar():
    local = content_security_policy("/runtime/pyodide-packages/")
    remote = content_security_policy("https://cdn.example.org/pyodide/v0.29.0/full/")
    assert "cdn.example.org" not in local and "https:" not in local.split("form-action")[0]
    assert "script-src 'self' 'wasm-unsafe-eval' https://cdn.example.org;" in remote
    assert "connect-src 'self' https://cdn.example.org;" in remote
