"""What a robot's handler returns, turned into commands, and the commands risk-checked.

Kept apart from :mod:`yard_actors.robot.robot` so the class traders subclass holds the
API and the per-event dispatch, and these two steps between a handler and the wire
(accepting what a handler may return; admitting each command or refusing it as a reply)
read on their own.

A paused robot's new orders are *held* here (:class:`HeldOrders`): not sent, and answered
at once by an :class:`OrderRejected` with :data:`HELD_REASON`, through the same feedback
path as a risk refusal, so the robot's book never holds an order the gateway never saw,
and a replay of the journal holds exactly what the live robot held. Its cancels still go
out: a cancel only withdraws an order, it can only reduce the risk the robot carries.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from yard_actors.robot.book import Book
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.risk import RiskGuard
from yard_actors.wire.events import CancelOrder, Command, Event, NewOrder, OrderRejected
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "HELD_REASON",
    "HELD_SHOWN",
    "HandlerResult",
    "HeldOrders",
    "admit_commands",
    "commands_in",
]

HandlerResult = Iterable[Command] | Command | None

HELD_REASON = "held: robot paused"
"""The reason of the OrderRejected a paused robot gets for each new order it emits."""

HELD_SHOWN = 20
"""How many of the last held orders a robot keeps to show (its snapshot's ``held``)."""


class HeldOrders:
    """The new orders a paused robot emitted and did not send: how many, and the last few.

    Owned by the robot, on its thread; deterministic (no clock: each held order keeps the
    ``ts`` of the event that caused it), so a replay holds and shows the same.
    """

    def __init__(self, robot: str, shown: int = HELD_SHOWN) -> None:
        self._robot = robot
        self.count = 0
        self._last: deque[NewOrder] = deque(maxlen=shown)

    def hold(self, order: NewOrder, ts: int) -> OrderRejected:
        """Keep ``order`` unsent; return the rejection the robot hears for it, at ``ts``."""
        self.count += 1
        self._last.append(order)
        return OrderRejected(
            ts=ts, client_order_id=order.client_order_id, robot=self._robot, reason=HELD_REASON
        )

    @property
    def last(self) -> list[NewOrder]:
        """The last held orders, oldest first (at most ``shown``)."""
        return list(self._last)

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "last": [
                {
                    "ts": o.ts,
                    "client_order_id": o.client_order_id,
                    "symbol": o.symbol,
                    "side": o.side.value,
                    "qty": o.qty,
                    "price": None if o.price is None else str(o.price),
                    "tif": o.tif.value,
                }
                for o in self._last
            ],
        }


def commands_in(result: HandlerResult, where: str) -> tuple[list[Command], str | None]:
    """The commands a handler returned, or why the result fails its robot (then no commands).

    ``where`` names the handler in that sentence.
    """
    if result is None:
        return [], None
    if isinstance(result, NewOrder | CancelOrder):
        return [result], None
    try:
        items = list(result)
    except TypeError:
        return [], f"{where} returned {type(result).__name__}, not commands"
    for item in items:
        if not isinstance(item, NewOrder | CancelOrder):
            return [], f"{where} returned {type(item).__name__}, not a command"
    return items, None


def admit_commands(
    pending: list[Command],
    *,
    risk: RiskGuard,
    status: RobotStatus,
    book: Book,
    instruments: InstrumentTable,
    ts: int,
    held: HeldOrders,
) -> tuple[list[Command], list[Event]]:
    """Check each command: those accepted (noted in ``book``), and the refusals as replies.

    The refusals go back to the robot, in the same call of :meth:`Robot.handle`. While the
    robot is paused its new orders are held (``held``) and answered as refused with
    :data:`HELD_REASON`; its cancels go through the usual checks and out.
    """
    accepted: list[Command] = []
    refusals: list[Event] = []
    paused = status is RobotStatus.PAUSED
    for command in pending:
        if paused and type(command) is NewOrder:
            refusals.append(held.hold(command, ts))
            continue
        refusal = risk.admit(command, status=status, book=book, instruments=instruments, ts=ts)
        if refusal is not None:
            refusals.append(refusal)
            continue
        if type(command) is NewOrder:
            book.order_sent(command)
        else:
            book.cancel_sent(command.client_order_id)
        accepted.append(command)
    return accepted, refusals
