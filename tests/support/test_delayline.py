"""The delay line itself (tests/support/delayline.py), on datagram socket pairs instead of TUN
devices: one read is one packet, as on a TUN device."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.delayline import relay

PACKET = struct.Struct("!Id")  # sequence number, send time
Ends = tuple[socket.socket, socket.socket]


@pytest.fixture
def line() -> Iterator[Callable[..., Ends]]:
    """Start a delay line (relay's settings as keywords) for 2 s; returns its two ends."""
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def start(**settings: float) -> Ends:
        host, host_side = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        remote_side, remote = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        sockets.extend((host, host_side, remote_side, remote))
        until = time.monotonic() + 2
        threads.append(threading.Thread(
            target=relay, args=(host_side.fileno(), remote_side.fileno()), kwargs={**settings, "until": until}))
        threads[-1].start()
        return host, remote

    yield start
    for thread in threads:
        thread.join(5)
    for sock in sockets:
        sock.close()


def _send_and_receive(host: socket.socket, remote: socket.socket, count: int) -> list[tuple[int, float]]:
    """Send `count` numbered packets 2 ms apart; (number, delay) of each one that arrives."""
    for n in range(count):
        host.send(PACKET.pack(n, time.monotonic()))
        time.sleep(0.002)
    remote.settimeout(0.5)
    arrived = []
    try:
        while True:
            n, sent = PACKET.unpack(remote.recv(64))
            arrived.append((n, time.monotonic() - sent))
    except TimeoutError:
        return arrived


def test_packets_arrive_late_unevenly_and_in_order(line: Callable[..., Ends]) -> None:
    host, remote = line(delay=0.05, jitter=0.03)
    arrived = _send_and_receive(host, remote, 100)
    assert [n for n, _ in arrived] == list(range(100))  # none lost, none overtaken
    delays = [d for _, d in arrived]
    assert min(delays) >= 0.05
    assert max(delays) - min(delays) > 0.01  # uneven: not all delayed alike


def test_a_lossy_line_drops_about_its_share_and_keeps_the_order(line: Callable[..., Ends]) -> None:
    host, remote = line(delay=0.01, loss=0.25, seed=7)
    numbers = [n for n, _ in _send_and_receive(host, remote, 200)]
    assert 110 <= len(numbers) <= 190, len(numbers)
    assert numbers == sorted(numbers)


def test_both_ways(line: Callable[..., Ends]) -> None:
    host, remote = line(delay=0.02)
    remote.send(PACKET.pack(1, time.monotonic()))
    host.settimeout(1)
    n, sent = PACKET.unpack(host.recv(64))
    assert n == 1 and time.monotonic() - sent >= 0.02
