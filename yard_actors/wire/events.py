"""The messages robots receive and emit.

Every message is a frozen attrs class with ``ts``, the event time in integer
nanoseconds since the epoch; it is the only clock a robot ever sees. Prices are
:class:`~decimal.Decimal`, never float, so that a price read from the wire is
the price the exchange meant. Commands are named in the imperative
(:class:`NewOrder`, :class:`CancelOrder`), events as nouns or in the past tense.

Validation lives in the classes themselves, so an invalid message cannot exist:
the codec turns the resulting ``ValueError``/``TypeError`` into a
:class:`~yard_actors.wire.codec.DecodeError` at the edge, and a robot that builds a
bad command gets an :class:`OrderRejected` back instead of a crash.
"""

from __future__ import annotations

import enum
import math
from decimal import Decimal
from typing import Any, TypeAlias

import attrs

__all__ = [
    "Bar",
    "CancelOrder",
    "CancelReply",
    "Command",
    "Control",
    "ControlAction",
    "Event",
    "Fill",
    "MarketEvent",
    "NewOrder",
    "OrderAccepted",
    "OrderRejected",
    "OrderReply",
    "Quote",
    "SessionState",
    "SessionStatus",
    "Side",
    "SystemStatus",
    "Tick",
    "TimeInForce",
    "Timer",
]


