"""What user code and the framework read of a robot: its name, params, clock, status, snapshot.

A base of :class:`~yard_actors.robot.robot.Robot`, apart from it so the class traders
subclass stays construction, dispatch and state changes; these only read.

:meth:`StateViews.snapshot` is called after every event by the analyzer (and by whoever
asks a live robot for its state), so it must cost little more than the state that changed.
Most of a snapshot does not change from one event to the next: the robot's name, class and
symbols never; its params only at a ``set_params`` control; its risk limits never
(:class:`~yard_actors.robot.risk.RiskGuard` keeps their JSON); its working orders and held
orders only at the events that change them. Those parts are built once and kept
(:class:`SnapshotParts`), each with the source it was built from, and rebuilt when that
source is no longer the same object or count. The rest (positions, which the book changes
in place, risk counters, timers, the robot's own state) is built on every call, cheaply
for the plain values most of it is. So successive snapshots share their unchanged parts:
a caller reads a snapshot and never changes it (``copy.deepcopy`` it to change it), and
can tell an unchanged part by identity, without comparing it.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from yard_actors.errors import RobotError
from yard_actors.robot.book import Book, WorkingOrder
from yard_actors.robot.commands import HeldOrders
from yard_actors.robot.lifecycle import RobotStatus
from yard_actors.robot.risk import RiskGuard
from yard_actors.robot.snapshot import to_jsonable
from yard_actors.robot.timers import TimerSchedule
from yard_actors.wire.events import SessionState
from yard_actors.wire.instruments import Instrument, InstrumentTable

__all__ = ["SnapshotParts", "StateViews"]

# Values that are their own JSON form, exactly as to_jsonable returns them (a subclass of
# one, an IntEnum say, is not: it goes through to_jsonable).
_PLAIN = frozenset({str, int, float, bool, type(None)})
_UNBUILT: Any = object()  # the source of a part not built yet: never the same as a real one


class SnapshotParts:
    """One robot's snapshot parts that change rarely, each kept with what it was built from.

    Owned by the robot and used on the thread that runs it. A part is rebuilt when its
    source changed: typed params when the robot holds another params instance (a
    ``set_params`` control evolves a new one: params instances are immutable, as frozen
    attrs classes are), the working orders when any of the book's orders is another
    object (the book replaces an order to change it), the held orders when their count
    moved. Plain-dict params are converted on every call: the robot's code may change a
    dict in place.
    """

    def __init__(self, robot_class: type[Any], symbols: Sequence[str]) -> None:
        self.class_path = f"{robot_class.__module__}.{robot_class.__qualname__}"
        self.symbols = list(symbols)
        self._params: Any = _UNBUILT
        self._params_json: Any = None
        self._orders: tuple[WorkingOrder, ...] = ()
        self._orders_json: list[dict[str, Any]] = []
        self._held: HeldOrders | None = None
        self._held_count = 0
        self._held_json: dict[str, Any] = {}
        self._private: frozenset[str] = frozenset()  # attribute names known to start with "_"

    def params(self, params: Any, robot: str) -> Any:
        if params is self._params:
            return self._params_json
        converted = to_jsonable(params, f"{robot}.params")
        if type(params) is not dict and attrs.has(type(params)):  # immutable: kept
            self._params, self._params_json = params, converted
        return converted

    def open_orders(self, orders: Mapping[str, WorkingOrder]) -> list[dict[str, Any]]:
        kept = self._orders
        if len(orders) != len(kept) or not all(map(operator.is_, orders.values(), kept)):
            self._orders = tuple(orders.values())
            self._orders_json = [order.to_json() for order in self._orders]
        return self._orders_json

    def held(self, held: HeldOrders) -> dict[str, Any]:
        # each order held counts: the count moves with them
        if held is not self._held or held.count != self._held_count:
            self._held, self._held_count, self._held_json = held, held.count, held.to_json()
        return self._held_json

    def public_state(self, attributes: dict[str, Any], robot: str) -> dict[str, Any]:
        """The public attributes among ``attributes`` (a robot's ``vars``), sorted, JSON-able."""
        private = self._private
        names = [name for name in attributes.keys() - private if name[:1] != "_"]
        if len(attributes) - len(names) > len(private):  # private ones set since: skip them next
            self._private = frozenset(name for name in attributes if name[:1] == "_")
        names.sort()
        state = {}
        for name in names:
            value = attributes[name]
            state[name] = value if type(value) in _PLAIN else to_jsonable(value, f"{robot}.{name}")
        return state


class StateViews:
    """The robot's read-only API and its snapshot; the robot sets the attributes below."""

    _name: str
    _symbols: tuple[str, ...]
    _params: Any
    _instruments: InstrumentTable
    _sessions: dict[str, SessionState]
    _now: int
    _events: int
    _failed_at: int | None
    _order_seq: int
    _status: RobotStatus
    _error: str | None
    _traceback: str | None
    _last_refusal: str | None
    _book: Book
    _held: HeldOrders
    _risk: RiskGuard
    _timers: TimerSchedule
    _snapshot_parts: SnapshotParts

    @property
    def name(self) -> str:
        return self._name

    @property
    def params(self) -> Any:
        return self._params

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """The symbols this robot instance receives market data for."""
        return self._symbols

    def instrument(self, symbol: str) -> Instrument:
        """``symbol``'s tick, point value and lot, from the host's instrument table
        (``[instruments]`` in yard.toml); raise RobotError naming the symbols it knows."""
        instrument = self._instruments.get(symbol)
        if instrument is None:
            msg = (
                f"robot {self._name}: no instrument {symbol!r} in the instrument table "
                f"(it lists {', '.join(self._instruments)}); add it under [instruments]"
            )
            raise RobotError(msg)
        return instrument

    def session_open(self, symbol: str) -> bool:
        """Whether ``symbol``'s session was open at the last ``SessionStatus`` of it this
        robot heard (False before any): its instrument's own session when it has a
        ``schedule``, else the FORTS day (``InstrumentTable.session_of``). A status's
        ``session`` names its schedule, so ``on_session`` sees every session's changes;
        this is the one that gates ``symbol``'s orders at the paper exchange."""
        return self._sessions.get(self._instruments.session_of(symbol)) is SessionState.OPEN

    @property
    def now(self) -> int:
        """The ``ts`` of the event being handled: the robot's only clock."""
        return self._now

    @property
    def status(self) -> RobotStatus:
        return self._status

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def events_handled(self) -> int:
        """The events handed to :meth:`handle` so far (timers and controls included)."""
        return self._events

    @property
    def failed_at_event(self) -> int | None:
        """Which of those it failed on (1: the first; 0: in ``on_start``); None unless failed.

        A replay reads it once per run of events instead of the status after each one.
        """
        return self._failed_at

    @property
    def failure_traceback(self) -> str | None:
        return self._traceback

    @property
    def last_refusal(self) -> str | None:
        """Why the last control that could not be applied was refused; None if none was."""
        return self._last_refusal

    @property
    def open_order_count(self) -> int:
        """How many working orders the robot has (those with a cancel requested included)."""
        return len(self._book.orders)

    @property
    def held(self) -> HeldOrders:
        """The new orders held, not sent, while the robot was paused: a count, the last few."""
        return self._held

    @property
    def risk_refusals(self) -> dict[str, int]:
        """Commands and ``set_params`` refused by each risk limit, by limit name."""
        return self._risk.refusals

    def state(self) -> dict[str, Any]:
        """The robot's own state for :meth:`snapshot`; by default its public attributes."""
        return self._snapshot_parts.public_state(vars(self), self._name)

    def snapshot(self) -> dict[str, Any]:
        """The whole state, JSON-able: equal snapshots mean equal robots.

        Read it, do not change it: its unchanged parts are shared with the snapshots
        before and after it (module docstring).
        """
        parts = self._snapshot_parts
        book = self._book
        positions = book.positions
        return {
            "name": self._name,
            "class": parts.class_path,
            "status": self._status.value,
            "now": self._now,
            "events": self._events,
            "order_seq": self._order_seq,
            "symbols": parts.symbols,
            "params": parts.params(self._params, self._name),
            "positions": {s: p.to_json() for s, p in sorted(positions.items())},
            "open_orders": parts.open_orders(book.orders),
            "pnl": str(book.realized_pnl) if positions else "0",
            "error": self._error,
            "last_refusal": self._last_refusal,
            "held": parts.held(self._held),
            "risk": self._risk.to_json(),
            "state": self.state(),
            "timers": self._timers.to_json() if self._timers else {},
        }
