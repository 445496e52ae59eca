"""The live admin page in Debian's Chromium: it updates itself, and its controls (exclude, end a
wait, pause new entries) act on real participants' pages, recorded with the admin's name.
Screenshots go to $MUGKIT_SHOTS (default /tmp/shots-admin): look at them."""

from __future__ import annotations

import json
import os

import pytest

from browser_data import query
from serving import DUO, STUDIES, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WATCHED = os.path.join(STUDIES, "_watched.py")
SHOTS = os.environ.get("MUGKIT_SHOTS", "/tmp/shots-admin")


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def shot(page, name: str) -> None:
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.fixture
def server(tmp_path):
    served = serve(WATCHED, DUO, data=str(tmp_path / "data"), extra=["--admin-token", "dana=dana-token-2026"])
    yield served
    served.stop()


def participant_page(chromium, url: str, experiment: str):
    page = chromium.new_context().new_page()
    page.goto(f"{url}/{experiment}/")
    page.wait_for_selector(".mk-waitroom-count", timeout=20_000)
    return page


def test_an_admin_excludes_ends_a_wait_and_pauses_entries_from_the_live_page(server, chromium):
    admin = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    admin.goto(f"{server.url}/admin?token=dana-token-2026")
    admin.wait_for_selector("text=updated")
    assert admin.url == f"{server.url}/admin"

    alone = participant_page(chromium, server.url, "_watched")
    duo = participant_page(chromium, server.url, "_duo")
    # The page updates itself: both appear without a reload, the _duo one waiting for partners.
    expect(admin.locator("#participants tbody tr")).to_have_count(2, timeout=10_000)
    rows = {r.split("\t")[1]: r.split("\t")[0] for r in admin.locator("#participants tbody tr").all_inner_texts()}
    assert set(rows) == {"_watched", "_duo"}
    shot(admin, "admin-live-waiting")

    admin.click(f"button[data-end='{rows['_duo']}']")
    duo.wait_for_selector("text=DUO777", timeout=10_000)                       # the timeout code (= its code)
    admin.click(f"button[data-exclude='{rows['_watched']}']")
    admin.fill("#exclude-text", "Your connection was too slow for this study.")
    admin.click("#exclude-form button[type=submit]")
    alone.wait_for_selector("text=Your connection was too slow for this study.", timeout=10_000)
    assert alone.locator("text=WATCHED-EXCL").count() >= 1

    admin.click("button[data-entries=pause]")
    admin.wait_for_selector("text=New entries paused")
    late = chromium.new_context().new_page()
    late.goto(f"{server.url}/_watched/")
    late.wait_for_selector("text=not taking new participants now", timeout=10_000)
    admin.wait_for_selector("#exclusions tbody tr")
    expect(admin.locator("#actions tbody tr")).to_have_count(3, timeout=10_000)
    shot(admin, "admin-live-after")
    admin.click("button[data-entries=resume]")
    admin.wait_for_selector("text=New entries open")
    late.reload()
    late.wait_for_selector(".mk-waitroom-count", timeout=20_000)

    status = dict(query(server.data, "select experiment, status from participants where status != 'active'"))
    assert status == {"_duo": "timed_out", "_watched": "excluded"}
    by = [json.loads(d)["by"] for (d,) in query(server.data, "select detail from events where kind in "
                                                             "('excluded', 'admin_ended')")]
    assert by == ["dana", "dana"]
    expect(admin.locator("#actions tbody tr")).to_have_count(4, timeout=10_000)
    actions = [tuple(r.split("\t")[1:3]) for r in admin.locator("#actions tbody tr").all_inner_texts()]
    assert actions == [("dana", "resume_entries"), ("dana", "pause_entries"), ("dana", "exclude"),
                       ("dana", "end_waiting")]


def test_another_site_cannot_press_the_buttons_of_a_signed_in_admin(server, chromium):
    """An admin signed in (the cookie set) visits another site, whose page posts to the controls:
    a form (no custom headers) and a fetch with credentials (a custom header needs a preflight,
    which this server never grants). Nothing changes."""
    context = chromium.new_context()
    admin = context.new_page()
    admin.goto(f"{server.url}/admin?token=dana-token-2026")
    admin.wait_for_selector("text=updated")
    victim = participant_page(chromium, server.url, "_watched")
    expect(admin.locator("#participants tbody tr")).to_have_count(1, timeout=10_000)
    pid = admin.locator("#participants tbody tr code").first.inner_text()
    evil = context.new_page()
    evil.route("https://evil.example/", lambda route: route.fulfill(content_type="text/html", body=f"""
        <form id=f method=post action="{server.url}/admin/exclude" enctype="text/plain">
          <input name='{{"participant": "{pid}", "x": "' value='"}}'></form>
        <script>
          fetch("{server.url}/admin/entries", {{method: "POST", credentials: "include", mode: "cors",
                headers: {{"content-type": "application/json", "x-mugkit-csrf": "0"}},
                body: JSON.stringify({{paused: true}})}}).catch(() => {{}}).finally(() => {{
            fetch("{server.url}/admin/entries", {{method: "POST", credentials: "include", mode: "no-cors",
                  body: JSON.stringify({{paused: true}})}}).catch(() => {{}}).finally(() => {{
              document.title = "sent"; document.getElementById("f").submit(); }});
          }});
        </script>"""))
    evil.goto("https://evil.example/")
    evil.wait_for_url(f"{server.url}/admin/exclude", timeout=10_000)   # the form went, and was answered
    assert "forbidden" in evil.content()
    admin.reload()
    admin.wait_for_selector("text=New entries open")
    assert query(server.data, "select status from participants") == [("active",)]
    assert query(server.data, "select count(*) from events where kind = 'excluded'") == [(0,)]
    victim.close()
