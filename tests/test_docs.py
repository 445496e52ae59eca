"""The documentation in docs/ builds, its Python examples run, and it links nowhere outside the
repository.

Python examples: every fenced ```python block of a page runs, in order, in one namespace per page
(so a later block can use what an earlier one defined), in a fresh Python process. The page runs
as a module of ``experiments/`` would: its ``__file__`` lies there (so ``mk.Onnx("models/...")``
and ``body="pages/consent.md"`` resolve as in an experiment), ``experiments/`` is on ``sys.path``
(``from envs.chase import ChaseEnv``) and the working directory is the repository root. A block
that cannot run on its own is marked by the line ``<!-- not-run -->`` right before its fence; keep
those few (``MAX_NOT_RUN``).

Run one page by hand: ``python tests/test_docs.py docs/game-steps.md``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
NOT_RUN = "<!-- not-run -->"
MAX_NOT_RUN = 6  # fragments are the exception: a page's examples should run


def pages() -> list[str]:
    """Every Markdown page under docs/, relative to the repository root, sorted."""
    out = []
    for folder, dirs, files in os.walk(DOCS):
        dirs.sort()
        out += [os.path.relpath(os.path.join(folder, f), ROOT) for f in sorted(files) if f.endswith(".md")]
    return out


# -- code blocks --------------------------------------------------------------------------------------

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")


@dataclass
class Block:
    page: str
    line: int       # 1-based line of the block's first line of code
    language: str
    code: str
    run: bool       # False when marked <!-- not-run -->


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of ``page`` (a path relative to the root).

    Raises:
        AssertionError: a fence is never closed, or a not-run marker stands before no code block.
    """
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        lines = f.read().splitlines()
    out: list[Block] = []
    i = 0
    previous = ""  # the last non-blank line outside code
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].strip():
                assert previous != NOT_RUN or lines[i].strip() == NOT_RUN, \
                    f"{page}:{i + 1}: {NOT_RUN} must stand right before a code block"
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence, language = m.groups()
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            i += 1
        assert i < len(lines), f"{page}:{start}: a code block that is never closed"
        code = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in lines[start:i])
        out.append(Block(page, start + 1, language.lower(), code, previous != NOT_RUN))
        previous = ""
        i += 1
    return out


def run_page(page: str) -> None:
    """Runs the page's Python blocks in order in one namespace (see the module docstring); a
    failure prints the page and line of the block and exits 1."""
    import traceback

    os.chdir(ROOT)
    sys.path[:0] = [ROOT, os.path.join(ROOT, "experiments")]
    namespace = {"__name__": "docs_example", "__file__": os.path.join(ROOT, "experiments", "docs_example.py")}
    for block in blocks(page):
        if block.language != "python" or not block.run:
            continue
        # Padding puts the code at its line in the page, so tracebacks point into the page.
        source = "\n" * (block.line - 1) + block.code + "\n"
        try:
            exec(compile(source, os.path.join(ROOT, page), "exec"), namespace)
        except BaseException:
            print(f"{page}:{block.line}: this example failed:", file=sys.stderr)
            traceback.print_exc()
            sys.exit(1)


@pytest.mark.parametrize("page", pages())
def test_python_examples_run(page):
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), page], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, env=dict(os.environ, SDL_VIDEODRIVER="dummy"))
    assert proc.returncode == 0, proc.stderr[-4000:]


def test_most_examples_run_and_fragments_are_few():
    every = [b for p in pages() for b in blocks(p) if b.language == "python"]
    skipped = [f"{b.page}:{b.line}" for b in every if not b.run]
    assert len(every) >= 40, "the pages should show their features in runnable examples"
    assert len(skipped) <= MAX_NOT_RUN, f"too many examples marked {NOT_RUN}: {skipped}"


# -- links ----------------------------------------------------------------------------------------------

_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK_PATTERNS = (
    re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)"),                # [text](target), ![alt](target)
    re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)"),          # [ref]: target
    re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>"),           # <https://...>, <mailto:...>
    re.compile(r"""(?:href|src|action)\s*=\s*["']([^"']*)["']"""),  # HTML attributes
)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//")
_BARE_URL = re.compile(r"\b(?:[a-zA-Z][a-zA-Z0-9+.-]*://|www\.)\S+")


def prose(path: str) -> list[tuple[int, str]]:
    """``(line number, text)`` of a Markdown or HTML file outside fenced code and inline code."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out, fence = [], None
    for n, line in enumerate(lines, 1):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(2)
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        out.append((n, _INLINE_CODE.sub("", line)))
    return out


def outside_links(path: str) -> list[str]:
    """Every link of the file (Markdown links, reference definitions, autolinks, HTML attributes,
    bare web addresses) that points outside the repository or to nothing, as ``file:line: target``."""
    rel = os.path.relpath(path, ROOT)
    bad = []
    for n, text in prose(path):
        targets = [t for pattern in _LINK_PATTERNS for t in pattern.findall(text)]
        for url in _BARE_URL.findall(text):
            if not any(url in t or t in url for t in targets if t):
                bad.append(f"{rel}:{n}: {url} (a web address)")
        for target in targets:
            if _SCHEME.match(target):
                bad.append(f"{rel}:{n}: {target} (outside the repository)")
                continue
            where = target.split("#", 1)[0].split("?", 1)[0]
            if not where:
                continue  # an anchor on the same page (MkDocs checks anchors)
            full = os.path.normpath(os.path.join(os.path.dirname(path), where))
            if os.path.commonpath([full, ROOT]) != ROOT:
                bad.append(f"{rel}:{n}: {target} (outside the repository)")
            elif not os.path.exists(full):
                bad.append(f"{rel}:{n}: {target} (no such file in the repository)")
    return bad


def linked_files() -> list[str]:
    out = [os.path.join(ROOT, "README.md")]
    for folder, _, files in os.walk(DOCS):
        out += [os.path.join(folder, f) for f in sorted(files) if f.endswith((".md", ".html"))]
    return out


def test_nothing_links_outside_the_repository():
    bad = [b for path in linked_files() for b in outside_links(path)]
    assert bad == [], "\n".join(bad)


def test_the_link_check_sees_every_kind_of_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[a](https://example.org) [b](../../../../../etc/passwd) <http://x.org> ![i](//cdn.org/i.png)\n"
                    "[c]: ftp://x.org/f\n<a href=\"https://x.org\">d</a> see www.example.org and http://y.org\n"
                    "`https://in.code` [e](#here)\n```\nhttps://in.fence\n```\n", encoding="utf-8")
    found = outside_links(str(page))
    assert len(found) == 8, found
    assert not any("in.code" in f or "in.fence" in f or "#here" in f for f in found)


# -- the build ------------------------------------------------------------------------------------------

def test_mkdocs_builds_strict_and_the_site_needs_no_network(tmp_path):
    pytest.importorskip("mkdocs", reason="MkDocs is in the test extra: pip install -e '.[test]'")
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           os.path.join(ROOT, "mkdocs.yml"), "--site-dir", str(site)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (site / "index.html").exists() and (site / "checks" / "synctest.html").exists()
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        external = re.findall(r"""(?:href|src)\s*=\s*["']((?:https?:)?//[^"']*)""", text)
        assert external == [], f"{html.relative_to(site)} loads or links {external}"


if __name__ == "__main__":
    run_page(sys.argv[1])
