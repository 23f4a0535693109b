"""Conflation at the data intake: which quotes a robot far behind gets, and which robots."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pykka
import pytest

from yard_actors import Robot, encode
from yard_actors.host.backlog import Backlog, MailboxLimits
from yard_actors.host.conflation import Admitted, Conflation
from yard_actors.host.robot_actor import RobotActor, backlog_of
from yard_actors.host.routing import RoutingTable
from yard_actors.testing import bar, quote
from yard_actors.wire.events import (
    Control,
    ControlAction,
    SessionState,
    SessionStatus,
    Side,
    Tick,
)

TS = 1_700_000_000_000_000_000
LIMITS = MailboxLimits(conflate_at=10, overrun_at=20)


class Quiet(Robot):
    symbols = ("Si", "RTS")


@pytest.fixture
def robots() -> Iterator[list[pykka.ActorRef[Any]]]:
    refs = [
        RobotActor.start(Quiet(name), journal=None, order_link=None) for name in ("slow", "fast")
    ]
    yield refs
    for ref in refs:
        ref.stop(timeout=5)


@pytest.fixture
def routes(robots: list[pykka.ActorRef[Any]]) -> RoutingTable:
    table = RoutingTable()
    for robot in robots:
        for topic in ("Si", "RTS", "$session"):
            table.add(topic, robot)
    return table


def _conflation(robots: list[pykka.ActorRef[Any]]) -> Conflation:
    conflation = Conflation(LIMITS, "test intake")
    for robot in robots:
        conflation.follow(robot, _backlog(robot))
    return conflation


def _backlog(robot: pykka.ActorRef[Any]) -> Backlog:
    backlog = backlog_of(robot)
    assert backlog is not None
    return backlog


def _behind(conflation: Conflation, robot: pykka.ActorRef[Any], waiting: int) -> None:
    """As the intake's tell does: the robot has ``waiting`` events it has not taken."""
    backlog = _backlog(robot)
    backlog.told = backlog.taken + waiting
    if waiting >= LIMITS.conflate_at:
        conflation.behind[robot] = backlog


def _admitted(routes: RoutingTable, *events: Any) -> list[Admitted]:
    items = []
    for event in events:
        topic = "$session" if isinstance(event, SessionStatus) else event.symbol
        fanout = routes.fanout(topic.encode())
        assert fanout is not None
        items.append((encode(event), event, fanout))
    return items


def _to(sifted: list[Admitted], robot: pykka.ActorRef[Any]) -> list[Any]:
    return [event for _, event, fanout in sifted if robot in fanout.robots]


def _tick(symbol: str, ts: int) -> Tick:
    return Tick(ts=ts, symbol=symbol, price=Decimal(100), qty=1, aggressor=Side.BUY)


