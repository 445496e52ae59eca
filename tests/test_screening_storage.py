"""``Storage.participant_answers``: what a screening step's own check is given as the answers so
far, read back from both backends in the order they were stored, values decoded."""

from __future__ import annotations

import asyncio


def test_a_participants_answers_come_back_in_order_with_their_values(backend):
    async def main():
        storage = backend.storage()
        await storage.start()
        try:
            for pid in ("p1", "p2"):
                await storage.add_participant({"participant_id": pid, "experiment": "e", "token": "t", "flow": []})
            await storage.add_answers("p1", "about", {"age": 17, "hand": "left", "grid.a": 3}, repetition=0)
            await storage.add_answers("p2", "about", {"age": 40})
            await storage.add_answers("p1", "about", {"age": 18}, repetition=1)
            rows = await storage.participant_answers("p1")
            assert [(r["question"], r["value"], r["repetition"]) for r in rows] == [
                ("age", 17, 0), ("hand", "left", 0), ("grid.a", 3, 0), ("age", 18, 1)]
            assert {r["question"]: r["value"] for r in rows}["age"] == 18  # what the check sees: the latest
            assert await storage.participant_answers("nobody") == []
        finally:
            await storage.close()
    asyncio.run(main())
