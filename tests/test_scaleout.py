"""Scale-out: real Palabre processes sharing boards through a real Redis.

Each test starts its own redis-server (AOF, `appendfsync always`) and Palabre processes with
`--redis`; Python y-websocket clients (client.connection.BoardClient) edit through them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets
from pycrdt import Doc, Map

from client.connection import BoardClient
from tests.support import wait
from tests.support.redis import RedisServer, redis_server  # noqa: F401  (fixture)
from tests.support.server import PalabreProcess

BOARD = "atelier-du-futur"


def start_palabre(tmp_path: Path, redis: RedisServer, name: str, env: dict[str, str] | None = None) -> PalabreProcess:
    return PalabreProcess(tmp_path / name, extra_args=["--redis", redis.url], env=env or {}).start()


@pytest.fixture
def two(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[PalabreProcess, PalabreProcess]]:  # noqa: F811
    a = start_palabre(tmp_path, redis_server, "a")
    b = start_palabre(tmp_path, redis_server, "b")
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def notes(client: BoardClient) -> set[str]:
    return set(client.doc.get("notes", type=Map).keys())


def add_notes(client: BoardClient, prefix: str, count: int, start: int = 0) -> set[str]:
    """One transaction (one update message) per post-it, like a participant adding them."""
    names = {f"{prefix}{i}" for i in range(start, start + count)}
    for name in sorted(names):
        client.doc.get("notes", type=Map)[name] = Map({"text": name, "x": 1.0, "y": 2.0})
    return names


# Crossing processes and Redis restarts take longer than one process's round trip.
eventually = functools.partial(wait.eventually, timeout=15.0)


def metric(server: PalabreProcess, name: str) -> float:
    with urllib.request.urlopen(server.http_url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(rf"^palabre_{name} (\S+)$", text, re.M)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


async def connect_until_stored(
    stack: contextlib.AsyncExitStack, url: str, doc: Doc, timeout: float = 30.0
) -> BoardClient:
    """Reconnect with `doc` (as a stock client's reconnect loop does) until the server has
    stored everything the doc holds that it lacked."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client = await stack.enter_async_context(BoardClient.connect(url, BOARD, doc=doc, timeout=5))
            await client.flush(timeout=5)
            return client
        except (OSError, ConnectionError, asyncio.TimeoutError, websockets.WebSocketException):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def test_clients_on_two_processes_converge(two: tuple[PalabreProcess, PalabreProcess]) -> None:
    server_a, server_b = two
    async with BoardClient.connect(server_a.ws_url, BOARD) as a, BoardClient.connect(server_b.ws_url, BOARD) as b:
        expected = add_notes(a, "a", 20) | add_notes(b, "b", 20)
        await asyncio.gather(a.flush(), b.flush())
        await eventually(lambda: notes(a) == expected and notes(b) == expected, "both boards to converge")
    assert metric(server_a, "redis_remote_updates_total") >= 20
    assert metric(server_b, "redis_remote_updates_total") >= 20
    assert metric(server_a, "redis_connected") == 1


async def test_presence_crosses_processes_and_leaves_with_its_owner(
    two: tuple[PalabreProcess, PalabreProcess],
) -> None:
    server_a, server_b = two
    async with BoardClient.connect(server_b.ws_url, BOARD) as b:
        async with BoardClient.connect(server_a.ws_url, BOARD) as a:
            a.set_presence(4242, 1, '{"user": {"name": "Aminata", "site": "Diéma"}}')
            await eventually(lambda: 4242 in b.awareness, "b to see a's presence")
            assert b.awareness[4242] == '{"user": {"name": "Aminata", "site": "Diéma"}}'.encode()
        await eventually(lambda: 4242 not in b.awareness, "a's presence to be removed on b")


async def test_presence_from_a_killed_process_is_not_shown_to_newcomers(
    tmp_path: Path, redis_server: RedisServer  # noqa: F811
) -> None:
    """A killed process never announces its clients' departure; the survivor forgets presence
    that is no longer renewed (30 s by default, 1 s here) instead of showing it forever."""
    env = {"PALABRE_AWARENESS_REMOTE_TIMEOUT": "1"}
    server_a = start_palabre(tmp_path, redis_server, "a", env)
    server_b = start_palabre(tmp_path, redis_server, "b", env)
    try:
        async with BoardClient.connect(server_b.ws_url, BOARD) as b:
            async with BoardClient.connect(server_a.ws_url, BOARD) as a:
                a.set_presence(4343, 1, '{"user": {"name": "Seydou"}}')
                await eventually(lambda: 4343 in b.awareness, "b to see a's presence")
                server_a.kill()
                await asyncio.wait_for(a.closed, 10)
            await asyncio.sleep(1.5)
            async with BoardClient.connect(server_b.ws_url, BOARD) as newcomer:
                await asyncio.sleep(0.3)
                assert 4343 not in newcomer.awareness, "the dead process's presence is still shown"
    finally:
        server_a.stop()
        server_b.stop()


async def test_killed_process_loses_nothing_its_client_reconnects_elsewhere(
    two: tuple[PalabreProcess, PalabreProcess],
) -> None:
    server_a, server_b = two
    doc = Doc()
    async with BoardClient.connect(server_b.ws_url, BOARD) as b:
        async with BoardClient.connect(server_a.ws_url, BOARD, doc=doc) as a:
            sent = add_notes(a, "a", 10)
            await a.flush()  # acknowledged: stored in Redis
            sent |= add_notes(a, "a", 5, start=10)  # in flight when the process dies
            server_a.kill()
            sent |= add_notes(a, "a", 5, start=15)  # made while disconnected
            await asyncio.wait_for(a.closed, 10)
        async with contextlib.AsyncExitStack() as stack:
            again = await connect_until_stored(stack, server_b.ws_url, doc)
            await eventually(lambda: notes(b) == sent, "b to have every post-it a made")
            assert notes(again) == sent
    async with BoardClient.connect(server_b.ws_url, BOARD) as fresh:
        assert notes(fresh) == sent


async def test_redis_restart_loses_nothing_acknowledged_and_recovers(
    two: tuple[PalabreProcess, PalabreProcess], redis_server: RedisServer,  # noqa: F811
) -> None:
    server_a, server_b = two
    doc = Doc()
    async with BoardClient.connect(server_b.ws_url, BOARD) as b:
        async with BoardClient.connect(server_a.ws_url, BOARD, doc=doc) as a:
            sent = add_notes(a, "a", 10)
            await a.flush()
            await eventually(lambda: notes(b) == sent, "b to see a's post-its")
            redis_server.kill()  # hard: no shutdown; AOF `always` holds every acknowledged write
            sent |= add_notes(a, "a", 1, start=10)
            code, reason = await asyncio.wait_for(a.closed, 10)
            assert (code, reason) == (1011, "could not store the update; reconnect to retry")
        await asyncio.sleep(1.0)  # an outage, clients retrying meanwhile
        redis_server.start()
        async with contextlib.AsyncExitStack() as stack:
            again = await connect_until_stored(stack, server_a.ws_url, doc)
            await eventually(lambda: notes(b) == sent, "b to catch up after the restart")
            sent |= add_notes(b, "b", 3)
            await b.flush()
            await eventually(lambda: notes(again) == sent, "updates to cross processes again")
    for server in two:
        assert metric(server, "redis_reconnects_total") >= 1
        assert metric(server, "redis_connected") == 1
    async with BoardClient.connect(server_b.ws_url, BOARD) as fresh:
        assert notes(fresh) == sent


async def test_a_late_process_catches_up_then_follows(
    tmp_path: Path, redis_server: RedisServer,  # noqa: F811
) -> None:
    server_a = start_palabre(tmp_path, redis_server, "a")
    late: PalabreProcess | None = None
    try:
        async with BoardClient.connect(server_a.ws_url, BOARD) as a:
            sent = add_notes(a, "a", 15)
            await a.flush()
            late = start_palabre(tmp_path, redis_server, "late")
            async with BoardClient.connect(late.ws_url, BOARD) as c:
                assert notes(c) == sent  # loaded from the stream before the first answer
                sent |= add_notes(a, "a", 5, start=15)
                await a.flush()
                await eventually(lambda: notes(c) == sent, "the late process to follow live edits")
    finally:
        server_a.stop()
        if late is not None:
            late.stop()
