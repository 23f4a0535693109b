"""Segments across reopens and rolls, refused records; damage: torn tails skipped, others raise."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

import pytest

from tests.unit.journal.on_disk import HEADER_BYTES, command, event, segments
from yard_actors.errors import JournalError
from yard_actors.journal import Group, Journal, JournalConfig, iter_records, read_robot, robots_in

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
