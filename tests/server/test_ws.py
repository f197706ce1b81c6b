"""The WebSocket endpoint against a real server process: sync, relay, presence, refusals."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
import pytest
import websockets
from pycrdt import Doc, Map

from client.connection import BoardClient
from server import protocol
from tests.support.poison import deep_nesting_update, poison_cases
from tests.support.wait import eventually
from tests.support.server import PalabreProcess


def _note(client: BoardClient, key: str, x: float) -> None:
    client.doc.get("notes", type=Map)[key] = Map({"x": x, "text": "ɛ ɔ ɲ ŋ"})


def _notes(client: BoardClient) -> dict:
    return client.doc.get("notes", type=Map).to_py()


async def _closed_with(ws, timeout: float = 5.0) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.ConnectionClosed as exc:
        assert exc.rcvd is not None, "closed without a close frame"
        return exc.rcvd.code, exc.rcvd.reason


async def test_two_clients_converge_and_late_joiner_gets_everything(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "b1") as a, BoardClient.connect(palabre.ws_url, "b1") as b:
        _note(a, "n1", 1.0)
        _note(b, "n2", 2.0)
        await a.flush()
        await b.flush()
        await eventually(lambda: _notes(a).keys() == _notes(b).keys() == {"n1", "n2"})
    async with BoardClient.connect(palabre.ws_url, "b1") as late:
        assert set(_notes(late)) == {"n1", "n2"}


async def test_reconnect_sends_only_the_diff(palabre: PalabreProcess) -> None:
    doc = Doc()
    async with BoardClient.connect(palabre.ws_url, "diff", doc=doc) as a:
        for i in range(50):
            _note(a, f"n{i}", float(i))
        await a.flush()
    async with websockets.connect(f"{palabre.ws_url}/diff") as ws:
        await ws.send(protocol.encode_sync_step1(doc.get_state()))
        reply = protocol.parse_message(await ws.recv())
        assert reply.kind == protocol.KIND_STEP2
        assert len(reply.payload) < 10  # nothing missing: an empty update, not the board
    async with websockets.connect(f"{palabre.ws_url}/diff") as ws:
        await ws.send(protocol.encode_sync_step1(Doc().get_state()))
        full = protocol.parse_message(await ws.recv())
        assert len(full.payload) > 500


async def test_presence_relayed_and_removed_on_close(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "aw") as watcher:
        async with BoardClient.connect(palabre.ws_url, "aw") as other:
            other.set_presence(4242, 1, json.dumps({"user": {"name": "Awa", "site": "Diéma"}}))
            await eventually(lambda: 4242 in watcher.awareness)
            async with BoardClient.connect(palabre.ws_url, "aw") as newcomer:
                await eventually(lambda: 4242 in newcomer.awareness)  # current presence at once
        await eventually(lambda: 4242 not in watcher.awareness)  # no ghost


async def test_query_awareness_answers_current_presence(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "qa") as a:
        a.set_presence(7, 1, '{"user":{"name":"Moussa"}}')
        await asyncio.sleep(0.2)
        async with websockets.connect(f"{palabre.ws_url}/qa") as ws:
            await ws.recv()  # presence sent on arrival
            await ws.send(b"\x03")
            answer = protocol.parse_message(await asyncio.wait_for(ws.recv(), 5))
            assert answer.kind == protocol.KIND_AWARENESS
            assert protocol.parse_awareness(answer.payload, 1 << 16)[0].client_id == 7


BAD_FRAMES = {
    "garbage": b"\x07garbage",
    "truncated-varint": b"\x00\x02\x80",
    "unknown-type": b"\x09",
    "bad-update-bytes": protocol.encode_update(b"\x01\x02garbage"),
    "bad-awareness": b"\x01\x08\x01\x01\x01\x04{bad",
    "awareness-not-object": protocol.encode_awareness([protocol.AwarenessEntry(1, 1, b"[1]").encode()]),
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
async def test_malformed_message_closes_only_that_connection(palabre: PalabreProcess, name: str) -> None:
    async with BoardClient.connect(palabre.ws_url, "bad") as good:
        _note(good, "before", 1.0)
        await good.flush()
        async with websockets.connect(f"{palabre.ws_url}/bad") as ws:
            await ws.send(BAD_FRAMES[name])
            code, reason = await _closed_with(ws)
        assert code == 4400 and reason
        _note(good, "after", 2.0)
        await good.flush()
    async with BoardClient.connect(palabre.ws_url, "bad") as check:
        assert set(_notes(check)) == {"before", "after"}


async def test_text_frame_is_refused(palabre: PalabreProcess) -> None:
    async with websockets.connect(f"{palabre.ws_url}/txt") as ws:
        await ws.send("hello")
        code, reason = await _closed_with(ws)
    assert code == 4400 and "text" in reason


async def test_invalid_board_id_is_refused(palabre: PalabreProcess) -> None:
    async with websockets.connect(f"{palabre.ws_url}/{'x' * 65}") as ws:
        code, _ = await _closed_with(ws)
    assert code == 4400


async def test_oversized_message_gets_4413(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", extra_args=["--max-message-bytes", "65536"]).start()
    try:
        async with websockets.connect(f"{server.ws_url}/big", max_size=None) as ws:
            await ws.send(protocol.encode_update(b"\x00" * 100_000))
            code, reason = await _closed_with(ws)
        assert code == 4413 and "too large" in reason
        async with BoardClient.connect(server.ws_url, "big") as ok:  # the board still works
            _note(ok, "n", 1.0)
            await ok.flush()
    finally:
        server.stop()


async def test_flood_gets_4429(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", env={"PALABRE_RATE_MESSAGES_PER_SECOND": "5",
                                                  "PALABRE_RATE_BURST_MESSAGES": "10"}).start()
    try:
        async with websockets.connect(f"{server.ws_url}/flood") as ws:
            for _ in range(30):
                await ws.send(b"\x03")
            code, reason = await _closed_with(ws)
        assert code == 4429 and "rate" in reason
    finally:
        server.stop()


async def test_token_required_when_configured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", extra_args=["--token", "s3cret"]).start()
    try:
        async with websockets.connect(f"{server.ws_url}/t") as ws:
            code, _ = await _closed_with(ws)
        assert code == 4401
        async with BoardClient.connect(server.ws_url, "t", token="s3cret") as ok:
            assert ok.synced.is_set()
    finally:
        server.stop()


async def test_unknown_board_when_auto_create_is_off(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", extra_args=["--no-auto-create"]).start()
    try:
        async with websockets.connect(f"{server.ws_url}/nope") as ws:
            code, _ = await _closed_with(ws)
        assert code == 4404
    finally:
        server.stop()


async def test_poison_updates_never_reach_the_board(palabre: PalabreProcess) -> None:
    """Each poison update is sent (a refused sender reconnects and goes on, like a buggy client)
    while two good clients keep editing: they converge, the server process never changes."""
    pid = palabre.pid
    cases = {**poison_cases(), "deep-nesting": [deep_nesting_update()]}
    async with BoardClient.connect(palabre.ws_url, "poison") as a, BoardClient.connect(palabre.ws_url, "poison") as b:
        step = 0
        for name, updates in cases.items():
            for update in updates:
                async with websockets.connect(f"{palabre.ws_url}/poison", max_size=None) as ws:
                    await ws.send(protocol.encode_update(update))
                    await ws.send(protocol.encode_sync_step1(b"\x00"))
                    try:
                        while True:
                            reply = protocol.parse_message(await asyncio.wait_for(ws.recv(), 10))
                            if reply.kind == protocol.KIND_STEP2:
                                break  # accepted (harmless on its own)
                    except websockets.ConnectionClosed as exc:
                        assert exc.rcvd is not None and exc.rcvd.code == 4400, name
                step += 1
                _note(a, f"a{step}", float(step))
                _note(b, f"b{step}", float(step))
        await a.flush()
        await b.flush()
        await eventually(lambda: _notes(a) == _notes(b) and len(_notes(a)) == 2 * step)
    assert palabre.proc is not None and palabre.proc.poll() is None and palabre.pid == pid
    async with BoardClient.connect(palabre.ws_url, "poison") as check:  # the stored log is sane
        assert len(_notes(check)) == 2 * step


async def test_a_reader_that_does_not_read_is_dropped_not_waited_for(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stalled receiver stops being relayed to once its backlog passes relay_backlog_bytes
    (the room goes on at full speed); reading nothing for ping_timeout seconds, it is closed
    (4408)."""
    import socket

    server = PalabreProcess(tmp_path / "d", env={"PALABRE_PING_TIMEOUT": "2"}).start()
    try:
        stalled = socket.create_connection(("127.0.0.1", server.port))
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.sendall(b"GET /ws/slow HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        await asyncio.sleep(0.3)  # handshake answered; from now on this client never reads
        async with BoardClient.connect(server.ws_url, "slow") as writer, BoardClient.connect(server.ws_url, "slow") as reader:
            for i in range(400):  # 8 MB: more than the kernel buffers take for the stalled one
                writer.doc.get("notes", type=Map)[f"n{i}"] = "x" * 20_000
            await writer.flush(timeout=30)
            await eventually(lambda: len(_notes(reader)) == 400, timeout=20)
            async with httpx.AsyncClient(base_url=server.http_url) as http:
                metrics = (await http.get("/metrics")).text
                assert "palabre_receivers_behind_total 1" in metrics
                for _ in range(100):
                    metrics = (await http.get("/metrics")).text
                    if "palabre_slow_clients_dropped_total 1" in metrics:
                        break
                    await asyncio.sleep(0.1)
        assert "palabre_slow_clients_dropped_total 1" in metrics
        assert "palabre_connections 2" in metrics  # the writer and the reader stay
        stalled.close()
    finally:
        server.stop()


async def test_board_full_gets_4429(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = PalabreProcess(tmp_path / "d", env={"PALABRE_MAX_CONNECTIONS_PER_BOARD": "2"}).start()
    try:
        async with BoardClient.connect(server.ws_url, "full"), BoardClient.connect(server.ws_url, "full"):
            async with websockets.connect(f"{server.ws_url}/full") as third:
                code, reason = await _closed_with(third)
            assert code == 4429 and "too many connections" in reason
    finally:
        server.stop()


async def test_a_large_initial_sync_arrives_in_pieces_a_stock_client_accepts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """On a slow link one huge step 2 outlasts a stock client's 30 s silence limit: the server
    sends updates of at most `sync_chunk_bytes` and then the step 2."""
    from boards.board import Board
    from tests.test_interop import require_node_clients, run_script

    server = PalabreProcess(tmp_path / "d", env={"PALABRE_SYNC_CHUNK_BYTES": "2048"}).start()
    try:
        async with BoardClient.connect(server.ws_url, "big") as writer:
            board = Board(writer.doc)
            for i in range(300):
                board.add_note(f"Post-it {i} : mobilisation des bénévoles ɛ ɔ ɲ ŋ", x=float(i), y=0.0)
            await writer.flush()
            expected = _notes(writer)
        async with websockets.connect(f"{server.ws_url}/big", max_size=None) as ws:
            await ws.send(protocol.encode_sync_step1(Doc().get_state()))
            kinds, doc = [], Doc()
            while not kinds or kinds[-1] != protocol.KIND_STEP2:
                message = protocol.parse_message(await asyncio.wait_for(ws.recv(), 5))
                kinds.append(message.kind)
                doc.apply_update(message.payload)
                assert len(message.payload) < 2048 + 1024
        assert kinds.count(protocol.KIND_UPDATE) > 5
        assert doc.get("notes", type=Map).to_py() == expected
        require_node_clients()
        seen = await asyncio.to_thread(run_script, "reader.mjs", server, "big", "--min-notes", "300")
        assert seen["count"] == 300
    finally:
        server.stop()


async def test_thirty_people_opening_a_board_at_once_share_one_load(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "crowd") as first:
        _note(first, "consigne", 0.0)
        await first.flush()
    await asyncio.sleep(0.1)
    async with contextlib.AsyncExitStack() as stack:
        clients = await asyncio.gather(*(stack.enter_async_context(BoardClient.connect(palabre.ws_url, "crowd"))
                                         for _ in range(30)))
        assert all("consigne" in _notes(c) for c in clients)
        async with httpx.AsyncClient(base_url=palabre.http_url) as http:
            metrics = (await http.get("/metrics")).text
    assert "palabre_board_loads_total 1" in metrics
    assert "palabre_connections 30" in metrics


async def test_a_silent_dead_peer_is_dropped_by_keepalive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    server = PalabreProcess(tmp_path / "d", env={"PALABRE_PING_INTERVAL": "0.3", "PALABRE_PING_TIMEOUT": "0.3"}).start()
    try:
        dead = socket.create_connection(("127.0.0.1", server.port))
        dead.sendall(b"GET /ws/ka HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        async with httpx.AsyncClient(base_url=server.http_url) as http:

            async def connections() -> str:
                text = (await http.get("/metrics")).text
                return next(line for line in text.splitlines() if line.startswith("palabre_connections "))

            seen = [await connections()]
            for _ in range(100):  # it connects, then, never answering the pings, is dropped
                if seen[-1] == "palabre_connections 0" and "palabre_connections 1" in seen:
                    break
                await asyncio.sleep(0.05)
                seen.append(await connections())
        metrics = seen[-1]
        assert "palabre_connections 1" in seen
        assert "palabre_connections 0" in metrics
        dead.close()
    finally:
        server.stop()
