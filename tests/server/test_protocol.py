"""The y-websocket codec: every message type, and each malformed variant."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, write_var_uint

from server import protocol
from server.protocol import ProtocolError, parse_awareness, parse_message


def _update() -> bytes:
    doc = Doc()
    doc.get("notes", type=Map)["a"] = 1.0
    return doc.get_update()


def test_sync_step1_roundtrip() -> None:
    sv = Doc().get_state()
    message = parse_message(protocol.encode_sync_step1(sv))
    assert message.kind == protocol.KIND_STEP1
    assert message.payload == sv


def test_sync_step2_and_update_roundtrip() -> None:
    update = _update()
    assert parse_message(protocol.encode_sync_step2(update)) == protocol.Message(protocol.KIND_STEP2, update)
    assert parse_message(protocol.encode_update(update)) == protocol.Message(protocol.KIND_UPDATE, update)


def test_codec_matches_pycrdt() -> None:
    from pycrdt import create_update_message

    update = _update()
    assert protocol.encode_update(update) == create_update_message(update)


def test_awareness_roundtrip_and_removal() -> None:
    entries = [protocol.AwarenessEntry(7, 3, b'{"user":{"name":"Awa","site":"Di\xc3\xa9ma"}}'),
               protocol.AwarenessEntry(9, 1, b"null")]
    message = parse_message(protocol.encode_awareness([e.encode() for e in entries]))
    assert message.kind == protocol.KIND_AWARENESS
    parsed = parse_awareness(message.payload, 1024)
    assert parsed == entries
    assert parsed[1].removed and not parsed[0].removed


def test_query_awareness_and_auth() -> None:
    assert parse_message(b"\x03").kind == protocol.KIND_QUERY_AWARENESS
    assert parse_message(protocol.encode_auth_denied("non")).kind == protocol.KIND_AUTH


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"", "empty"),
        (b"\x80", "truncated varint"),
        (b"\xff" * 12, "varint too long"),
        (b"\x07", "unknown message type"),
        (b"\x00\x05\x00", "unknown sync message type"),
        (b"\x00\x02\x10\x00\x00", "length prefix runs past"),
        (b"\x00\x02\x02\x00\x00\xff", "trailing bytes"),
        (b"\x00\x02\x01\x00", "update too short"),
        (b"\x00\x00\x03\x05\x01\x02", "state vector count"),  # claims 5 entries in 3 bytes
        (b"\x00\x00\x03\x01\x01\x81", "truncated varint"),  # clock cut short
        (b"\x03\x00", "trailing"),
    ],
)
def test_malformed_frames_raise(frame: bytes, why: str) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_message(frame)
    assert why.split()[0] in str(err.value)


@pytest.mark.parametrize(
    ("state", "why"),
    [
        (b"{not json", "not valid JSON"),
        (b"42", "JSON object or null"),
        (b'"x"', "JSON object or null"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_awareness_garbage_state_is_refused(state: bytes, why: str) -> None:
    body = write_var_uint(1) + write_var_uint(1) + write_var_uint(1) + write_var_uint(len(state)) + state
    with pytest.raises(ProtocolError, match=why):
        parse_awareness(body, 1024)


def test_awareness_truncated_state_is_refused() -> None:
    with pytest.raises(ProtocolError, match="past the end"):
        parse_awareness(b"\x01\x01\x01\x05{", 1024)


def test_awareness_state_size_limit() -> None:
    entry = protocol.AwarenessEntry(1, 1, b'{"a":"' + b"x" * 100 + b'"}')
    body = write_var_uint(1) + entry.encode()
    with pytest.raises(ProtocolError, match="too large"):
        parse_awareness(body, 64)


# Random frames, and frames that start with a real message type so the fuzzing reaches past the
# first byte (sync, awareness, auth, query-awareness).
_frames = st.binary(max_size=80) | st.builds(lambda kind, rest: bytes([kind]) + rest,
                                             st.integers(0, 3), st.binary(max_size=80))


@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(_frames)
def test_any_bytes_parse_or_raise_protocol_error(frame: bytes) -> None:
    """Whatever a client sends, the codec answers with a message or a ProtocolError (which the
    endpoint turns into a 4400 with its reason), never another exception: an IndexError or a
    UnicodeDecodeError would be a bug in the codec, reported to the client as one."""
    try:
        message = parse_message(frame)
        if message.kind == protocol.KIND_AWARENESS:
            parse_awareness(message.payload, 1024)
    except ProtocolError as err:
        assert str(err)  # a reason for the close frame
