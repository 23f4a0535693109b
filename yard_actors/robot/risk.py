"""The checks every command passes before it leaves a robot, and the limits they apply.

A refused command never reaches the gateway; it comes back to the robot as the
reply the exchange would have sent (:class:`OrderRejected` or a
:class:`CancelReply` with ``cancelled=False``), in the same call, so the
robot's code has one way to learn of a refusal, wherever it came from.

Three limits guard each robot (:class:`RiskLimits`): the size of one order, the
position it could reach, and how many orders it sends a second. The rate is
counted on the robot's own clock, the ``ts`` of the events it handles, never on
the wall clock: a replay of the journal refuses exactly what the live robot
refused, at any replay speed. Cancels are never refused by a limit (a cancel only
withdraws, and a working order can be cancelled once, so orders bound cancels).

A robot also declares which of its params size an order or bound a position
(:attr:`~yard_actors.robot.robot.Robot.order_qty_params`,
:attr:`~yard_actors.robot.robot.Robot.position_params`): params over a limit stop
the robot's build, and a ``set_params`` that would put one over is refused. That
is the first line only; what an order really asks for is checked as it is sent.

Every refusal by a limit is counted per limit (:attr:`RiskGuard.refusals`, in the
robot's snapshot) and logged at the 1st, 10th, 100th... of each limit, so a robot
that insists cannot flood the log and the log stays the same on every run.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from typing import Any

import attrs

from yard_actors.errors import RobotError
from yard_actors.robot.book import Book
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.params import check_declared, declared_values
from yard_actors.wire.events import CancelOrder, CancelReply, Command, NewOrder, OrderRejected
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "DEFAULT_LIMITS",
    "NO_LIMITS",
    "RiskGuard",
    "RiskLimits",
    "limits_notice",
]

logger = logging.getLogger(__name__)

_SECOND_NS = 1_000_000_000


def _limit(instance: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (type(value) is not int or value <= 0):
        unit = attribute.metadata["unit"]
        msg = f"{attribute.name} must be a positive whole number of {unit}, was {value!r}"
        raise ValueError(msg)


def _field(unit: str) -> Any:
    return attrs.field(default=None, validator=_limit, metadata={"unit": unit})


@attrs.frozen(kw_only=True)
class RiskLimits:
    """Pre-trade limits one robot obeys; None means no limit.

    ``max_position`` counts the worst case: the position now plus every working
    order on the same side filled in full (an order that can only shrink the
    position is let through). ``max_orders_per_second``: new orders within any
    one second of event time.
    """

    max_order_qty: int | None = _field("lots")
    max_position: int | None = _field("lots")
    max_orders_per_second: int | None = _field("orders a second")

    def describe(self) -> str:
        """The limits in one line, for start-up logs: ``max_order_qty 10 lots, ...``."""
        parts = []
        for field in attrs.fields(RiskLimits):
            value = getattr(self, field.name)
            shown = "none" if value is None else f"{value} {field.metadata['unit']}"
            parts.append(f"{field.name} {shown}")
        return ", ".join(parts)


NO_LIMITS = RiskLimits()
"""Nothing checked: what a robot built in code gets unless it is given limits."""

DEFAULT_LIMITS = RiskLimits(max_order_qty=10, max_position=10, max_orders_per_second=10)
"""What every robot of a config without ``[risk]`` obeys (README, "Risk limits").

