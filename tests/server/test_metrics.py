"""The Prometheus page's one histogram: link round trips, cumulative buckets as Prometheus reads them."""

from __future__ import annotations

from server.metrics import Metrics


def test_round_trips_fall_in_cumulative_buckets_bounds_included() -> None:
    metrics = Metrics()
    for seconds in (0.01, 0.003, 1.2, 9.0):  # a bound itself counts in its bucket (le = "≤")
        metrics.observe_round_trip(seconds)
    lines = [line for line in metrics.render().splitlines() if "round_trip" in line]
    assert "# TYPE palabre_link_round_trip_seconds histogram" in lines
    values = dict(line.rsplit(" ", 1) for line in lines if not line.startswith("#"))
    assert values['palabre_link_round_trip_seconds_bucket{le="0.01"}'] == "2"
    assert values['palabre_link_round_trip_seconds_bucket{le="1"}'] == "2"
    assert values['palabre_link_round_trip_seconds_bucket{le="2"}'] == "3"
    assert values['palabre_link_round_trip_seconds_bucket{le="5"}'] == "3"
    assert values['palabre_link_round_trip_seconds_bucket{le="+Inf"}'] == "4"
    assert values["palabre_link_round_trip_seconds_count"] == "4"
    assert abs(float(values["palabre_link_round_trip_seconds_sum"]) - 10.213) < 1e-9
