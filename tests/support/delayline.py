"""A delay line between this host and a network namespace: the long round trip of a link to Mali.

netem (the kernel's delay emulator) is not in every kernel, this one included, so the delay is
made here: one TUN device on the host, one in the namespace, and this process in between,
reading each IP packet from one side and writing it to the other `delay` seconds later (in
order). TCP on both ends sees a real round trip: its in-flight bytes, its timers and the
socket queues are what they would be on the real link. A `tc` rate limit still applies on the
TUN devices (see netns.Link).

A 3G link to Mali is also uneven and lossy (DESIGN.md): each packet may wait up to `jitter_ms`
more (drawn at random, but never leaving before the packet ahead of it: mobile networks buffer
and deliver in order), and is dropped with probability `loss` (each way, so TCP retransmits
after a timeout or duplicate acknowledgements, and everything behind the lost packet waits).
The draws come from a seeded generator, so a run can be repeated.

Run by `netns.Link(rtt_ms=...)`: `python -m tests.support.delayline HOST_IF NAMESPACE REMOTE_IF
RTT_MS JITTER_MS LOSS SEED` (half of the round trip each way). It creates both devices (they
live as long as it does), prints "ready", and relays until killed.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import random
import select
import struct
import sys
import time
from collections import deque

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def enter_namespace(namespace: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{namespace}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {namespace}")
    finally:
        os.close(fd)


def relay(a: int, b: int, delay: float, jitter: float = 0.0, loss: float = 0.0, seed: int = 0,
          until: float = float("inf")) -> None:
    """Until `until` (monotonic time; by default forever): what is read on one side is written
    on the other `delay` seconds later (plus up to `jitter` seconds, in order), unless dropped
    (probability `loss`)."""
    waiting: dict[int, deque[tuple[float, bytes]]] = {a: deque(), b: deque()}
    other = {a: b, b: a}
    draw = random.Random(seed).random
    while time.monotonic() < until:
        wake = min([queue[0][0] for queue in waiting.values() if queue] + [until])
        timeout = None if wake == float("inf") else max(0.0, wake - time.monotonic())
        ready, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            packet = os.read(fd, 65536)
            if loss and draw() < loss:
                continue
            queue = waiting[fd]
            due = now + delay + jitter * draw() if jitter else now + delay
            if queue and queue[-1][0] > due:  # in order: not before the packet ahead of it
                due = queue[-1][0]
            queue.append((due, packet))
        for fd, queue in waiting.items():
            while queue and queue[0][0] <= now:
                try:
                    os.write(other[fd], queue.popleft()[1])
                except OSError:  # that side is down (a cut link): the packet is lost
                    pass


def main() -> None:
    host_if, namespace, remote_if, rtt_ms, jitter_ms, loss, seed = sys.argv[1:8]
    host = open_tun(host_if)
    enter_namespace(namespace)
    remote = open_tun(remote_if)
    print("ready", flush=True)
    relay(host, remote, int(rtt_ms) / 2000, int(jitter_ms) / 1000, float(loss), int(seed))


if __name__ == "__main__":
    main()
