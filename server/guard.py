"""Poison isolation: an update reaches the live board only after a disposable replica survived it.

pycrdt can be killed by an update: a segfault, a loop that never returns while holding the
GIL, an allocation of gigabytes, a stack overflow on deep nesting. A thread is no protection
(the GIL is held), so each update is first applied to a replica of its board in a worker
process (`server.guard_worker`), under a time limit and a memory limit. Same state + same
update = same outcome: what the replica survives, the live board survives. "Same state" means
built the same way: a replica is seeded by replaying the very updates the live doc was built
from (`Room.history`), never from a re-encoded state, which pycrdt may not rebuild identically.

Checks queued during one event-loop iteration go to the worker in one write and come back in
one answer; a check that finds the worker idle is written at once (nothing to wait for). If the
worker dies or overruns the time limit, the unanswered checks are suspects: a lone suspect is
the culprit; several are checked again one at a time on a fresh worker (while new checks wait),
and the one that kills it again is refused. Replicas are re-seeded lazily
from the live boards. Updates that reach the live board another way (API edits, other server
processes) are sent as APPLY so the replica keeps the live board's state.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import zlib
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from server.futures import Done, report, settle
from server.guard_worker import ANSWER, OP_APPLY, OP_CHECK, OP_DROP, OP_SEED, REQUEST, STATUS_OK, seed_body
from server.metrics import METRICS

log = logging.getLogger("palabre.guard")

DEFERRED_MAX = 256  # APPLYs held back at most …
DEFERRED_SECONDS = 0.5  # … or for at most this long


class Rejected(Exception):
    """The update was refused: it failed, crashed or hung the replica."""


class _Suspect(Exception):
    """The worker died while this check was unanswered, along with others: check it again alone."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


# Told the outcome of a check: None (safe), Rejected, or _Suspect (check it again alone).
Answer = Done


def _tell(answer: Answer, outcome: BaseException | None) -> None:
    try:
        answer(outcome)
    except Exception:  # a caller's failure must not stop the answers that follow
        log.exception("guard answer callback failed")


def _in_task(check: Coroutine[Any, Any, None], answer: Answer) -> None:
    """Run an awaitable check and hand its outcome to `answer`."""
    report(check, functools.partial(_tell, answer), Rejected("check cancelled"))


class _Pipe(asyncio.SubprocessProtocol):
    """Parses the worker's answers and resolves the pending CHECK futures in order.

    A process starts as the spare (no `worker`) and is given to a `_Worker` when one needs it."""

    def __init__(self) -> None:
        self.worker: _Worker | None = None
        self.exited = False
        self.buf = bytearray()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1:
            sys.stderr.buffer.write(data)
            return
        if self.worker is None:
            return
        self.buf += data
        pos = 0
        while len(self.buf) - pos >= ANSWER.size:
            length, status = ANSWER.unpack_from(self.buf, pos)
            end = pos + ANSWER.size + length
            if len(self.buf) < end:
                break
            reason = bytes(self.buf[pos + ANSWER.size : end]).decode(errors="replace") if length else ""
            pos = end
            self.worker.answered(status, reason)
        del self.buf[:pos]

    def process_exited(self) -> None:
        self.exited = True
        if self.worker is not None:
            self.worker.died()


