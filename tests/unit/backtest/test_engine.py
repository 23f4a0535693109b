"""The backtest's loop: market time in one thread, a journal a replay reads as a live run's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.paper import PaperConfig
from gateways.readers import FeedError
from yard_actors.backtest import BacktestSession
from yard_actors.host.host_config import RobotSettings
from yard_actors.journal import iter_records
from yard_actors.journal.replay import replay
from yard_actors.journal.replay_steps import replay_steps
from yard_actors.robot.risk import RiskLimits
from yard_actors.testing import quote
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Quote, SessionState, SessionStatus

MS = 1_000_000
TS = 1_764_226_800_000_000_000
LIMITS = RiskLimits(max_order_qty=5, max_position=100, max_orders_per_second=100)


def robot(cls: str, name: str = "r") -> RobotSettings:
    return RobotSettings(
        class_path=f"tests.unit.backtest.robots:{cls}",
        name=name,
        symbols=None,
        params={},
        limits=LIMITS,
    )


def quotes(count: int, *, step_ns: int = MS, bid: int = 90000) -> list[Quote]:
    return [
        quote("Si", bid + n % 3, bid + 1 + n % 3, ts=TS + n * step_ns, bid_size=5, ask_size=5)
        for n in range(count)
    ]


def session_open() -> SessionStatus:
    return SessionStatus(ts=TS - 1, session="main", state=SessionState.OPEN)


def run(tmp_path: Path, robots: list[RobotSettings], events: list[Any], **paper: Any) -> Any:
    with BacktestSession(tmp_path, robots, paper=PaperConfig(**paper)) as session:
        counts = session.run(events)
        return counts, session.snapshots(), session.orders(), session.fills()


def test_a_robot_sees_the_quote_before_the_fill_its_order_met(tmp_path: Path) -> None:
    _, snapshots, orders, fills = run(tmp_path, [robot("BuysOnce")], [session_open(), *quotes(3)])

    assert snapshots[0]["state"]["seen"][:3] == [f"quote {TS}", f"fill {TS}", f"quote {TS + MS}"]
    assert [o.client_order_id for o in orders["r"]] == ["r-1"]
    assert [(f.price, f.qty) for f in fills["r"]] == [(90001, 1)]


def test_a_fill_the_market_causes_reaches_the_robot_after_that_quote(tmp_path: Path) -> None:
    events = [
        session_open(),
        quote("Si", 90000, 90001, ts=TS),
        quote("Si", 89998, 89999, ts=TS + MS),
    ]

    _, snapshots, _, fills = run(tmp_path, [robot("RestsBelow")], events)

    assert snapshots[0]["state"]["seen"] == [f"quote {TS}", f"quote {TS + MS}", f"fill {TS + MS}"]
    assert [(f.price, f.ts) for f in fills["r"]] == [(89999, TS + MS)]


def test_latency_is_applied_on_the_datas_clock(tmp_path: Path) -> None:
    events = [session_open(), *quotes(10)]

    _, _, _, fills = run(tmp_path, [robot("BuysOnce")], events, latency_ns=3 * MS)

    assert [f.ts for f in fills["r"]] == [TS + 3 * MS]  # at the first quote 3 ms after the order


def test_an_order_still_in_flight_when_the_data_ends_stays_pending_as_in_yard_run(
    tmp_path: Path,
) -> None:
    events = [session_open(), quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5)]

    _, _, orders, fills = run(tmp_path, [robot("BuysOnce")], events, latency_ns=3 * MS)

    assert [o.state.value for o in orders["r"]] == ["pending"]  # no data reached its due time
    assert fills["r"] == []


def test_a_backtest_journal_replays_identically_with_timers_between_quotes(tmp_path: Path) -> None:
    events = [session_open(), *quotes(200, step_ns=3 * MS)]

    _, snapshots, orders, _ = run(tmp_path, [robot("Beats")], events)
    result = replay(tmp_path / "journal", "r")

    assert len(snapshots[0]["state"]["beats"]) > 50
    assert result.faithful
    assert len(result.commands) == len(orders["r"])
    assert result.robot.snapshot()["state"] == snapshots[0]["state"]


def test_the_journal_holds_the_robots_spec_as_a_host_writes_it(tmp_path: Path) -> None:
    run(tmp_path, [robot("Idle")], [session_open(), *quotes(5)])

    specs = [r for r in iter_records(tmp_path / "journal") if r.kind == "robot"]

    assert len(specs) == 1
    assert specs[0].robot == "r"


def test_two_robots_share_one_fanned_event_and_each_replays(tmp_path: Path) -> None:
    robots = [robot("Beats", "a"), robot("BuysOnce", "b")]
    events = [session_open(), *quotes(100, step_ns=3 * MS)]

    counts, _, orders, _ = run(tmp_path, robots, events)

    assert counts.events == counts.routed == 101
    assert orders["a"]
    assert orders["b"]
    assert replay(tmp_path / "journal", "a").faithful
    assert replay(tmp_path / "journal", "b").faithful


def test_each_replayed_step_produces_the_commands_journaled_after_its_event(
    tmp_path: Path,
) -> None:
    robots = [robot("Beats", "a"), robot("RestsBelow", "b")]
    run(tmp_path, robots, [session_open(), *quotes(300, step_ns=3 * MS)])

    for name in ("a", "b"):
        steps = list(replay_steps(tmp_path / "journal", name))
        assert any(step.commands for step in steps)
        for step in steps:
            assert tuple(encode(c) for c in step.commands) == step.journaled, (name, step.seq)


def test_a_readers_error_comes_after_the_events_read_before_it_were_handled(
    tmp_path: Path,
) -> None:
    def market() -> Iterator[Any]:
        yield session_open()
        yield from quotes(5)
        msg = "data.csv line 7: its bid 90002 is not below its ask 90001"
        raise FeedError(msg)

    with BacktestSession(tmp_path, [robot("BuysOnce")], paper=PaperConfig()) as session:
        with pytest.raises(FeedError, match="line 7"):
            session.run(market())
        snapshot = session.snapshots()[0]

    assert snapshot["events"] == 1 + 5 + 2  # the status, the quotes, the order's two reports
