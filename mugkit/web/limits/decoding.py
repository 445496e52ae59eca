"""Tagged JSON from browsers, decoded within limits and off the event loop.

Decoding a ``rows`` batch (JSON, base64, decompression, numpy) takes milliseconds to tens of
milliseconds; on the event loop that would pause every game. It runs in one worker thread, so at
most one decode's memory (:data:`ROWS_LIMITS`\\ ``.max_bytes`` and its copies) is in use at a time.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ...runtime.values import DecodeLimits, from_json

__all__ = ["ROWS_LIMITS", "SMALL_LIMITS", "decode"]

#: A ``rows`` batch: at most 512 KiB of text, 32 MiB of arrays once decoded.
ROWS_LIMITS = DecodeLimits(max_text=512 * 1024, max_depth=64, max_elements=4 * 1024 * 1024, max_dims=8,
                           max_bytes=32 * 1024 * 1024)
#: A short value in another message (a resume's ``diverged`` frame).
SMALL_LIMITS = DecodeLimits(max_text=16 * 1024, max_depth=32, max_elements=4096, max_dims=8, max_bytes=64 * 1024)

_pool: ThreadPoolExecutor | None = None


async def decode(text: str, limits: DecodeLimits = ROWS_LIMITS) -> Any:
    """``from_json(text, limits)`` in the decoding thread.

    Raises:
        DecodeRefused: ``text`` passes ``limits``.
        ValueError: not tagged JSON.
    """
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(1, thread_name_prefix="mugkit-decode")
    return await asyncio.get_running_loop().run_in_executor(_pool, from_json, text, limits)
