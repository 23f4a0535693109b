"""The data intake's fan-out in the journal: each event written once, one watermark per burst.

A quote for N robots is one ``F`` record; each robot writes one ``W`` per run it handles, so
the journal grows with events + robots x bursts, not robots x events, and each robot still
replays alone to exactly its live state and commands.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.integration.timer_robots import (
    MS,
    TS,
    Heartbeat,
    StartsMidBurst,
    harness_run,
    quotes,
    run_burst,
)
from yard_actors import NewOrder, Quote, Robot, Timer, decode, encode, replay
from yard_actors.journal import Group, Journal, Record, iter_records, read_robot
from yard_actors.journal.replay import replay_into
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import live_host, quote, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")

DELIVERY_BYTES = 21  # what each robot paid per event before fan-out records


class Taker(Robot):
    """Counts quotes, sums their bids, and buys one lot on every 250th."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0
        self.bids = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        self.bids += int(quote.bid)
        return self.buy("Si", 1, quote.bid) if self.quotes % 250 == 0 else None


class HeldIntake:
    """Holds the data intake's receive thread in its journal write, as a busy host would.

    While it is held, published quotes queue in the intake's socket, so the next drain takes
    them as one burst: the load under which a burst is long, made deterministic.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.released = threading.Event()
        original = Journal.record_fanned

        def held(journal: Journal, burst: Sequence[tuple[bytes, Group]]) -> int:
            self.entered.set()
            assert self.released.wait(10), "the test never released the data intake"
            return original(journal, burst)

        monkeypatch.setattr(Journal, "record_fanned", held)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def held_intake(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldIntake]:
    held = HeldIntake(monkeypatch)
    yield held
    held.release()  # never leave a receive thread waiting, whatever the test did


def journal_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.glob("journal-*.yj"))


def seqs_of(records: Sequence[Record], kind: str) -> list[int]:
    """The seqs of the records of ``kind``: every event and watermark carries one."""
    seqs: list[int] = []
    for record in records:
        if record.kind == kind:
            assert record.seq is not None, record
            seqs.append(record.seq)
    return seqs


def run_feed(
    directory: Path, robots: int, market: list[Quote], held: HeldIntake
) -> dict[str, dict[str, Any]]:
    """Publish ``market`` to ``robots`` Takers in held bursts; return their live snapshots."""
    names = [f"r{n:03d}" for n in range(robots)]
    with live_host(directory) as live:
        for name in names:
            live.add_robot(Taker, name=name)
        for event in market:
            live.publish(event)
        held.release()
        wait_until(
            lambda: {row["events_in"] for row in live.host.robots()} == {len(market)},
            timeout=30,
            what=f"{len(market)} quotes reaching each of {robots} robots",
        )
        return {name: live.snapshot(name) for name in names}


@pytest.mark.slow
def test_the_journal_grows_with_events_plus_robots_times_bursts_not_robots_times_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    market = quotes(1_000)
    sizes, bursts = {}, {}
    for robots in (1, 100):
        directory = tmp_path / f"{robots}-robots"
        held = HeldIntake(monkeypatch)
        try:
            live = run_feed(directory, robots, market, held)
        finally:
            held.release()
        sizes[robots] = journal_bytes(directory)
        records = list(iter_records(directory))
        events = [r for r in records if r.kind == "event"]
        watermarks = [r for r in records if r.kind == "watermark"]
        bursts[robots] = len(watermarks) / robots
        assert len(events) == len(market)
        assert [r.kind for r in records].count("delivery") == 0
        for name, snapshot in live.items():
            replayed = replay(directory, name, robot_class=Taker)
            assert replayed.faithful
            assert replayed.robot.snapshot() == snapshot

    per_robot_before = len(market) * DELIVERY_BYTES  # ~21 kB of D records for each robot
    assert bursts[100] <= 3  # the held burst, the rest in one drain (up to 1,000 a drain)
    assert sizes[100] - sizes[1] < 99 * per_robot_before / 10


def test_robots_on_a_fast_feed_each_replay_alone_to_their_live_state(tmp_path: Path) -> None:
    names = [f"r{n:02d}" for n in range(20)]
    market = quotes(2_000)
    with live_host(tmp_path) as live:
        for name in names:
            live.add_robot(Taker, name=name)
        for event in market:
            live.publish(event)
        wait_until(
            lambda: {row["events_in"] for row in live.host.robots()} == {len(market)},
            timeout=30,
            what="2,000 quotes reaching each of 20 robots",
        )
        snapshots = {name: live.snapshot(name) for name in names}

    watermarks = [r for r in iter_records(tmp_path) if r.kind == "watermark"]
    assert len(watermarks) < len(names) * len(market)
    for name in names:
        replayed = replay(tmp_path, name, robot_class=Taker)
        assert replayed.faithful
        assert replayed.robot.snapshot() == snapshots[name]


def test_an_event_taken_before_a_robot_is_removed_is_journaled_before_it_comes_back(
    tmp_path: Path, held_intake: HeldIntake
) -> None:
    with live_host(tmp_path) as live:
        live.add_robot(Taker, name="alpha")
        held_intake.release()
        live.publish(quote("Si", 100, 101, ts=TS))
        wait_until(lambda: live.host.robots()[0]["events_in"] == 1, what="the first quote")
        held_intake.released.clear()
        held_intake.entered.clear()
        live.publish(quote("Si", 101, 102, ts=TS + MS))
        assert held_intake.entered.wait(5)  # the intake took it, for the alpha that runs now
        back = threading.Event()

        def remove_and_add_again() -> None:
            live.host.remove_robot("alpha")
            live.host.add_robot(Taker, name="alpha")
            back.set()

        mover = threading.Thread(target=remove_and_add_again)
        mover.start()
        try:
            removed_early = back.wait(0.3)
        finally:
            held_intake.release()
            mover.join(timeout=10)
        live.feed.wait_for("Si")
        live.publish(quote("Si", 102, 103, ts=TS + 2 * MS))
        wait_until(lambda: live.host.robots()[0]["events_in"] == 1, what="the third quote")
        snapshot = live.snapshot("alpha")

    replayed = replay(tmp_path, "alpha", robot_class=Taker)
    assert snapshot["state"] == {"bids": 303, "quotes": 3}  # the second from its first run
    assert replayed.robot.snapshot() == snapshot
    assert not removed_early  # the unroute waited for the intake's burst


def test_a_fanned_event_left_in_a_mailbox_is_not_replayed(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.record_robot("alpha", {"class": "x"})
        group = Group("Si", ("alpha",))
        market = quotes(3)
        first = journal.record_fanned([(encode(event), group) for event in market])
        journal.record_watermark("alpha", first + 1)  # the host crashed before the third

    assert [e.payload for e in read_robot(tmp_path, "alpha").entries] == [
        encode(market[0]),
        encode(market[1]),
    ]


# --- one robot actor, fed a fanned burst directly ------------------------------------------


@pytest.mark.parametrize(
    ("robot_class", "count", "step_ns"),
    [
        (Heartbeat, 2_500, 1 * MS),  # long quiet runs, cut at each beat
        (Heartbeat, 30, 200 * MS),  # a beat every few events
        (StartsMidBurst, 100, 400_000),  # a timer set inside the burst fires inside it
    ],
)
def test_a_fanned_burst_with_timers_replays_exactly_from_its_watermarks(
    tmp_path: Path, robot_class: type[Robot], count: int, step_ns: int
) -> None:
    market = quotes(count, step_ns)
    expected = harness_run(robot_class, market, "burst")

    with Journal(tmp_path) as journal:
        snapshot = run_burst(robot_class, market, journal, fanned=True)
    history = read_robot(tmp_path, "burst")
    replayed = replay_into(robot_class("burst"), history)
    records = list(iter_records(tmp_path))

    kinds = [r.kind for r in records]
    timers = sum(isinstance(e, Timer) for e in expected.events)
    assert timers
    assert kinds.count("delivery") == timers  # a timer goes to one robot: E + D
    assert kinds.count("watermark") <= len(market)  # a run ends at most 1 ms on, for timers
    assert list(replayed.events) == expected.events
    assert [decode(e.payload) for e in history.entries if e.kind == "command"] == (
        expected.commands
    )
    assert replayed.faithful
    assert snapshot == replayed.robot.snapshot() == expected.snapshot()
    assert all(isinstance(c, NewOrder) for c in expected.commands)


def test_a_fanned_burst_reaches_a_robot_that_runs_without_a_journal() -> None:
    market = quotes(30, 200 * MS)

    snapshot = run_burst(Heartbeat, market, None, fanned=True)

    assert snapshot == harness_run(Heartbeat, market, "burst").snapshot()


def test_a_long_burst_reaches_a_robot_in_messages_of_at_most_a_thousand_events(
    tmp_path: Path, held_intake: HeldIntake
) -> None:
    market = quotes(2_500)
    live = run_feed(tmp_path, 1, market, held_intake)

    records = list(iter_records(tmp_path))
    watermarks = seqs_of(records, "watermark")
    events = seqs_of(records, "event")
    assert watermarks[-1] == events[-1]
    # the held drain, then the 2,499-odd queued quotes in drains of at most 1,000: each
    # drain is one mailbox message and one watermark for the robot; a new robot's first
    # run is cut at 8 events until it has shown it is quick (robot_actor._SLOW_RUN): +1
    assert 3 <= len(watermarks) <= 5
    steps = [b - a for a, b in zip([events[0] - 1, *watermarks], watermarks, strict=False)]
    assert max(steps) == 1_000
    assert live["r000"]["state"]["quotes"] == 2_500
    assert replay(tmp_path, "r000", robot_class=Taker).robot.snapshot() == live["r000"]


class Seen(Robot):
    """Notes the symbol and bid of each quote, in the order handled."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seen: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.seen.append(f"{quote.symbol}:{quote.bid}")
        return None


