"""Reading the journal in a child process gives what the read in this process gives.

Every test here starts a real child process (``python -m yard_actors.journal.stream_ahead``)
and checks it is gone afterwards.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.journal.test_stream import ROBOTS, write_random_journal
from yard_actors import Quote, Robot
from yard_actors.app.cli import main
from yard_actors.errors import JournalError
from yard_actors.journal import Group, Journal, JournalConfig, stream_ahead
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.stream import stream_runs
from yard_actors.journal.stream_ahead import ReadAhead, reads_ahead, stream_runs_ahead
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote, wait_until
from yard_actors.wire.codec import encode


def children() -> set[int]:
    """The pids of this process's live children (from /proc: no reaping, no guessing)."""
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        text = (task / "children").read_text()
        pids.update(int(pid) for pid in text.split())
    return pids


@pytest.fixture
def no_child_left() -> Iterator[None]:
    before = children()
    yield
    wait_until(lambda: children() <= before, what="the reading child gone", timeout=10)


@pytest.mark.parametrize("seed", range(6))
def test_the_read_ahead_yields_the_runs_the_read_here_yields(
    tmp_path: Path, seed: int, no_child_left: None
) -> None:
    write_random_journal(tmp_path, seed)

    assert list(stream_runs_ahead(tmp_path, ROBOTS)) == list(stream_runs(tmp_path, ROBOTS))


def test_damage_in_the_journal_is_raised_with_the_same_message(
    tmp_path: Path, no_child_left: None
) -> None:
    write_random_journal(tmp_path, seed=3)
    segment = sorted(tmp_path.glob("journal-*.yj"))[1]
    data = bytearray(segment.read_bytes())
    data[100] ^= 0xFF  # a flipped byte mid-segment, valid records after it
    segment.write_bytes(bytes(data))

    with pytest.raises(JournalError) as here:
        list(stream_runs(tmp_path, ROBOTS))
    with pytest.raises(JournalError) as ahead:
        list(stream_runs_ahead(tmp_path, ROBOTS))

    assert "is damaged at byte" in str(here.value)
    assert str(ahead.value) == str(here.value)


def test_a_torn_tail_is_warned_about_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, no_child_left: None
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {})
        seq = journal.record_event(b"kept")
        journal.record_delivery("alpha", seq)
    segment = next(tmp_path.glob("journal-*.yj"))
    with segment.open("ab") as file:
        file.write(b"\x40\x00\x00\x00torn")  # a frame header promising 64 bytes, cut short

    with caplog.at_level(logging.WARNING):
        runs = list(stream_runs_ahead(tmp_path, ["alpha"]))

    assert [run.events for run in runs] == [((seq, b"kept"),)]
    assert f"{segment} ends with a torn record" in caplog.text


def test_closing_the_read_early_ends_the_child(tmp_path: Path, no_child_left: None) -> None:
    write_big_journal(tmp_path, events=60_000)
    runs = stream_runs_ahead(tmp_path, ["trivial"])

    first = next(runs)
    assert first.robot == "trivial"
    assert children(), "the read runs in a child process"
    runs.close()  # the child is blocked on a full pipe: it must still end


def test_a_child_killed_mid_read_is_an_error_not_a_short_journal(
    tmp_path: Path, no_child_left: None
) -> None:
    write_big_journal(tmp_path, events=60_000)
    before = children()
    runs = stream_runs_ahead(tmp_path, ["trivial"])
    next(runs)
    (child,) = children() - before
    os.kill(child, signal.SIGKILL)

    with pytest.raises(JournalError, match=r"ended before the journal did \(exit code -9\)"):
        for _ in runs:
            pass


