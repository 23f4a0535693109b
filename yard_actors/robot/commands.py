"""What a robot's handler returns, turned into commands, and the commands risk-checked.

Kept apart from :mod:`yard_actors.robot.robot` so the class traders subclass holds the
API and the per-event dispatch, and these two steps between a handler and the wire
(accepting what a handler may return; admitting each command or refusing it as a reply)
read on their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from yard_actors.robot.book import Book
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.risk import RiskGuard
from yard_actors.wire.events import CancelOrder, Command, Event, NewOrder
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["HandlerResult", "admit_commands", "commands_in"]

HandlerResult = Iterable[Command] | Command | None


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
) -> tuple[list[Command], list[Event]]:
    """Check each command: those accepted (noted in ``book``), and the refusals as replies.

    The refusals go back to the robot, in the same call of :meth:`Robot.handle`.
    """
    accepted: list[Command] = []
    refusals: list[Event] = []
    for command in pending:
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
