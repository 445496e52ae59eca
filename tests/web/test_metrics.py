"""/metrics' counters, its exposition (parsed by prometheus_client), and the JSON log lines,
without a server."""

import asyncio
import io
import json
import logging
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

import mugkit as mk
from mugkit.web.logs import GAME, PARTICIPANT, JsonFormatter, configure_logging, log_format
from mugkit.web.metrics import install_metrics, metrics_text
from mugkit.web.plugins import Plugins
from mugkit.web.storage import open_storage


class Broken:
    @mk.hookimpl
    def mugkit_participant_finished(self, participant):
        raise RuntimeError("the lab's webhook is down")


def parsed(text: bytes) -> dict:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text.decode()) for s in f.samples}


def test_exclusions_errors_and_plugin_failures_are_counted_and_exposed(tmp_path):
    async def scenario():
        storage = open_storage(str(tmp_path), None)
        await storage.start()
        study = SimpleNamespace(plugins=Plugins([Broken()], entry_points=False), cluster=None, lobby=None, games={},
                                sockets={"a": 1, "b": 0}, browser=None, storage=storage)
        metrics = install_metrics(study)
        try:
            for reason in ("admin", "tab_hidden", "admin"):
                study.plugins.call("mugkit_participant_finished", participant={"id": "p", "reason": reason},
                                   status="excluded", code=None)
            study.plugins.call("mugkit_participant_finished", participant={"id": "q", "reason": "window"},
                               status="screened_out", code=None)
            study.plugins.call("mugkit_participant_finished", participant={"id": "r", "reason": None},
                               status="completed", code="C")
            logging.getLogger("mugkit.game").error("game g1 crashed")
            logging.getLogger("mugkit.game").warning("not an error")
            return parsed(await metrics_text(study))
        finally:
            metrics.close()
            await storage.close()

    m = asyncio.run(scenario())
    proc = next(dict(k[1])["process"] for k in m if k[0] == "mugkit_process_up")

    def get(name, **labels):
        return m[(name, tuple(sorted({**labels, "process": proc}.items())))]

    assert get("mugkit_exclusions_total", status="excluded", reason="admin") == 2
    assert get("mugkit_exclusions_total", status="excluded", reason="tab_hidden") == 1
    assert get("mugkit_exclusions_total", status="screened_out", reason="window") == 1
    # The broken plugin raised 5 times: counted as plugin failures, not also as log errors.
    assert get("mugkit_errors_total", kind="plugin") == 5 and get("mugkit_errors_total", kind="game") == 1
    assert not [k for k in m if k[0] == "mugkit_errors_total" and dict(k[1])["kind"] == "plugins"]
    assert get("mugkit_participants_connected") == 1 and get("mugkit_games_active", runtime="server") == 0
    assert get("mugkit_tick_lateness_seconds_count") == 0 and m[("mugkit_entries_paused", ())] == 0


def test_a_closed_studys_metrics_stop_counting_log_errors():
    metrics = install_metrics(SimpleNamespace(plugins=Plugins(entry_points=False), cluster=None))
    metrics.close()
    logging.getLogger("mugkit.study").error("after the close")
    assert metrics.errors == {}


def test_json_log_lines_carry_the_participant_and_the_game():
    out = io.StringIO()
    formatter = JsonFormatter(process="host:1:abc")
    log = logging.getLogger("mugkit.test_json")
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.warning("plain %s", "text")
        token = PARTICIPANT.set("p-ctx")
        GAME.set("g-ctx")
        log.info("from the context")
        PARTICIPANT.reset(token)
        log.error("named", extra={"participant": "p-extra"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
        GAME.set(None)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["msg"] == "plain text" and lines[0]["level"] == "WARNING" and "participant" not in lines[0]
    assert lines[0]["logger"] == "mugkit.test_json" and lines[0]["t"].endswith("+00:00")
    assert (lines[1]["participant"], lines[1]["game"]) == ("p-ctx", "g-ctx")
    assert lines[2]["participant"] == "p-extra" and lines[2]["process"] == "host:1:abc"
    assert "ValueError: boom" in lines[3]["exc"]


def test_log_format_choices(monkeypatch):
    monkeypatch.delenv("MUGKIT_LOG_FORMAT", raising=False)
    assert log_format(None) == "text"
    monkeypatch.setenv("MUGKIT_LOG_FORMAT", "JSON")
    assert log_format(None) == "json" and log_format("text") == "text"
    monkeypatch.setenv("MUGKIT_LOG_FORMAT", "yaml")
    with pytest.raises(ValueError, match="MUGKIT_LOG_FORMAT 'yaml': use one of text, json"):
        log_format(None)
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    out = io.StringIO()
    try:
        configure_logging("json", stream=out)
        logging.getLogger("mugkit.x").info("hello")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    assert json.loads(out.getvalue())["msg"] == "hello"


def test_admin_tokens_named_and_plain():
    from mugkit.web.admin_live import AdminTokens

    tokens = AdminTokens.parse(["alice=alice-token-1", "plain-token-2", "Zm9vYmFyYmF6==", "x y=odd-name-token"])
    assert tokens.tokens == {"alice-token-1": "alice", "plain-token-2": "admin", "Zm9vYmFyYmF6==": "admin",
                             "x y=odd-name-token": "admin"}
    assert tokens.first == "alice-token-1" and tokens.who("alice-token-1") == "alice"
    assert tokens.who("alice-token-") is None and tokens.who("") is None and tokens.who(None) is None
    assert tokens.csrf("alice-token-1") != tokens.csrf("plain-token-2") and len(tokens.csrf("plain-token-2")) == 32
    with pytest.raises(ValueError, match="at least 8 characters"):
        AdminTokens.parse(["bob=short"])
