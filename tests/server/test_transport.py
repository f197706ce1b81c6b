"""The WebSocket transport on the wire: large messages deflated, small ones not (RFC 7692 allows
it per message), so joins are small and moves cost no compression; and the kernel's count of a
peer's data segments, which the keep-alive takes as a sign of life."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time

from pycrdt import Doc
from uvicorn.config import Config
from uvicorn.server import ServerState
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from boards.board import Board
from client.connection import BoardClient
from server import protocol
from server.transport import PalabreProtocol, tcp_data_segments_in
from tests.support.server import PalabreProcess


async def _raw_deflate_connection(port: int, board: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/{board} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n").encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"101" in head.split(b"\r\n")[0] and b"permessage-deflate" in head.lower()
    # No compression context for the client: stock `ws` clients then send small messages plain.
    assert b"client_no_context_takeover" in head.lower()
    return reader, writer


def _client_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    length = len(payload)
    header = bytes((0x82, 0x80 | length)) if length < 126 else struct.pack("!BBH", 0x82, 0x80 | 126, length)
    return header + mask + masked


async def _next_frame(reader: asyncio.StreamReader) -> tuple[bool, int]:
    """(compressed?, payload length on the wire) of the next server data frame (a ping, such as
    the lag probe a connection gets as it joins, is skipped: a client library answers it)."""
    while True:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        await reader.readexactly(length)
        if first & 0x0F != 0x9:
            return bool(first & 0x40), length


async def test_large_sync_is_deflated_small_messages_are_not(palabre: PalabreProcess) -> None:
    async with BoardClient.connect(palabre.ws_url, "wire") as writer:
        board = Board(writer.doc)
        for i in range(200):
            board.add_note(f"Post-it {i} : accès aux financements, mobilisation des bénévoles", x=float(i), y=0.0)
        await writer.flush()
        # Every step 1 from the server is answered with a step 2 computed from the state vector
        # it carried: the answer to the sync step 1 sent when the client connected (empty
        # board) holds all 200 notes, and may be sent after the flush above. A second flush is
        # answered only after it, so `raw` below does not receive its relay.
        await writer.flush()
        full = len(writer.doc.get_update())
        reader, raw = await _raw_deflate_connection(palabre.port, "wire")
        raw.write(_client_frame(protocol.encode_sync_step1(Doc().get_state())))
        compressed, wire = await asyncio.wait_for(_next_frame(reader), 5)  # step 2: the whole board
        assert compressed and wire < full / 3
        compressed, wire = await asyncio.wait_for(_next_frame(reader), 5)  # step 1: a state vector
        assert not compressed
        board.move_note(board.snapshot().notes[0].id, 5.0, 5.0)  # a small relayed move
        compressed, wire = await asyncio.wait_for(_next_frame(reader), 5)
        assert not compressed and wire < 200
        raw.close()


def test_the_kernel_counts_the_data_segments_a_peer_sends_not_its_acknowledgements() -> None:
    """The keep-alive's sign of life on a lossy link (PalabreProtocol.keepalive_timeout)."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        before = tcp_data_segments_in(server)
        for _ in range(3):
            client.sendall(b"move")
            time.sleep(0.02)
        assert tcp_data_segments_in(server) == before + 3
        server.sendall(b"x" * 10_000)  # the client only acknowledges it
        client.recv(65536)
        time.sleep(0.05)
        assert tcp_data_segments_in(server) == before + 3
        with socket.socket(socket.AF_UNIX) as other:
            assert tcp_data_segments_in(other) == 0  # not TCP: unknown
    finally:
        for sock in (client, server, listener):
            sock.close()


