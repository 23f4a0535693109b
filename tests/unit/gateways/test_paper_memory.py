"""The paper exchange forgets final orders: its memory does not grow with every order taken.

Before, every order stayed in the exchange's dict for ever, working or final: ~0.45 KB an
order (its NewOrder and strings), measured as the gateway's growth under IOC orders. Now
only working orders and the last :data:`~gateways.paper_book.FINAL_ORDERS_KEPT` final ones
(their robot and how they ended) are kept.
"""

from __future__ import annotations

import gc
import tracemalloc
from decimal import Decimal
from typing import Final

import attrs

from gateways.paper import PaperConfig, PaperExchange
from gateways.paper_book import FINAL_ORDERS_KEPT
from yard_actors.testing import quote
from yard_actors.wire.events import (
    CancelOrder,
    CancelReply,
    NewOrder,
    OrderRejected,
    Side,
    TimeInForce,
)

T0: Final = 1_000_000_000
MEASURED: Final = 20_000
# What 20,000 more final orders may add once the memory of final orders is full: the
# exchange's own counters and the allocator's noise. Before: ~9 MB.
GROWTH_BYTES: Final = 200_000


def _ioc(n: int, robot: str = "mm") -> NewOrder:
    return NewOrder(
        ts=T0 + n,
        client_order_id=f"{robot}-{n}",
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(100),
        tif=TimeInForce.IOC,
    )


def _cancel(n: int) -> CancelOrder:
    return CancelOrder(ts=T0 + n, client_order_id=f"mm-{n}", robot="mm")


def test_final_orders_leave_the_exchange_memory_flat() -> None:
    exchange = PaperExchange(PaperConfig(require_session=False))
    tracemalloc.start()
    try:
        for n in range(FINAL_ORDERS_KEPT + 1_000):  # its memory of final orders is full
            exchange.submit(_ioc(n))
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(FINAL_ORDERS_KEPT + 1_000, FINAL_ORDERS_KEPT + 1_000 + MEASURED):
            exchange.submit(_ioc(n))
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert after - before < GROWTH_BYTES, f"grew {(after - before) / MEASURED:.0f} B an order"


def test_a_cancel_of_a_recent_final_order_says_how_it_ended() -> None:
    exchange = PaperExchange(PaperConfig(require_session=False))
    exchange.submit(_ioc(1))

    [reply] = exchange.cancel(_cancel(1))

    assert reply == CancelReply(
        ts=T0 + 1,
        client_order_id="mm-1",
        robot="mm",
        cancelled=False,
        reason="order mm-1 is already cancelled: there is nothing to cancel",
    )


def test_a_final_order_long_forgotten_is_unknown_to_a_cancel() -> None:
    exchange = PaperExchange(PaperConfig(require_session=False))
    for n in range(FINAL_ORDERS_KEPT + 1):
        exchange.submit(_ioc(n))

    [reply] = exchange.cancel(_cancel(0))

    assert reply == CancelReply(
        ts=T0,
        client_order_id="mm-0",
        robot="mm",
        cancelled=False,
        reason="order mm-0 is not known to this exchange",
    )


def test_a_repeated_id_of_a_working_or_remembered_final_order_is_refused() -> None:
    exchange = PaperExchange(PaperConfig(require_session=False))
    exchange.on_market(quote("Si", 90, 110, ts=T0))
    resting = attrs.evolve(_ioc(1), tif=TimeInForce.DAY)  # rests below the ask
    exchange.submit(resting)
    exchange.submit(_ioc(2))

    [again_working] = exchange.submit(resting)
    [again_final] = exchange.submit(_ioc(2))

    assert isinstance(again_working, OrderRejected)
    assert isinstance(again_final, OrderRejected)
    assert "mm-1 is already working" in again_working.reason
    assert "mm-2 was already used" in again_final.reason
