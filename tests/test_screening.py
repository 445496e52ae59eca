"""``@mk.screen`` declared and validated at collection (mugkit/screening.py), and the User-Agent
classification the server screens with (mugkit/web/screening.py), on real browsers' strings."""

from __future__ import annotations

import pytest

import mugkit as mk
from mugkit.screening import BROWSERS, ScreenStep
from mugkit.web.screening import classify

# Real User-Agent strings, as these browsers send them (2023–2024 versions).
UAS = {
    "Chrome on Windows": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                          "Chrome/131.0.0.0 Safari/537.36", "chrome", "desktop"),
    "headless Chromium (Playwright)": ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                       "HeadlessChrome/120.0.0.0 Safari/537.36", "chrome", "desktop"),
    "Chromium on Debian": ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chromium/120.0.6099.224 Chrome/120.0.6099.224 Safari/537.36", "chrome", "desktop"),
    "Chrome on ChromeOS": ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chrome/120.0.0.0 Safari/537.36", "chrome", "desktop"),
    "Chrome on an Android phone": ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
                                   "Chrome/131.0.0.0 Mobile Safari/537.36", "chrome", "mobile"),
    "Chrome on an Android tablet": ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
                                    "Chrome/120.0.0.0 Safari/537.36", "chrome", "tablet"),
    "Chrome on an iPhone": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                            "Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "chrome", "mobile"),
    "an Android app's WebView": ("Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/"
                                 "537.36 (KHTML, like Gecko) Version/4.0 Chrome/118.0.0.0 Mobile Safari/537.36",
                                 "chrome", "mobile"),
    "Firefox on a Mac": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
                         "firefox", "desktop"),
    "Firefox on an Android phone": ("Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
                                    "firefox", "mobile"),
    "Firefox on an iPhone": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                             "like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "firefox", "mobile"),
    "Edge on Windows": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "edge", "desktop"),
    "Edge on an Android phone": ("Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
                                 "Chrome/120.0.6099.43 Mobile Safari/537.36 EdgA/120.0.2210.84", "edge", "mobile"),
    "Safari on a Mac": ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                        "Version/17.2 Safari/605.1.15", "safari", "desktop"),
    "Safari on an iPhone": ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
                            "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "safari", "mobile"),
    "Safari on an iPad": ("Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                          "Version/17.2 Mobile/15E148 Safari/604.1", "safari", "tablet"),
    "Opera on Windows": ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                         "Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "opera", "desktop"),
    "Samsung Internet on a phone": ("Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, "
                                    "like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
                                    "samsung", "mobile"),
    "Internet Explorer 11": ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "ie", "desktop"),
    "Silk on a Kindle Fire": ("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
                              "Silk/120.3.1 like Chrome/120.0.6099.210 Safari/537.36", "other", "tablet"),
    "a Python script": ("Python/3.11 aiohttp/3.9.1", "other", "desktop"),
    "no User-Agent at all": ("", "other", "desktop"),
}


@pytest.mark.parametrize("name", list(UAS))
def test_real_user_agents_are_sorted_into_browser_families_and_devices(name):
    user_agent, browser, device = UAS[name]
    got = classify(user_agent)
    assert (got[0], got[3]) == (browser, device)
    assert got[0] in BROWSERS


def test_the_version_and_os_are_kept_for_the_data():
    browser, version, os_family, device = classify(UAS["Edge on Windows"][0])
    assert (browser, version, os_family, device) == ("edge", "120", "Windows", "desktop")


def test_a_screening_step_is_declared_with_its_options_and_its_own_check():
    @mk.screen(browsers=["chrome", "firefox"], block_devices=["mobile"], min_window=(800, 600), max_rtt_ms=250)
    def entry(participant, answers, client):
        return None

    assert isinstance(entry, ScreenStep) and entry.kind == "screen" and entry.name == "entry"
    assert entry.params == ("participant", "answers", "client")
    o = entry.options
    assert (o.browsers, o.block_devices, o.min_window, o.max_rtt_ms, o.pings, o.timeout) == (
        ("chrome", "firefox"), ("mobile",), (800, 600), 250.0, 5, 30.0)

    @mk.screen
    def bare():
        pass

    assert bare.options.browsers is None and bare.params == ()


@pytest.mark.parametrize("options, words", [
    ({"browsers": ["chrom"]}, "unknown name 'chrom' (did you mean 'chrome'?); the known ones are chrome, firefox"),
    ({"block_browsers": ["netscape"]}, "block_browsers: unknown name 'netscape'"),
    ({"devices": ["phone"]}, "devices: unknown name 'phone'; the known ones are desktop, mobile, tablet"),
    ({"browsers": "chrome"}, "browsers must be a list of names"),
    ({"browsers": []}, "browsers is empty, so nobody could pass"),
    ({"browsers": ["chrome"], "block_browsers": ["chrome"]}, "chrome both allowed and blocked"),
    ({"min_window": 800}, "min_window must be (width, height)"),
    ({"min_window": (800, 0)}, "min_window height must be a positive integer"),
    ({"min_window": (800.5, 600)}, "min_window width must be a positive integer"),
    ({"max_rtt_ms": 0}, "max_rtt_ms must be a positive number"),
    ({"max_rtt_ms": True}, "max_rtt_ms must be a positive number"),
    ({"pings": 0}, "pings must be a positive integer"),
    ({"pings": 50}, "pings must be at most 20"),
    ({"timeout": -1}, "timeout must be a positive number"),
    ({"min_windw": (1, 1)}, "unexpected keyword argument 'min_windw'; its options are browsers"),
])
def test_bad_options_are_a_step_error_naming_the_file_line_and_what_to_fix(options, words):
    with pytest.raises(mk.StepError) as err:
        @mk.screen(**options)
        def entry():
            pass
    message = str(err.value)
    assert "test_screening.py:" in message and "entry: @mk.screen" in message
    assert words in message


def test_a_parameter_it_cannot_be_given_is_a_step_error():
    with pytest.raises(mk.StepError, match="unknown parameter 'answer' \\(did you mean 'answers'\\?\\); a step may "
                                           "ask for participant, answers, client"):
        @mk.screen(min_window=(1, 1))
        def entry(answer):
            pass


def test_the_words_name_what_the_study_needs():
    from mugkit.web.screening import Client, decide

    @mk.screen(block_devices=["mobile", "tablet"], browsers=["chrome", "edge"])
    def entry():
        pass

    phone = Client("ua", "chrome", "120", "Android", "mobile", [400, 800])
    assert decide(entry, phone, reported=True) == (
        "device", "This study cannot be done on a mobile phone: it needs a desktop or laptop computer.")
    firefox = Client("ua", "firefox", "121", "Windows", "desktop", [1200, 800])
    assert decide(entry, firefox, reported=True) == (
        "browser", "This study cannot be done in Firefox: it needs Chrome or Microsoft Edge.")
    desktop = Client("ua", "edge", "120", "Windows", "desktop")
    assert decide(entry, desktop, reported=True) is None
    assert decide(entry, desktop, reported=False)[0] == "no_report"
