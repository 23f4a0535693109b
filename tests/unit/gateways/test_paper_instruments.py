"""The paper exchange lists every instrument of its table: the built-in futures, and those
a config adds; each on its own tick grid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gateways.paper import PaperConfig, PaperExchange
from yard_actors.testing import quote, tick
from yard_actors.wire.events import Fill, NewOrder, OrderAccepted, OrderRejected, Side
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

T0 = 1_000_000_000
NG = Instrument(symbol="NG", tick_size=Decimal("0.001"), point_value_usd=Decimal(100))


def _order(symbol: str, price: str, side: Side = Side.BUY, cid: str = "c1") -> NewOrder:
    return NewOrder(
        ts=T0,
        client_order_id=cid,
        robot="r1",
        symbol=symbol,
        side=side,
        qty=1,
        price=Decimal(price),
    )


def _paper(table: InstrumentTable | None = None) -> PaperExchange:
    return PaperExchange(PaperConfig(require_session=False, fee_per_lot=Decimal(0)), table)


@pytest.mark.parametrize(
    ("symbol", "bid", "ask"),
    [
        ("BR", "65.40", "65.41"),
        ("GOLD", "2650.1", "2650.2"),
        ("ED", "1.0851", "1.0852"),
        ("MIX", "275000", "275025"),
        ("Eu", "98000", "98001"),
        ("SBRF", "30000", "30001"),
        ("GAZR", "13000", "13001"),
    ],
)
def test_a_built_in_future_trades_on_its_tick_grid(symbol: str, bid: str, ask: str) -> None:
    paper = _paper()
    paper.on_market(quote(symbol, bid, ask, ts=T0))

    reports = paper.submit(_order(symbol, ask))

    assert [type(r) for r in reports] == [OrderAccepted, Fill]
    assert isinstance(reports[1], Fill)
    assert reports[1].price == Decimal(ask)


def test_a_br_order_off_its_cent_grid_is_rejected_with_the_grid() -> None:
    [report] = _paper().submit(_order("BR", "65.405"))

    assert isinstance(report, OrderRejected)
    assert report.reason == "price 65.405 is off the BR tick grid of 0.01"


def test_an_instrument_a_config_adds_is_listed_and_rests_until_a_print_reaches_it() -> None:
    paper = _paper(InstrumentTable([*DEFAULT_INSTRUMENTS.values(), NG]))

    accepted = paper.submit(_order("NG", "3.125"))
    reached = paper.on_market(tick("NG", "3.124", 2, ts=T0 + 1))

    assert [type(r) for r in accepted] == [OrderAccepted]
    assert [(type(r), getattr(r, "price", None)) for r in reached] == [(Fill, Decimal("3.125"))]


def test_a_symbol_not_in_the_table_is_not_listed() -> None:
    [report] = _paper().submit(_order("NG", "3.125"))

    assert isinstance(report, OrderRejected)
    assert report.reason == "symbol NG is not listed on this exchange"
