"""The app under another ASGI server (here Starlette's test client): no PalabreProtocol, so
sends go through the bounded per-connection queue and ASGI close; the protocol is the same."""

from __future__ import annotations

from pathlib import Path

from pycrdt import Doc, Map
from starlette.testclient import TestClient

from server import protocol
from server.app import create_app
from server.settings import Settings


def _update(key: str) -> bytes:
    doc = Doc()
    doc.get("notes", type=Map)[key] = 1.0
    return doc.get_update()


def test_sync_relay_and_refusal_without_palabre_protocol(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, guard=False))
    with TestClient(app) as client:
        with client.websocket_connect("/ws/asgi") as a, client.websocket_connect("/ws/asgi") as b:
            a.send_bytes(protocol.encode_sync_step1(b"\x00"))
            assert protocol.parse_message(a.receive_bytes()).kind == protocol.KIND_STEP2
            assert protocol.parse_message(a.receive_bytes()).kind == protocol.KIND_STEP1
            a.send_bytes(protocol.encode_update(_update("n1")))
            relayed = protocol.parse_message(b.receive_bytes())
            assert relayed.kind == protocol.KIND_UPDATE
            doc = Doc()
            doc.apply_update(relayed.payload)
            assert doc.get("notes", type=Map).to_py() == {"n1": 1.0}
            b.send_bytes(b"\x09")
            closed = b.receive()
            assert closed == {"type": "websocket.close", "code": 4400, "reason": "malformed message: unknown message type 9"}