class _Worker:
    def __init__(self, guard: "Guard", index: int) -> None:
        self.guard = guard
        self.index = index
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.pending: deque[tuple[Answer, str]] = deque()
        self.seeded: set[str] = set()
        self.alive = False
        self.timed_out = False
        self._outbox: list[bytes] = []  # requests written once per loop iteration
        # APPLYs wait here for the next request that needs an answer: a replica only matters
        # when a CHECK reads it, and waking the worker for every remote update costs CPU.
        self._deferred: list[bytes] = []
        self._deferred_timer: asyncio.TimerHandle | None = None
        self._progress = 0.0  # loop time of the last answer (or of the first pending check)
        self._watchdog: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        self.transport, pipe = await self.guard.take_process()
        pipe.worker = self
        self.stdin = self.transport.get_pipe_transport(0)  # type: ignore[assignment]
        self.seeded = set()
        self._outbox = []  # nothing of a dead worker's generation reaches the new one
        self._deferred = []
        self.alive = True
        self.timed_out = False

    def send(self, op: int, board: str, body: bytes, now: bool = False) -> None:
        """Queue a request; it is written at the end of this loop iteration with the others,
        or at once with everything queued if `now` (a check while the worker is idle: nothing
        to batch it with is likely, and waiting an iteration only adds latency)."""
        name = board.encode()
        if not self._outbox and not now:
            asyncio.get_running_loop().call_soon(self._flush)
        if self._deferred:  # they came first: keep the order
            self._outbox.extend(self._deferred)
            self._deferred = []
        self._outbox.append(REQUEST.pack(len(body), op, len(name)) + name + body)
        if now:
            self._flush()

    def defer(self, op: int, board: str, body: bytes) -> None:
        """Queue a request that needs no answer until the next one that does (or a short while,
        or 256 of them: the replica must not fall far behind)."""
        name = board.encode()
        self._deferred.append(REQUEST.pack(len(body), op, len(name)) + name + body)
        if len(self._deferred) >= DEFERRED_MAX:
            self._release_deferred()
        elif self._deferred_timer is None:
            self._deferred_timer = asyncio.get_running_loop().call_later(DEFERRED_SECONDS, self._release_deferred)

    def _release_deferred(self) -> None:
        if self._deferred_timer is not None:
            self._deferred_timer.cancel()
            self._deferred_timer = None
        if self._deferred:
            if not self._outbox:
                asyncio.get_running_loop().call_soon(self._flush)
            self._outbox.extend(self._deferred)
            self._deferred = []

    def _flush(self) -> None:
        requests, self._outbox = self._outbox, []
        if requests and self.alive and self.stdin is not None and not self.stdin.is_closing():
            self.stdin.write(b"".join(requests))

    def check(self, board: str, update: bytes, answer: Answer) -> None:
        """Send a CHECK; `answer` is called with its outcome when the worker replies or dies."""
        loop = asyncio.get_running_loop()
        idle = not self.pending
        if idle:
            self._progress = loop.time()
        self.pending.append((answer, board))
        self.send(OP_CHECK, board, update, now=idle)
        if self._watchdog is None:
            self._watchdog = loop.call_later(self.guard.timeout, self._watch)

    def _watch(self) -> None:
        """Kill the worker if it answered nothing for `timeout` seconds while checks wait.

        One timer per worker, re-armed only when it fires: answers just record the time."""
        self._watchdog = None
        if not self.pending or self.transport is None:
            return
        loop = asyncio.get_running_loop()
        stalled = loop.time() - self._progress
        if stalled >= self.guard.timeout:
            log.warning("guard worker %d: no answer for %.1fs, killing it", self.index, stalled)
            self.timed_out = True
            self.transport.kill()
        else:
            self._watchdog = loop.call_later(self.guard.timeout - stalled, self._watch)

    def answered(self, status: int, reason: str) -> None:
        if not self.pending:
            return
        answer, board = self.pending.popleft()
        self._progress = asyncio.get_running_loop().time()
        if status != STATUS_OK:
            self.seeded.discard(board)  # the worker dropped that replica
        _tell(answer, None if status == STATUS_OK else Rejected(reason))

    def died(self) -> None:
        if not self.alive:
            return
        self.alive = False
        METRICS.guard_restarts += 1
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        cause = "update hung the replica" if self.timed_out else "update crashed the replica"
        suspects = [answer for answer, _ in self.pending]
        self.pending.clear()
        if len(suspects) == 1:
            _tell(suspects[0], Rejected(cause))
        elif suspects:
            self.guard.recovering(len(suspects))  # first: the suspects' re-checks wait for nobody
            for answer in suspects:
                _tell(answer, _Suspect(cause))
        if self.transport is not None:
            self.transport.close()
        log.warning("guard worker %d exited (%s, %d unanswered); restarting on next use",
                    self.index, cause, len(suspects))


