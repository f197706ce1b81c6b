"""Process-wide counters, rendered in the Prometheus text format at `GET /metrics`.

Counters are plain integer attributes: the hot path pays one attribute increment, nothing more.
Gauges (connections, loaded boards) are read from the rooms when the page is rendered. One
histogram: the round trip of each connection's link, measured once as it joins (transport.py),
which tells an operator how far the participants are (a LAN, a 3G link to Mali).
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable

ROUND_TRIP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # seconds


class Metrics:
    def __init__(self) -> None:
        self.messages_in = 0
        self.bytes_in = 0
        self.messages_out = 0
        self.bytes_out = 0
        self.log_appends = 0
        self.compactions = 0
        self.board_loads = 0
        self.board_unloads = 0
        self.guard_restarts = 0
        self.slow_clients_dropped = 0
        self.receivers_behind = 0  # times a receiver's backlog paused its relays
        self.catch_ups = 0  # catch-up diffs sent once such a backlog drained
        self.relay_bytes_dropped = 0  # relays held for a receiver found behind, replaced by its diff
        self.rejected: Counter[str] = Counter()  # by reason: malformed, too-large, rate, poison…
        self.round_trips = [0] * (len(ROUND_TRIP_BUCKETS) + 1)  # per bucket, the last one +Inf
        self.round_trip_sum = 0.0
        self.gauges: dict[str, Callable[[], float]] = {}
        self.counters: dict[str, Callable[[], float]] = {}  # read at render time, like gauges

    def observe_round_trip(self, seconds: float) -> None:
        self.round_trips[bisect.bisect_left(ROUND_TRIP_BUCKETS, seconds)] += 1
        self.round_trip_sum += seconds

    def render(self) -> str:
        lines: list[str] = []

        def emit(name: str, kind: str, help_text: str, value: float, labels: str = "") -> None:
            if not any(line.startswith(f"# TYPE palabre_{name} ") for line in lines):
                lines.append(f"# HELP palabre_{name} {help_text}")
                lines.append(f"# TYPE palabre_{name} {kind}")
            lines.append(f"palabre_{name}{labels} {value:g}")

        emit("messages_in_total", "counter", "WebSocket messages received", self.messages_in)
        emit("bytes_in_total", "counter", "WebSocket payload bytes received", self.bytes_in)
        emit("messages_out_total", "counter", "WebSocket messages sent", self.messages_out)
        emit("bytes_out_total", "counter", "WebSocket payload bytes sent", self.bytes_out)
        emit("log_appends_total", "counter", "updates appended to the durable log", self.log_appends)
        emit("compactions_total", "counter", "snapshots written by compaction", self.compactions)
        emit("board_loads_total", "counter", "boards loaded from storage", self.board_loads)
        emit("board_unloads_total", "counter", "idle boards unloaded", self.board_unloads)
        emit("guard_restarts_total", "counter", "guard worker restarts (crash or timeout)", self.guard_restarts)
        emit("slow_clients_dropped_total", "counter", "connections closed for a full send buffer",
             self.slow_clients_dropped)
        emit("receivers_behind_total", "counter", "times a slow receiver's backlog paused relays to it",
             self.receivers_behind)
        emit("catch_ups_total", "counter", "catch-up diffs sent to receivers whose backlog drained", self.catch_ups)
        emit("relay_bytes_dropped_total", "counter",
             "relayed bytes held for a receiver found behind and replaced by its catch-up diff", self.relay_bytes_dropped)
        lines.extend(self._round_trip_histogram())
        for reason in sorted(self.rejected) or ["none"]:
            emit("rejected_messages_total", "counter", "messages refused, by reason",
                 self.rejected.get(reason, 0), f'{{reason="{reason}"}}')
        for name, read in sorted(self.counters.items()):
            emit(name, "counter", name.replace("_", " "), read())
        for name, read in sorted(self.gauges.items()):
            emit(name, "gauge", name.replace("_", " "), read())
        return "\n".join(lines) + "\n"

    def _round_trip_histogram(self) -> list[str]:
        name = "palabre_link_round_trip_seconds"
        lines = [f"# HELP {name} round trip of each connection's link, measured as it joins",
                 f"# TYPE {name} histogram"]
        seen = 0
        for bound, count in zip((*[f"{b:g}" for b in ROUND_TRIP_BUCKETS], "+Inf"), self.round_trips):
            seen += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {seen}')
        return [*lines, f"{name}_sum {self.round_trip_sum:g}", f"{name}_count {seen}"]


METRICS = Metrics()
