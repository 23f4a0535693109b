from hypothesis import given
from hypothesis import strategies as st

from yard_actors.latency import Histogram


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert Histogram().percentile(0.5) is None


def test_small_durations_are_counted_exactly() -> None:
    histogram = Histogram()
    for ns in (0, 1, 2, 3, 4, 5, 6, 7):
        histogram.record(ns)
    assert histogram.count == 8
    assert histogram.percentile(0.5) == 3
    assert histogram.percentile(1.0) == 7


def test_percentiles_split_a_bimodal_sample() -> None:
    histogram = Histogram()
    for _ in range(98):
        histogram.record(10_000)  # 10 µs
    for _ in range(2):
        histogram.record(5_000_000)  # 5 ms
    assert 10_000 <= (histogram.percentile(0.5) or 0) <= 12_500
    assert 10_000 <= (histogram.percentile(0.98) or 0) <= 12_500
    assert 5_000_000 <= (histogram.percentile(0.99) or 0) <= 6_250_000


@given(st.integers(min_value=0, max_value=2**63))
def test_a_percentile_is_never_below_the_value_nor_a_quarter_above(ns: int) -> None:
    histogram = Histogram()
    histogram.record(ns)
    upper = histogram.percentile(0.5)
    assert upper is not None
    assert ns <= upper <= ns + ns // 4


def test_a_negative_duration_counts_as_zero() -> None:
    histogram = Histogram()
    histogram.record(-5)
    assert histogram.percentile(0.5) == 0
