"""Page HTML cleaned to an allow-list before it goes to a browser.

A page's body is built by the researcher's step function and may hold participant values (URL
parameters through ``participant.params`` in an f-string), and Markdown passes raw HTML through.
So the final HTML is parsed and written out again keeping only allowed tags, allowed attributes
and safe URLs: no ``<script>``, no ``on…=`` handlers, no ``javascript:`` links, no frames, forms
or inline SVG. Text and attribute values are re-escaped on the way out, so what the browser
parses is only what this module wrote. The page's Content-Security-Policy (no inline script) is
the second line of defence.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["clean_html", "ALLOWED_TAGS"]

#: Tags kept (with their allowed attributes); any other tag is dropped, its text kept.
ALLOWED_TAGS = frozenset(
    "a abbr address article aside audio b bdi bdo blockquote br caption center cite code col colgroup dd del "
    "details dfn div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li main mark "
    "nav ol p picture pre q rp rt ruby s samp section small source span strong sub summary sup table tbody td "
    "tfoot th thead time tr track u ul var video wbr".split())
#: Tags dropped together with everything inside them.
_DROP_WITH_CONTENT = frozenset(
    "script style template iframe frame frameset object embed applet noscript noembed noframes textarea "
    "title xmp plaintext svg math select option head".split())
_VOID = frozenset("br col hr img source track wbr".split())
_GLOBAL_ATTRS = frozenset("class id title lang dir role hidden align width height style".split())
_TAG_ATTRS = {
    "a": {"href", "target", "rel"}, "img": {"src", "alt", "loading"},
    "audio": {"src", "controls", "autoplay", "loop", "muted", "preload"},
    "video": {"src", "controls", "autoplay", "loop", "muted", "preload", "poster", "playsinline"},
    "source": {"src", "type", "media"}, "track": {"src", "kind", "srclang", "label", "default"},
    "td": {"colspan", "rowspan", "scope"}, "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "type", "reversed"}, "li": {"value"}, "col": {"span"}, "colgroup": {"span"},
    "time": {"datetime"}, "details": {"open"}, "q": {"cite"}, "blockquote": {"cite"}, "del": {"cite"},
    "ins": {"cite"},
}
_URL_ATTRS = frozenset({"href", "src", "cite", "poster"})
_SCHEMES = {"href": {"http", "https", "mailto", "tel"}}
_DEFAULT_SCHEMES = {"http", "https"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)
# Browsers ignore ASCII tab and newlines anywhere in a URL and strip controls and spaces around it.
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def _safe_url(tag: str, attr: str, value: str) -> bool:
    squeezed = _URL_IGNORED.sub("", value).lower()
    scheme = _SCHEME.match(squeezed)
    if scheme is None:
        return True  # relative: this server's own address
    if tag == "img" and attr == "src" and _DATA_IMAGE.match(squeezed):
        return True
    return scheme.group(1) in _SCHEMES.get(attr, _DEFAULT_SCHEMES)


def _allowed(tag: str, attr: str) -> bool:
    return attr in _GLOBAL_ATTRS or attr in _TAG_ATTRS.get(tag, ()) or attr.startswith("aria-")


class _Cleaner(HTMLParser):
    """Writes out what it parses, keeping only what the allow-list says."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.dropping: list[str] = []  # open tags whose content is dropped

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.dropping or tag in _DROP_WITH_CONTENT:
            if tag not in _VOID:
                self.dropping.append(tag)
            return
        if tag not in ALLOWED_TAGS:
            return
        kept = []
        for name, value in attrs:
            value = "" if value is None else value
            if not _allowed(tag, name) or (name in _URL_ATTRS and not _safe_url(tag, name, value)):
                continue
            if tag == "a" and name == "rel":
                continue  # set below
            kept.append(f' {name}="{html.escape(value)}"')
        if tag == "a" and any(name == "target" for name, _ in attrs):
            kept.append(' rel="noopener noreferrer"')
        self.out.append(f"<{tag}{''.join(kept)}>")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _DROP_WITH_CONTENT and not self.dropping:
            return  # <script/> opens nothing
        self.handle_starttag(tag, attrs)
        if tag not in _VOID and tag in ALLOWED_TAGS and not self.dropping:
            self.out.append(f"</{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if self.dropping:
            if tag in self.dropping:
                del self.dropping[len(self.dropping) - 1 - self.dropping[::-1].index(tag):]
            return
        if tag in ALLOWED_TAGS and tag not in _VOID:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    # Comments, doctypes and processing instructions are dropped (the base class ignores them).


def clean_html(text: str) -> str:
    """``text`` with only allowed tags, attributes and URLs left, everything re-escaped.

    Example:
        >>> clean_html('<p onclick="x()">Hi <script>alert(1)</script><b>there</b></p>')
        '<p>Hi <b>there</b></p>'
    """
    cleaner = _Cleaner()
    cleaner.feed(text)
    cleaner.close()
    return "".join(cleaner.out)
