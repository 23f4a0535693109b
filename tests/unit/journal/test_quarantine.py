"""Supervision records: a quarantined event is skipped by every replay; a restart is only noted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from yard_actors import Quote, Robot
from yard_actors.errors import JournalError
from yard_actors.journal import Group, Journal, iter_records, read_robot
from yard_actors.journal.replay import replay, replay_into
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote
from yard_actors.wire.codec import encode

SPEC = {"name": "r", "class": "tests.unit.journal.test_quarantine.Bids", "symbols": ["Si"]}


class Bids(Robot):
    """Keeps every bid it sees; a bid of 13 raises."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.bids: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        if quote.bid == 13:
            msg = "unlucky"
            raise ValueError(msg)
        self.bids.append(str(quote.bid))
        return None


def _journal_bids(journal: Journal, bids: list[int]) -> list[int]:
    seqs = []
    for n, bid in enumerate(bids):
        seq = journal.record_event(encode(quote("Si", bid, bid + 1, ts=n + 1)))
        journal.record_delivery("r", seq)
        seqs.append(seq)
    return seqs


def test_a_quarantined_event_is_read_back_and_skipped_by_a_replay(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("r", SPEC)
        seqs = _journal_bids(journal, [10, 13, 11])
        journal.record_quarantine("r", seqs[1])

    history = read_robot(tmp_path, "r")
    result = replay(tmp_path, "r")

    assert history.quarantined == frozenset({seqs[1]})
    assert len([e for e in history.entries if e.kind == "event"]) == 3  # kept, marked
    assert result.skipped == (seqs[1],)
    assert result.robot.snapshot()["state"]["bids"] == ["10", "11"]
    assert result.failed_at is None
    assert [(r.robot, r.seq) for r in iter_records(tmp_path) if r.kind == "quarantine"] == [
        ("r", seqs[1])
    ]


def test_a_replay_says_where_a_handler_failed_the_robot(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("r", SPEC)
        seqs = _journal_bids(journal, [10, 13, 11])

    result = replay(tmp_path, "r")

    assert result.failed_at is not None
    assert result.failed_at.seq == seqs[1]
    assert "ValueError in on_quote: unlucky" in result.failed_at.error
    assert result.failure is None  # nothing escaped handle(): the robot kept it


def test_a_quarantine_of_an_event_never_journaled_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal, pytest.raises(JournalError, match="no event with that seq"):
        journal.record_quarantine("r", 7)


def test_a_restart_record_keeps_the_fanned_events_waiting_in_the_mailbox(tmp_path: Path) -> None:
    # Unlike a robot record (added again), a restart must not drop the fanned events
    # journaled before it that the robot takes (watermarks) after it.
    group = Group("Si", ("r",))
    with Journal(tmp_path) as journal:
        journal.record_robot("r", SPEC)
        first = journal.record_fanned(
            [(encode(quote("Si", b, b + 1, ts=b)), group) for b in (1, 2)]
        )
        journal.record_watermark("r", first)
        journal.record_restart("r", {"cause": "test", "sender": "local"})
        journal.record_watermark("r", first + 1)

    history = read_robot(tmp_path, "r")
    [note] = [r.note for r in iter_records(tmp_path) if r.kind == "restart"]

    assert [e.seq for e in history.entries] == [first, first + 1]
    assert note == {"cause": "test", "sender": "local"}


def test_a_replay_called_off_says_so(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("r", SPEC)
        _journal_bids(journal, [10, 11])
    stop = threading.Event()
    stop.set()

    result = replay_into(Bids("r"), read_robot(tmp_path, "r"), stop=stop)

    assert result.stopped


def test_a_history_read_until_the_writers_end_leaves_out_what_was_written_after(
    tmp_path: Path,
) -> None:
    # A restart reads the journal while other robots write to it: up to Journal.end(), so no
    # frame half written meanwhile is met (and taken for a torn tail).
    with Journal(tmp_path) as journal:
        journal.record_robot("r", SPEC)
        before = _journal_bids(journal, [10, 11])
        end = journal.end()
        _journal_bids(journal, [12])
        history = read_robot(tmp_path, "r", until=end)
        whole = read_robot(tmp_path, "r")

    assert [e.seq for e in history.entries] == before
    assert len(whole.entries) == 3
