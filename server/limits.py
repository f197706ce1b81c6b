"""Rate limits: per connection (not per IP: a whole workshop shares one NAT)."""

from __future__ import annotations

import time


class RateLimit:
    """Two token buckets, messages and bytes, refilled continuously and checked in one call.

    A connection may send `messages_per_second` messages and `bytes_per_second` bytes on
    average, with bursts up to `message_burst` messages and `byte_burst` bytes."""

    __slots__ = ("message_rate", "message_burst", "byte_rate", "byte_burst", "messages", "bytes", "stamp")

    def __init__(self, messages_per_second: float, message_burst: float,
                 bytes_per_second: float, byte_burst: float) -> None:
        self.message_rate = messages_per_second
        self.message_burst = message_burst
        self.byte_rate = bytes_per_second
        self.byte_burst = byte_burst
        self.messages = message_burst
        self.bytes = byte_burst
        self.stamp = time.monotonic()

    def allow(self, size: int) -> bool:
        now = time.monotonic()
        elapsed = now - self.stamp
        self.stamp = now
        self.messages = min(self.message_burst, self.messages + elapsed * self.message_rate)
        self.bytes = min(self.byte_burst, self.bytes + elapsed * self.byte_rate)
        if self.messages < 1 or self.bytes < size:
            return False
        self.messages -= 1
        self.bytes -= size
        return True
