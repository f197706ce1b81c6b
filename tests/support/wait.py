"""Waiting for something that happens over the network, bounded in time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(check: Callable[[], bool], what: str = "condition", timeout: float = 5.0) -> None:
    """Return as soon as `check()` holds; fail the test after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"{what} not met in {timeout:g} s")
        await asyncio.sleep(0.02)
