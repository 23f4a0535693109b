"""The journal: framing, torn tails, flush policies, threads and file descriptors, on real files."""

from __future__ import annotations

import logging
import os
import struct
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yard_actors.errors import JournalError
from yard_actors.journal import (
    FlushPolicy,
    Group,
    Journal,
    JournalConfig,
    JournalEntry,
    Record,
    iter_records,
    read_robot,
    read_robots,
    robots_in,
)
from yard_actors.journal import writer as journal_module

HEADER_BYTES = 15  # the frame that opens every segment
DELIVERY_BYTES = 21  # a framed delivery of a robot already named in the segment
WATERMARK_BYTES = 21  # a framed watermark, the same size


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("journal-*.yj"))


def event(seq: int, payload: bytes) -> JournalEntry:
    return JournalEntry(kind="event", seq=seq, payload=payload)


def command(payload: bytes) -> JournalEntry:
    return JournalEntry(kind="command", seq=None, payload=payload)


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


# --- round trips -----------------------------------------------------------------------


def test_two_interleaved_robots_each_read_back_exactly_their_own_history(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"class": "robots.Alpha", "symbols": ["ESZ5"]})
        journal.record_robot("beta", {"class": "robots.Beta", "params": {"qty": 2}})
        first = journal.record_event(b"quote 1")
        journal.record_delivery("alpha", first)
        second = journal.record_event(b"quote 2")
        journal.record_delivery("beta", second)
        journal.record_command("beta", b"buy 2")
        journal.record_delivery("alpha", second)
        journal.record_command("alpha", b"sell 1")

    alpha = read_robot(tmp_path, "alpha")
    beta = read_robot(tmp_path, "beta")

    assert alpha.spec == {"class": "robots.Alpha", "symbols": ["ESZ5"]}
    assert alpha.entries == (event(1, b"quote 1"), event(2, b"quote 2"), command(b"sell 1"))
    assert beta.spec == {"class": "robots.Beta", "params": {"qty": 2}}
    assert beta.entries == (event(2, b"quote 2"), command(b"buy 2"))
    assert robots_in(tmp_path) == ["alpha", "beta"]


def test_a_shared_event_is_stored_once_and_a_delivery_costs_21_bytes(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_command("alpha", b"name alpha")
        journal.record_command("beta", b"name beta")
        seq = journal.record_event(b"a quote for everyone")
        size = segments(tmp_path)[0].stat().st_size
        journal.record_delivery("alpha", seq)
        journal.record_delivery("beta", seq)
        grown = segments(tmp_path)[0].stat().st_size - size

    kinds = [record.kind for record in iter_records(tmp_path)]

    assert kinds == ["command", "command", "event", "delivery", "delivery"]
    assert grown == 2 * DELIVERY_BYTES
    assert read_robot(tmp_path, "beta").entries[-1] == event(seq, b"a quote for everyone")


def test_a_robot_the_journal_never_saw_reads_back_empty(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"quote")

    assert read_robot(tmp_path, "ghost").entries == ()
    assert read_robot(tmp_path, "ghost").spec is None


def test_the_last_spec_journaled_for_a_robot_is_the_one_read_back(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"params": {"qty": 1}})
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"params": {"qty": 5}})

    assert read_robot(tmp_path, "alpha").spec == {"params": {"qty": 5}}
    assert robots_in(tmp_path) == ["alpha"]


