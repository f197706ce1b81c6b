"""Presence bookkeeping: what a newcomer is shown (the wire behaviour is in test_ws.py and the
Node interop tests). Here: presence from another server process that stops being renewed."""

from __future__ import annotations

import asyncio

from server.awareness import Presence
from server.protocol import AwarenessEntry, parse_awareness, parse_message


class _Conn:
    """What Presence needs of a connection: the client ids it introduced."""

    def __init__(self) -> None:
        self.awareness_ids: set[int] = set()


def _shown(presence: Presence) -> set[int]:
    """The client ids a newcomer would be sent."""
    message = presence.full_message()
    if message is None:
        return set()
    return {entry.client_id for entry in parse_awareness(parse_message(message).payload, 10_000)}


def _state(client_id: int, clock: int) -> AwarenessEntry:
    return AwarenessEntry(client_id, clock, b'{"user":{"name":"Awa"}}')


async def test_remote_presence_not_renewed_is_forgotten_renewed_presence_stays() -> None:
    sent: list[bytes] = []
    presence = Presence(sent.append, 0.0, remote_timeout=0.3)
    try:
        presence.apply_remote([_state(1, 0), _state(2, 0)])  # two clients on another process
        local = _Conn()
        presence.apply(local, [_state(3, 0)])  # one connected here
        assert _shown(presence) == {1, 2, 3}
        for clock in range(1, 5):  # client 2 keeps renewing; client 1's process died
            await asyncio.sleep(0.1)
            presence.apply_remote([_state(2, clock)])
        await asyncio.sleep(0.15)
        assert _shown(presence) == {2, 3}
        assert not [m for m in sent if b"null" in m], "a made-up removal was broadcast"
    finally:
        presence.close()


async def test_a_client_that_reconnects_here_is_no_longer_timed_out_as_remote() -> None:
    presence = Presence(lambda _: None, 0.0, remote_timeout=0.2)
    try:
        presence.apply_remote([_state(7, 3)])
        presence.apply(_Conn(), [_state(7, 4)])  # it came over to this process
        await asyncio.sleep(0.4)
        assert _shown(presence) == {7}
    finally:
        presence.close()


def _entries(message: bytes) -> list[AwarenessEntry]:
    return parse_awareness(parse_message(message).payload, 10_000)


async def test_a_client_back_from_a_cut_link_is_told_of_its_removal_and_shown_again() -> None:
    """The server removed a silent connection's client (clock + 1); the client never heard and
    comes back with its old clock. Only it is told of the removal; its re-announcement (a stock
    client re-announces itself above a removal of its own id) is relayed as usual."""
    sent: list[bytes] = []
    told: list[tuple[_Conn, bytes]] = []
    presence = Presence(sent.append, 0.0, send_to=lambda conn, message: told.append((conn, message)))
    try:
        old, watcher = _Conn(), _Conn()
        presence.apply(old, [_state(5, 3)])
        presence.remove_connection(old)  # the link was cut: dropped by keep-alive
        presence.flush()
        assert [(e.client_id, e.clock, e.removed) for e in _entries(sent[-1])] == [(5, 4, True)]
        sent.clear()

        back = _Conn()
        presence.apply(back, [_state(5, 3)])  # behind the removal: the others would ignore it
        presence.flush()
        assert not sent and _shown(presence) == set()
        assert len(told) == 1 and told[0][0] is back
        assert [(e.client_id, e.clock, e.removed) for e in _entries(told[0][1])] == [(5, 4, True)]

        presence.apply(back, [_state(5, 5)])  # what y-protocols answers to its own removal
        presence.flush()
        assert [(e.client_id, e.clock, e.removed) for e in _entries(sent[-1])] == [(5, 5, False)]
        assert _shown(presence) == {5} and back.awareness_ids == {5}

        presence.apply(watcher, [_state(5, 5)])  # a watcher's echo of it: stale, nothing told
        assert len(told) == 1
    finally:
        presence.close()


async def test_a_receiver_catching_up_gets_current_presence_and_the_removals_it_missed() -> None:
    presence = Presence(lambda _: None, 0.0)
    try:
        early, stays, leaves = _Conn(), _Conn(), _Conn()
        presence.apply(early, [_state(1, 0)])
        presence.remove_connection(early)  # gone before the receiver fell behind
        await asyncio.sleep(0.01)
        since = asyncio.get_running_loop().time()
        presence.apply(stays, [_state(2, 0)])
        presence.apply(leaves, [_state(3, 0)])
        presence.remove_connection(leaves)  # gone while the receiver was behind
        message = presence.changed_since(since)
        assert message is not None
        got = {(e.client_id, e.clock, e.removed) for e in _entries(message)}
        assert got == {(2, 0, False), (3, 1, True)}
    finally:
        presence.close()
