"""One browser game cannot fill the disk every game shares: past `--limit game_bytes` its rows are
refused, naming the limit (issue: one connection stored 4 MB/s of made-up observations)."""

from __future__ import annotations

import asyncio

import pytest
from race import RACE, into_browser_game
from serving import Browser, serve

from mugkit.runtime.values import to_json

pytestmark = pytest.mark.slow


def test_a_browser_games_rows_past_its_byte_limit_are_refused(tmp_path):
    served = serve(RACE, data=str(tmp_path / "data"), extra=["--limit", "game_bytes=3000"])

    def row(frame: int) -> dict:
        return {"episode": 0, "frame": frame, "agent": "me", "action": 1, "keys": [], "filled": True,
                "reward": 0.0, "terminated": False, "truncated": False, "info": {"pad": "x" * 1000}}

    async def main():
        b = Browser(served.url, "_race")
        view = await into_browser_game(b)
        replies = [await b.call("rows", {"game": view["game"], "session": "s", "batch": f,
                                         "rows": to_json([row(f)])}) for f in range(4)]
        await b.close()
        return replies

    try:
        replies = asyncio.run(main())
    finally:
        served.stop()
    assert [r["ok"] for r in replies] == [True, True, False, False]
    assert "limit game_bytes" in replies[2]["error"]
