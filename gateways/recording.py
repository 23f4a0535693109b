"""What the order gateway writes to the order store, and how it writes it again after an outage.

:class:`Recorder` is the gateway's door to the store's writes on the order
path: a new order, each report the exchange adapter returns (under the
robot's next seq), an order refused while the store was down. It counts the
orders still working as it goes, for the gateway's health. The order
gateway's loop and the backtest's order desk both write reports through
:meth:`Recorder.record_all`, so a report the store refuses is counted and
logged the same way in both.

After a store outage, :func:`rewrite` writes everything the gateway held:
the orders and reports of the batch the failure undid, then what came while
the store was down; the orders it refused meanwhile, often thousands (robots
that place another order on each refusal), in one write (``add_refused``).
A backend without transactions (MongoDB) may have written part of it before
failing, so each item is written again only if the store does not already
hold it: an order whose id exists is not added twice, the same fill twice is
a no-op, and a report the store already holds (the same event, found among
the robot's reports after the last one published) is not stored twice. What
it wrote is published by the caller, from the store.

Runs on one thread at a time: the gateway's, or an outage's while the
gateway's own writes wait (:mod:`.outage`). Every call may raise StoreError.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Final, TypeAlias

import attrs

from gateways.drops import should_log
from gateways.store.base import (
    FINAL_STATES,
    OrderRecord,
    OrderState,
    OrderStore,
    Report,
    ReportRecord,
    TradeClashError,
)
from yard_actors.errors import StoreError, TransitionError
from yard_actors.wire.events import CancelReply, Fill, NewOrder, OrderAccepted, OrderRejected

__all__ = ["Held", "Recorder", "Refusal", "Rewritten", "rewrite", "robot_of"]

logger = logging.getLogger(__name__)

_UNTOUCHED: Final = frozenset({OrderState.NEW, OrderState.PENDING})


@attrs.frozen(kw_only=True)
class Refusal:
    """A NewOrder refused because the store was down; its robot was told, unnumbered.

    ``maybe_recorded``: the store failed inside the call that adds the order, so it
    may hold it (MongoDB's insert may land though its answer was lost). Either way
    the exchange never saw it.
    """

    order: NewOrder
    reason: str
    maybe_recorded: bool


Held: TypeAlias = NewOrder | Report | Refusal
"""One write the store could not take: an order to add as pending, a report, a refusal."""


def robot_of(item: Held) -> str:
    """The robot a held write belongs to."""
    return item.order.robot if isinstance(item, Refusal) else item.robot


class Recorder:
    """Writes orders and reports to ``store``; ``working`` counts the orders not final.

    ``stats`` is its caller's (the gateway's, the backtest desk's): a report the
    store refuses is counted there as ``store_refused`` and logged, rate-limited, on
    ``log`` as ``who``'s (``"order gateway: the store refused ..."``).
    """

    def __init__(
        self,
        store: OrderStore,
        *,
        working: int,
        stats: Counter[str],
        who: str = "order gateway",
        log: logging.Logger = logger,
    ) -> None:
        self.store = store
        self.working = working
        self._stats = stats
        self._who = who
        self._log = log

    # --- the order path ------------------------------------------------------------------

    def add_order(self, order: NewOrder) -> bool:
        """Store ``order`` as pending; False if its id is taken (a repeat: drop it)."""
        added = self.store.add_pending(order)
        if added:
            self.working += 1
        return added

    def record(self, report: Report) -> ReportRecord | None:
        """Write ``report`` and the order's new state; return its record (None: a repeat).

        Raises TransitionError (nothing written) when the order's state refuses it.
        """
        store, coid = self.store, report.client_order_id
        if isinstance(report, Fill):
            applied = store.apply_fill(report)
            if applied is None:
                return None
            if applied[0].state in FINAL_STATES:
                self.working -= 1
            return applied[1]
        if isinstance(report, OrderAccepted):
            store.transition(
                coid, OrderState.ACCEPTED, ts=report.ts, exchange_order_id=report.exchange_order_id
            )
        elif isinstance(report, OrderRejected):
            if store.order(coid) is not None:
                store.transition(coid, OrderState.REJECTED, ts=report.ts, reason=report.reason)
                self.working -= 1
        elif isinstance(report, CancelReply) and report.cancelled:
            store.transition(coid, OrderState.CANCELLED, ts=report.ts, reason=report.reason)
            self.working -= 1
        return store.add_report(report.robot, report)

    def record_all(self, reports: Sequence[Report], into: list[ReportRecord]) -> None:
        """:meth:`record` each of ``reports`` in order; append to ``into`` the records stored.

        A report its order's state refuses (TransitionError) or whose trade id is
        another fill's (TradeClashError) is not written: it is counted and logged
        (rate-limited), and the next is written; the caller goes on serving. A
        repeat stores nothing. Raises StoreError when the store fails.

        ``into`` is the caller's list of records to publish (or hand out), filled
        in place: on the order path, a list per call would be one more per message.
        """
        for report in reports:
            try:
                stored = self.record(report)
            except (TransitionError, TradeClashError) as exc:
                self._count_refusal(report, exc)
                continue
            if stored is not None:
                into.append(stored)

    def _count_refusal(self, report: Report, error: StoreError) -> None:
        self._stats["store_refused"] += 1
        if should_log(self._stats["store_refused"]):
            self._log.error("%s: the store refused %r: %s", self._who, report, error)

    # --- after an outage -----------------------------------------------------------------

    def redo(self, held: Sequence[Held], published: Mapping[str, int]) -> None:
        """Write ``held`` in order, skipping what the store already holds.

        ``published``: each robot's last report seq sent to hosts; a report the
        store holds after it may be one a failed write left behind.
        """
        stored: dict[str, list[ReportRecord]] = {}
        settled = self._add_refused(held)
        for item in held:
            if isinstance(item, NewOrder):
                self.store.add_pending(item)  # False: the failed attempt stored it
            elif isinstance(item, Refusal):
                if item not in settled:
                    self._settle(item)
            else:
                robot = item.robot
                if robot not in stored:
                    stored[robot] = self.store.reports(robot, after_seq=published.get(robot, 0))
                if not _take_match(stored[robot], item):
                    self._record_again(item)

    def _record_again(self, report: Report) -> None:
        try:
            self.record(report)
        except TradeClashError as exc:
            self._count_refusal(report, exc)
        except TransitionError as exc:
            # The order's change may be stored without its report (MongoDB writes the
            # orders, then the reports): store the report alone. Otherwise a real refusal.
            record = self.store.order(report.client_order_id)
            if record is None or record.state is not _target(report):
                self._count_refusal(report, exc)
                return
            self.store.add_report(report.robot, report)

    def _add_refused(self, held: Sequence[Held]) -> set[Refusal]:
        """Store the orders refused unnumbered, one write per reason; return the refusals stored.

        An outage refuses every new order, and robots that place another order
        on each refusal make thousands: one write for them all, not a read and
        a write each, lets the store catch up with them (nx-27017 took 8 ms an
        order that way, longer than robots took to send the next). The rest (an
        id taken, an order the failed call may have stored) :meth:`_settle` tells apart.
        """
        by_reason: dict[str, list[Refusal]] = {}
        for item in held:
            if isinstance(item, Refusal) and not item.maybe_recorded:
                by_reason.setdefault(item.reason, []).append(item)
        settled: set[Refusal] = set()
        for reason, refusals in by_reason.items():
            taken = self.store.add_refused([r.order for r in refusals], reason=reason)
            left = {order.client_order_id for order in taken}
            settled.update(r for r in refusals if r.order.client_order_id not in left)
        return settled

    def _settle(self, refusal: Refusal) -> None:
        """Make the store say what the robot was told: the order was rejected, never sent."""
        order, coid = refusal.order, refusal.order.client_order_id
        record = self.store.order(coid)
        if record is None:
            self.store.add_refused([order], reason=refusal.reason)
            return
        if record.state is OrderState.REJECTED:
            return  # refused twice, or rejected since: the robot heard the same
        if not (refusal.maybe_recorded and _is_this(record, order)):
            self._stats["refusals_contradicted"] += 1
            logger.error(
                "order gateway: robot %s was told order %s was refused while the store was "
                "down, but the store holds an older order with that id (%s): the robot "
                "reused an id, and heard two answers for it",
                *(order.robot, coid, record.state.value),
            )
            return
        self.store.transition(coid, OrderState.REJECTED, ts=order.ts, reason=refusal.reason)


@attrs.frozen(kw_only=True)
class Rewritten:
    """What :func:`rewrite` leaves to do: publish ``records``; the store's ``last_seqs``
    and ``working`` orders, for the gateway's heartbeat and health."""

    records: list[ReportRecord]
    last_seqs: dict[str, int]
    working: int


def rewrite(
    store: OrderStore, held: Sequence[Held], published: Mapping[str, int], stats: Counter[str]
) -> Rewritten:
    """After an outage: repair ``store``, :meth:`~Recorder.redo` ``held`` in one batch.

    Any thread may call it while the gateway's own writes are paused (the
    outage holds them). ``records`` are every report of the robots in ``held``
    stored after ``published``, in seq order: what the held writes stored, and
    what the failed attempt stored without publishing. Raises StoreError.
    """
    repair = getattr(store, "repair", None)
    if repair is not None:  # a fill the failure left half-written (MongoDB)
        repair()
    with store.batch():
        Recorder(store, working=0, stats=stats).redo(held, published)
    robots = sorted({robot_of(item) for item in held})
    records = [
        record
        for robot in robots
        for record in store.reports(robot, after_seq=published.get(robot, 0))
    ]
    return Rewritten(records=records, last_seqs=store.last_seqs(), working=len(store.open_orders()))


def _take_match(stored: list[ReportRecord], report: Report) -> bool:
    """Remove from ``stored`` the first record of the same event as ``report``; True if found."""
    for i, record in enumerate(stored):
        if attrs.evolve(record.report, seq=report.seq) == report:
            del stored[i]
            return True
    return False


def _target(report: Report) -> OrderState | None:
    if isinstance(report, OrderAccepted):
        return OrderState.ACCEPTED
    if isinstance(report, OrderRejected):
        return OrderState.REJECTED
    if isinstance(report, CancelReply) and report.cancelled:
        return OrderState.CANCELLED
    return None


def _is_this(record: OrderRecord, order: NewOrder) -> bool:
    """Whether ``record`` is ``order`` as the failed call may have stored it, still untouched."""
    return record.state in _UNTOUCHED and record.order == order
