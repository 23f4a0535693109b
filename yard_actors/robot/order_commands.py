"""The command builders a robot's handlers return: ``buy``, ``sell``, ``cancel``.

A base of :class:`~yard_actors.robot.robot.Robot`, apart from it so the class traders
subclass stays handlers and dispatch. Commands carry the robot's name and the current
event's ``ts``; client order ids are ``<robot>-<n>``, numbered by the robot.
"""

from __future__ import annotations

from decimal import Decimal

from yard_actors.robot.book import WorkingOrder
from yard_actors.robot.views import BookViews
from yard_actors.wire.events import CancelOrder, NewOrder, Side, TimeInForce

__all__ = ["OrderCommands"]


class OrderCommands(BookViews):
    """Build commands; the robot sets ``_name``, ``_now`` and ``_order_seq``."""

    _name: str
    _now: int
    _order_seq: int

    def buy(
        self,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None = None,
        tif: TimeInForce = TimeInForce.DAY,
    ) -> NewOrder:
        return self._order(Side.BUY, symbol, qty, price, tif)

    def sell(
        self,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None = None,
        tif: TimeInForce = TimeInForce.DAY,
    ) -> NewOrder:
        return self._order(Side.SELL, symbol, qty, price, tif)

    def cancel(self, order: str | WorkingOrder | NewOrder) -> CancelOrder:
        client_order_id = order if isinstance(order, str) else order.client_order_id
        return CancelOrder(ts=self._now, client_order_id=client_order_id, robot=self._name)

    def cancel_all(self, symbol: str | None = None) -> list[CancelOrder]:
        return [
            self.cancel(order) for order in self.open_orders(symbol) if not order.cancel_requested
        ]

    def _order(
        self,
        side: Side,
        symbol: str,
        qty: int,
        price: Decimal | int | str | None,
        tif: TimeInForce,
    ) -> NewOrder:
        self._order_seq += 1
        return NewOrder(
            ts=self._now,
            client_order_id=f"{self._name}-{self._order_seq}",
            robot=self._name,
            symbol=symbol,
            side=side,
            qty=qty,
            price=None if price is None else Decimal(price),
            tif=tif,
        )
