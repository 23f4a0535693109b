"""A robot for the lost-cancel tests; importable by path, for ``yard replay``."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import CancelReply, OrderAccepted, OrderRejected, Quote, Robot
from yard_actors.robot.book import OrderState
from yard_actors.robot.robot import HandlerResult


class RestThenCancel(Robot):
    """Rests one bid far below its first quote; cancels it on the first quote after it works.

    A refused cancel is tried again on the next quote; once the order is gone it does
    nothing more, so every command a test sees is one it expects.
    """

    symbols = ("Si",)

    def on_start(self) -> None:
        self.rested = False
        self.replies: list[str] = []

    def on_quote(self, quote: Quote) -> HandlerResult:
        if not self.rested:
            self.rested = True
            return self.buy(quote.symbol, 1, quote.bid - Decimal(1000))
        return [
            self.cancel(order)
            for order in self.open_orders()
            if order.state is OrderState.ACCEPTED and not order.cancel_requested
        ]

    def on_order_update(self, reply: OrderAccepted | OrderRejected | CancelReply) -> HandlerResult:
        if isinstance(reply, CancelReply):
            self.replies.append(f"{reply.client_order_id} cancelled={reply.cancelled}")
        return None