def test_iter_records_resolves_robot_names_in_every_record(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("αλφα", {"class": "x"})
        journal.record_delivery("αλφα", journal.record_event(b"q"))
        journal.record_command("αλφα", b"c")

    assert list(iter_records(tmp_path)) == [
        Record(kind="robot", robot="αλφα", spec={"class": "x"}),
        Record(kind="event", seq=1, payload=b"q"),
        Record(kind="delivery", robot="αλφα", seq=1),
        Record(kind="command", robot="αλφα", payload=b"c"),
    ]


# --- fanned events, groups and watermarks -------------------------------------------------


def frame_kinds(path: Path) -> bytes:
    """The kind byte of every frame in a segment, in order (b"HNG..."), read raw."""
    data, kinds, offset = path.read_bytes(), bytearray(), 0
    while offset + 8 <= len(data):
        length = struct.unpack_from("<I", data, offset)[0]
        kinds.append(data[offset + 8])
        offset += 8 + length
    return bytes(kinds)


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


# --- segments and restarts -------------------------------------------------------------


def test_seq_continues_in_a_new_segment_after_a_reopen(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        seqs = [journal.record_event(b"e") for _ in range(3)]
    with Journal(tmp_path) as journal:
        fourth = journal.record_event(b"e4")
        journal.record_delivery("alpha", seqs[0])  # its event is in the earlier segment

    assert seqs == [1, 2, 3]
    assert fourth == 4
    assert [path.name for path in segments(tmp_path)] == ["journal-000001.yj", "journal-000002.yj"]
    assert read_robot(tmp_path, "alpha").entries == (event(1, b"e"),)


def test_a_reopen_after_a_torn_event_reuses_only_the_lost_seq(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"kept")
        journal.record_event(b"torn by a crash")
    first = segments(tmp_path)[0]
    os.truncate(first, first.stat().st_size - 3)

    with caplog.at_level(logging.WARNING), Journal(tmp_path) as journal:
        seq = journal.record_event(b"after the restart")

    assert seq == 2
    assert "torn record" in caplog.text
    assert [r.payload for r in iter_records(tmp_path)] == [b"kept", b"after the restart"]


def test_a_journal_rolls_to_a_new_segment_and_reads_across_them(tmp_path: Path) -> None:
    with Journal(tmp_path, JournalConfig(segment_bytes=200)) as journal:
        for index in range(50):
            seq = journal.record_event(b"quote %d" % index)
            journal.record_delivery("alpha", seq)
            journal.record_command("alpha", b"order %d" % index)

    expected = []
    for index in range(50):
        expected += [event(index + 1, b"quote %d" % index), command(b"order %d" % index)]
    assert len(segments(tmp_path)) > 10
    assert read_robot(tmp_path, "alpha").entries == tuple(expected)


def test_a_delivery_of_an_event_never_journaled_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"e")
        with pytest.raises(JournalError, match="delivery of event 2 to robot 'alpha'"):
            journal.record_delivery("alpha", 2)


def test_recording_after_close_is_refused_and_close_twice_is_harmless(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.close()
    journal.close()

    with pytest.raises(JournalError, match=r"Cannot journal an event in .*: it is closed\."):
        journal.record_event(b"late")
    assert journal.path == tmp_path


def test_a_spec_that_is_not_json_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal, pytest.raises(JournalError, match="not JSON-serialisable"):
        journal.record_robot("alpha", {"started": object()})


# --- damage ----------------------------------------------------------------------------


def test_every_cut_through_the_last_record_is_a_torn_tail_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"class": "x"})
        journal.record_delivery("alpha", journal.record_event(b"kept event"))
        before_last = segments(tmp_path)[0].stat().st_size
        journal.record_command("alpha", b"the last command, torn by a crash")
    path = segments(tmp_path)[0]
    whole = path.read_bytes()
    last = len(whole) - before_last

    for cut in range(1, last):
        path.write_bytes(whole[:-cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="yard_actors.journal"):
            history = read_robot(tmp_path, "alpha")

        assert history.entries == (event(1, b"kept event"),), cut
        assert f"{path} ends with a torn record at byte {before_last}" in caplog.text, cut

    path.write_bytes(whole[:-last])
    caplog.clear()
    assert read_robot(tmp_path, "alpha").entries == (event(1, b"kept event"),)
    assert caplog.text == ""


def test_a_crc_mismatch_in_the_last_record_is_a_torn_tail(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"kept")
        journal.record_event(b"garbled")
    path = segments(tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))

    with caplog.at_level(logging.WARNING, logger="yard_actors.journal"):
        payloads = [record.payload for record in iter_records(tmp_path)]

    assert payloads == [b"kept"]
    assert "crc mismatch" in caplog.text


