"""Random and mutated frames against a live server: every one is answered or refused with a
protocol close code, nothing crashes or hangs, and good clients keep working."""

from __future__ import annotations

import asyncio
import json
import random

import websockets
from pycrdt import Doc, Map, Text

from client.connection import BoardClient
from server import protocol
from tests.support.wait import eventually
from tests.support.server import PalabreProcess

REFUSALS = {4400, 4413, 4429}


def _templates() -> list[bytes]:
    doc = Doc()
    notes = doc.get("notes", type=Map)
    notes["n"] = Map({"text": Text("Accès aux financements ɛ ɔ"), "x": 1.5})
    update = doc.get_update()
    presence = protocol.AwarenessEntry(42, 3, json.dumps({"user": {"name": "Awa", "site": "Diéma"}}).encode())
    return [
        protocol.encode_update(update),
        protocol.encode_sync_step2(update),
        protocol.encode_sync_step1(doc.get_state()),
        protocol.encode_awareness([presence.encode()]),
        b"\x03",
    ]


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif choice < 0.6 and data:
            del data[rng.randrange(len(data)):]
        elif choice < 0.8:
            data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(data)


async def _outcome(url: str, frame: bytes) -> str:
    """'ok' if the server answered a sync after the frame, or the refusal code."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(frame)
        await ws.send(protocol.encode_sync_step1(b"\x00"))
        try:
            while True:
                reply = await asyncio.wait_for(ws.recv(), 10)
                if protocol.parse_message(reply).kind == protocol.KIND_STEP2:
                    return "ok"
        except websockets.ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return str(exc.rcvd.code)


async def test_mutated_and_random_frames(palabre: PalabreProcess) -> None:
    rng = random.Random(20261125)
    templates = _templates()
    frames = [_mutate(rng, rng.choice(templates)) for _ in range(120)]
    frames += [bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))) for _ in range(30)]
    pid = palabre.pid
    outcomes = []
    for frame in frames:
        outcomes.append(await _outcome(f"{palabre.ws_url}/fuzz", frame))
    assert set(outcomes) <= {"ok"} | {str(code) for code in REFUSALS}, outcomes
    assert "4400" in outcomes and "ok" in outcomes
    async with BoardClient.connect(palabre.ws_url, "fuzz") as a, BoardClient.connect(palabre.ws_url, "fuzz") as b:
        a.doc.get("notes", type=Map)["after"] = 1.0
        await a.flush()
        await eventually(lambda: "after" in b.doc.get("notes", type=Map))
        assert b.doc.get("notes", type=Map)["after"] == 1.0
    assert palabre.proc is not None and palabre.proc.poll() is None and palabre.pid == pid
