"""A Python y-websocket client for Palabre boards (scripts, imports, tests).

    async with BoardClient.connect("ws://localhost:8000/ws", "atelier") as client:
        with client.doc.transaction():
            client.doc.get("notes", type=Map)["n1"] = Map({...})
        await client.flush()   # returns once the server has stored the edit

The client keeps a local pycrdt Doc in sync with the board: it answers the server's sync
messages, applies remote updates, and sends every local transaction as an update message.

`flush()` relies on the server handling one connection's messages in order: it sends a sync
step 1 after the pending updates and waits for the step 2 answering it. By then every earlier
update of this connection has been checked, appended to the durable log and relayed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import websockets
from pycrdt import Doc, TransactionEvent

from server import protocol


class BoardClient:
    def __init__(self, ws: Any, doc: Doc) -> None:
        self.ws = ws
        self.doc = doc
        self.synced = asyncio.Event()
        self.awareness: dict[int, bytes] = {}  # client id → state JSON (raw)
        self._step2_waiters: list[asyncio.Future[None]] = []
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._subscription = doc.observe(self._on_transaction)
        self._tasks: list[asyncio.Task[None]] = []
        self._applying_remote = False  # transactions seen while True came from the server
        self.closed: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, url: str, board: str, *, token: str | None = None, doc: Doc | None = None, timeout: float = 10
    ) -> AsyncIterator["BoardClient"]:
        target = f"{url.rstrip('/')}/{board}" + (f"?token={token}" if token else "")
        async with websockets.connect(target, max_size=None) as ws:
            client = cls(ws, doc if doc is not None else Doc())
            client._start()
            try:
                await asyncio.wait_for(client.synced.wait(), timeout)
                yield client
            finally:
                await client._stop()

    def _start(self) -> None:
        self._tasks = [asyncio.ensure_future(self._read()), asyncio.ensure_future(self._write())]
        self._outbox.put_nowait(protocol.encode_sync_step1(self.doc.get_state()))

    async def _stop(self) -> None:
        self.doc.unobserve(self._subscription)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_transaction(self, event: TransactionEvent) -> None:
        if event.update != protocol.EMPTY_UPDATE and not self._applying_remote:
            self._outbox.put_nowait(protocol.encode_update(event.update))

    async def _write(self) -> None:
        while True:
            await self.ws.send(await self._outbox.get())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                self._handle(protocol.parse_message(frame))
        except websockets.ConnectionClosed:
            pass
        finally:
            rcvd = self.ws.close_code, self.ws.close_reason or ""
            if not self.closed.done():
                self.closed.set_result(rcvd)
            for waiter in self._step2_waiters:
                if not waiter.done():
                    waiter.set_exception(ConnectionError(f"closed: {rcvd}"))

    def _handle(self, message: protocol.Message) -> None:
        if message.kind == protocol.KIND_STEP1:
            self._outbox.put_nowait(protocol.encode_sync_step2(self.doc.get_update(message.payload)))
        elif message.kind in (protocol.KIND_STEP2, protocol.KIND_UPDATE):
            self._applying_remote = True
            try:
                self.doc.apply_update(message.payload)
            finally:
                self._applying_remote = False
            if message.kind == protocol.KIND_STEP2:
                self.synced.set()
                if self._step2_waiters:
                    waiter = self._step2_waiters.pop(0)
                    if not waiter.done():
                        waiter.set_result(None)
        elif message.kind == protocol.KIND_AWARENESS:
            for entry in protocol.parse_awareness(message.payload, 1 << 20):
                if entry.removed:
                    self.awareness.pop(entry.client_id, None)
                else:
                    self.awareness[entry.client_id] = entry.state

    async def flush(self, timeout: float = 10) -> None:
        """Wait until the server has stored every update this client sent so far."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._step2_waiters.append(waiter)
        self._outbox.put_nowait(protocol.encode_sync_step1(self.doc.get_state()))
        await asyncio.wait_for(waiter, timeout)

    async def send_raw(self, frame: bytes) -> None:
        await self.ws.send(frame)

    def set_presence(self, client_id: int, clock: int, state: str) -> None:
        entry = protocol.AwarenessEntry(client_id, clock, state.encode())
        self._outbox.put_nowait(protocol.encode_awareness([entry.encode()]))
