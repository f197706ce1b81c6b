"""The running server's parts, built from the settings: storage, guard, rooms."""

from __future__ import annotations

import logging

from server.catalog import Catalog
from server.fanout import Fanout, LocalFanout
from server.guard import Guard
from server.metrics import METRICS
from server.rooms import Rooms
from server.settings import Settings
from server.storage.base import Storage

log = logging.getLogger("palabre")


def make_fanout(settings: Settings, storage: Storage) -> Fanout:
    if settings.redis_url:
        from server.scaleout import RedisFanout  # noqa: PLC0415  (optional backend)

        return RedisFanout(settings, storage)
    return LocalFanout()


def make_storage(settings: Settings) -> Storage:
    if settings.redis_url:
        from server.storage.redis import RedisStorage  # noqa: PLC0415  (optional backend)

        return RedisStorage(settings.redis_url, log_retention=settings.redis_log_retention_hours * 3600)
    from server.storage.sqlite import SQLiteStorage  # noqa: PLC0415

    return SQLiteStorage(settings.sqlite_path, fsync=settings.fsync)


class Palabre:
    """Holds what the routes share. `start`/`stop` run in the app's lifespan."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.settings = settings
        self.storage = storage or make_storage(settings)
        self.fanout = make_fanout(settings, self.storage)
        self.rooms = Rooms(self.storage, None, settings, self.fanout)
        self.guard: Guard | None = None
        if settings.guard:
            self.guard = Guard(
                self.rooms.state_of,
                timeout=settings.guard_timeout,
                memory_headroom=settings.guard_memory_mb * 1024 * 1024,
                workers=settings.guard_workers,
            )
            self.rooms.guard = self.guard
        self.catalog = Catalog(self.storage, self.rooms)
        METRICS.gauges["connections"] = lambda: sum(len(r.connections) for r in self.rooms.rooms.values())
        METRICS.gauges["boards_loaded"] = lambda: len(self.rooms.rooms)

    async def start(self) -> None:
        await self.storage.open()
        if self.guard is not None:
            await self.guard.start()
        await self.fanout.start()
        if self.settings.demo:
            await self.catalog.load_demo()
        log.info("storage %s, guard %s", type(self.storage).__name__, "on" if self.guard else "off")

    async def stop(self) -> None:
        await self.fanout.stop()
        await self.rooms.close()
        if self.guard is not None:
            await self.guard.stop()
        await self.storage.close()
