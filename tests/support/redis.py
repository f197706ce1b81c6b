"""A real `redis-server` for tests: free port, own directory, AOF on, killable and restartable.

`scripts/test` installs Debian's redis-server when it is missing; run by hand without it, the
Redis tests fail and say so. Import the fixtures into a test module to use them:

    from tests.support.redis import redis_server  # noqa: F401  (fixture)
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.support.process import ManagedProcess
from tests.support.server import free_port


@dataclass
class RedisServer(ManagedProcess):
    """`appendfsync always`: every acknowledged write is on disk, so even SIGKILL (`kill()`) loses none."""

    dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> "RedisServer":
        self.dir.mkdir(parents=True, exist_ok=True)
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction",
               "--dir", str(self.dir)]
        self.spawn(cmd, self.dir / "redis.log")
        self.wait_ready(self._answers, "redis-server", timeout)
        return self

    def _answers(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except redis.exceptions.RedisError:
            return False

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)


def _start(directory: Path) -> RedisServer:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run scripts/test, which installs it from Debian")
    return RedisServer(directory).start()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (it may kill or restart it)."""
    server = _start(tmp_path / "redis")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for tests that only need a clean database (they FLUSHDB it)."""
    server = _start(tmp_path_factory.mktemp("redis"))
    try:
        yield server
    finally:
        server.stop()
