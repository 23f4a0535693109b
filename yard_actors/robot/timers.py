"""Timers in event time: the schedule a robot keeps, and how whoever feeds it fires them.

A robot asks for timers with :meth:`~yard_actors.robot.robot.Robot.every` and
:meth:`~yard_actors.robot.robot.Robot.at`. The schedule is part of the robot's state
(and of its snapshot, under ``"timers"``) and changes only while the robot
handles events, so a replay rebuilds it exactly. The robot never fires a timer
itself: whoever feeds it (the actor, the test harness) calls
:func:`fire_due_timers` before each event, which hands the robot one
:class:`~yard_actors.wire.events.Timer` event per due occurrence. The actor journals
those like any event, so a replay reads them back from the journal and never
computes a timer. There is no wall clock anywhere: only event time.

This module does not import the robot (which holds a :class:`TimerSchedule`):
:func:`fire_due_timers` takes anything that is a :class:`TimerSource`.

The rules:

* ``every(name, interval_ms)`` is first due ``interval_ms`` after the event time
  it was asked at, then every ``interval_ms`` after that. ``at(name, "HH:MM[:SS]", tz)``
  is due each day at that local time (zoneinfo resolves the offset and daylight
  saving), first strictly after the time it was asked at. Asked before the
  robot's first event (in ``on_start``), a timer counts from that first event.
* An occurrence due at ``t`` is delivered with ``ts=t``, before the first event
  whose ``ts`` is ``t`` or later; several due at once go in due order, ties by name.
* Catch-up: after a gap every missed occurrence fires once, but at most
  :data:`MAX_CATCH_UP` per timer before one event: when more are due, the older
  ones are skipped (with a warning) and the latest :data:`MAX_CATCH_UP` fire.
* Asking again for a name replaces that timer; ``cancel_timer`` removes it.
* Handling a Timer moves its schedule past it (``every``: due + interval; ``at``:
  the next day) and then, if the robot is running, calls ``on_timer``. A Timer
  that is not an occurrence of its timer at or after the next due one (the timer
  was cancelled or replaced, or the event was not made from the schedule) is
  ignored with a warning and reaches no handler.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from yard_actors.errors import RobotError
from yard_actors.wire.events import Timer

__all__ = ["MAX_CATCH_UP", "TimerSchedule", "TimerSource", "fire_due_timers"]

logger = logging.getLogger(__name__)

#: The most occurrences of one timer delivered before one event; older ones are skipped.
MAX_CATCH_UP = 1_000
# A bound on the Timer events handed over before one event, against handlers that keep
# setting new timers already due; whatever is left fires before the next event.
_MAX_FIRINGS = 100 * MAX_CATCH_UP

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
_MAX_INTERVAL_MS = 365 * 24 * 3600 * 1000
_MAX_NAME = 128
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME_OF_DAY = re.compile(r"(\d\d):(\d\d)(?::(\d\d))?")


@attrs.frozen
class _Every:
    interval_ms: int

    def after(self, ts: int) -> int:
        """The occurrence that follows one at (or a request made at) ``ts``."""
        return ts + self.interval_ms * _NS_PER_MS

    def is_occurrence(self, ts: int, due: int) -> bool:
        return ts >= due and (ts - due) % (self.interval_ms * _NS_PER_MS) == 0

    def occurrences(self, due: int, ts: int) -> Sequence[int]:
        """Occurrences from ``due`` up to ``ts``: the latest MAX_CATCH_UP of them."""
        step = self.interval_ms * _NS_PER_MS
        count = (ts - due) // step + 1
        return range(due + max(0, count - MAX_CATCH_UP) * step, ts + 1, step)

    def count(self, due: int, ts: int) -> int:
        """How many occurrences fall in ``[due, ts)``."""
        return (ts - due) // (self.interval_ms * _NS_PER_MS)

    def to_json(self) -> dict[str, Any]:
        return {"every_ms": self.interval_ms}


@attrs.frozen
class _Daily:
    time_of_day: time
    zone: ZoneInfo

    def after(self, ts: int) -> int:
        """The first occurrence strictly after ``ts``."""
        day = datetime.fromtimestamp(ts // _NS_PER_S, tz=self.zone).date()
        for offset in range(3):  # today, tomorrow, or the day after a skipped local day
            local = datetime.combine(day + timedelta(days=offset), self.time_of_day, self.zone)
            due = (local - _EPOCH) // timedelta(seconds=1) * _NS_PER_S
            if due > ts:
                return due
        msg = f"no occurrence of {self.time_of_day} {self.zone.key} within two days of {ts}"
        raise AssertionError(msg)

    def is_occurrence(self, ts: int, due: int) -> bool:
        return ts >= due and self.after(ts - 1) == ts

    def occurrences(self, due: int, ts: int) -> Sequence[int]:
        kept: deque[int] = deque(maxlen=MAX_CATCH_UP)
        while due <= ts:
            kept.append(due)
            due = self.after(due)
        return list(kept)

    def count(self, due: int, ts: int) -> int:
        skipped = 0
        while due < ts:
            skipped += 1
            due = self.after(due)
        return skipped

    def to_json(self) -> dict[str, Any]:
        return {"at": self.time_of_day.isoformat(), "tz": self.zone.key}


@attrs.frozen
class _Entry:
    rule: _Every | _Daily
    next_due: int | None  # None: asked before the robot's first event, which anchors it


class TimerSchedule:
    """One robot's timers: pure state, changed only by its robot while it handles events."""

    def __init__(self, robot: str) -> None:
        self._robot = robot
        self._entries: dict[str, _Entry] = {}
        self._unanchored = False

    def __bool__(self) -> bool:
        return bool(self._entries)

    # --- asked for by the robot's handlers -------------------------------------------------------

    def every(self, name: str, interval_ms: int, asked_at: int | None) -> None:
        """Set ``name`` to fire every ``interval_ms``; ``asked_at`` None: from the first event."""
        self._check_name(name)
        if type(interval_ms) is not int or not 0 < interval_ms <= _MAX_INTERVAL_MS:
            msg = (
                f"robot {self._robot}: timer {name!r}: interval_ms must be a whole number of "
                f"milliseconds from 1 to {_MAX_INTERVAL_MS:,} (365 days), was {interval_ms!r}"
            )
            raise RobotError(msg)
        self._set(name, _Every(interval_ms), asked_at)

    def at(self, name: str, time_of_day: str, tz: str, asked_at: int | None) -> None:
        """Set ``name`` to fire each day at ``time_of_day`` in ``tz``."""
        self._check_name(name)
        self._set(name, _Daily(self._parse_time(name, time_of_day), self._zone(name, tz)), asked_at)

    def cancel(self, name: str) -> bool:
        return self._entries.pop(name, None) is not None

    # --- driven by the robot's events ------------------------------------------------------------

    def anchor(self, now: int) -> None:
        """Start the timers asked for before the first event from ``now``, that event's time."""
        if not self._unanchored:
            return
        self._unanchored = False
        for name, entry in self._entries.items():
            if entry.next_due is None:
                self._entries[name] = _Entry(entry.rule, entry.rule.after(now))

    def take(self, timer: Timer) -> bool:
        """Move the schedule past ``timer``; False if it is not an occurrence to take."""
        entry = self._entries.get(timer.name)
        due = None if entry is None else entry.next_due
        if (
            entry is None
            or due is None
            or timer.robot != self._robot
            or not entry.rule.is_occurrence(timer.ts, due)
        ):
            logger.warning(
                "robot %s ignored timer %r at %d: it is not an occurrence of that timer due "
                "now (next due: %s); it was cancelled or replaced, or not made from the schedule",
                self._robot,
                timer.name,
                timer.ts,
                due,
            )
            return False
        skipped = entry.rule.count(due, timer.ts)
        if skipped:
            logger.warning(
                "robot %s skipped %d occurrences of timer %r due from %d: more than %d were "
                "due at once, so only the latest %d fire",
                self._robot,
                skipped,
                timer.name,
                due,
                MAX_CATCH_UP,
                MAX_CATCH_UP,
            )
        self._entries[timer.name] = _Entry(entry.rule, entry.rule.after(timer.ts))
        return True

    # --- read by whoever feeds the robot ---------------------------------------------------------

    def due(self, ts: int, limit: int | None = None) -> list[Timer]:
        """The Timer events due at or before ``ts``, in due order, ties by name; no change."""
        if not self._entries:
            return []
        due: list[tuple[int, str]] = []
        for name, entry in self._entries.items():
            if entry.next_due is not None and entry.next_due <= ts:
                occurrences = entry.rule.occurrences(entry.next_due, ts)[:limit]
                due.extend((at, name) for at in occurrences)
        due.sort()
        return [Timer(ts=at, robot=self._robot, name=name) for at, name in due[:limit]]

    def horizon(self, now: int) -> int:
        """No timer falls due before this while events up to it are handled from ``now`` on.

        A timer set, replaced or anchored at event time ``t >= now`` is due 1 ms
        later at the earliest (``every``), or at the next whole second (``at``).
        """
        bound = min(now + _NS_PER_MS, (now // _NS_PER_S + 1) * _NS_PER_S)
        dues = [e.next_due for e in self._entries.values() if e.next_due is not None]
        return min(bound, *dues) if dues else bound

    def next_dues(self) -> dict[str, int | None]:
        return {name: self._entries[name].next_due for name in sorted(self._entries)}

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {
            name: {**entry.rule.to_json(), "next_due": entry.next_due}
            for name, entry in sorted(self._entries.items())
        }

    # --- helpers ---------------------------------------------------------------------------------

    def _set(self, name: str, rule: _Every | _Daily, asked_at: int | None) -> None:
        self._entries[name] = _Entry(rule, None if asked_at is None else rule.after(asked_at))
        self._unanchored = self._unanchored or asked_at is None

    def _check_name(self, name: str) -> None:
        if type(name) is not str or not 0 < len(name) <= _MAX_NAME:
            msg = (
                f"robot {self._robot}: a timer name must be a non-empty string of at most "
                f"{_MAX_NAME} characters, was {name!r}"
            )
            raise RobotError(msg)

    def _parse_time(self, name: str, time_of_day: str) -> time:
        match = _TIME_OF_DAY.fullmatch(time_of_day) if type(time_of_day) is str else None
        try:
            if match is None:
                raise ValueError(time_of_day)
            hour, minute, second = (int(part or 0) for part in match.groups())
            return time(hour, minute, second)
        except ValueError:
            msg = (
                f"robot {self._robot}: timer {name!r}: time_of_day must be 'HH:MM' or "
                f"'HH:MM:SS' on a 24-hour clock, was {time_of_day!r}"
            )
            raise RobotError(msg) from None

    def _zone(self, name: str, tz: str) -> ZoneInfo:
        try:
            if type(tz) is not str:
                raise ValueError(tz)
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            msg = (
                f"robot {self._robot}: timer {name!r}: tz must be an IANA time zone such as "
                f"'Europe/Moscow', was {tz!r} (without a system time-zone database, install "
                "the tzdata package)"
            )
            raise RobotError(msg) from None


class TimerSource(Protocol):
    """What :func:`fire_due_timers` needs of a robot; :class:`~yard_actors.robot.Robot` is one."""

    @property
    def name(self) -> str:
        """The robot's name, for the log."""

    def due_timers(self, ts: int, limit: int | None = None) -> list[Timer]:
        """The Timer events due at or before ``ts``, in due order; at most ``limit``."""


def fire_due_timers(robot: TimerSource, ts: int, deliver: Callable[[Timer], object]) -> int:
    """Hand ``deliver`` each of ``robot``'s timers due at or before ``ts``, in due order.

    Call it before handing the robot an event with ``ts``, on the thread that
    feeds the robot. ``deliver`` must pass the timer to the robot's ``handle``
    (the actor journals it first): each timer is asked for only after the one
    before it was handled, because a handler may set, replace or cancel timers.
    Returns how many timers were delivered.
    """
    fired = 0
    while due := robot.due_timers(ts, limit=1):
        if fired == _MAX_FIRINGS:
            logger.warning(
                "robot %s: stopped after %d timers due before %d; the rest fire before the "
                "next event (do its handlers keep setting timers that are already due?)",
                robot.name,
                fired,
                ts,
            )
            break
        deliver(due[0])
        fired += 1
    return fired
