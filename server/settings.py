"""All configuration in one place: defaults, `PALABRE_*` environment variables, CLI flags.

The CLI builds a `Settings` from its flags (only those given) on top of the environment, so a
value has exactly one meaning wherever it is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PALABRE_", extra="ignore")

    # Network
    host: str = "127.0.0.1"
    port: int = 8000

    # Storage
    data_dir: Path = Path("./data")
    redis_url: str | None = Field(default=None, description="redis://… selects the Redis backend")
    fsync: Literal["normal", "always"] = "normal"
    compact_every: int = Field(default=2000, ge=1, description="compact a board after this many log entries")
    compact_min_interval: float = Field(
        default=30.0, ge=0, description="seconds between two compactions of a busy board (merging pauses the loop briefly)"
    )
    redis_log_retention_hours: float = Field(
        default=24.0, ge=0, description="Redis: keep log entries this long after a snapshot covers them"
    )

    # Rooms
    idle_unload_seconds: float = Field(default=30.0, ge=0)
    auto_create: bool = True
    max_connections_per_board: int = Field(default=200, ge=1)
    # Updates arriving within this window (seconds) are checked, stored and relayed together:
    # one guard round trip, one commit and one socket write per receiver for all of them.
    # 0 (default): each update goes through at once. See docs/server.md for the trade-off.
    batch_window: float = Field(default=0.0, ge=0, le=1.0)
    sync_chunk_bytes: int = Field(default=256 * 1024, ge=1024, description="split larger initial syncs")

    # Limits on input
    max_message_bytes: int = Field(default=8 * MiB, ge=1024)
    rate_messages_per_second: float = Field(default=200.0, gt=0)
    rate_burst_messages: int = Field(default=1000, ge=1)
    rate_bytes_per_second: float = Field(default=4.0 * MiB, gt=0)
    send_queue_bytes: int = Field(default=16 * MiB, ge=64 * 1024, description="per-connection outgoing buffer")
    # A receiver with this many bytes not yet sent (a slow link) is no longer relayed each update:
    # once its backlog drains it gets one diff of everything it missed (docs/server.md).
    relay_backlog_bytes: int = Field(default=16 * 1024, ge=4 * 1024)
    max_awareness_state_bytes: int = Field(default=64 * 1024, ge=256)

    # Keep-alive: stock clients drop a socket that is silent for 30 s.
    ping_interval: float = Field(default=15.0, gt=0)
    ping_timeout: float = Field(default=20.0, gt=0)

    # Awareness coalescing window (seconds): presence changes inside it go out as one message.
    awareness_interval: float = Field(default=0.03, ge=0)
    # Presence relayed from another process (scale-out) is forgotten if not renewed this long
    # (its process may have died; stock clients renew every 15 s and time out after 30 s).
    awareness_remote_timeout: float = Field(default=30.0, gt=0)

    # Compression: permessage-deflate is negotiated, but messages smaller than this go out
    # uncompressed (small relayed moves gain nothing from deflate and cost CPU per receiver).
    deflate: bool = True
    deflate_min_bytes: int = Field(default=1024, ge=0)

    # Poison isolation: every incoming update is first applied on a replica in a worker process.
    guard: bool = True
    guard_timeout: float = Field(default=3.0, gt=0, description="seconds an update may take on the replica")
    guard_memory_mb: int = Field(default=512, ge=32, description="extra memory one update may make the replica take")
    guard_workers: int = Field(default=1, ge=1, le=16)

    # Access: when set, clients must pass ?token=… (one shared token). Empty: open server.
    token: str | None = None

    log_level: str = "info"
    log_format: Literal["text", "json"] = "text"
    demo: bool = False

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "palabre.sqlite3"
