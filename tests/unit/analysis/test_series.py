"""Plot series stay small however long the journal, and keep every peak and trough."""

from __future__ import annotations

from yard_actors.analysis.series import Envelope, Marker, Thinned
from yard_actors.wire.events import Side


def test_an_envelope_holds_a_bounded_number_of_points() -> None:
    envelope = Envelope(buckets=50)

    for n in range(100_000):
        envelope.add(n, float(n % 977))

    assert len(envelope.points()) <= 4 * 50 + 1


def test_an_envelope_keeps_the_extremes_and_the_last_point() -> None:
    envelope = Envelope(buckets=10)
    values = [float(n % 100) for n in range(10_000)]
    values[4321] = -500.0  # one deep trough
    values[8765] = 900.0  # one high peak
    for n, value in enumerate(values):
        envelope.add(n, value)

    points = envelope.points()

    assert (4321, -500.0) in points
    assert (8765, 900.0) in points
    assert points[-1] == (9999, values[-1])
    assert [ts for ts, _ in points] == sorted(ts for ts, _ in points)


def test_a_short_series_is_kept_whole() -> None:
    envelope = Envelope(buckets=10)
    for n in range(7):
        envelope.add(n, float(n))

    assert envelope.points() == [(n, float(n)) for n in range(7)]


def test_thinned_markers_stay_under_twice_the_limit_evenly_spread() -> None:
    thinned = Thinned(limit=100)

    for n in range(50_000):
        thinned.add(Marker(n, 1.0, Side.BUY))

    assert 100 <= len(thinned.kept) <= 200
    gaps = {b.ts - a.ts for a, b in zip(thinned.kept, thinned.kept[1:], strict=False)}
    assert len(gaps) == 1
