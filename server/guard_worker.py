"""The guard's worker process: keeps a replica Doc per board and tries every update on it first.

Run as `python -m server.guard_worker`. It reads requests on stdin and answers on stdout, in
order, one answer per CHECK. A request is `!IBH` (body length, op, board-name length), the board
name, then the body. An answer is `!IB` (length, status) then a UTF-8 reason.

If an update makes pycrdt segfault, spin, or allocate without bound, it is this process that
dies or gets killed, never the server: the parent sees it and refuses the update. Before each
CHECK the address-space limit is set to what the process uses now plus a headroom, so a memory
bomb fails here (Rust aborts on a failed allocation) instead of growing until the OOM killer.
"""

from __future__ import annotations

import os
import resource
import struct
import sys

from pycrdt import Doc

OP_SEED = 1  # body: the board's full state; replaces the replica
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
            if body:
                doc.apply_update(body)
            self.replicas[board] = doc
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
        self._limit_memory()
        try:
            doc.apply_update(body)
        except BaseException as exc:  # pyo3 PanicException is a BaseException
            # A failed apply may leave the replica half-changed: drop it; the parent re-seeds.
            self.replicas.pop(board, None)
            return _answer(STATUS_REJECTED, f"{type(exc).__name__}: {exc}"[:200])
        return _answer(STATUS_OK, "")

    def _limit_memory(self) -> None:
        if self.headroom > 0:
            limit = _vm_bytes() + self.headroom
            resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


def _answer(status: int, reason: str) -> bytes:
    text = reason.encode()
    return ANSWER.pack(len(text), status) + text


def serve(fd_in: int, fd_out: int, worker: Worker) -> None:
    buf = bytearray()
    while True:
        chunk = os.read(fd_in, 1 << 20)
        if not chunk:
            return
        buf += chunk
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
                # Answer at once: the parent blames the oldest unanswered CHECK if we die.
                os.write(fd_out, answer)
        del buf[:pos]


def main() -> None:
    headroom = int(sys.argv[1]) if len(sys.argv) > 1 else 512 * 1024 * 1024
    serve(sys.stdin.fileno(), sys.stdout.fileno(), Worker(headroom))


if __name__ == "__main__":
    main()
