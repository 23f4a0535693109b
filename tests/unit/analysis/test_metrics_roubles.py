"""The analyzer's money in roubles by the rule of ``yard run``'s summary: points times each
instrument's point value and lot, fees in roubles; all in points, marked so, when a traded
symbol has no rouble value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.unit.analysis.hand_trades import T0, S, fill, order
from yard_actors.analysis.metrics import POINTS, ROUBLES, MetricsLedger, RobotMetrics
from yard_actors.analysis.report_html import ReportedRobot, write_report
from yard_actors.testing import quote
from yard_actors.wire.events import Command, Event, Side
from yard_actors.wire.instruments import InstrumentTable

BR_ROUBLES = Decimal(900)  # 10 dollars a point at 90 roubles a dollar


def _brent_round_trip(instruments: InstrumentTable) -> RobotMetrics:
    """Buy 1 BR at 65.40, a dip of the mid to 65.35, sell 1 at 65.50; fee 0.5 a lot."""
    buy = order(Side.BUY, "65.40", T0, 1, symbol="BR")
    sell = order(Side.SELL, "65.50", T0 + 30 * S, 2, symbol="BR")
    steps: list[tuple[Event, tuple[Command, ...]]] = [
        (quote("BR", "65.39", "65.41", ts=T0), (buy,)),
        (fill(buy, 1), ()),
        (quote("BR", "65.34", "65.36", ts=T0 + 10 * S), ()),
        (quote("BR", "65.50", "65.52", ts=T0 + 30 * S), (sell,)),
        (fill(sell, 2), ()),
    ]
    ledger = MetricsLedger(instruments)
    for event, commands in steps:
        ledger.update(event, commands)
    return ledger.metrics()


def test_money_is_in_roubles_at_the_point_value_of_the_run() -> None:
    metrics = _brent_round_trip(InstrumentTable().at_usd_rate(Decimal(90)))

    assert metrics.money == ROUBLES
    assert metrics.unpriced == ()
    assert metrics.realized == Decimal("0.10") * BR_ROUBLES
    assert metrics.fees == Decimal(1)  # roubles already
    assert metrics.net == Decimal(90) - Decimal(1)
    assert metrics.turnover == (Decimal("65.40") + Decimal("65.50")) * BR_ROUBLES
    # equity: 0 at the first quote, -0.5 - 0.01 * 900 after the buy, -0.05 * 900 - 0.5 at the dip
    assert metrics.max_drawdown == Decimal("45.5")
    assert metrics.avg_slippage == Decimal("0.005")  # a price difference: points, always


def test_a_symbol_with_no_rouble_value_leaves_the_money_in_points() -> None:
    metrics = _brent_round_trip(InstrumentTable())  # no dollar rate

    assert metrics.money == POINTS
    assert metrics.unpriced == ("BR",)
    assert metrics.realized == Decimal("0.10")
    assert metrics.net == Decimal("0.10") - Decimal(1)
    assert metrics.to_json()["unpriced"] == ["BR"]


def test_the_report_marks_figures_in_points_and_says_why(tmp_path: Path) -> None:
    priced = _brent_round_trip(InstrumentTable().at_usd_rate(Decimal(90)))
    in_points = _brent_round_trip(InstrumentTable())
    robots = [
        ReportedRobot(
            robot=name,
            class_path="x:Y",
            metrics=metrics,
            divergence=None,
            store_check=None,
            store_agrees=None,
            plots=(),
        )
        for name, metrics in (("rub", priced), ("pts", in_points))
    ]

    page = write_report(tmp_path, robots, title="t").read_text(encoding="utf-8")

    assert "<td>89.00</td>" in page  # roubles, unmarked, as in yard run's summary
    assert "<td>-0.90 pts</td>" in page
    assert "Money in roubles" in page
    assert "Marked pts: the money of pts is in price points" in page
    assert "BR has no rouble point value" in page
