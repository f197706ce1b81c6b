"""Rate limits: a token bucket per connection (not per IP: a whole workshop shares one NAT)."""

from __future__ import annotations

import time


class TokenBucket:
    """Allows `rate` units per second on average and bursts of up to `burst` units."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self, amount: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < amount:
            return False
        self.tokens -= amount
        return True
