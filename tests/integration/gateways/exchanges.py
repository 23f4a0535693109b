"""An exchange adapter for tests: the paper exchange, with faults on demand.

A real adapter (``yard gateway --exchange tests.integration.gateways.exchanges:Brittle``),
not a mock: it trades as the paper exchange does, except that

* an order for the symbol ``BOOM`` makes ``submit`` raise (an adapter bug on one order);
* after an order for the symbol ``CRASH``, ``poll`` raises (its link's thread died).
"""

from __future__ import annotations

from typing import Final

from gateways.paper import PaperConfig, PaperExchange
from gateways.store.base import Report
from yard_actors.wire.events import NewOrder

__all__ = ["BOOM", "CRASH", "Brittle"]

BOOM: Final = "BOOM"
CRASH: Final = "CRASH"


class Brittle(PaperExchange):
    """The paper exchange (no session needed) that fails on ``BOOM`` and after ``CRASH``."""

    def __init__(self) -> None:
        super().__init__(PaperConfig(require_session=False))
        self._crashed = False

    def submit(self, order: NewOrder) -> list[Report]:
        if order.symbol == BOOM:
            msg = f"the adapter cannot price order {order.client_order_id}"
            raise RuntimeError(msg)
        if order.symbol == CRASH:
            self._crashed = True
            return []
        return super().submit(order)

    def poll(self, now_ns: int) -> list[Report]:
        if self._crashed:
            msg = "the exchange link's thread died"
            raise RuntimeError(msg)
        return super().poll(now_ns)