def test_nobody_behind_leaves_the_burst_as_it_was(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    conflation = _conflation(robots)
    burst = _admitted(routes, quote("Si", 1, 2, ts=TS), quote("Si", 2, 3, ts=TS + 1))

    assert conflation.sift(burst, routes) is burst
    assert not conflation.holding


def test_a_robot_behind_gets_none_of_the_quotes_and_holds_the_latest_per_symbol(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, fast = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 10)
    quotes = [quote("Si", n, n + 1, ts=TS + n) for n in range(3)] + [quote("RTS", 7, 8, ts=TS + 3)]

    sifted = conflation.sift(_admitted(routes, *quotes), routes)

    assert _to(sifted, fast) == quotes
    assert _to(sifted, slow) == []
    assert _backlog(slow).conflated == 2  # Si at 0 and 1, replaced by Si at 2
    assert conflation.holding


def test_held_quotes_go_out_first_once_the_robot_has_caught_up_journaled_for_it_alone(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, fast = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 10)
    conflation.sift(
        _admitted(routes, quote("Si", 1, 2, ts=TS), quote("RTS", 5, 6, ts=TS + 1)), routes
    )
    conflation.sift(_admitted(routes, quote("Si", 3, 4, ts=TS + 2)), routes)
    _backlog(slow).taken = _backlog(slow).told  # it handled all it had

    later = quote("Si", 9, 10, ts=TS + 3)
    sifted = conflation.sift(_admitted(routes, later), routes)

    # held in arrival order of their latest: RTS (TS+1) before Si (TS+2), then the burst
    assert _to(sifted, slow) == [quote("RTS", 5, 6, ts=TS + 1), quote("Si", 3, 4, ts=TS + 2), later]
    assert [fanout.group.robots for _, _, fanout in sifted[:2]] == [("slow",), ("slow",)]
    assert _to(sifted, fast) == [later]
    assert not conflation.holding


def test_ticks_and_statuses_still_reach_a_robot_behind(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, _ = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 15)
    tick = _tick("Si", TS)
    status = SessionStatus(ts=TS + 1, session="FORTS", state=SessionState.OPEN)

    sifted = conflation.sift(_admitted(routes, tick, status), routes)

    assert _to(sifted, slow) == [tick, status]


def test_an_overrun_robot_is_halted_where_the_first_tick_is_withheld_then_gets_no_ticks(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, fast = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 20)
    ticks = [_tick("Si", TS), _tick("Si", TS + 1)]

    sifted = conflation.sift(_admitted(routes, *ticks), routes)

    halt = Control(ts=TS, robot="slow", action=ControlAction.HALT)
    assert _to(sifted, slow) == [halt]
    assert _to(sifted, fast) == ticks
    assert _backlog(slow).withheld == 2
    assert _backlog(slow).overruns == 1

    _backlog(slow).taken = _backlog(slow).told  # caught up: ticks flow again, no second halt
    again = _tick("Si", TS + 2)
    assert _to(conflation.sift(_admitted(routes, again), routes), slow) == [again]
    assert _backlog(slow).overruns == 1


def test_bars_are_never_conflated_for_a_robot_behind(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, fast = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 10)
    bars = [bar("Si", 100, 102, 99, 101, ts=TS + n) for n in range(3)]

    sifted = conflation.sift(_admitted(routes, *bars), routes)

    assert _to(sifted, slow) == bars
    assert _to(sifted, fast) == bars
    assert _backlog(slow).conflated == 0


def test_an_overrun_robot_has_its_bars_withheld_after_a_halt_like_its_ticks(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, fast = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 20)
    bars = [bar("Si", 100, 102, 99, 101, ts=TS), bar("Si", 101, 103, 100, 102, ts=TS + 1)]

    sifted = conflation.sift(_admitted(routes, *bars), routes)

    assert _to(sifted, slow) == [Control(ts=TS, robot="slow", action=ControlAction.HALT)]
    assert _to(sifted, fast) == bars
    assert _backlog(slow).withheld == 2


def test_settle_hands_on_every_held_quote_and_stop_counts_what_is_left(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, _ = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 10)
    held = quote("Si", 1, 2, ts=TS)
    conflation.sift(_admitted(routes, held), routes)

    assert _to(conflation.settle(routes), slow) == [held]

    _behind(conflation, slow, 10)
    conflation.sift(_admitted(routes, quote("Si", 3, 4, ts=TS + 1)), routes)
    assert conflation.drop_held() == 1
    assert _backlog(slow).conflated == 1
    assert not conflation.holding


def test_a_quote_held_for_a_robot_unrouted_meanwhile_is_not_released(
    robots: list[pykka.ActorRef[Any]], routes: RoutingTable
) -> None:
    slow, _ = robots
    conflation = _conflation(robots)
    _behind(conflation, slow, 10)
    conflation.sift(_admitted(routes, quote("Si", 1, 2, ts=TS)), routes)
    routes.remove("Si", slow)
    conflation.forget(slow)  # still behind: it is dropped from the robots behind all the same

    assert conflation.sift([], routes) == []
    assert not conflation.holding
    assert slow not in conflation.behind


def test_mailbox_limits_refuse_values_that_cannot_work() -> None:
    with pytest.raises(ValueError, match="conflate_at must be positive, was 0"):
        MailboxLimits(conflate_at=0)
    with pytest.raises(ValueError, match="overrun_at must be above conflate_at=10, was 10"):
        MailboxLimits(conflate_at=10, overrun_at=10)


def test_the_table_figures_of_a_backlog() -> None:
    backlog = Backlog()
    backlog.told, backlog.taken, backlog.conflated = 12, 5, 3

    assert backlog.figures() == {
        "backlog": 7,
        "conflated": 3,
        "overruns": 0,
        "withheld": 0,
        "shed": 0,
    }