class Side(enum.Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the position change."""
        return 1 if self is Side.BUY else -1


class TimeInForce(enum.Enum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"


class ControlAction(enum.Enum):
    PAUSE = "pause"
    RESUME = "resume"
    SET_PARAMS = "set_params"
    HALT = "halt"
    STOP = "stop"


class SessionState(enum.Enum):
    OPEN = "open"
    CLEARING = "clearing"
    HALTED = "halted"
    CLOSED = "closed"


# --- validators: messages are built before the raise, as full sentences ------
# The bounds are the wire's: what a message holds in process must survive the codec,
# so a robot that builds an unsendable order fails at the build, not in its actor.

_MAX_INT = 2**63 - 1
_MAX_ADJUSTED = 28  # a decimal's leading digit sits between the 1e-28 and 1e+28 places


def _int_in_range(name: str, value: object, least: int, rule: str) -> None:
    # Past 2**63 the value is not negative: "must be a non-negative integer" would be false.
    if type(value) is int and value > _MAX_INT:
        msg = f"{name} must be below 2^63 (a signed 64-bit integer, as MongoDB stores), was {value}"
        raise ValueError(msg)
    if type(value) is not int or value < least:
        msg = f"{name} must be {rule}, was {value!r}"
        raise ValueError(msg)


def _non_negative_ts(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in_range(attribute.name, value, 0, "a non-negative integer of nanoseconds")


def _positive_qty(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in_range(attribute.name, value, 1, "a positive integer")


def _non_negative_qty(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in_range(attribute.name, value, 0, "a non-negative integer")


def _positive_ns(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    _int_in_range(attribute.name, value, 1, "a positive integer of nanoseconds")


def _finite_price(instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if type(value) is not Decimal or not value.is_finite():
        msg = f"{attribute.name} must be a finite Decimal, was {value!r}"
        raise ValueError(msg)
    if value and abs(value.adjusted()) > _MAX_ADJUSTED:
        msg = f"{attribute.name} must be within 1e-28 to 1e28 in size, was {value}"
        raise ValueError(msg)


def _optional_finite_price(
    instance: object, attribute: attrs.Attribute[Decimal | None], value: Decimal | None
) -> None:
    if value is not None:
        _finite_price(instance, attribute, value)  # type: ignore[arg-type]


def _non_negative_price(
    instance: object, attribute: attrs.Attribute[Decimal], value: Decimal
) -> None:
    _finite_price(instance, attribute, value)
    if value < 0:
        msg = f"{attribute.name} must not be negative, was {value}"
        raise ValueError(msg)


def _name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or not value or len(value) > 128:
        msg = (
            f"{attribute.name} must be a non-empty string of at most 128 characters, was {value!r}"
        )
        raise ValueError(msg)


def _optional_name(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if type(value) is not str or len(value) > 128:
        msg = f"{attribute.name} must be a string of at most 128 characters, was {value!r}"
        raise ValueError(msg)


def _json_value(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_INT - 1 <= value <= _MAX_INT)
    if kind is float:
        return bool(math.isfinite(value))
    if kind is list:
        return all(_json_value(item) for item in value)
    if kind is dict:
        return all(type(k) is str and _json_value(v) for k, v in value.items())
    return False


def _json_params(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if type(value) is not dict or not _json_value(value):
        msg = (
            f"{attribute.name} must be a dict of JSON values (str, int, float, bool, None, "
            f"list, dict with str keys; send decimals as strings), was {value!r}"
        )
        raise ValueError(msg)


def _enum(kind: type[enum.Enum]) -> Any:
    return attrs.validators.instance_of(kind)


# --- market data -------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Quote:
    """The best bid and offer of one instrument."""

    ts: int = attrs.field(validator=_non_negative_ts)
    symbol: str = attrs.field(validator=_name)
    bid: Decimal = attrs.field(validator=_finite_price)
    ask: Decimal = attrs.field(validator=_finite_price)
    bid_size: int = attrs.field(validator=_non_negative_qty)
    ask_size: int = attrs.field(validator=_non_negative_qty)

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@attrs.frozen(kw_only=True)
class Tick:
    """A last-trade print: someone traded ``qty`` at ``price``; ``aggressor`` took liquidity."""

    ts: int = attrs.field(validator=_non_negative_ts)
    symbol: str = attrs.field(validator=_name)
    price: Decimal = attrs.field(validator=_finite_price)
    qty: int = attrs.field(validator=_positive_qty)
    aggressor: Side = attrs.field(validator=_enum(Side))


@attrs.frozen(kw_only=True)
class Bar:
    """One period of trading in one instrument: its open, high, low and close, and its volume.

    ``ts`` is the bar's close: the last nanosecond of its period, when its close became
    known (the bar of 10:00 to 10:01 is stamped 10:00:59.999999999). So a robot never
    sees a price before the market had it, and a bar that ends on a session boundary
    comes before that boundary's status. ``period_ns`` is how long it lasted: it began
    at :attr:`start`. ``volume`` is the lots traded in it, 0 for a bar with no trade.
    """

    ts: int = attrs.field(validator=_non_negative_ts)
    symbol: str = attrs.field(validator=_name)
    open: Decimal = attrs.field(validator=_finite_price)
    high: Decimal = attrs.field(validator=_finite_price)
    low: Decimal = attrs.field(validator=_finite_price)
    close: Decimal = attrs.field(validator=_finite_price)
    volume: int = attrs.field(validator=_non_negative_qty)
    period_ns: int = attrs.field(validator=_positive_ns)

    def __attrs_post_init__(self) -> None:
        # After the fields' own checks: a range that does not hold its open and close, or
        # a period that began before the epoch, is a broken bar, whoever built it.
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            msg = (
                "high and low must hold the open and the close (low <= open, close <= high), "
                f"was open {self.open}, high {self.high}, low {self.low}, close {self.close}"
            )
            raise ValueError(msg)
        if self.period_ns > self.ts + 1:
            msg = (
                f"period_ns must be at most ts + 1 (a bar cannot begin before 1970), "
                f"was {self.period_ns} with ts {self.ts}"
            )
            raise ValueError(msg)

    @property
    def start(self) -> int:
        """The first nanosecond of the bar's period: ``ts + 1 - period_ns``."""
        return self.ts + 1 - self.period_ns


# --- commands a robot emits ----------------------------------------------------


@attrs.frozen(kw_only=True)
class NewOrder:
    """Submit an order; ``price=None`` is a market order."""

    ts: int = attrs.field(validator=_non_negative_ts)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(validator=_enum(Side))
    qty: int = attrs.field(validator=_positive_qty)
    price: Decimal | None = attrs.field(default=None, validator=_optional_finite_price)
    tif: TimeInForce = attrs.field(default=TimeInForce.DAY, validator=_enum(TimeInForce))


@attrs.frozen(kw_only=True)
class CancelOrder:
    """Cancel a working order by the id the robot gave it."""

    ts: int = attrs.field(validator=_non_negative_ts)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)


# --- replies and fills -----------------------------------------------------------
# Every report a gateway sends carries ``seq``: that robot's report number, 1, 2,
# 3... in the order the gateway wrote them to the order store. A host uses it to
# drop a report it already has (the fast path and the change stream may both
# bring it) and to ask for the ones it missed. 0 means "not from a gateway":
# the refusals a robot's own checks produce.