def test_a_flipped_byte_in_an_early_record_raises_naming_file_and_offset(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"early event")
        journal.record_event(b"later event")
    path = segments(tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[HEADER_BYTES + 12] ^= 0x01  # inside the first event's seq
    path.write_bytes(bytes(data))

    expected = f"{path} is damaged at byte {HEADER_BYTES} \\(a crc mismatch\\)"
    with pytest.raises(JournalError, match=expected):
        list(iter_records(tmp_path))
    with pytest.raises(JournalError, match=expected):
        read_robot(tmp_path, "alpha")
    with pytest.raises(JournalError, match=expected):
        Journal(tmp_path)


def test_a_damaged_length_in_an_early_record_raises(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_event(b"early event")
        journal.record_event(b"later event")
    path = segments(tmp_path)[0]
    data = bytearray(path.read_bytes())
    data[HEADER_BYTES + 2] = 0x7F  # the length now runs far past the end of the file
    path.write_bytes(bytes(data))

    with pytest.raises(JournalError, match=f"damaged at byte {HEADER_BYTES} .* valid records"):
        list(iter_records(tmp_path))


def as_version_1(path: Path) -> None:
    """Rewrite a segment's header to say format version 1, as an older yard wrote it."""
    body = b"H" + b"yard" + struct.pack("<H", 1)
    header = struct.pack("<II", len(body), zlib.crc32(body)) + body
    path.write_bytes(header + path.read_bytes()[len(header) :])


def test_a_version_1_segment_is_still_read(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"class": "x"})
        journal.record_delivery("alpha", journal.record_event(b"old quote"))
        journal.record_command("alpha", b"old order")
    as_version_1(segments(tmp_path)[0])
    with Journal(tmp_path) as journal:
        seq = journal.record_fanned([(b"new quote", Group("Si", ("alpha",)))])
        journal.record_watermark("alpha", seq)

    assert read_robot(tmp_path, "alpha").entries == (
        event(1, b"old quote"),
        command(b"old order"),
        event(2, b"new quote"),
    )
    assert [segments(tmp_path)[1].read_bytes()[13:15]] == [struct.pack("<H", 2)]


def test_a_version_1_segment_with_fanned_records_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_fanned([(b"quote", Group("Si", ("alpha",)))])
    as_version_1(segments(tmp_path)[0])

    with pytest.raises(JournalError, match="unexpected kind b'G' at byte"):
        read_robot(tmp_path, "alpha")


def test_a_file_that_does_not_start_with_a_header_is_refused(tmp_path: Path) -> None:
    body = b"E" + struct.pack("<Q", 1) + b"an event with no header before it"
    frame = struct.pack("<II", len(body), zlib.crc32(body)) + body
    (tmp_path / "journal-000001.yj").write_bytes(frame)

    with pytest.raises(JournalError, match="not a yard journal segment"):
        robots_in(tmp_path)


def test_a_segment_from_a_newer_format_is_refused_naming_the_file_and_the_version(
    tmp_path: Path,
) -> None:
    body = b"H" + b"yard" + struct.pack("<H", 3)
    frame = struct.pack("<II", len(body), zlib.crc32(body)) + body
    (tmp_path / "journal-000001.yj").write_bytes(frame)

    expected = r"journal-000001\.yj has format version 3 .* reads versions 1 and 2"
    with pytest.raises(JournalError, match=expected):
        Journal(tmp_path)
    with pytest.raises(JournalError, match=expected):
        read_robot(tmp_path, "alpha")


def test_reading_a_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="Cannot list the journal directory"):
        read_robot(tmp_path / "nowhere", "alpha")


# --- flush policies and configuration --------------------------------------------------


def test_every_event_makes_each_record_visible_to_another_reader_at_once(tmp_path: Path) -> None:
    visible = []
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {})
        visible.append(len(list(iter_records(tmp_path))))
        for _ in range(3):
            seq = journal.record_event(b"e")
            visible.append(len(list(iter_records(tmp_path))))
            journal.record_delivery("alpha", seq)
            visible.append(len(list(iter_records(tmp_path))))
            journal.record_command("alpha", b"c")
            visible.append(len(list(iter_records(tmp_path))))
    assert visible == list(range(1, 11))


