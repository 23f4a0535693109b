"""Flush policies (when a record becomes visible to another reader) and the journal's config."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from yard_actors.journal import FlushPolicy, Journal, JournalConfig, iter_records
from yard_actors.journal import writer as journal_module


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


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
