"""Run the app under uvicorn with Palabre's WebSocket protocol and limits."""

from __future__ import annotations

import gc
import sys

import uvicorn

from server import logs
from server.app import create_app
from server.settings import Settings
from server.transport import PalabreProtocol


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    protocol = PalabreProtocol.configure(
        deflate_min_bytes=settings.deflate_min_bytes, send_queue_bytes=settings.send_queue_bytes,
        relay_backlog_bytes=settings.relay_backlog_bytes,
    )
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ws=protocol,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=settings.deflate,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_timeout,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: every update allocates short-lived objects, and with
    the default threshold (700) the collector ran so often it cost ~20% of the CPU of the
    fan-out benchmark. Startup objects (modules, the app) are frozen out of all collections."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def tune_threads() -> None:
    """Background merges (compaction, exports) run pycrdt in a thread, which holds the GIL for
    each call; the event loop then waits up to the switch interval (5 ms by default) each time
    it wakes. At 0.5 ms a compaction of 2,000 updates (~20 ms of merging) costs a relayed move
    at most half a millisecond per wake. Only threads that compete for the GIL pay the extra
    switches."""
    sys.setswitchinterval(0.0005)


def run(settings: Settings) -> None:
    logs.configure(settings.log_level, settings.log_format)
    tune_gc()
    tune_threads()
    uvicorn.Server(uvicorn_config(settings)).run()