@attrs.frozen(kw_only=True)
class OrderAccepted:
    ts: int = attrs.field(validator=_non_negative_ts)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)
    exchange_order_id: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    seq: int = attrs.field(default=0, validator=_non_negative_qty)


@attrs.frozen(kw_only=True)
class OrderRejected:
    """A business refusal (risk, exchange, robot state): an event, never an exception."""

    ts: int = attrs.field(validator=_non_negative_ts)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)
    reason: str = attrs.field(validator=attrs.validators.instance_of(str))
    seq: int = attrs.field(default=0, validator=_non_negative_qty)


@attrs.frozen(kw_only=True)
class CancelReply:
    """The answer to a :class:`CancelOrder`: ``cancelled`` is False when it came too late."""

    ts: int = attrs.field(validator=_non_negative_ts)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)
    cancelled: bool = attrs.field(validator=attrs.validators.instance_of(bool))
    reason: str = attrs.field(default="", validator=attrs.validators.instance_of(str))
    seq: int = attrs.field(default=0, validator=_non_negative_qty)


@attrs.frozen(kw_only=True)
class Fill:
    """A trade against one of the robot's orders; ``fee`` is in price currency, paid."""

    ts: int = attrs.field(validator=_non_negative_ts)
    trade_id: str = attrs.field(validator=_name)
    client_order_id: str = attrs.field(validator=_name)
    robot: str = attrs.field(validator=_name)
    symbol: str = attrs.field(validator=_name)
    side: Side = attrs.field(validator=_enum(Side))
    price: Decimal = attrs.field(validator=_finite_price)
    qty: int = attrs.field(validator=_positive_qty)
    fee: Decimal = attrs.field(default=Decimal(0), validator=_non_negative_price)
    seq: int = attrs.field(default=0, validator=_non_negative_qty)


# --- timers, control, status -------------------------------------------------------


@attrs.frozen(kw_only=True)
class Timer:
    """A timer a robot asked for has fired at event time ``ts``."""

    ts: int = attrs.field(validator=_non_negative_ts)
    robot: str = attrs.field(validator=_name)
    name: str = attrs.field(validator=_name)


@attrs.frozen(kw_only=True, hash=False)
class Control:
    """An operator's command to one robot; ``params`` only with ``set_params``.

    ``sender`` says who sent it, for the journal and the log: ``"local"`` for the host's
    own caller (a script, the console), a peer's CURVE key name, ``"ipc"`` for an unkeyed
    local socket; empty when unknown (a control journaled before yard recorded senders).
    """

    ts: int = attrs.field(validator=_non_negative_ts)
    robot: str = attrs.field(validator=_name)
    action: ControlAction = attrs.field(validator=_enum(ControlAction))
    params: dict[str, Any] = attrs.field(factory=dict, validator=_json_params)
    sender: str = attrs.field(default="", validator=_optional_name)

    def __hash__(self) -> int:  # the params dict is not hashable; the identity fields are
        return hash((self.ts, self.robot, self.action))


@attrs.frozen(kw_only=True)
class SessionStatus:
    """The trading session of ``session`` (e.g. ``FORTS``) changed state; sent to every robot."""

    ts: int = attrs.field(validator=_non_negative_ts)
    session: str = attrs.field(validator=_name)
    state: SessionState = attrs.field(validator=_enum(SessionState))


@attrs.frozen(kw_only=True)
class SystemStatus:
    """A component (feed, gateway, exchange link) reports its health; sent to every robot."""

    ts: int = attrs.field(validator=_non_negative_ts)
    component: str = attrs.field(validator=_name)
    status: str = attrs.field(validator=_name)
    detail: str = attrs.field(default="", validator=attrs.validators.instance_of(str))


MarketEvent: TypeAlias = Quote | Tick | Bar
"""Market data of one symbol, travelling under its symbol: what a data file holds."""
OrderReply: TypeAlias = OrderAccepted | OrderRejected | CancelReply
Command: TypeAlias = NewOrder | CancelOrder
Event: TypeAlias = (
    Quote
    | Tick
    | Bar
    | OrderAccepted
    | OrderRejected
    | CancelReply
    | Fill
    | Timer
    | Control
    | SessionStatus
    | SystemStatus
    | NewOrder
    | CancelOrder
)
