"""The checks every command passes before it leaves a robot.

A refused command never reaches the gateway; it comes back to the robot as the
reply the exchange would have sent (:class:`OrderRejected` or a
:class:`CancelReply` with ``cancelled=False``), in the same call, so the
robot's code has one way to learn of a refusal, wherever it came from.
"""

from __future__ import annotations

import attrs

from yard_actors.robot.book import Book
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.wire.events import CancelOrder, CancelReply, Command, NewOrder, OrderRejected
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["RiskLimits", "refusal_of"]


def _limit(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (type(value) is not int or value <= 0):
        msg = f"{attribute.name} must be a positive whole number of lots, was {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RiskLimits:
    """Pre-trade limits every robot of a host obeys; None means no limit.

    ``max_position`` counts the worst case: the position now plus every working
    order on the same side filled in full.
    """

    max_order_qty: int | None = attrs.field(default=None, validator=_limit)
    max_position: int | None = attrs.field(default=None, validator=_limit)


NO_LIMITS = RiskLimits()


def refusal_of(
    command: Command,
    *,
    robot: str,
    status: RobotStatus,
    book: Book,
    instruments: InstrumentTable,
    ts: int,
    limits: RiskLimits = NO_LIMITS,
) -> OrderRejected | CancelReply | None:
    """The reply that refuses ``command``, or None if it may be sent."""
    coid = command.client_order_id
    if command.robot != robot:
        reason = f"command names robot {command.robot!r}, not {robot!r}"
        return OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=reason)
    if isinstance(command, CancelOrder):
        order = book.orders.get(coid)
        if order is None:
            reason = f"no working order {coid} to cancel"
        elif order.cancel_requested:
            reason = f"cancel of {coid} already requested"
        else:
            return None
        return CancelReply(ts=ts, client_order_id=coid, robot=robot, cancelled=False, reason=reason)
    problem = _order_problem(
        command, robot=robot, status=status, book=book, instruments=instruments
    ) or _risk_problem(command, book=book, limits=limits)
    if problem is None:
        return None
    return OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=problem)


def _order_problem(
    order: NewOrder, *, robot: str, status: RobotStatus, book: Book, instruments: InstrumentTable
) -> str | None:
    if status is not RobotStatus.RUNNING:
        return f"robot {robot} is {status.value}: new orders are refused"
    if order.client_order_id in book.orders:
        return f"client_order_id {order.client_order_id} is already working"
    if order.price is not None:
        return instruments.price_problem(order.symbol, order.price)
    return None


def _risk_problem(order: NewOrder, *, book: Book, limits: RiskLimits) -> str | None:
    if limits.max_order_qty is not None and order.qty > limits.max_order_qty:
        return f"qty {order.qty} is over the risk limit of {limits.max_order_qty} lots per order"
    if limits.max_position is None:
        return None
    position = book.positions[order.symbol].qty if order.symbol in book.positions else 0
    working = sum(
        o.remaining
        for o in book.orders.values()
        if o.symbol == order.symbol and o.side is order.side
    )
    worst = abs(position + order.side.sign * (working + order.qty))
    if worst > limits.max_position and worst > abs(position):
        return (
            f"{order.symbol} position could reach {worst} lots with this order and those "
            f"working, over the risk limit of {limits.max_position}"
        )
    return None
