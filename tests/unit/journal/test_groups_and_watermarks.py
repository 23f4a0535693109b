"""Fanned events: one record per event with its group, one watermark per robot's run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.unit.journal.on_disk import WATERMARK_BYTES, command, event, frame_kinds, segments
from yard_actors.errors import JournalError
from yard_actors.journal import (
    Group,
    Journal,
    JournalConfig,
    Record,
    iter_records,
    read_robot,
    read_robots,
)

# --- fanned events, groups and watermarks -------------------------------------------------


def test_a_burst_fanned_to_many_robots_costs_one_record_per_event_and_one_per_robot(
    tmp_path: Path,
) -> None:
    robots = tuple(f"robot-{n}" for n in range(100))
    group = Group("Si", robots)
    payloads = [b"quote %03d" % n for n in range(50)]
    with Journal(tmp_path) as journal:
        for robot in robots:
            journal.record_robot(robot, {})
        size = segments(tmp_path)[0].stat().st_size
        first = journal.record_fanned([(payload, group) for payload in payloads])
        declared = segments(tmp_path)[0].stat().st_size
        for robot in robots:
            journal.record_watermark(robot, first + len(payloads) - 1)
        grown = segments(tmp_path)[0].stat().st_size - size

    group_bytes = 8 + 1 + 4 + 2 + len("Si") + 4 * len(robots)
    event_bytes = sum(8 + 1 + 8 + 4 + len(payload) for payload in payloads)
    assert declared - size == group_bytes + event_bytes
    assert grown == group_bytes + event_bytes + len(robots) * WATERMARK_BYTES
    expected = tuple(event(first + n, payload) for n, payload in enumerate(payloads))
    histories = read_robots(tmp_path, robots)
    assert all(history.entries == expected for history in histories.values())


def test_a_watermark_hands_over_the_fanned_events_of_the_robots_groups_in_handling_order(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        si = Group("Si", ("alpha", "beta"))
        rts = Group("RTS", ("beta",))
        first = journal.record_fanned([(b"si 1", si), (b"rts 2", rts), (b"si 3", si)])
        journal.record_watermark("alpha", first)  # alpha handles si 1 alone
        timer = journal.record_event(b"alpha's timer")  # a timer due before si 3
        journal.record_delivery("alpha", timer)
        journal.record_command("alpha", b"order on the timer")
        later = journal.record_fanned([(b"si 5", si), (b"rts 6", rts)])
        journal.record_watermark("beta", later + 1)  # beta handles all five in one run
        journal.record_watermark("alpha", later)  # alpha: si 3 and si 5

    alpha = read_robot(tmp_path, "alpha").entries
    beta = read_robot(tmp_path, "beta").entries

    assert alpha == (
        event(1, b"si 1"),
        event(timer, b"alpha's timer"),
        command(b"order on the timer"),
        event(3, b"si 3"),
        event(later, b"si 5"),
    )
    assert beta == (
        event(1, b"si 1"),
        event(2, b"rts 2"),
        event(3, b"si 3"),
        event(later, b"si 5"),
        event(later + 1, b"rts 6"),
    )


def test_fanned_events_no_watermark_covers_are_not_replayed(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        group = Group("Si", ("alpha",))
        first = journal.record_fanned([(b"handled", group), (b"handled too", group)])
        journal.record_watermark("alpha", first + 1)
        journal.record_fanned([(b"still in the mailbox at the crash", group)])

    assert read_robot(tmp_path, "alpha").entries == (
        event(first, b"handled"),
        event(first + 1, b"handled too"),
    )


def test_a_robot_added_again_does_not_get_what_its_earlier_run_left_unhandled(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"run": 1})
        group = Group("Si", ("alpha",))
        first = journal.record_fanned([(b"handled in run 1", group), (b"lost in the crash", group)])
        journal.record_watermark("alpha", first)
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"run": 2})
        group = Group("Si", ("alpha",))
        later = journal.record_fanned([(b"handled in run 2", group)])
        journal.record_watermark("alpha", later)

    history = read_robot(tmp_path, "alpha")

    assert history.spec == {"run": 2}
    assert history.entries == (event(first, b"handled in run 1"), event(later, b"handled in run 2"))


def test_a_group_is_declared_once_per_segment_and_a_new_group_gets_a_new_record(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        one, two = Group("Si", ("alpha",)), Group("Si", ("alpha", "beta"))
        journal.record_fanned([(b"e1", one), (b"e2", one)])
        journal.record_fanned([(b"e3", one), (b"e4", two), (b"e5", one)])

    assert frame_kinds(segments(tmp_path)[0]) == b"HNGFFFNGFF"
    assert [record.robots for record in iter_records(tmp_path)] == [
        ("alpha",),
        ("alpha",),
        ("alpha",),
        ("alpha", "beta"),
        ("alpha",),
    ]


def test_each_segment_declares_the_names_and_groups_it_uses_so_it_reads_alone(
    tmp_path: Path,
) -> None:
    group = Group("Si", ("alpha", "beta"))
    with Journal(tmp_path, JournalConfig(segment_bytes=300)) as journal:
        for index in range(40):
            seq = journal.record_fanned([(b"quote %d" % index, group)])
            journal.record_watermark("alpha" if index % 2 else "beta", seq)

    assert len(segments(tmp_path)) > 5
    for path in segments(tmp_path):
        alone = tmp_path / "alone" / path.stem
        alone.mkdir(parents=True)
        (alone / path.name).write_bytes(path.read_bytes())
        fanned = [r for r in iter_records(alone) if r.kind == "event"]
        assert all(r.robots == ("alpha", "beta") and r.topic == "Si" for r in fanned)
    alpha = read_robot(tmp_path, "alpha").entries
    beta = read_robot(tmp_path, "beta").entries
    every = tuple(event(n + 1, b"quote %d" % n) for n in range(40))
    assert alpha == every  # its last watermark, at 40, covers the 40th
    assert beta == every[:39]


def test_iter_records_shows_fanned_events_with_their_robots_and_watermarks(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("αλφα", {"class": "x"})
        seq = journal.record_fanned([(b"q", Group("Si", ("αλφα",)))])
        journal.record_watermark("αλφα", seq)

    assert list(iter_records(tmp_path)) == [
        Record(kind="robot", robot="αλφα", spec={"class": "x"}),
        Record(kind="event", seq=1, payload=b"q", robots=("αλφα",), topic="Si"),
        Record(kind="watermark", robot="αλφα", seq=1),
    ]


def test_fanned_and_plain_events_share_one_series_of_seqs(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"plain")
        fanned = journal.record_fanned([(b"fanned", Group("Si", ("alpha",)))])
    with Journal(tmp_path) as journal:
        after_reopen = journal.record_event(b"plain again")

    assert (fanned, after_reopen) == (2, 3)


def test_a_watermark_past_the_last_event_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_fanned([(b"e", Group("Si", ("alpha",)))])
        with pytest.raises(JournalError, match="delivery of event 2 to robot 'alpha'"):
            journal.record_watermark("alpha", 2)


def test_a_group_refuses_a_name_that_is_not_utf8() -> None:
    with pytest.raises(
        ValueError, match=r"cannot hold robot name '\\udc80': it is not encodable as UTF-8"
    ):
        Group("Si", ("alpha", "\udc80"))


def test_every_cut_through_a_burst_and_its_watermark_keeps_what_was_covered_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {})
        first = journal.record_fanned([(b"covered", Group("Si", ("alpha",)))])
        journal.record_watermark("alpha", first)
        before_burst = segments(tmp_path)[0].stat().st_size
        burst = journal.record_fanned(
            [(b"b1", Group("Si", ("alpha", "beta"))), (b"b2", Group("RTS", ("alpha",)))]
        )
        journal.record_watermark("alpha", burst + 1)
    path = segments(tmp_path)[0]
    whole = path.read_bytes()

    assert read_robot(tmp_path, "alpha").entries == (
        event(first, b"covered"),
        event(burst, b"b1"),
        event(burst + 1, b"b2"),
    )
    for cut in range(1, len(whole) - before_burst):
        path.write_bytes(whole[:-cut])
        with caplog.at_level(logging.WARNING, logger="yard_actors.journal"):
            assert read_robot(tmp_path, "alpha").entries == (event(first, b"covered"),), cut