def test_every_n_makes_records_visible_in_batches_of_n(tmp_path: Path) -> None:
    config = JournalConfig(flush=FlushPolicy.EVERY_N, every_n=3)
    visible = []
    with Journal(tmp_path, config) as journal:
        for _ in range(7):
            journal.record_event(b"e")
            visible.append(len(list(iter_records(tmp_path))))
    assert visible == [0, 0, 3, 3, 3, 6, 6]
    assert len(list(iter_records(tmp_path))) == 7


def test_interval_flushes_when_a_record_arrives_an_interval_after_the_last_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1000.0]
    monkeypatch.setattr(journal_module, "monotonic", lambda: now[0])
    config = JournalConfig(flush=FlushPolicy.INTERVAL, interval_ms=60_000)
    with Journal(tmp_path, config) as journal:
        journal.record_event(b"first")
        now[0] += 59.9
        journal.record_event(b"second")
        assert list(iter_records(tmp_path)) == []
        now[0] += 0.1
        journal.record_event(b"third")
        assert len(list(iter_records(tmp_path))) == 3
        started = time.monotonic()
    assert time.monotonic() - started < 5  # close stopped the minute-long timer at once
    assert not [t for t in threading.enumerate() if t.name == "yard-journal-flush"]


def test_interval_flushes_a_quiet_tail_on_its_timer(tmp_path: Path) -> None:
    config = JournalConfig(flush=FlushPolicy.INTERVAL, interval_ms=20)
    with Journal(tmp_path, config) as journal:
        journal.record_event(b"first")
        journal.record_event(b"then nothing for a while")
        assert wait_until(lambda: len(list(iter_records(tmp_path))) == 2)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("every_n", 0, "every_n must be positive, was 0"),
        ("every_n", -3, "every_n must be positive, was -3"),
        ("interval_ms", 0, "interval_ms must be positive, was 0"),
        ("segment_bytes", 0, "segment_bytes must be positive, was 0"),
    ],
)
def test_config_refuses_non_positive_numbers(field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        JournalConfig(**{field: value})  # type: ignore[arg-type]


def test_config_refuses_a_flush_that_is_not_a_policy() -> None:
    expected = r"flush must be one of FlushPolicy\.EVERY_EVENT, .* was 'every_event'"
    with pytest.raises(TypeError, match=expected):
        JournalConfig(flush="every_event")  # type: ignore[arg-type]


# --- threads and file descriptors ------------------------------------------------------


def test_eight_threads_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    rounds = 300
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def run_robot(journal: Journal, robot: str) -> None:
        try:
            start.wait(timeout=10)
            for index in range(rounds):
                seq = journal.record_event(f"{robot} event {index}".encode())
                journal.record_delivery(robot, seq)
                journal.record_command(robot, f"{robot} order {index}".encode())
        except BaseException as exc:  # reported by the test thread below
            failures.append(exc)

    with Journal(tmp_path, JournalConfig(segment_bytes=4096)) as journal:
        threads = [
            threading.Thread(target=run_robot, args=(journal, f"robot-{n}")) for n in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert failures == []
    histories = read_robots(tmp_path, [f"robot-{n}" for n in range(8)])
    for robot, history in histories.items():
        payloads = [entry.payload for entry in history.entries]
        expected = []
        for index in range(rounds):
            expected += [f"{robot} event {index}".encode(), f"{robot} order {index}".encode()]
        assert payloads == expected
    seqs = [record.seq for record in iter_records(tmp_path) if record.kind == "event"]
    assert seqs == list(range(1, 8 * rounds + 1))


def test_a_thousand_robots_are_journaled_through_one_file_descriptor(tmp_path: Path) -> None:
    robots = [f"robot-{n:04d}" for n in range(1000)]
    before = len(os.listdir("/proc/self/fd"))
    most = before
    with Journal(tmp_path, JournalConfig(segment_bytes=32 * 1024)) as journal:
        for robot in robots:
            journal.record_robot(robot, {"class": "robots.Quiet"})
        for round_ in range(5):
            seq = journal.record_event(b"quote %d" % round_)
            for robot in robots:
                journal.record_delivery(robot, seq)
            most = max(most, len(os.listdir("/proc/self/fd")))

    assert most - before <= 2
    assert len(segments(tmp_path)) > 1
    assert robots_in(tmp_path) == robots
    assert read_robot(tmp_path, "robot-0999").entries == tuple(
        event(round_ + 1, b"quote %d" % round_) for round_ in range(5)
    )


# --- any sequence of records reads back exactly ----------------------------------------

ROBOTS = ["alpha", "beta", "γάμμα", "robot with spaces"]
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
)
operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("robot"),
            st.sampled_from(ROBOTS),
            st.dictionaries(st.text(max_size=6), json_values, max_size=3),
        ),
        st.tuples(st.just("event"), st.binary(max_size=40)),
        st.tuples(
            st.just("fanned"),
            st.lists(
                st.tuples(st.binary(max_size=20), st.sets(st.sampled_from(ROBOTS)), st.booleans()),
                min_size=1,
                max_size=4,
            ),
        ),
        st.tuples(st.just("delivery"), st.sampled_from(ROBOTS), st.integers(0, 10_000)),
        st.tuples(st.just("watermark"), st.sampled_from(ROBOTS), st.integers(0, 10_000)),
        st.tuples(st.just("command"), st.sampled_from(ROBOTS), st.binary(max_size=40)),
        st.tuples(st.just("reopen")),
    ),
    max_size=60,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=operations, segment_bytes=st.sampled_from([64, 1024, 1 << 20]))
