"""The y-websocket wire protocol: decode what clients send, encode what the server sends.

One WebSocket binary frame carries one message, framed with lib0 variable-length unsigned
integers (7 bits per byte, high bit = "more"):

    message   = varuint(type) body
    type 0    sync:            varuint(subtype) varbytes(payload)
                 subtype 0     step 1, payload = the sender's state vector
                 subtype 1     step 2, payload = an update (what the receiver lacks)
                 subtype 2     update, payload = an update
    type 1    awareness:       varbytes(awareness update)
    type 2    auth:            varuint(permission) varstring(reason)
    type 3    query-awareness: (empty)

    awareness update = varuint(n) n × [varuint(clientID) varuint(clock) varstring(state JSON)]

A server answers a step 1 with a step 2 (the diff against the state vector) and its own step 1,
applies step 2 and update payloads, relays updates and awareness to the other connections.

Everything from a client is untrusted: `parse_message` checks the framing to the last byte
and raises `ProtocolError` (close code 4400) on anything off. It does not copy the payload
beyond one slice and never decodes the update itself (that is the guard's and pycrdt's job).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, NamedTuple

from pycrdt import YMessageType, YSyncMessageType, write_var_uint

MESSAGE_SYNC: Final = int(YMessageType.SYNC)
MESSAGE_AWARENESS: Final = int(YMessageType.AWARENESS)
MESSAGE_AUTH: Final = 2
MESSAGE_QUERY_AWARENESS: Final = 3

SYNC_STEP1: Final = int(YSyncMessageType.SYNC_STEP1)
SYNC_STEP2: Final = int(YSyncMessageType.SYNC_STEP2)
SYNC_UPDATE: Final = int(YSyncMessageType.SYNC_UPDATE)

# lib0 varuints go up to 2^53; a length or id beyond that is garbage.
_MAX_VARUINT_BYTES: Final = 8

EMPTY_UPDATE: Final = b"\x00\x00"


class ProtocolError(ValueError):
    """A message that does not follow the protocol: the connection is closed with 4400."""


def read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    """Read a lib0 varuint at `pos`; return (value, position after it)."""
    value = 0
    shift = 0
    end = len(buf)
    for _ in range(_MAX_VARUINT_BYTES):
        if pos >= end:
            raise ProtocolError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
    raise ProtocolError("varint too long")


def read_var_bytes(buf: bytes, pos: int) -> tuple[bytes, int]:
    """Read a length-prefixed byte string; the length must fit in what is left."""
    length, pos = read_var_uint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ProtocolError("length prefix runs past the end of the message")
    return buf[pos:end], end


def _expect_end(buf: bytes, pos: int) -> None:
    if pos != len(buf):
        raise ProtocolError(f"{len(buf) - pos} trailing bytes after the message")


class Message(NamedTuple):
    """A decoded client message: `kind` is one of the KIND_* names below.

    A NamedTuple, not a frozen dataclass: one is made per incoming message."""

    kind: str
    payload: bytes = b""


KIND_STEP1: Final = "sync-step1"
KIND_STEP2: Final = "sync-step2"
KIND_UPDATE: Final = "sync-update"
KIND_AWARENESS: Final = "awareness"
KIND_AUTH: Final = "auth"
KIND_QUERY_AWARENESS: Final = "query-awareness"

_SYNC_KINDS: Final = {SYNC_STEP1: KIND_STEP1, SYNC_STEP2: KIND_STEP2, SYNC_UPDATE: KIND_UPDATE}


def parse_message(frame: bytes) -> Message:
    """Decode and check one client frame. Raises ProtocolError with a human reason."""
    if not frame:
        raise ProtocolError("empty message")
    mtype, pos = read_var_uint(frame, 0)
    if mtype == MESSAGE_SYNC:
        subtype, pos = read_var_uint(frame, pos)
        kind = _SYNC_KINDS.get(subtype)
        if kind is None:
            raise ProtocolError(f"unknown sync message type {subtype}")
        payload, pos = read_var_bytes(frame, pos)
        _expect_end(frame, pos)
        if kind == KIND_STEP1:
            check_state_vector(payload)
        elif len(payload) < 2:
            raise ProtocolError("update too short")
        return Message(kind, payload)
    if mtype == MESSAGE_AWARENESS:
        payload, pos = read_var_bytes(frame, pos)
        _expect_end(frame, pos)
        return Message(KIND_AWARENESS, payload)
    if mtype == MESSAGE_AUTH:
        _, pos = read_var_uint(frame, pos)
        reason, pos = read_var_bytes(frame, pos)
        _expect_end(frame, pos)
        return Message(KIND_AUTH, reason)
    if mtype == MESSAGE_QUERY_AWARENESS:
        _expect_end(frame, pos)
        return Message(KIND_QUERY_AWARENESS)
    raise ProtocolError(f"unknown message type {mtype}")


def check_state_vector(sv: bytes) -> None:
    """A state vector is varuint(n) then n × (varuint client, varuint clock), nothing more."""
    count, pos = read_var_uint(sv, 0)
    if count > len(sv):
        raise ProtocolError("state vector count larger than the message")
    for _ in range(count):
        _, pos = read_var_uint(sv, pos)
        _, pos = read_var_uint(sv, pos)
    _expect_end(sv, pos)


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    """One client's presence in an awareness update; `state` is the raw JSON text."""

    client_id: int
    clock: int
    state: bytes

    @property
    def removed(self) -> bool:
        return self.state == b"null"

    def encode(self) -> bytes:
        return (
            write_var_uint(self.client_id)
            + write_var_uint(self.clock)
            + write_var_uint(len(self.state))
            + self.state
        )


def parse_awareness(payload: bytes, max_state_bytes: int) -> list[AwarenessEntry]:
    """Decode an awareness update and check every state is a JSON object or null.

    Stock clients `JSON.parse` each state and read fields from it: a relayed garbage state makes
    every other client throw, so nothing unchecked is relayed.
    """
    count, pos = read_var_uint(payload, 0)
    if count > len(payload):
        raise ProtocolError("awareness count larger than the message")
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id, pos = read_var_uint(payload, pos)
        clock, pos = read_var_uint(payload, pos)
        state, pos = read_var_bytes(payload, pos)
        if len(state) > max_state_bytes:
            raise ProtocolError("awareness state too large")
        if state != b"null":
            try:
                value = json.loads(state)
            except (ValueError, UnicodeDecodeError):
                raise ProtocolError("awareness state is not valid JSON") from None
            if not isinstance(value, dict):
                raise ProtocolError("awareness state must be a JSON object or null")
        entries.append(AwarenessEntry(client_id, clock, bytes(state)))
    _expect_end(payload, pos)
    return entries


# --- Encoding (server → client) ------------------------------------------------------------


def encode_sync_step1(state_vector: bytes) -> bytes:
    return b"\x00\x00" + write_var_uint(len(state_vector)) + state_vector


def encode_sync_step2(update: bytes) -> bytes:
    return b"\x00\x01" + write_var_uint(len(update)) + update


def encode_update(update: bytes) -> bytes:
    return b"\x00\x02" + write_var_uint(len(update)) + update


def encode_awareness(entries: list[bytes]) -> bytes:
    """An awareness message from already-encoded entries (see AwarenessEntry.encode)."""
    body = write_var_uint(len(entries)) + b"".join(entries)
    return b"\x01" + write_var_uint(len(body)) + body


def encode_auth_denied(reason: str) -> bytes:
    text = reason.encode()
    return b"\x02\x00" + write_var_uint(len(text)) + text
