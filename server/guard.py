"""Poison isolation: an update reaches the live board only after a disposable replica survived it.

pycrdt can be killed by an update: a segfault, a loop that never returns while holding the
GIL, an allocation of gigabytes, a stack overflow on deep nesting. A thread is no protection
(the GIL is held), so each update is first applied to a replica of its board in a worker
process (`server.guard_worker`), under a time limit and a memory limit. Same state + same
update = same outcome: what the replica survives, the live board survives.

The worker answers CHECKs in order. If it dies or overruns the time limit, the oldest
unanswered CHECK is the culprit: it is rejected, the worker is restarted (replicas re-seeded
lazily from the live boards), and the other pending CHECKs are tried again on the new worker.
Updates that reach the live board another way (API edits, other server processes) are sent
as APPLY so the replica keeps the live board's state.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import zlib
from collections import deque
from collections.abc import Callable

from server.guard_worker import ANSWER, OP_APPLY, OP_CHECK, OP_DROP, OP_SEED, REQUEST, STATUS_OK
from server.metrics import METRICS

log = logging.getLogger("palabre.guard")


class Rejected(Exception):
    """The update was refused: it failed, crashed or hung the replica."""


class _WorkerGone(Exception):
    """The worker died while this CHECK waited behind the culprit: try again."""


class _Pipe(asyncio.SubprocessProtocol):
    """Parses the worker's answers and resolves the pending CHECK futures in order."""

    def __init__(self, worker: "_Worker") -> None:
        self.worker = worker
        self.buf = bytearray()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            sys.stderr.buffer.write(data)
            return
        self.buf += data
        while len(self.buf) >= ANSWER.size:
            length, status = ANSWER.unpack_from(self.buf, 0)
            end = ANSWER.size + length
            if len(self.buf) < end:
                break
            reason = bytes(self.buf[ANSWER.size : end]).decode(errors="replace")
            del self.buf[:end]
            self.worker.answered(status, reason)

    def process_exited(self) -> None:
        self.worker.died()


class _Worker:
    def __init__(self, guard: "Guard", index: int) -> None:
        self.guard = guard
        self.index = index
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.pending: deque[tuple[asyncio.Future[None], str]] = deque()
        self.seeded: set[str] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.alive = False
        self.timed_out = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        args = [sys.executable, "-m", "server.guard_worker", str(self.guard.memory_headroom)]
        self.transport, _ = await loop.subprocess_exec(lambda: _Pipe(self), *args, stderr=None)
        self.stdin = self.transport.get_pipe_transport(0)  # type: ignore[assignment]
        self.seeded = set()
        self.alive = True
        self.timed_out = False

    def send(self, op: int, board: str, body: bytes) -> None:
        assert self.stdin is not None
        name = board.encode()
        self.stdin.write(REQUEST.pack(len(body), op, len(name)) + name + body)

    def check(self, board: str, update: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.append((future, board))
        self.send(OP_CHECK, board, update)
        if len(self.pending) == 1:
            self._arm()
        return future

    def _arm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(self.guard.timeout, self._timeout)

    def answered(self, status: int, reason: str) -> None:
        if not self.pending:
            return
        future, board = self.pending.popleft()
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pending:
            self._arm()
        if status != STATUS_OK:
            self.seeded.discard(board)  # the worker dropped that replica
        if not future.done():
            future.set_result(None) if status == STATUS_OK else future.set_exception(Rejected(reason))

    def _timeout(self) -> None:
        self.timer = None
        if self.pending and self.transport is not None:
            log.warning("guard worker %d: update took over %.1fs, killing it", self.index, self.guard.timeout)
            self.timed_out = True
            self.transport.kill()

    def died(self) -> None:
        if not self.alive:
            return
        self.alive = False
        METRICS.guard_restarts += 1
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        culprit = "hung the replica" if self.timed_out else "crashed the replica"
        if self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(Rejected(f"update {culprit}"))
        while self.pending:
            future, _ = self.pending.popleft()
            if not future.done():
                future.set_exception(_WorkerGone())
        if self.transport is not None:
            self.transport.close()
        log.warning("guard worker %d exited (%s); restarting on next use", self.index, culprit)


class Guard:
    """Checks updates on replicas in `workers` processes (boards are spread by name)."""

    def __init__(
        self,
        state_of: Callable[[str], bytes],
        *,
        timeout: float = 3.0,
        memory_headroom: int = 512 * 1024 * 1024,
        workers: int = 1,
    ) -> None:
        self.state_of = state_of
        self.timeout = timeout
        self.memory_headroom = memory_headroom
        self._workers = [_Worker(self, i) for i in range(workers)]
        self._starting: dict[int, asyncio.Task[None]] = {}

    async def start(self) -> None:
        for worker in self._workers:
            await worker.start()

    async def stop(self) -> None:
        for worker in self._workers:
            worker.alive = False
            if worker.transport is not None:
                worker.transport.close()

    def _worker_for(self, board: str) -> _Worker:
        return self._workers[zlib.crc32(board.encode()) % len(self._workers)]

    async def _ready(self, worker: _Worker) -> None:
        if worker.alive:
            return
        task = self._starting.get(worker.index)
        if task is None:
            task = self._starting[worker.index] = asyncio.ensure_future(worker.start())
            task.add_done_callback(lambda _: self._starting.pop(worker.index, None))
        await asyncio.shield(task)

    async def check(self, board: str, update: bytes) -> None:
        """Return if the update is safe for `board`'s live doc; raise Rejected otherwise."""
        for _ in range(3):
            worker = self._worker_for(board)
            await self._ready(worker)
            if board not in worker.seeded:
                worker.send(OP_SEED, board, self.state_of(board))
                worker.seeded.add(board)
            try:
                await worker.check(board, update)
                return
            except _WorkerGone:
                continue
        raise Rejected("guard unavailable")

    def applied(self, board: str, update: bytes) -> None:
        """Tell the replica about an update the live board got without a CHECK."""
        worker = self._worker_for(board)
        if worker.alive and board in worker.seeded:
            worker.send(OP_APPLY, board, update)

    def forget(self, board: str) -> None:
        worker = self._worker_for(board)
        if worker.alive and board in worker.seeded:
            worker.send(OP_DROP, board, b"")
            worker.seeded.discard(board)
