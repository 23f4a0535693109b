"""RobotHarness: drive one robot directly on the test's thread."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from yard_actors.errors import RobotError
from yard_actors.robot.risk import RiskLimits
from yard_actors.robot.robot import Robot
from yard_actors.robot.timers import fire_due_timers
from yard_actors.testing.builders import (
    DEFAULT_START_TS,
    accepted,
    cancelled,
    filled,
    quote,
    rejected,
    tick,
)
from yard_actors.wire.events import (
    Command,
    Control,
    ControlAction,
    Event,
    NewOrder,
    SessionState,
    SessionStatus,
    Side,
)
from yard_actors.wire.instruments import InstrumentTable


class RobotHarness:
    """Drive one robot directly: every method feeds one event and returns the commands.

    Event times start at ``start_ts`` and advance by ``step_ns`` per event the
    harness builds, so tests need not invent timestamps. Like the actor, the
    harness first delivers the robot's timers due at or before each event's
    ``ts``; they are in :attr:`events` (so :meth:`replay` stays exact), and their
    commands come first in what the call returns. ``limits``: the risk limits to test
    the robot under (none by default; a config-built host has yard's defaults).
    """

    def __init__(
        self,
        robot_class: type[Robot],
        *,
        name: str = "robot",
        params: Any = None,
        symbols: Sequence[str] | None = None,
        instruments: InstrumentTable | None = None,
        start_ts: int = DEFAULT_START_TS,
        step_ns: int = 1_000_000,
        limits: RiskLimits | None = None,
    ) -> None:
        def build() -> Robot:
            return robot_class(
                name, params=params, symbols=symbols, instruments=instruments, limits=limits
            )

        self._build = build
        self.robot = self._build()
        self.name = name
        self.ts = start_ts
        self._step = step_ns
        self.events: list[Event] = []
        self.commands: list[Command] = []

    def _next_ts(self) -> int:
        self.ts += self._step
        return self.ts

    def feed(self, event: Event) -> list[Command]:
        """Deliver the timers due by ``event.ts``, then ``event``; return all their commands."""
        out = self.advance_to(event.ts)
        out.extend(self._handle(event))
        return out

    def advance_to(self, ts: int) -> list[Command]:
        """Deliver every timer due at or before ``ts``, as if an event at ``ts`` came next."""
        out: list[Command] = []
        fire_due_timers(self.robot, ts, lambda timer: out.extend(self._handle(timer)))
        self.ts = max(self.ts, ts)
        return out

    def _handle(self, event: Event) -> list[Command]:
        self.events.append(event)
        self.ts = max(self.ts, event.ts)
        out = self.robot.handle(event)
        self.commands.extend(out)
        return out

    def quote(
        self,
        symbol: str,
        bid: Decimal | int | str,
        ask: Decimal | int | str,
        bid_size: int = 10,
        ask_size: int = 10,
    ) -> list[Command]:
        return self.feed(
            quote(symbol, bid, ask, bid_size=bid_size, ask_size=ask_size, ts=self._next_ts())
        )

    def tick(
        self, symbol: str, price: Decimal | int | str, qty: int = 1, aggressor: Side = Side.BUY
    ) -> list[Command]:
        return self.feed(tick(symbol, price, qty, aggressor=aggressor, ts=self._next_ts()))

    def accept(self, order: NewOrder) -> list[Command]:
        return self.feed(accepted(order, ts=self._next_ts()))

    def reject(self, order: NewOrder, reason: str = "rejected by test") -> list[Command]:
        return self.feed(rejected(order, reason, ts=self._next_ts()))

    def cancel_done(self, order: NewOrder, *, done: bool = True) -> list[Command]:
        return self.feed(cancelled(order, ts=self._next_ts(), done=done))

    def fill(
        self,
        order: NewOrder,
        qty: int | None = None,
        price: Decimal | int | str | None = None,
        fee: Decimal | int | str = 0,
    ) -> list[Command]:
        return self.feed(
            filled(
                order,
                qty,
                price,
                fee=fee,
                ts=self._next_ts(),
                trade_id=f"t-{self.name}-{len(self.events) + 1}",
            )
        )

    def timer(self, name: str) -> list[Command]:
        """Advance to timer ``name``'s next due time: it fires, after any timer due before it."""
        timers = self.robot.timer_schedule
        if name not in timers:
            msg = f"robot {self.name} has no timer {name!r}; set it with every() or at() first"
            raise RobotError(msg)
        due = timers[name]
        if due is None:
            msg = (
                f"timer {name!r} of robot {self.name} starts at the robot's first event "
                "(it was set before any); feed an event first"
            )
            raise RobotError(msg)
        return self.advance_to(due)

    def control(self, action: ControlAction | str, **params: Any) -> list[Command]:
        return self.feed(
            Control(
                ts=self._next_ts(), robot=self.name, action=ControlAction(action), params=params
            )
        )

    def session(self, state: SessionState | str, session: str = "FORTS") -> list[Command]:
        return self.feed(
            SessionStatus(ts=self._next_ts(), session=session, state=SessionState(state))
        )

    def snapshot(self) -> dict[str, Any]:
        return self.robot.snapshot()

    def replay(self) -> tuple[Robot, list[Command]]:
        """Feed every event so far into a fresh robot; return it and its commands."""
        fresh = self._build()
        commands = [command for event in self.events for command in fresh.handle(event)]
        return fresh, commands