class Guard:
    """Checks updates on replicas in `workers` processes (boards are spread by name)."""

    def __init__(
        self,
        state_of: Callable[[str], list[bytes]],
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
        self._alone = asyncio.Lock()  # suspects are checked again one at a time
        self._suspects = 0
        self._recovered: asyncio.Event | None = None  # set while suspects are being re-checked
        self._spare: asyncio.Future[tuple[asyncio.SubprocessTransport, _Pipe]] | None = None

    async def start(self) -> None:
        for worker in self._workers:
            await worker.start()

    async def stop(self) -> None:
        for worker in self._workers:
            worker.alive = False
            if worker.transport is not None:
                worker.transport.close()
        if self._spare is not None:
            spare, self._spare = self._spare, None
            transport, _ = await spare
            transport.close()

    async def _spawn(self) -> tuple[asyncio.SubprocessTransport, _Pipe]:
        loop = asyncio.get_running_loop()
        args = [sys.executable, "-m", "server.guard_worker", str(self.memory_headroom)]
        return await loop.subprocess_exec(_Pipe, *args, stderr=None)  # type: ignore[return-value]

    async def take_process(self) -> tuple[asyncio.SubprocessTransport, _Pipe]:
        """A started worker process, and a new spare starting in the background: after a crash
        the next check is served at once instead of after a Python start-up (~0.2 s)."""
        while True:
            spare = self._spare if self._spare is not None else asyncio.ensure_future(self._spawn())
            self._spare = asyncio.ensure_future(self._spawn())
            transport, pipe = await spare
            if not pipe.exited:
                return transport, pipe
            transport.close()  # the spare died while idle: take the next one

    def _worker_for(self, board: str) -> _Worker:
        if len(self._workers) == 1:
            return self._workers[0]
        return self._workers[zlib.crc32(board.encode()) % len(self._workers)]

    async def _ready(self, worker: _Worker) -> None:
        if worker.alive:
            return
        task = self._starting.get(worker.index)
        if task is None:
            task = self._starting[worker.index] = asyncio.ensure_future(worker.start())
            task.add_done_callback(lambda _: self._starting.pop(worker.index, None))
        await asyncio.shield(task)

    def recovering(self, suspects: int) -> None:
        self._suspects += suspects
        if self._recovered is None:
            self._recovered = asyncio.Event()

    def submit(self, board: str, update: bytes, answer: Answer) -> None:
        """Check an update for `board`'s live doc: `answer(None)` if it is safe, `answer(Rejected)`
        if not. While the worker is up and no crash is being sorted out, `answer` is called
        straight from the worker's reply (no task to resume); otherwise through `check`."""
        worker = self._worker_for(board)
        if self._recovered is None and worker.alive:
            self._seed(worker, board)
            worker.check(board, update, lambda error: self._answered(board, update, answer, error))
        else:
            _in_task(self.check(board, update), answer)

    def _answered(self, board: str, update: bytes, answer: Answer, error: BaseException | None) -> None:
        if isinstance(error, _Suspect):
            _in_task(self._check_alone(board, update), answer)
        else:
            answer(error)

    async def check(self, board: str, update: bytes) -> None:
        """Return if the update is safe for `board`'s live doc; raise Rejected otherwise."""
        while self._recovered is not None:  # let the suspects go first, one at a time
            await self._recovered.wait()
        try:
            await self._check_once(board, update)
        except _Suspect:
            await self._check_alone(board, update)

    async def _check_alone(self, board: str, update: bytes) -> None:
        async with self._alone:
            try:
                await self._check_once(board, update)
            except _Suspect as suspect:  # cannot happen alone, but never let it pass
                raise Rejected(suspect.cause) from None
            finally:
                self._suspect_done()

    def _suspect_done(self) -> None:
        self._suspects -= 1
        if self._suspects <= 0 and self._recovered is not None:
            self._suspects = 0
            self._recovered.set()
            self._recovered = None

    async def _check_once(self, board: str, update: bytes) -> None:
        worker = self._worker_for(board)
        await self._ready(worker)
        self._seed(worker, board)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        worker.check(board, update, functools.partial(self._settle, future))
        await future

    def _settle(self, future: asyncio.Future[None], outcome: BaseException | None) -> None:
        if future.done() and isinstance(outcome, _Suspect):  # its caller was cancelled
            self._suspect_done()  # nobody will check it again: do not keep the others waiting
        settle(future, outcome)

    def _seed(self, worker: _Worker, board: str) -> None:
        if board not in worker.seeded:
            worker.send(OP_SEED, board, seed_body(self.state_of(board)))
            worker.seeded.add(board)

    def applied(self, board: str, update: bytes) -> None:
        """Tell the replica about an update the live board got without a CHECK."""
        worker = self._worker_for(board)
        if worker.alive and board in worker.seeded:
            worker.defer(OP_APPLY, board, update)

    def forget(self, board: str) -> None:
        worker = self._worker_for(board)
        if worker.alive and board in worker.seeded:
            worker.send(OP_DROP, board, b"")
            worker.seeded.discard(board)