async def test_a_keepalive_pong_shortens_a_round_trip_that_a_late_join_probe_overstated() -> None:
    config = Config(app=lambda *_: None, ws="websockets-sansio")
    config.load()
    loop = asyncio.get_running_loop()
    transport = PalabreProtocol(config, ServerState(), {}, loop)
    transport.round_trip = 1.8  # the join probe's pong came late: a resent segment, say
    transport.pending_ping_payload, transport.ping_sent_at = b"ping", loop.time() - 0.6
    transport.handle_pong(Frame(Opcode.PONG, b"ping"))
    assert 0.6 <= transport.round_trip < 1.0
    transport.pending_ping_payload, transport.ping_sent_at = b"gnip", loop.time() - 1.5
    transport.handle_pong(Frame(Opcode.PONG, b"gnip"))
    assert transport.round_trip < 1.0  # the shortest seen: queues only lengthen a round trip


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked server frame in `data`."""
    frames, pos = [], 0
    while pos < len(data):
        first, length = data[pos], data[pos + 1] & 0x7F
        pos += 2
        if length == 126:
            (length,) = struct.unpack_from("!H", data, pos)
            pos += 2
        frames.append((first & 0x0F, data[pos:pos + length]))
        pos += length
    return frames


async def test_writes_past_the_kernels_share_are_held_and_relays_among_them_can_be_dropped() -> None:
    """A receiver that reads nothing (a slow link's far end, as the kernel sees it): once the
    kernel holds a quarter of relay_backlog_bytes unsent, writes wait in Palabre, where the room
    can still drop the relays and the lag probe when it finds the receiver behind; a direct
    answer among them still goes, in order, once the kernel has sent what it had."""
    from server.transport import HELD_KEEP, HELD_RELAY, encode_frame

    listener = socket.create_server(("127.0.0.1", 0))
    reader = socket.socket()
    reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    reader.connect(listener.getsockname())
    accepted, _ = listener.accept()
    config = Config(app=lambda *_: None, ws="websockets-sansio")
    config.load()
    loop = asyncio.get_running_loop()
    proto = PalabreProtocol(config, ServerState(), {}, loop)
    await loop.connect_accepted_socket(lambda: proto, accepted)
    proto.handshake_complete, proto.conn.state = True, State.OPEN  # as after the WebSocket upgrade
    proto.watch_unsent = True  # the room saw a backlog on it
    backed_up: list[int] = []
    proto.on_backed_up = lambda: backed_up.append(proto.unsent_bytes())
    try:
        move = b"\x00\x02" + b"m" * 1000
        for _ in range(300):
            if proto.holding:
                break
            assert proto.write_messages([(move, encode_frame(move))], len(move), HELD_RELAY)
        assert proto.holding and backed_up and backed_up[0] > proto.unsent_limit
        kept, relay = b"\x00\x02" + b"k" * 300, b"\x00\x02" + b"r" * 300
        proto.write_messages([(relay, encode_frame(relay))], len(relay), HELD_RELAY)
        proto.send_probe()
        proto.write_messages([(kept, encode_frame(kept))], len(kept), HELD_KEEP)
        proto.write_messages([(relay, encode_frame(relay))], len(relay), HELD_RELAY)
        assert proto.probing and proto.queued_bytes() > proto.unsent_bytes() + 900

        dropped = proto.drop_held()
        assert dropped == 2 * len(encode_frame(relay)) + 2 + 11  # the relays and the probe (a ping of 11 bytes)
        assert not proto.probing  # it never left: the room sends another

        reader.setblocking(False)
        received = b""
        for _ in range(200):  # the far end reads at last
            try:
                received += reader.recv(65536)
            except BlockingIOError:
                await asyncio.sleep(0.01)
            if proto.release_held() and received.endswith(encode_frame(kept)):
                break
        frames = _frames(received)
        assert frames[-1] == (0x2, kept)  # the answer arrived, last, whole
        assert all(payload != relay for _, payload in frames) and all(op == 0x2 for op, _ in frames)
        assert not proto.holding and proto.queued_bytes() == 0
    finally:
        proto.transport.close()
        for sock in (reader, listener):
            sock.close()
