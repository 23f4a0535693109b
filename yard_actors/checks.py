"""The checks every command passes before it leaves a robot.

A refused command never reaches the gateway; it comes back to the robot as the
reply the exchange would have sent (:class:`OrderRejected` or a
:class:`CancelReply` with ``cancelled=False``), in the same call, so the
robot's code has one way to learn of a refusal, wherever it came from.
"""

from __future__ import annotations

from yard_actors.book import Book
from yard_actors.events import CancelOrder, CancelReply, Command, NewOrder, OrderRejected
from yard_actors.instruments import InstrumentTable
from yard_actors.lifecycle import RobotStatus

__all__ = ["refusal_of"]


def refusal_of(
    command: Command,
    *,
    robot: str,
    status: RobotStatus,
    book: Book,
    instruments: InstrumentTable,
    ts: int,
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
    )
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
