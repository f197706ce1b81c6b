"""A delay line between this host and a network namespace: the long round trip of a link to Mali.

netem (the kernel's delay emulator) is not in every kernel, this one included, so the delay is
made here: one TUN device on the host, one in the namespace, and this process in between,
reading each IP packet from one side and writing it to the other `delay` seconds later (in
order). TCP on both ends sees a real round trip: its in-flight bytes, its timers and the
socket queues are what they would be on the real link. A `tc` rate limit still applies on the
TUN devices (see netns.Link).

Run by `netns.Link(rtt_ms=...)`: `python -m tests.support.delayline HOST_IF NAMESPACE REMOTE_IF
RTT_MS` (half of the round trip each way). It creates both devices (they live as long as it
does), prints "ready", and relays until killed.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
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


def relay(a: int, b: int, delay: float) -> None:
    """Forever: what is read on one side is written on the other `delay` seconds later."""
    waiting: dict[int, deque[tuple[float, bytes]]] = {a: deque(), b: deque()}
    other = {a: b, b: a}
    while True:
        heads = [queue[0][0] for queue in waiting.values() if queue]
        timeout = max(0.0, min(heads) - time.monotonic()) if heads else None
        ready, _, _ = select.select([a, b], [], [], timeout)
        now = time.monotonic()
        for fd in ready:
            waiting[fd].append((now + delay, os.read(fd, 65536)))
        for fd, queue in waiting.items():
            while queue and queue[0][0] <= now:
                try:
                    os.write(other[fd], queue.popleft()[1])
                except OSError:  # that side is down (a cut link): the packet is lost
                    pass


def main() -> None:
    host_if, namespace, remote_if, rtt_ms = sys.argv[1:5]
    host = open_tun(host_if)
    enter_namespace(namespace)
    remote = open_tun(remote_if)
    print("ready", flush=True)
    relay(host, remote, int(rtt_ms) / 2000)


if __name__ == "__main__":
    main()