class Counter(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return self.buy("Si", 1, quote.bid) if self.quotes % 1000 == 0 else None


def test_a_replay_read_ahead_is_the_replay_read_here(tmp_path: Path, no_child_left: None) -> None:
    write_big_journal(tmp_path, events=20_000, orders=True)

    here = replay_journal(tmp_path, {"trivial": Counter("trivial")}, ahead=False).run()
    ahead = replay_journal(tmp_path, {"trivial": Counter("trivial")}, ahead=True).run()

    assert here["trivial"].identical
    assert ahead["trivial"].identical
    assert (ahead["trivial"].events, ahead["trivial"].commands) == (20_000, 20)
    assert ahead["trivial"].robot.snapshot() == here["trivial"].robot.snapshot()


def test_a_replay_read_ahead_finds_the_same_divergence(tmp_path: Path, no_child_left: None) -> None:
    write_big_journal(tmp_path, events=5_000, orders=True)

    class Changed(Counter):
        def on_quote(self, quote: Quote) -> HandlerResult:
            self.quotes += 1
            return self.buy("Si", 2, quote.bid) if self.quotes == 3000 else None

    here = replay_journal(tmp_path, {"trivial": Changed("trivial")}, ahead=False).run()
    ahead = replay_journal(tmp_path, {"trivial": Changed("trivial")}, ahead=True).run()

    assert here["trivial"].divergence is not None
    assert ahead["trivial"].divergence == here["trivial"].divergence


def test_the_read_ahead_is_chosen_for_large_journals_on_two_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("YARD_REPLAY_AHEAD", raising=False)
    monkeypatch.setattr(stream_ahead, "AHEAD_MIN_BYTES", 1 << 16)  # 64 MB is slow to write
    write_big_journal(tmp_path, events=100)
    two_cores = len(os.sched_getaffinity(0)) >= 2

    assert reads_ahead(tmp_path) is False  # small: a child's start would cost more
    assert reads_ahead(tmp_path, ahead=True) is True
    (tmp_path / "journal-99999999.yj").write_bytes(b"\0" * stream_ahead.AHEAD_MIN_BYTES)
    assert reads_ahead(tmp_path) is two_cores
    assert reads_ahead(tmp_path, ahead=False) is False
    monkeypatch.setenv("YARD_REPLAY_AHEAD", "0")
    assert reads_ahead(tmp_path) is False
    monkeypatch.setenv("YARD_REPLAY_AHEAD", "1")
    (tmp_path / "journal-99999999.yj").unlink()
    assert reads_ahead(tmp_path) is True


def write_big_journal(directory: Path, events: int, *, orders: bool = False) -> None:
    """``events`` fanned quotes to robot ``trivial`` in runs of 16, as a host writes them;
    with ``orders``, the orders a :class:`Counter` sends for them, journaled after each run."""
    group = Group("Si", ("trivial",))
    robot = Counter("trivial") if orders else None
    config = JournalConfig(segment_bytes=1 << 20)
    with Journal(directory, config=config) as journal:
        journal.record_robot("trivial", {"name": "trivial", "class": "x:Y"})
        for start in range(0, events, 16):
            quotes = [
                quote("Si", 90_000 + n % 7, 90_002 + n % 7, ts=10**18 + n)
                for n in range(start, min(start + 16, events))
            ]
            first = journal.record_fanned([(encode(q), group) for q in quotes])
            journal.record_watermark("trivial", first + len(quotes) - 1)
            for event in quotes if orders else ():
                for command in robot.handle(event):  # type: ignore[union-attr]  # orders: a robot
                    journal.record_command("trivial", encode(command))


def test_a_read_started_for_every_robot_reads_each_the_journal_adds(
    tmp_path: Path, no_child_left: None
) -> None:
    write_random_journal(tmp_path, seed=8)
    reader = ReadAhead(tmp_path, None)

    assert list(reader.runs()) == list(stream_runs(tmp_path, ROBOTS))
    with pytest.raises(JournalError, match="taken already"):
        next(reader.runs())


def test_a_read_started_and_never_taken_ends_its_child_when_let_go(
    tmp_path: Path, no_child_left: None
) -> None:
    write_big_journal(tmp_path, events=60_000)
    before = children()
    reader = ReadAhead(tmp_path, ["trivial"])
    assert children() - before, "the read starts at once"

    del reader
    gc.collect()  # the child, blocked on a full pipe, is stopped by the reader's finalizer


def test_a_replay_prepared_before_its_index_starts_its_read_first(
    tmp_path: Path, no_child_left: None
) -> None:
    write_big_journal(tmp_path, events=20_000, orders=True)
    before = children()

    replaying = replay_journal(tmp_path, {"trivial": Counter("trivial")}, ahead=True)
    started = children() - before  # the index read already, the child started before it
    [replay] = replaying.run().values()

    assert started
    assert replay.identical
    assert (replay.events, replay.commands) == (20_000, 20)


def test_yard_replay_of_a_large_journal_reads_it_ahead_and_says_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_big_journal(tmp_path, events=20_000, orders=True)
    spec = {"name": "trivial", "class": f"{__name__}:Counter", "symbols": ["Si"]}
    with Journal(tmp_path) as journal:  # the robot's spec, as a host journals it
        journal.record_robot("trivial", spec)
    monkeypatch.setenv("YARD_REPLAY_AHEAD", "1")

    code = main(["replay", str(tmp_path)])

    assert code == 0
    assert "trivial: identical: 20,000 events, 20 commands" in capsys.readouterr().out