Conservative on purpose: a config that says nothing about risk must not let a bug or a
forged ``set_params`` trade hundreds of lots. The example robots stay well inside them on
the sample day (at most 2 lots an order, 5 a position, 2 orders in a second).
"""


def limits_notice(limits: RiskLimits) -> tuple[int, str]:
    """The log level and line that say at a host's start which limits its robots obey.

    A warning unless the limits were chosen: yard's defaults and no limits at all are
    both worth an operator's attention, explicit limits are information.
    """
    if limits == NO_LIMITS:
        return logging.WARNING, (
            "robots run with no risk limits: nothing caps an order's size, a position or "
            "the order rate (give the host risk=RiskLimits(...), or [risk] in yard.toml)"
        )
    if limits == DEFAULT_LIMITS:
        return logging.WARNING, (
            f"robots run with yard's conservative default risk limits ({limits.describe()}); "
            "set [risk] in the config, or risk = {...} on a robot, to choose your own"
        )
    return logging.INFO, f"robots run with risk limits {limits.describe()}"


class RiskGuard:
    """One robot's limits in force, with the state they need: recent orders, refusals.

    Owned by the robot and used on the thread that runs it. ``order_qty_params`` and
    ``position_params`` name the robot's params bounded by ``max_order_qty`` and
    ``max_position``; with an attrs ``params_class`` each must be one of its fields
    (:class:`RobotError` otherwise, naming it).
    """

    def __init__(
        self,
        robot: str,
        limits: RiskLimits,
        *,
        params_class: type[Any] | None = None,
        order_qty_params: Sequence[str] = (),
        position_params: Sequence[str] = (),
    ) -> None:
        check_declared(params_class, order_qty_params, robot, "order_qty_params")
        check_declared(params_class, position_params, robot, "position_params")
        self._robot = robot
        self._limits = limits
        self._limits_json = attrs.asdict(limits)  # for to_json, once: limits never change
        self._bounded = (
            *((name, "max_order_qty") for name in order_qty_params),
            *((name, "max_position") for name in position_params),
        )
        self._sent: deque[int] = deque()  # ts of the new orders sent in the last second
        self._refusals: dict[str, int] = {}

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @property
    def refusals(self) -> dict[str, int]:
        """How many commands and ``set_params`` each limit refused, by limit name."""
        return dict(sorted(self._refusals.items()))

    def admit(
        self,
        command: Command,
        *,
        status: RobotStatus,
        book: Book,
        instruments: InstrumentTable,
        ts: int,
    ) -> OrderRejected | CancelReply | None:
        """The reply that refuses ``command``, or None if it may be sent.

        A new order let through counts towards ``max_orders_per_second`` from ``ts``:
        call this only for commands that will be sent if admitted.
        """
        robot = self._robot
        coid = command.client_order_id
        if command.robot != robot:
            wrong = f"command names robot {command.robot!r}, not {robot!r}"
            return OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=wrong)
        if isinstance(command, CancelOrder):
            why = _cancel_problem(coid, book)
            if why is None:
                return None
            return CancelReply(
                ts=ts, client_order_id=coid, robot=robot, cancelled=False, reason=why
            )
        reason = _order_problem(
            command, robot=robot, status=status, book=book, instruments=instruments
        ) or self._risk_problem(command, book=book, ts=ts)
        if reason is None:
            if self._limits.max_orders_per_second is not None:
                self._sent.append(ts)
            return None
        return OrderRejected(ts=ts, client_order_id=coid, robot=robot, reason=reason)

    def check_params(self, params: Any) -> None:
        """Raise :class:`RobotError` if a declared param of ``params`` breaks a limit.

        The refusal is counted under the limit; the sentence names the param, its value
        and the limit. A declared param must be a number of lots to be checked.
        """
        values = declared_values(params, [name for name, _ in self._bounded])
        for name, limit_name in self._bounded:
            if name not in values:
                continue
            problem = _param_problem(name, values[name], limit_name, self._limits)
            if problem is not None:
                self._count(limit_name)  # the robot logs the refused control
                raise RobotError(problem)

    def to_json(self) -> dict[str, Any]:
        """For the robot's snapshot: the limits, the refusals, the orders of the last second."""
        return {
            "limits": self._limits_json,
            "refusals": self.refusals,
            "recent_orders": list(self._sent),
        }

    def _risk_problem(self, order: NewOrder, *, book: Book, ts: int) -> str | None:
        limits = self._limits
        limit_name, problem = "max_order_qty", _qty_problem(order, limits)
        if problem is None:
            limit_name, problem = "max_position", _position_problem(order, book, limits)
        if problem is None:
            limit_name, problem = "max_orders_per_second", self._rate_problem(ts)
        if problem is None:
            return None
        count = self._count(limit_name)
        if _is_power_of_ten(count):
            logger.warning(
                "robot %s refused order %s (refusal %s by %s; logged at 1, 10, 100...): %s",
                self._robot,
                order.client_order_id,
                f"{count:,}",
                limit_name,
                problem,
            )
        return problem

    def _rate_problem(self, ts: int) -> str | None:
        limit = self._limits.max_orders_per_second
        if limit is None:
            return None
        sent = self._sent
        while sent and sent[0] <= ts - _SECOND_NS:
            sent.popleft()
        if len(sent) < limit:
            return None
        return (
            f"risk limit max_orders_per_second: {len(sent)} orders were sent in the last "
            f"second of event time, the most allowed is {limit}"
        )

    def _count(self, limit_name: str) -> int:
        count = self._refusals.get(limit_name, 0) + 1
        self._refusals[limit_name] = count
        return count


def _is_power_of_ten(count: int) -> bool:
    while count % 10 == 0:
        count //= 10
    return count == 1


def _cancel_problem(coid: str, book: Book) -> str | None:
    order = book.orders.get(coid)
    if order is None:
        return f"no working order {coid} to cancel"
    if order.cancel_requested:
        return f"cancel of {coid} already requested"
    return None


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


def _qty_problem(order: NewOrder, limits: RiskLimits) -> str | None:
    limit = limits.max_order_qty
    if limit is None or order.qty <= limit:
        return None
    return f"risk limit max_order_qty: qty {order.qty} is over {limit} lots per order"


def _position_problem(order: NewOrder, book: Book, limits: RiskLimits) -> str | None:
    limit = limits.max_position
    if limit is None:
        return None
    position = book.positions[order.symbol].qty if order.symbol in book.positions else 0
    working = sum(
        o.remaining
        for o in book.orders.values()
        if o.symbol == order.symbol and o.side is order.side
    )
    worst = abs(position + order.side.sign * (working + order.qty))
    if worst <= limit or worst <= abs(position):
        return None
    return (
        f"risk limit max_position: {order.symbol} position could reach {worst} lots with "
        f"this order and those working, over {limit}"
    )


def _param_problem(name: str, value: Any, limit_name: str, limits: RiskLimits) -> str | None:
    limit = getattr(limits, limit_name)
    if limit is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return (
            f"risk limit {limit_name}: param {name} must be a whole number of lots to be "
            f"checked against it, was {value!r}"
        )
    if value <= limit:
        return None
    unit = "lots per order" if limit_name == "max_order_qty" else "lots"
    return f"risk limit {limit_name}: param {name} would be {value}, over {limit} {unit}"