def test_any_sequence_of_records_reads_back_exactly(
    operations: list[tuple[Any, ...]], segment_bytes: int
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        config = JournalConfig(segment_bytes=segment_bytes)
        journal = Journal(directory, config)
        events: list[bytes] = []
        records: list[Record] = []
        specs: dict[str, Any] = {}
        entries: dict[str, list[JournalEntry]] = {robot: [] for robot in ROBOTS}
        pending: dict[str, list[int]] = {robot: [] for robot in ROBOTS}  # fanned, not yet taken
        groups: dict[tuple[str, ...], Group] = {}
        for operation in operations:
            match operation:
                case ("robot", robot, spec):
                    journal.record_robot(robot, spec)
                    specs[robot] = spec
                    pending[robot] = []
                    records.append(Record(kind="robot", robot=robot, spec=spec))
                case ("event", payload):
                    events.append(payload)
                    assert journal.record_event(payload) == len(events)
                    records.append(Record(kind="event", seq=len(events), payload=payload))
                case ("fanned", burst):
                    fanned = []
                    for payload, members, new_group in burst:
                        robots = tuple(sorted(members))
                        if new_group or robots not in groups:
                            groups[robots] = Group("topic", robots)
                        fanned.append((payload, groups[robots]))
                        events.append(payload)
                        for robot in robots:
                            pending[robot].append(len(events))
                        record = Record(
                            kind="event", seq=len(events), payload=payload, robots=robots
                        )
                        records.append(attrs.evolve(record, topic="topic"))
                    assert journal.record_fanned(fanned) == len(events) - len(burst) + 1
                case ("watermark", robot, pick) if events:
                    seq = pick % len(events) + 1
                    journal.record_watermark(robot, seq)
                    entries[robot] += [event(s, events[s - 1]) for s in pending[robot] if s <= seq]
                    pending[robot] = [s for s in pending[robot] if s > seq]
                    records.append(Record(kind="watermark", robot=robot, seq=seq))
                case ("delivery", robot, pick) if events:
                    seq = pick % len(events) + 1
                    journal.record_delivery(robot, seq)
                    entries[robot].append(event(seq, events[seq - 1]))
                    records.append(Record(kind="delivery", robot=robot, seq=seq))
                case ("command", robot, payload):
                    journal.record_command(robot, payload)
                    entries[robot].append(command(payload))
                    records.append(Record(kind="command", robot=robot, payload=payload))
                case ("reopen",):
                    journal.close()
                    journal = Journal(directory, config)
        journal.close()

        assert list(iter_records(directory)) == records
        assert robots_in(directory) == list(specs)
        for robot, history in read_robots(directory, ROBOTS).items():
            assert history.spec == specs.get(robot)
            assert list(history.entries) == entries[robot]
