"""The guard's worker process: keeps a replica Doc per board and tries every update on it first.

Run as `python -m server.guard_worker`. It reads requests on stdin and answers on stdout, in
order, one answer per CHECK. A request is `!IBH` (body length, op, board-name length), the board
name, then the body. An answer is `!IB` (length, status) then a UTF-8 reason.

Requests arrive in batches (whatever the parent queued in one loop iteration); the answers to
a batch go back in one write at its end (or every `FLUSH_SECONDS` during a long batch), which
halves the cost of a check. If the process dies mid-batch, the parent does not know which
update did it and checks the unanswered ones again one at a time (see guard.py).

If an update makes pycrdt segfault, spin, or allocate without bound, it is this process that
dies or gets killed, never the server: the parent sees it and refuses the update. Before each
batch (re-based every few batches) the address-space limit is what the process uses plus a headroom, so a memory
bomb fails here (Rust aborts on a failed allocation) instead of growing until the OOM killer.
"""

from __future__ import annotations

import gc
import os
import resource
import struct
import sys
import time

from pycrdt import Doc

OP_SEED = 1  # body: the updates the live board was built from (see seed_body); replaces the replica
OP_CHECK = 2  # body: an update; answered
OP_APPLY = 3  # body: an update already accepted elsewhere; not answered
OP_DROP = 4  # forget the replica

STATUS_OK = 0
STATUS_REJECTED = 1

REQUEST = struct.Struct("!IBH")
ANSWER = struct.Struct("!IB")

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _vm_bytes() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * _PAGE


class Worker:
    def __init__(self, headroom: int) -> None:
        self.replicas: dict[str, Doc] = {}
        self.headroom = headroom

    def handle(self, op: int, board: str, body: bytes) -> bytes | None:
        if op == OP_DROP:
            self.replicas.pop(board, None)
            return None
        if op == OP_SEED:
            doc: Doc = Doc()
            for update in _split_seed(body):
                try:
                    doc.apply_update(update)
                except BaseException:  # the live doc went through the same failure: mirror it
                    pass
            self.replicas[board] = doc
            self.limit_memory()  # a large board legitimately grew the process
            return None
        doc = self.replicas.get(board)
        if doc is None:
            doc = self.replicas[board] = Doc()
        if op == OP_APPLY:
            # The live board already has this update (or failed on it the same way): mirror it.
            try:
                doc.apply_update(body)
            except BaseException as exc:
                sys.stderr.write(f"guard replica {board}: applied update failed: {exc}\n")
            return None
        try:
            doc.apply_update(body)
        except BaseException as exc:  # pyo3 PanicException is a BaseException
            # A failed apply may leave the replica half-changed: drop it; the parent re-seeds.
            self.replicas.pop(board, None)
            return _answer(STATUS_REJECTED, f"{type(exc).__name__}: {exc}"[:200])
        return _answer(STATUS_OK, "")

    def limit_memory(self) -> None:
        if self.headroom > 0:
            limit = _vm_bytes() + self.headroom
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


SEED_ITEM = struct.Struct("!I")


def seed_body(updates: list[bytes]) -> bytes:
    """A SEED body: each update with a 4-byte length, in the order the live doc applied them."""
    return b"".join(SEED_ITEM.pack(len(update)) + update for update in updates)


def _split_seed(body: bytes) -> list[bytes]:
    updates, pos = [], 0
    while pos < len(body):
        (length,) = SEED_ITEM.unpack_from(body, pos)
        pos += SEED_ITEM.size
        updates.append(body[pos : pos + length])
        pos += length
    return updates


def _answer(status: int, reason: str) -> bytes:
    text = reason.encode()
    return ANSWER.pack(len(text), status) + text


FLUSH_SECONDS = 0.1
# The address-space cap is re-based on the current size every this many batches (and after
# each SEED): reading /proc and setting the limit for every small update is wasted syscalls.
MEMORY_CHECK_EVERY = 64


def serve(fd_in: int, fd_out: int, worker: Worker) -> None:
    buf = bytearray()
    batches = 0
    while True:
        chunk = os.read(fd_in, 1 << 20)
        if not chunk:
            return
        buf += chunk
        batches += 1
        if batches % MEMORY_CHECK_EVERY == 1:
            worker.limit_memory()
        answers: list[bytes] = []
        flushed = time.monotonic()
        pos = 0
        while len(buf) - pos >= REQUEST.size:
            length, op, name_len = REQUEST.unpack_from(buf, pos)
            end = pos + REQUEST.size + name_len + length
            if len(buf) < end:
                break
            start = pos + REQUEST.size
            board = bytes(buf[start : start + name_len]).decode()
            body = bytes(buf[start + name_len : end])
            pos = end
            answer = worker.handle(op, board, body)
            if answer is not None:
                answers.append(answer)
                if time.monotonic() - flushed > FLUSH_SECONDS:
                    os.write(fd_out, b"".join(answers))
                    answers, flushed = [], time.monotonic()
        del buf[:pos]
        if answers:
            os.write(fd_out, b"".join(answers))


def main() -> None:
    gc.freeze()  # as in the server (runner.tune_gc): few objects live long here
    gc.set_threshold(50_000, 50, 100)
    headroom = int(sys.argv[1]) if len(sys.argv) > 1 else 512 * 1024 * 1024
    serve(sys.stdin.fileno(), sys.stdout.fileno(), Worker(headroom))


if __name__ == "__main__":
    main()
