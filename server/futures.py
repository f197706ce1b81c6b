"""Bridging callbacks and futures on the update path.

The update path chains callbacks (guard answer → commit → relay, see rooms.py); the coroutines
that wait on it hold futures. A callback may fire after its waiter has gone (a cancelled
connection), so settling checks first; and an awaitable step can report to a callback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

# Told the outcome of a step: None once it succeeded, or the error.
Done = Callable[[BaseException | None], None]


def settle(future: asyncio.Future[Any], error: BaseException | None, result: Any = None) -> None:
    """Resolve `future` with `result`, or fail it with `error`, unless its waiter has gone."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def report(step: Awaitable[Any], done: Done, cancelled: BaseException) -> None:
    """Run `step` as a task and tell `done` its outcome (`cancelled` if it was cancelled)."""
    task = asyncio.ensure_future(step)
    task.add_done_callback(lambda t: done(cancelled if t.cancelled() else t.exception()))
