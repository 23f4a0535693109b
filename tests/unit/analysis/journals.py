"""Hand-made journals for the analyzer's tests, written by the real journal writer.

A robot is fed its events as a host feeds it (each event journaled and delivered before it
is handled, its commands journaled after), and each order it sends is accepted and filled
at once at its price, with a fee per lot, as a paper exchange with no latency would.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from yard_actors.journal import Journal
from yard_actors.robot.loader import class_path
from yard_actors.robot.robot import Robot
from yard_actors.wire.codec import encode
from yard_actors.wire.events import Event, Fill, NewOrder, OrderAccepted


def write_journal(
    directory: Path,
    robot: Robot,
    market: Iterable[Event],
    *,
    fee_per_lot: Decimal = Decimal("0.5"),
    journaled_class: str | None = None,
) -> list[int]:
    """Feed ``market`` to ``robot`` as a host would, journaling it; return the event seqs.

    ``journaled_class``: the class path the spec records, if not the robot's own (a robot
    whose code changed since the run).
    """
    seqs = []
    trades = 0
    with Journal(directory) as journal:
        journal.record_robot(
            robot.name,
            {
                "name": robot.name,
                "class": journaled_class or class_path(type(robot)),
                "symbols": list(robot.subscriptions),
                "params": robot.snapshot()["params"],
            },
        )
        pending: list[Event] = list(market)
        while pending:
            event = pending.pop(0)
            seq = journal.record_event(encode(event))
            journal.record_delivery(robot.name, seq)
            seqs.append(seq)
            replies: list[Event] = []
            for command in robot.handle(event):
                journal.record_command(robot.name, encode(command))
                if isinstance(command, NewOrder):
                    trades += 1
                    accepted = OrderAccepted(
                        ts=command.ts, client_order_id=command.client_order_id, robot=robot.name
                    )
                    replies.extend([accepted, filled_by_hand(command, trades, fee_per_lot)])
            pending[:0] = replies
    return seqs


def filled_by_hand(order: NewOrder, trade: int, fee_per_lot: Decimal = Decimal("0.5")) -> Fill:
    """The fill of all of ``order`` at its price, trade id ``T{trade}``, a fee per lot."""
    assert order.price is not None
    return Fill(
        ts=order.ts,
        trade_id=f"T{trade}",
        client_order_id=order.client_order_id,
        robot=order.robot,
        symbol=order.symbol,
        side=order.side,
        price=order.price,
        qty=order.qty,
        fee=fee_per_lot * order.qty,
    )
