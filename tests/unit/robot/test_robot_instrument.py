"""``self.instrument(symbol)``: a robot reads its instruments' ticks from the host's table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from robots.market_maker import MarketMaker
from yard_actors import Quote, Robot
from yard_actors.errors import RobotError
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness
from yard_actors.wire.events import NewOrder, Side
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable


class TickReader(Robot):
    symbols = ("BR",)

    def on_start(self) -> None:
        self.ticks: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.ticks.append(str(self.instrument(quote.symbol).tick))
        return None


def test_a_robot_reads_the_tick_of_a_built_in_instrument() -> None:
    harness = RobotHarness(TickReader)

    harness.quote("BR", "65.40", "65.41")

    assert harness.robot.instrument("BR") == DEFAULT_INSTRUMENTS["BR"]
    assert harness.robot.ticks == ["0.01"]


def test_a_robot_reads_an_instrument_its_host_was_given() -> None:
    ng = Instrument(symbol="NG", tick_size=Decimal("0.001"), point_value_usd=Decimal(100))
    harness = RobotHarness(TickReader, symbols=["NG"], instruments=InstrumentTable([ng]))

    assert harness.robot.instrument("NG").tick == Decimal("0.001")


def test_an_unknown_instrument_raises_naming_the_symbol_and_the_known_ones() -> None:
    robot = RobotHarness(TickReader, name="reader").robot

    with pytest.raises(
        RobotError,
        match=r"robot reader: no instrument 'NG' in the instrument table \(it lists Si, RTS, "
        r"MIX, BR, GOLD, Eu, ED, SBRF, GAZR\); add it under \[instruments\]",
    ):
        robot.instrument("NG")


def test_the_market_maker_quotes_in_its_instruments_tick_unless_told_otherwise() -> None:
    own = RobotHarness(MarketMaker, symbols=["BR"], params={"half_spread_ticks": 2})
    told = RobotHarness(
        MarketMaker, symbols=["BR"], params={"half_spread_ticks": 2, "tick_size": "0.05"}
    )

    quoted = own.quote("BR", "65.40", "65.42")
    overridden = told.quote("BR", "65.40", "65.42")

    assert [(o.side, o.price) for o in quoted if isinstance(o, NewOrder)] == [
        (Side.BUY, Decimal("65.39")),
        (Side.SELL, Decimal("65.43")),
    ]
    assert [(o.side, o.price) for o in overridden if isinstance(o, NewOrder)] == [
        (Side.BUY, Decimal("65.30")),
        (Side.SELL, Decimal("65.50")),
    ]
