"""RobotHarness: drive one robot directly on the test's thread."""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

import attrs

from yard_actors.errors import RobotError
from yard_actors.journal.rebuild import spec_instruments
from yard_actors.robot.loader import load_robot_class
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
from yard_actors.testing.journal_slice import journaled_steps
from yard_actors.wire.codec import decode
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


@attrs.frozen(kw_only=True)
class RecordedStep:
    """An event of a journal slice and the commands the live robot journaled for it."""

    seq: int
    event: Event
    commands: tuple[Command, ...]


R = TypeVar("R", bound=Robot)


class RobotHarness(Generic[R]):
    """Drive one robot directly: every method feeds one event and returns the commands.

    Generic in the robot's class, so a test reads its own robot's attributes typed:
    ``RobotHarness(MyRobot).robot`` is a ``MyRobot`` to a type checker.

    Event times start at ``start_ts`` and advance by ``step_ns`` per event the
    harness builds, so tests need not invent timestamps. Like the actor, the
    harness first delivers the robot's timers due at or before each event's
    ``ts``; they are in :attr:`events` (so :meth:`replay` stays exact), and their
    commands come first in what the call returns. ``limits``: the risk limits to test
    the robot under (none by default; a config-built host has yard's defaults).
    """

    def __init__(
        self,
        robot_class: type[R],
        *,
        name: str = "robot",
        params: Any = None,
        symbols: Sequence[str] | None = None,
        instruments: InstrumentTable | None = None,
        start_ts: int = DEFAULT_START_TS,
        step_ns: int = 1_000_000,
        limits: RiskLimits | None = None,
    ) -> None:
        def build() -> R:
            return robot_class(
                name, params=params, symbols=symbols, instruments=instruments, limits=limits
            )

        self._build = build
        self.robot: R = self._build()
        self.name = name
        self.ts = start_ts
        self._step = step_ns
        self.events: list[Event] = []
        self.commands: list[Command] = []
        self.recorded: list[RecordedStep] = []

    @classmethod
    def from_journal(
        cls,
        path: str | os.PathLike[str],
        robot: str,
        *,
        start: int,
        end: int,
        robot_class: type[Robot] | None = None,
        instruments: InstrumentTable | None = None,
    ) -> RobotHarness[Robot]:
        """A harness whose robot is ``robot`` of a journal rebuilt up to event seq ``start``.

        ``path``: a journal directory, or a slice ``yard replay --export-test`` wrote. The
        robot is built from its journaled spec (``robot_class`` in place of its class, if
        given) and fed its events before ``start``; its events from ``start`` to ``end``
        are in :attr:`recorded` with the commands the live robot journaled, for the test to
        feed with :meth:`feed_journaled` and compare. Raises
        :class:`~yard_actors.errors.YardError` for a journal without the robot.
        """
        source = journaled_steps(
            path, robot, start=start, end=end, robot_class=robot_class, instruments=instruments
        )
        spec = source.spec or {}
        build = cast("type[RobotHarness[Robot]]", cls)  # the class is known at run time only
        harness = build(
            robot_class or load_robot_class(str(spec["class"])),
            name=robot,
            params=spec.get("params"),
            symbols=spec.get("symbols"),
            instruments=instruments if instruments is not None else spec_instruments(spec),
            limits=RiskLimits(**spec["limits"]) if spec.get("limits") else None,
        )
        for step in source.steps:
            if step.part == "prefix":
                harness.feed_journaled(step.event)
            else:
                commands = tuple(decode(payload) for payload in step.journaled)
                harness.recorded.append(
                    RecordedStep(seq=step.seq, event=step.event, commands=commands)  # type: ignore[arg-type]
                )
        return harness

    def feed_journaled(self, event: Event) -> list[Command]:
        """Deliver ``event`` alone, no timers first: a journal holds its timers as events."""
        return self._handle(event)

    def _next_ts(self) -> int:
        self.ts += self._step
        return self.ts

    def feed(self, event: Event) -> list[Command]:
        """Deliver the timers due by ``event.ts``, then ``event``; return all their commands."""
        # A control's ts is its sender's wall clock: it fires no timer (as in a host).
        out: list[Command] = [] if type(event) is Control else self.advance_to(event.ts)
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
