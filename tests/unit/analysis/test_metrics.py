"""The figures of a robot, from a hand-made sequence of events and commands."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.analysis.hand_trades import T0, S, fill, order
from yard_actors.analysis.metrics import MetricsLedger, RobotMetrics
from yard_actors.testing import quote
from yard_actors.wire.events import (
    Command,
    Event,
    SessionState,
    SessionStatus,
    Side,
)
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

Step = tuple[Event, tuple[Command, ...]]


def _round_trip() -> list[tuple[Event, tuple[Command, ...]]]:
    """Buy 1 at 100, a rise, a dip, sell 1 at 110, fee 0.5 per lot; then a last quote."""
    buy = order(Side.BUY, "100", T0, 1)
    sell = order(Side.SELL, "110", T0 + 30 * S, 2)
    return [
        (quote("Si", 99, 100, ts=T0), (buy,)),
        (fill(buy, 1), ()),
        (quote("Si", 105, 106, ts=T0 + 10 * S), ()),
        (quote("Si", 101, 102, ts=T0 + 20 * S), ()),
        (quote("Si", 110, 111, ts=T0 + 30 * S), (sell,)),
        (fill(sell, 2), ()),
        (quote("Si", 108, 109, ts=T0 + 40 * S), ()),
    ]


def _metrics(steps: list[tuple[Event, tuple[Command, ...]]]) -> RobotMetrics:
    ledger = MetricsLedger()
    for event, commands in steps:
        ledger.update(event, commands)
    return ledger.metrics()


def test_a_round_trip_realises_the_price_difference_and_pays_its_fees() -> None:
    metrics = _metrics(_round_trip())

    assert metrics.realized == Decimal(10)
    assert metrics.fees == Decimal(1)
    assert metrics.unrealized == 0
    assert metrics.net == Decimal(9)
    assert metrics.turnover == Decimal(210)
    assert metrics.positions == {"Si": 0}


def test_orders_fills_and_fill_ratio_count_lots() -> None:
    metrics = _metrics(_round_trip())

    assert (metrics.orders, metrics.fills, metrics.ordered_qty, metrics.filled_qty) == (2, 2, 2, 2)
    assert metrics.fill_ratio == Decimal(1)
    assert metrics.cancels == 0


def test_slippage_is_against_the_mid_when_the_order_was_sent_a_cost_positive() -> None:
    # bought at 100 with the mid at 99.5, sold at 110 with the mid at 110.5: 0.5 a lot each
    assert _metrics(_round_trip()).avg_slippage == Decimal("0.5")


def test_max_drawdown_is_the_largest_fall_of_marked_equity_from_its_peak() -> None:
    # equity: 0, -1 (fee and the spread), 5 (mid 105.5), 1 (mid 101.5), 10, 9, 9
    assert _metrics(_round_trip()).max_drawdown == Decimal(4)


def test_time_in_market_is_the_share_of_market_time_holding_a_position() -> None:
    # long from the first second to the thirtieth of forty
    assert _metrics(_round_trip()).time_in_market == Decimal("0.75")


def test_an_open_position_is_marked_at_the_last_mid() -> None:
    metrics = _metrics(_round_trip()[:3])  # long 1 from 100, the mid now 105.5

    assert metrics.unrealized == Decimal("5.5")
    assert metrics.net == Decimal("5.5") - Decimal("0.5")


def test_market_time_leaves_out_a_session_that_is_not_open() -> None:
    buy = order(Side.BUY, "100", T0, 1)
    clearing = SessionStatus(ts=T0 + 10 * S, session="FORTS", state=SessionState.CLEARING)
    reopened = SessionStatus(ts=T0 + 30 * S, session="FORTS", state=SessionState.OPEN)
    steps: list[tuple[Event, tuple[Command, ...]]] = [
        (quote("Si", 99, 100, ts=T0), (buy,)),
        (fill(buy, 1), ()),
        (clearing, ()),
        (reopened, ()),
        (quote("Si", 99, 100, ts=T0 + 40 * S), ()),
    ]

    # market time 20 s (0-10, 30-40); in the market all of it
    assert _metrics(steps).time_in_market == Decimal(1)


def test_a_robot_that_never_traded_has_no_ratios() -> None:
    metrics = _metrics([(quote("Si", 99, 100, ts=T0), ())])

    assert metrics.fill_ratio is None
    assert metrics.avg_slippage is None
    assert metrics.time_in_market is None
    assert metrics.net == 0
    assert metrics.to_json()["net"] == "0"


_WITH_NG = InstrumentTable(
    [
        *DEFAULT_INSTRUMENTS.values(),
        Instrument(symbol="NG", tick_size=Decimal("0.001"), schedule="10:00-14:00"),
    ]
)


def _long_si_until(second: int, *statuses: tuple[int, str, SessionState]) -> list[Step]:
    """Long 1 Si from 0 s to ``second``, a quote at 40 s; ``(second, session, state)`` between."""
    buy = order(Side.BUY, "100", T0, 1)
    sell = order(Side.SELL, "100", T0 + second * S, 2)
    steps: list[Step] = [
        (quote("Si", 99, 100, ts=T0), (buy,)),
        (fill(buy, 1), ()),
        (quote("Si", 99, 100, ts=T0 + second * S), (sell,)),
        (fill(sell, 2), ()),
        *(
            (SessionStatus(ts=T0 + at * S, session=name, state=state), ())
            for at, name, state in statuses
        ),
        (quote("Si", 99, 100, ts=T0 + 40 * S), ()),
    ]
    return sorted(steps, key=lambda step: step[0].ts)


def _time_in_market(steps: list[Step], symbols: tuple[str, ...]) -> Decimal | None:
    ledger = MetricsLedger(_WITH_NG, symbols)
    for event, commands in steps:
        ledger.update(event, commands)
    return ledger.metrics().time_in_market


def test_a_robot_trading_si_stays_in_market_while_an_ng_only_session_is_closed() -> None:
    # NG's own session is closed 10-20 s; Si trades in the FORTS day, open throughout
    steps = _long_si_until(30, (10, "NG", SessionState.CLOSED), (20, "NG", SessionState.OPEN))

    # long 30 s of 40 s of market time (not 20 s of 30 s: NG's session is not Si's)
    assert _time_in_market(steps, ("Si",)) == Decimal("0.75")


def test_a_robot_is_out_of_market_only_while_every_session_of_its_symbols_is_closed() -> None:
    steps = _long_si_until(
        25,
        (5, "NG", SessionState.CLOSED),  # NG closed from 5 s on, the FORTS day open
        (10, "MOEX", SessionState.CLEARING),  # the FORTS day, as a feed may name it: both closed
        (20, "FORTS", SessionState.OPEN),
    )

    # market time 0-10 s and 20-40 s; long 0-10 s and 20-25 s
    assert _time_in_market(steps, ("Si", "NG")) == Decimal("0.5")