def test_a_burst_over_several_symbols_reaches_each_robot_in_order_and_replays(
    tmp_path: Path, held_intake: HeldIntake
) -> None:
    symbols = {"si": ["Si"], "eu": ["Eu"], "both": ["Si", "Eu"], "all": ["Eu", "Si", "Ri"]}
    market = [quote(("Si", "Eu", "Ri")[n % 3], 100 + n, 101 + n, ts=TS + n) for n in range(30)]
    with live_host(tmp_path) as live:
        for name, theirs in symbols.items():
            live.add_robot(Seen, name=name, symbols=theirs)
        for event in market:
            live.publish(event)  # queued behind the held journal write: one burst
        held_intake.release()
        wait_until(
            lambda: all(
                row["events_in"] == sum(q.symbol in symbols[row["name"]] for q in market)
                for row in live.host.robots()
            ),
            what="every robot's quotes",
        )
        snapshots = {name: live.snapshot(name) for name in symbols}

    for name, theirs in symbols.items():
        wanted = [f"{q.symbol}:{q.bid}" for q in market if q.symbol in theirs]
        assert snapshots[name]["state"]["seen"] == wanted
        replayed = replay(tmp_path, name, robot_class=Seen)
        assert replayed.faithful
        assert replayed.robot.snapshot() == snapshots[name]
