"""The order store's contract: what every backend (SQLite, MongoDB) must do, and its records.

The store is the one source of truth for orders and fills. The order gateway is
its only writer; robots, hosts, analysis tools and a restarted gateway read it.
Everything a gateway tells a robot (an acceptance, a rejection, a cancel reply,
a fill) is first written here as a *report* with the robot's next report
number (``seq``), so a host that missed some can ask for them again.

An order's lifecycle is a table (:mod:`.lifecycle`, re-exported here): ``new``,
``pending``, ``accepted``, ``partially_filled``, then ``filled``, ``cancelled``
or ``rejected``; any other move is refused with
:class:`~yard_actors.errors.TransitionError` and nothing is written.

Trade ids are unique in a store: the same fill stored again (a retry, a replay
after a reconnect) is a no-op, and a second, different fill under a stored
trade id is refused with :class:`TradeClashError`, nothing written. An
exchange that numbers its ids (the paper exchange's ``P{n}`` and ``PX{n}``)
continues after :meth:`OrderStore.highest_trade_number` and
:meth:`OrderStore.highest_exchange_order_number` when it restarts on a store.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Final, Self

import attrs

from gateways.store.lifecycle import FINAL_STATES, TRANSITIONS, OrderState, check_transition
from yard_actors.errors import StoreError
from yard_actors.wire.codec import encode
from yard_actors.wire.events import (
    CancelReply,
    Fill,
    NewOrder,
    OrderAccepted,
    OrderRejected,
    Side,
    TimeInForce,
)
from yard_actors.wire.names import RESERVED_PREFIX

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "UNKNOWN_SYMBOL",
    "OrderRecord",
    "OrderState",
    "OrderStore",
    "Report",
    "ReportRecord",
    "StateChange",
    "TradeClashError",
    "TradeRecord",
    "check_transition",
    "highest_number",
]

Report = OrderAccepted | OrderRejected | CancelReply | Fill


UNKNOWN_SYMBOL: Final = f"{RESERVED_PREFIX}unknown"
"""The symbol of an order the store knows by its id alone (:meth:`OrderStore.add_rejected`
without the order: one the gateway never received). Buy 1, no price, stand in for the rest."""


class TradeClashError(StoreError):
    """A fill under a trade id the store holds for a different fill; nothing was written.

    Not a backend failure: the exchange gave one id to two fills. The gateway
    counts and logs it and goes on; the message names both fills.
    """


def highest_number(identifiers: Iterable[str], prefix: str) -> int:
    """The highest n of the ``identifiers`` spelled ``prefix`` then n in digits; 0 if none."""
    start = len(prefix)
    numbers = (
        int(identifier[start:])
        for identifier in identifiers
        if identifier.startswith(prefix) and _digits(identifier[start:])
    )
    return max(numbers, default=0)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@attrs.frozen(kw_only=True)
class StateChange:
    ts: int
    state: OrderState
    reason: str = ""


@attrs.frozen(kw_only=True)
class OrderRecord:
    """An order as the store holds it, with its whole history, oldest change first."""

    client_order_id: str
    robot: str
    symbol: str
    side: Side
    qty: int
    price: Decimal | None
    tif: TimeInForce
    state: OrderState
    filled_qty: int
    filled_value: Decimal  # sum of price * qty over the fills: exact average price
    created_ts: int
    updated_ts: int
    exchange_order_id: str
    reason: str  # why it was rejected or cancelled, if it was
    history: tuple[StateChange, ...]

    @property
    def avg_price(self) -> Decimal | None:
        return None if not self.filled_qty else self.filled_value / self.filled_qty

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    @property
    def order(self) -> NewOrder:
        """The order as the robot sent it (what ``new_record`` made this record from)."""
        return NewOrder(
            ts=self.created_ts,
            client_order_id=self.client_order_id,
            robot=self.robot,
            symbol=self.symbol,
            side=self.side,
            qty=self.qty,
            price=self.price,
            tif=self.tif,
        )


@attrs.frozen(kw_only=True)
class TradeRecord:
    """A fill, stored with the robot's name so anyone can read a robot's trades."""

    fill: Fill  # its seq is the robot's report number
    robot: str


@attrs.frozen(kw_only=True)
class ReportRecord:
    """One report as sent to a robot: ``seq`` is that robot's report number.

    ``payload`` is the report as the wire carries it, when the backend encoded it
    to store it (empty otherwise): the gateway publishes those bytes instead of
    encoding the same report a second time. It takes no part in equality.
    """

    robot: str
    seq: int
    report: Report
    payload: bytes = attrs.field(default=b"", eq=False, repr=False)


class OrderStore(abc.ABC):
    """What every backend provides. Methods raise :class:`StoreError` on backend failure.

    Writes come from one gateway at a time (the store does not arbitrate between
    two writers); reads may come from any process. ``seq`` numbers are per robot,
    1, 2, 3... with no gap, assigned by :meth:`add_report` and :meth:`apply_fill`.
    """

    # --- orders ------------------------------------------------------------------

    @abc.abstractmethod
    def add_order(self, order: NewOrder) -> bool:
        """Store a new order in state ``new``; False (and no change) if its id exists."""

    def add_pending(self, order: NewOrder) -> bool:
        """Store a new order already moved on to ``pending``, as the gateway does with each.

        The same as :meth:`add_order` then ``transition(PENDING, ts=order.ts)``:
        both states in the history, at the order's ``ts``. False (and no change)
        if its id exists. A backend overrides this to make it one write.
        """
        if not self.add_order(order):
            return False
        self.transition(order.client_order_id, OrderState.PENDING, ts=order.ts)
        return True

    @abc.abstractmethod
    def add_rejected(
        self, rejected: OrderRejected, *, order: NewOrder | None = None
    ) -> ReportRecord | None:
        """Store an order as rejected and its report ``rejected``, as one write: all or nothing.

        ``rejected`` gives the robot, the client order id, the reason and the ts
        of the rejection; ``order`` is the order as its robot sent it, or None
        for one the gateway never received (a resolve found it lost in transit):
        the store then knows it by its id alone (:data:`UNKNOWN_SYMBOL`). The
        order's history is ``new`` at its ts, then ``rejected`` at ``rejected.ts``;
        the report gets the robot's next seq, which the returned record carries.
        Returns None, having written nothing, if the id is taken: a repeat of the
        same call is a no-op, and the store keeps one order per id. Raises
        StoreError if ``order`` is another robot's or another id than ``rejected``.
        """

    @abc.abstractmethod
    def add_refused(self, orders: Sequence[NewOrder], *, reason: str) -> list[NewOrder]:
        """Store ``orders`` as rejected for ``reason``, each with no report, in one write.

        For orders the gateway refused while the store was down: their robots
        were told with an unnumbered rejection, so nothing is numbered here
        (a resolve numbers it later if the robot asks). Each order's history is
        ``new`` then ``rejected``, both at its own ts. Returns the orders whose
        id the store held already: nothing is written for them, and what that
        means (a repeat, an id reused) is the caller's to tell.
        """

    @abc.abstractmethod
    def transition(
        self,
        client_order_id: str,
        state: OrderState,
        *,
        ts: int,
        reason: str = "",
        exchange_order_id: str | None = None,
    ) -> OrderRecord:
        """Move an order to ``state`` and append to its history.

        Raises :class:`TransitionError` (nothing written) if the table refuses it,
        :class:`StoreError` if the order does not exist.
        """

    @abc.abstractmethod
    def apply_fill(self, fill: Fill) -> tuple[OrderRecord, ReportRecord] | None:
        """Record a fill atomically: the trade, the order's filled qty/value/state, the report.

        The report gets the robot's next ``seq``; the returned report's Fill carries
        it. Returns None (nothing written) if this very fill is already stored
        (every field but ``seq`` equal: a retry, a replay after a reconnect).
        Raises :class:`TradeClashError` (nothing written) if its ``trade_id`` is
        stored for a different fill, :class:`TransitionError` for a fill of a
        final order or one that would take ``filled_qty`` past ``qty``.
        """

    @abc.abstractmethod
    def order(self, client_order_id: str) -> OrderRecord | None: ...

    @abc.abstractmethod
    def orders(
        self,
        *,
        robot: str | None = None,
        state: OrderState | None = None,
        symbol: str | None = None,
    ) -> list[OrderRecord]:
        """Orders matching every filter given, oldest first."""

    @abc.abstractmethod
    def open_orders(self, robot: str | None = None) -> list[OrderRecord]:
        """Orders not in a final state, oldest first."""

    # --- trades and reports --------------------------------------------------------------

    @abc.abstractmethod
    def trades(self, *, robot: str | None = None, since_seq: int = 0) -> list[TradeRecord]:
        """Fills (of ``robot``, with report seq > ``since_seq``), in seq order per robot."""

    @abc.abstractmethod
    def add_report(self, robot: str, report: Report) -> ReportRecord:
        """Store a non-fill report under the robot's next seq; the record's report carries it."""

    @abc.abstractmethod
    def reports(self, robot: str, *, after_seq: int = 0) -> list[ReportRecord]:
        """The robot's reports with seq > ``after_seq``, in seq order (fills included)."""

    def report_payloads(self, robot: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        """At most ``limit`` of the robot's reports with seq > ``after_seq``, in seq order,
        as ``(seq, payload)``: the bytes the wire carries, not decoded.

        One page of a replay: the gateway streams a long history page by page
        instead of holding it whole. This default reads every report after
        ``after_seq``; a backend overrides it with a query that reads ``limit``.
        """
        records = self.reports(robot, after_seq=after_seq)[:limit]
        return [(record.seq, record.payload or encode(record.report)) for record in records]

    @abc.abstractmethod
    def last_seqs(self) -> dict[str, int]:
        """Each robot's highest report seq (a restarted gateway continues from these)."""

    # --- robot owners (gateways/owners.py) --------------------------------------------------

    @abc.abstractmethod
    def claim_robots(self, owner: str, robots: Sequence[str], *, ts: int) -> dict[str, str]:
        """Make key ``owner`` the owner of each of ``robots`` that has none, as one write.

        Returns each robot's owner after the write: ``owner``, or the key that held it
        already (which keeps it). ``ts`` is when, kept for whoever reads the table.
        """

    @abc.abstractmethod
    def robot_owners(self) -> dict[str, str]:
        """Every robot that has an owner, with its owner's key name."""

    # --- the ids an exchange gave out ------------------------------------------------------

    def highest_trade_number(self, prefix: str) -> int:
        """The highest n of the stored trade ids spelled ``prefix`` then n in digits; 0 if none.

        For an exchange that numbers its fills, restarted on this store: it
        continues after this, so no trade id is given twice. Read once, at
        start; this default reads every trade, a backend overrides it with a query.
        """
        return highest_number((trade.fill.trade_id for trade in self.trades()), prefix)

    def highest_exchange_order_number(self, prefix: str) -> int:
        """The highest n of the stored exchange order ids spelled ``prefix`` then n; 0 if none.

        As :meth:`highest_trade_number`, for the ids an exchange gives the orders it accepts.
        """
        return highest_number((order.exchange_order_id for order in self.orders()), prefix)

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files; idempotent."""

    def discard(self) -> None:
        """Give the store up after it failed: write nothing more, release it; idempotent.

        For a store the gateway replaces with one opened anew (an outage): what
        it still holds unwritten is the new store's to write (its repair, the
        gateway's rewrite), and writing it here, late, would race that. Returns
        soon even while another thread is inside a call. The default closes
        the store, ignoring its failure to.
        """
        with contextlib.suppress(StoreError):
            self.close()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Make the calls inside the block one transaction, where the backend has them.

        The default does nothing (each call stays its own write); SQLite commits
        the block at its end. Send nothing a call in the block returned until
        the block has ended: a failure undoes all of it.
        """
        yield

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
