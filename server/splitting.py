"""Split a large Yjs update into smaller updates that are each valid on their own.

Why: a stock y-websocket client drops a socket that brings no message for 30 s. A newcomer on
a slow link (Mali, 3G) whose initial sync is one multi-megabyte message never finishes it and
reconnects forever. Sent as several ordinary update messages, each arrives within the limit.

How: the v1 update format is

    varuint(#clients) { varuint(#structs) varuint(client) varuint(first clock) struct* }*  delete-set

Structs of one client are consecutive in clock order and each carries its own encoding, so a
run of them, with the clock of its first one, is an update by itself. We walk the structs only
to find where each ends and how many clock ticks it spans, cut runs of about `limit` bytes,
and send the delete set last, alone. Only updates the server encoded itself are split; anything
unexpected returns the update whole (the caller then sends it as before).
"""

from __future__ import annotations

from pycrdt import write_var_uint


class _Unsplittable(Exception):
    pass


_MAX_DEPTH = 200  # nested JSON deeper than this: send whole rather than recurse


class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self.pos = 0

    def uint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.buf) or shift > 63:
                raise _Unsplittable("bad varuint")
            byte = self.buf[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7

    def skip(self, n: int) -> None:
        self.pos += n
        if self.pos > len(self.buf):
            raise _Unsplittable("truncated")

    def var_bytes(self) -> bytes:
        n = self.uint()
        start = self.pos
        self.skip(n)
        return self.buf[start:self.pos]

    def var_int(self) -> None:
        byte = self.buf[self.pos]
        self.pos += 1
        while byte & 0x80:
            byte = self.buf[self.pos]
            self.pos += 1

    def any(self, depth: int = 0) -> None:
        """Skip one lib0 `writeAny` value."""
        if depth > _MAX_DEPTH:
            raise _Unsplittable("too deep")
        tag = self.buf[self.pos]
        self.pos += 1
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if tag == 125:
            self.var_int()
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):
            self.skip(8)
        elif tag in (119, 116):  # string, bytes
            self.var_bytes()
        elif tag == 118:  # object
            for _ in range(self.uint()):
                self.var_bytes()
                self.any(depth + 1)
        elif tag == 117:  # array
            for _ in range(self.uint()):
                self.any(depth + 1)
        else:
            raise _Unsplittable(f"unknown any tag {tag}")


def _utf16_length(text: bytes) -> int:
    return len(text.decode("utf-8").encode("utf-16-le")) // 2


def _content_length(r: _Reader, ref: int) -> int:
    """Skip an item's content; return how many clock ticks it spans."""
    if ref == 1:  # deleted
        return r.uint()
    if ref == 2:  # JSON
        n = r.uint()
        for _ in range(n):
            r.var_bytes()
        return n
    if ref == 3:  # binary
        r.var_bytes()
        return 1
    if ref == 4:  # string
        return _utf16_length(r.var_bytes())
    if ref == 5:  # embed
        r.var_bytes()
        return 1
    if ref == 6:  # format
        r.var_bytes()
        r.var_bytes()
        return 1
    if ref == 7:  # type
        type_ref = r.uint()
        if type_ref in (3, 5):  # XmlElement name, XmlHook name
            r.var_bytes()
        return 1
    if ref == 8:  # any
        n = r.uint()
        for _ in range(n):
            r.any()
        return n
    if ref == 9:  # subdocument
        r.var_bytes()
        r.any()
        return 1
    raise _Unsplittable(f"unknown content {ref}")


def _struct(r: _Reader) -> int:
    """Skip one struct; return its clock length."""
    info = r.buf[r.pos]
    r.pos += 1
    ref = info & 0x1F
    if ref in (0, 10):  # GC, Skip
        return r.uint()
    if info & 0x80:  # origin
        r.uint()
        r.uint()
    if info & 0x40:  # right origin
        r.uint()
        r.uint()
    if not info & 0xC0:
        if r.uint() == 1:  # parent is a root type, by name
            r.var_bytes()
        else:  # parent is an item id
            r.uint()
            r.uint()
        if info & 0x20:
            r.var_bytes()
    return _content_length(r, ref)


def _piece(client: int, clock: int, count: int, structs: bytes) -> bytes:
    return b"\x01" + write_var_uint(count) + write_var_uint(client) + write_var_uint(clock) + structs + b"\x00"


def split_update(update: bytes, limit: int) -> list[bytes]:
    """`update` as a list of updates of about `limit` bytes (a struct larger than that is its own
    piece); applying them in order is applying `update`. Returns `[update]` when it is small or
    anything about it is unexpected."""
    if len(update) <= limit:
        return [update]
    try:
        return _split(update, limit)
    except (_Unsplittable, IndexError, UnicodeDecodeError):
        return [update]


def _split(update: bytes, limit: int) -> list[bytes]:
    r = _Reader(update)
    pieces: list[bytes] = []
    for _ in range(r.uint()):
        count, client, clock = r.uint(), r.uint(), r.uint()
        start, run, run_clock = r.pos, 0, clock
        for _ in range(count):
            struct_start = r.pos
            length = _struct(r)
            if run and r.pos - start > limit:
                pieces.append(_piece(client, run_clock, run, update[start:struct_start]))
                start, run, run_clock = struct_start, 0, clock
            run += 1
            clock += length
        if run:
            pieces.append(_piece(client, run_clock, run, update[start:r.pos]))
    delete_set = update[r.pos:]
    if delete_set != b"\x00" or not pieces:
        pieces.append(b"\x00" + delete_set)
    return pieces
