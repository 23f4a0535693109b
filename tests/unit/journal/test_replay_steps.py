"""Streamed replay: a step per event, the robot's state readable between steps, several robots
in one pass, the first divergence at its event, and memory that does not grow with the journal."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

from yard_actors import Quote, Robot
from yard_actors.journal import Group, Journal, JournalConfig, read_robot
from yard_actors.journal.replay import replay, replay_into, replay_steps
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.replay_steps import open_replay
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import NewOrder

CLASS = "tests.unit.journal.test_replay_steps.EveryThird"


class EveryThird(Robot):
    """Buys one lot on every third quote; ``buy_qty`` is what a changed version would alter."""

    symbols = ("Si",)
    buy_qty = 1

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        if self.quotes % 3:
            return None
        return self.buy(quote.symbol, self.buy_qty if self.quotes < 9 else 2, quote.bid - 5)


class Changed(EveryThird):
    buy_qty = 3


def record_live(directory: Path, robots: tuple[str, ...], quotes: int) -> None:
    """Journal what live robots of EveryThird do: fanned quotes, a watermark per run of two."""
    live = {name: EveryThird(name) for name in robots}
    group = Group("Si", robots)
    with Journal(directory) as journal:
        for name in robots:
            journal.record_robot(name, {"name": name, "class": CLASS, "symbols": ["Si"]})
        for start in range(0, quotes, 2):
            burst = [quote("Si", 100 + n, 102 + n, ts=n + 1) for n in range(start, start + 2)]
            first = journal.record_fanned([(encode(q), group) for q in burst])
            for name, robot in live.items():
                journal.record_watermark(name, first + len(burst) - 1)
                for event in burst:
                    for command in robot.handle(event):
                        journal.record_command(name, encode(command))


def test_each_step_is_an_event_with_its_commands_and_the_state_after_it(tmp_path: Path) -> None:
    record_live(tmp_path, ("a",), quotes=12)
    session = open_replay(tmp_path, "a")

    seen = [(step.seq, session.robot.snapshot()["state"]["quotes"]) for step in session.steps()]
    steps = list(replay_steps(tmp_path, "a"))

    assert seen == [(n, n) for n in range(1, 13)]
    assert [len(step.commands) for step in steps] == [0, 0, 1] * 4
    assert all(step.journaled == tuple(encode(c) for c in step.commands) for step in steps)
    assert session.replay.identical
    assert (session.replay.events, session.replay.commands) == (12, 4)


def test_every_robot_replays_in_one_pass_as_each_alone(tmp_path: Path) -> None:
    robots = ("a", "b", "c")
    record_live(tmp_path, robots, quotes=30)

    together = replay_journal(tmp_path, {name: EveryThird(name) for name in robots}).run()

    for name in robots:
        alone = replay(tmp_path, name)
        assert together[name].identical
        assert alone.faithful
        assert together[name].robot.snapshot() == alone.robot.snapshot()
        assert together[name].events == len(alone.events) == 30


def test_a_changed_robot_diverges_at_the_event_of_its_first_different_command(
    tmp_path: Path,
) -> None:
    record_live(tmp_path, ("a",), quotes=12)
    session = open_replay(tmp_path, "a", robot=Changed("a"))

    for _ in session.steps():
        pass

    divergence = session.replay.divergence
    assert divergence is not None
    assert (divergence.seq, divergence.index, divergence.step) == (3, 0, 2)
    assert divergence.event == quote("Si", 102, 104, ts=3)
    journaled, produced = divergence.first_difference()
    assert journaled is not None
    assert produced is not None
    was, now = decode(journaled), decode(produced)
    assert isinstance(was, NewOrder)
    assert isinstance(now, NewOrder)
    assert (was.qty, now.qty) == (1, 3)


def test_old_replay_keeps_its_result_on_the_streamed_core(tmp_path: Path) -> None:
    record_live(tmp_path, ("a",), quotes=12)

    result = replay(tmp_path, "a", robot_class=Changed)

    assert not result.faithful
    assert result.divergence is not None
    assert result.divergence.index == 0
    assert len(result.events) == 12


def write_long_journal(directory: Path, events: int) -> None:
    """A journal of ``events`` fanned quotes to one robot, a watermark per 16, small segments."""
    payloads = [encode(quote("Si", 100 + n % 50, 102 + n % 50, ts=n + 1)) for n in range(64)]
    group = Group("Si", ("r",))
    config = JournalConfig(segment_bytes=1 << 20)
    with Journal(directory, config=config) as journal:
        journal.record_robot("r", {"name": "r", "class": CLASS, "symbols": ["Si"]})
        for start in range(0, events, 16):
            first = journal.record_fanned(
                [(payloads[n % 64], group) for n in range(start, start + 16)]
            )
            journal.record_watermark("r", first + 15)


class Counter(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return None


def traced_peak(replay_all: Callable[[], int]) -> tuple[int, int]:
    """What ``replay_all`` returns, and the peak of memory it allocated (tracemalloc)."""
    tracemalloc.start()
    try:
        result = replay_all()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def test_a_streamed_replay_stays_in_a_few_megabytes_where_a_list_holding_one_grows(
    tmp_path: Path,
) -> None:
    events = 100_000
    write_long_journal(tmp_path, events)
    bound = 8 << 20  # a segment of 1 MiB and the reader's window, with a wide margin
    robot = Counter("r")

    fed, streamed = traced_peak(lambda: sum(1 for _ in replay_steps(tmp_path, "r", robot=robot)))
    held, holding = traced_peak(  # a whole history read, then replayed: a restore's way
        lambda: len(replay_into(Counter("r"), read_robot(tmp_path, "r")).events)
    )

    assert fed == held == events
    assert robot.snapshot()["state"]["quotes"] == events
    assert streamed < bound, f"streamed peak {streamed:,} bytes"
    assert holding > 3 * bound, f"list-holding peak {holding:,} bytes"  # ~45 MB: it grows


class Unlucky(Robot):
    """Keeps its bids; a bid of 13 raises (the event its host quarantined)."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.bids: list[int] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        if quote.bid == 13:
            msg = "unlucky"
            raise ValueError(msg)
        self.bids.append(int(quote.bid))
        return None


