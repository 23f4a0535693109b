"""The seq window: duplicates refused, gaps remembered, the watermark closes them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yard_actors.host.seqs import SeqWindow


def test_in_order_seqs_move_the_watermark() -> None:
    window = SeqWindow()

    assert [window.add(seq) for seq in (1, 2, 3)] == [True, True, True]
    assert window.watermark == 3
    assert not window.missing(3)


def test_a_repeat_is_refused() -> None:
    window = SeqWindow([1, 2])

    assert window.add(2) is False
    assert window.add(1) is False


def test_a_gap_is_missing_until_filled() -> None:
    window = SeqWindow([1, 2, 4, 5])

    assert window.watermark == 2
    assert window.missing(5)
    assert window.add(3) is True
    assert window.watermark == 5
    assert not window.missing(5)


def test_a_later_report_the_host_never_saw_is_missing() -> None:
    assert SeqWindow([1, 2]).missing(3)


@given(st.lists(st.integers(min_value=1, max_value=60)))
def test_each_seq_is_accepted_exactly_once_in_any_order(seqs: list[int]) -> None:
    window = SeqWindow()

    accepted = [seq for seq in seqs if window.add(seq)]

    assert sorted(accepted) == sorted(set(seqs))
    expected_watermark = 0
    while expected_watermark + 1 in set(seqs):
        expected_watermark += 1
    assert window.watermark == expected_watermark


def test_a_seq_with_a_gap_before_it_is_ahead_until_the_gap_is_filled() -> None:
    window = SeqWindow([1, 2])

    assert window.ahead(4)
    assert not window.ahead(3)
    assert window.add(3) is True
    assert not window.ahead(4)


def test_a_seq_a_restored_journal_holds_above_its_gap_is_not_ahead_but_a_repeat() -> None:
    window = SeqWindow([1, 5])

    assert not window.ahead(5)
    assert window.add(5) is False
    assert window.ahead(6)
