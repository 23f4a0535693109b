import itertools

from hypothesis import given
from hypothesis import strategies as st

from yard_actors.host.latency import Histogram, record_run


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


@given(
    st.integers(min_value=-(2**40), max_value=2**40),
    st.lists(st.integers(min_value=0, max_value=2**40), min_size=1, max_size=20),
)
def test_a_recorded_run_counts_as_recording_each_event(sent: int, steps: list[int]) -> None:
    stamps = [sent]
    for step in steps:
        stamps.append(stamps[-1] + step)
    stamps = stamps[1:]  # the first event began steps[0] after it was sent
    wait, handling = Histogram(), Histogram()
    record_run(wait, handling, sent, stamps)

    expected_wait, expected_handling = Histogram(), Histogram()
    for began, ended in itertools.pairwise(stamps):
        expected_wait.record(began - sent)
        expected_handling.record(ended - began)
    assert wait.counts == expected_wait.counts
    assert handling.counts == expected_handling.counts
    assert handling.count == len(stamps) - 1


def test_a_run_of_two_events_waits_for_the_first() -> None:
    wait, handling = Histogram(), Histogram()
    record_run(wait, handling, 0, [1_000, 21_000, 23_000])  # sent at 0; 20 µs, then 2 µs
    assert wait.count == handling.count == 2
    assert wait.percentile(1.0) == 24_575  # the second waited 21 µs (its bucket: 20,480-24,575)
    assert handling.percentile(0.5) == 2_047