def test_a_quarantined_event_is_skipped_though_its_mark_comes_after_it(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("r", {"name": "r", "class": "x:Y"})
        seqs = []
        for n, bid in enumerate((12, 13, 14)):
            seqs.append(journal.record_event(encode(quote("Si", bid, bid + 1, ts=n + 1))))
            journal.record_delivery("r", seqs[-1])
        journal.record_quarantine("r", seqs[1])  # written after the event failed it twice
    session = open_replay(tmp_path, "r", robot=Unlucky("r"))

    fed = [step.seq for step in session.steps()]

    assert fed == [seqs[0], seqs[2]]
    assert session.replay.skipped == [seqs[1]]
    assert session.replay.identical
    assert session.robot.snapshot()["state"]["bids"] == [12, 14]


def test_an_event_that_raises_fails_the_robot_there_and_the_replay_goes_on(
    tmp_path: Path,
) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("r", {"name": "r", "class": "x:Y"})
        for n, bid in enumerate((12, 13, 14)):
            journal.record_delivery(
                "r", journal.record_event(encode(quote("Si", bid, 99, ts=n + 1)))
            )
        journal.record_delivery("r", journal.record_event(b"not an event"))
    session = open_replay(tmp_path, "r", robot=Unlucky("r"))

    steps = list(session.steps())

    assert len(steps) == 4
    assert session.replay.failed_at is not None
    assert session.replay.failed_at.seq == 2
    assert session.replay.failure is not None
    assert session.replay.failure.seq == 4  # the payload that does not decode
    assert not session.replay.identical
