"""Trading session schedules as data, and the session events a replay needs.

A robot or the paper exchange learns that trading opened, paused for clearing
or closed from :class:`~yard_actors.wire.events.SessionStatus` events. Recorded
market data does not carry them, so :func:`with_sessions` puts them back into
the stream, at the instants the schedule says, whenever the data's own time
crosses a boundary: the stream's time is the only clock, so a replay at any
speed sees the same states at the same events.

:data:`FORTS` is the Moscow Exchange derivatives market's day in Moscow time
(UTC+3, no summer time since 2014), Monday to Friday, holidays not included:

======  ======  ========  =================================================
start   end     state     what
======  ======  ========  =================================================
09:00   10:00   open      morning session (left out by ``forts_schedule(morning=False)``)
10:00   14:00   open      main session, first part
14:00   14:05   clearing  intraday clearing
14:05   18:45   open      main session, second part
18:45   19:05   clearing  evening clearing
19:05   23:50   open      evening session
======  ======  ========  =================================================

Time the table leaves out is ``closed``. Adjacent windows of the same state
are one state: there is no event at 10:00 when the morning session runs on
into the main one.

An instrument with a ``schedule`` of its own (``[instruments.NG] schedule =
"10:00-14:00"``) trades in a session of its own, named after its symbol
(:func:`schedule_of`); :func:`with_instrument_sessions` adds its changes to the
stream beside the FORTS ones, from its first event on.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from typing import Protocol, TypeVar

import attrs

from yard_actors.errors import ConfigError
from yard_actors.wire.events import SessionState, SessionStatus
from yard_actors.wire.instruments import DEFAULT_SESSION, Instrument, open_windows

__all__ = [
    "FORTS",
    "SessionSchedule",
    "SessionWindow",
    "forts_schedule",
    "schedule_of",
    "with_instrument_sessions",
    "with_sessions",
]

_MINUTE_NS = 60 * 10**9
_DAY_MINUTES = 24 * 60
_EPOCH = date(1970, 1, 1).toordinal()
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
_HHMM = re.compile(r"([01]\d|2[0-4]):([0-5]\d)", re.ASCII)

Entry = tuple[str, str, SessionState | str]
"""A schedule entry as written: ``("14:00", "14:05", "clearing")``."""


@attrs.frozen
class SessionWindow:
    """``state`` from ``start`` up to (not including) ``end``, in minutes after local midnight."""

    start: int
    end: int
    state: SessionState

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)} {self.state.value}"


def _check_windows(
    instance: object, attribute: attrs.Attribute[tuple[SessionWindow, ...]], value: object
) -> None:
    if not isinstance(value, tuple) or not all(isinstance(w, SessionWindow) for w in value):
        msg = f"windows must be a tuple of SessionWindow, was {value!r}"
        raise ConfigError(msg)
    for window in value:
        if not 0 <= window.start < window.end <= _DAY_MINUTES:
            msg = f"session window {window} must start before it ends, within one day"
            raise ConfigError(msg)
    for before, after in itertools.pairwise(value):
        if after.start < before.end:
            msg = f"session window {after} overlaps {before}, or comes before it"
            raise ConfigError(msg)


def _check_days(
    instance: object, attribute: attrs.Attribute[frozenset[int]], value: object
) -> None:
    if not isinstance(value, frozenset) or not value <= frozenset(range(7)):
        msg = f"trading_days must be weekday numbers 0 (Monday) to 6 (Sunday), was {value!r}"
        raise ConfigError(msg)


@attrs.frozen(kw_only=True)
class SessionSchedule:
    """A trading day's session windows in local time, the same every trading day.

    ``utc_offset_minutes`` is local time minus UTC (a fixed offset: exchanges
    keep their clocks off summer time, or the schedule is rebuilt when they
    change). Days not in ``trading_days`` (0 is Monday) are closed all day.
    """

    windows: tuple[SessionWindow, ...] = attrs.field(validator=_check_windows)
    utc_offset_minutes: int = 180
    trading_days: frozenset[int] = attrs.field(default=frozenset(range(5)), validator=_check_days)
    _day: tuple[tuple[int, SessionState], ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_day", _segments(self.windows))

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[Entry],
        *,
        utc_offset_minutes: int = 180,
        trading_days: Iterable[int] = range(5),
    ) -> SessionSchedule:
        """Build from ``(start "HH:MM", end "HH:MM", state)`` entries, in any order.

        Raises :class:`~yard_actors.errors.ConfigError` naming the entry that is wrong.
        """
        windows = [_window(number, entry) for number, entry in enumerate(entries, start=1)]
        return cls(
            windows=tuple(sorted(windows, key=lambda window: window.start)),
            utc_offset_minutes=utc_offset_minutes,
            trading_days=frozenset(trading_days),
        )

    def state_at(self, ts: int) -> SessionState:
        """The state at ``ts`` (UTC ns): a window holds from its start up to its end."""
        day, minute_ns = divmod(
            ts + self.utc_offset_minutes * _MINUTE_NS, _DAY_MINUTES * _MINUTE_NS
        )
        if (day + _EPOCH_WEEKDAY) % 7 not in self.trading_days:
            return SessionState.CLOSED
        state = SessionState.CLOSED
        for start, segment_state in self._day:
            if start * _MINUTE_NS > minute_ns:
                break
            state = segment_state
        return state

    def changes(self, after: int) -> Iterator[tuple[int, SessionState]]:
        """Every later instant (UTC ns, ``> after``) at which the state changes, and the new state.

        Endless for a schedule that ever opens; empty for one that never does.
        """
        if not self.trading_days or all(s is SessionState.CLOSED for _, s in self._day):
            return
        state = self.state_at(after)
        day = (after + self.utc_offset_minutes * _MINUTE_NS) // (_DAY_MINUTES * _MINUTE_NS)
        while True:
            trading = (day + _EPOCH_WEEKDAY) % 7 in self.trading_days
            for start, new in self._day if trading else ((0, SessionState.CLOSED),):
                instant = self._utc_ns(day, start)
                if instant > after and new is not state:
                    state = new
                    yield instant, new
            day += 1

    def day_bounds(self, day: date) -> tuple[int, int]:
        """Local midnight at the start and at the end of ``day``, in UTC ns."""
        number = day.toordinal() - _EPOCH
        return self._utc_ns(number, 0), self._utc_ns(number + 1, 0)

    def windows_on(
        self, day: date, state: SessionState = SessionState.OPEN
    ) -> list[tuple[int, int]]:
        """The stretches of ``day`` in ``state`` as ``(start, end)`` UTC ns; touching ones join."""
        if day.weekday() not in self.trading_days:
            return []
        number = day.toordinal() - _EPOCH
        ends = [start for start, _ in self._day[1:]] + [_DAY_MINUTES]
        return [
            (self._utc_ns(number, start), self._utc_ns(number, end))
            for (start, segment_state), end in zip(self._day, ends, strict=True)
            if segment_state is state
        ]

    def _utc_ns(self, day: int, minute: int) -> int:
        return (day * _DAY_MINUTES + minute - self.utc_offset_minutes) * _MINUTE_NS


def forts_schedule(*, morning: bool = True) -> SessionSchedule:
    """The FORTS day of the table above; ``morning=False`` leaves the morning session out."""
    entries: list[Entry] = [
        ("10:00", "14:00", SessionState.OPEN),
        ("14:00", "14:05", SessionState.CLEARING),
        ("14:05", "18:45", SessionState.OPEN),
        ("18:45", "19:05", SessionState.CLEARING),
        ("19:05", "23:50", SessionState.OPEN),
    ]
    if morning:
        entries.insert(0, ("09:00", "10:00", SessionState.OPEN))
    return SessionSchedule.from_entries(entries)


class _Timed(Protocol):
    @property
    def ts(self) -> int: ...


_E = TypeVar("_E", bound=_Timed)


def with_sessions(
    events: Iterable[_E],
    schedule: SessionSchedule,
    session: str = DEFAULT_SESSION,
    *,
    until: int | None = None,
) -> Iterator[_E | SessionStatus]:
    """Pass ``events`` (time-ordered, each with ``ts``) through, adding the session's changes.

    First comes the state at the first event's time, stamped with that time;
    then, before each event, one :class:`SessionStatus` for every boundary at
    or before it, stamped with the boundary instant. Events stamped exactly on
    a boundary come after its status. With ``until`` (UTC ns), the boundaries
    after the last event up to ``until`` follow it, so a day can end closed.
    An event earlier than the one before it passes through without changes.
    """
    stream = iter(events)
    first = next(stream, None)
    if first is None:
        return
    yield SessionStatus(ts=first.ts, session=session, state=schedule.state_at(first.ts))
    changes = schedule.changes(first.ts)
    boundary = next(changes, None)
    yield first
    for event in stream:
        while boundary is not None and boundary[0] <= event.ts:
            yield SessionStatus(ts=boundary[0], session=session, state=boundary[1])
            boundary = next(changes, None)
        yield event
    while boundary is not None and until is not None and boundary[0] <= until:
        yield SessionStatus(ts=boundary[0], session=session, state=boundary[1])
        boundary = next(changes, None)


def schedule_of(instrument: Instrument) -> SessionSchedule:
    """The schedule ``instrument`` trades by: its own (Moscow time, Monday to Friday, open
    in its stretches, closed between), or :data:`FORTS` when it has none."""
    if instrument.schedule is None:
        return FORTS
    windows = open_windows(instrument.schedule)
    return SessionSchedule(
        windows=tuple(SessionWindow(start, end, SessionState.OPEN) for start, end in windows)
    )


class _Session:
    """One session's clock in a stream: its next change, and the ones after it."""

    def __init__(self, name: str, schedule: SessionSchedule, ts: int) -> None:
        self.name = name
        self.opening = SessionStatus(ts=ts, session=name, state=schedule.state_at(ts))
        self._changes = schedule.changes(ts)
        self.due = next(self._changes, None)

    def take(self) -> SessionStatus:
        assert self.due is not None
        status = SessionStatus(ts=self.due[0], session=self.name, state=self.due[1])
        self.due = next(self._changes, None)
        return status


def with_instrument_sessions(
    events: Iterable[_E],
    own: Mapping[str, tuple[str, SessionSchedule]],
    *,
    until: int | None = None,
) -> Iterator[_E | SessionStatus]:
    """:func:`with_sessions` for FORTS and the sessions of instruments with their own.

    ``own`` maps a symbol to its session's name and schedule. The FORTS session
    starts with the first event, as in :func:`with_sessions`; each of ``own`` at
    the first event of one of its symbols, with its state then, just before that
    event. Before each event come the changes of every started session at or
    before it, in time order (at one instant, in the order the sessions
    started). With ``until``, every started session's changes up to it follow
    the last event. With ``own`` empty this is :func:`with_sessions` over FORTS.
    """
    stream = iter(events)
    first = next(stream, None)
    if first is None:
        return
    started = [_Session(DEFAULT_SESSION, FORTS, first.ts)]
    names = {DEFAULT_SESSION}
    yield started[0].opening
    for event in itertools.chain((first,), stream):
        yield from _due(started, event.ts)
        mine = own.get(getattr(event, "symbol", ""))
        if mine is not None and mine[0] not in names:
            names.add(mine[0])
            started.append(_Session(mine[0], mine[1], event.ts))
            yield started[-1].opening
        yield event
    if until is not None:
        yield from _due(started, until)


def _due(sessions: list[_Session], ts: int) -> Iterator[SessionStatus]:
    """The changes of ``sessions`` at or before ``ts``, earliest first (ties: list order)."""
    while waiting := [
        (session.due[0], number)
        for number, session in enumerate(sessions)
        if session.due is not None and session.due[0] <= ts
    ]:
        yield sessions[min(waiting)[1]].take()


def _window(number: int, entry: object) -> SessionWindow:
    if not isinstance(entry, tuple | list) or len(entry) != 3:
        msg = f"Session schedule entry {number} must be (start, end, state), was {entry!r}."
        raise ConfigError(msg)
    start, end = _minutes(number, entry, entry[0]), _minutes(number, entry, entry[1])
    try:
        state = SessionState(entry[2])
    except ValueError:
        states = ", ".join(s.value for s in SessionState)
        msg = f"Session schedule entry {number} {entry!r} has state {entry[2]!r}; use {states}."
        raise ConfigError(msg) from None
    if start >= end:
        msg = (
            f"Session schedule entry {number} {entry!r} does not end after it starts; "
            "split a window that runs past midnight in two."
        )
        raise ConfigError(msg)
    return SessionWindow(start, end, state)


def _minutes(number: int, entry: object, text: object) -> int:
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    minutes = int(match[1]) * 60 + int(match[2]) if match else -1
    if not 0 <= minutes <= _DAY_MINUTES:
        msg = f"Session schedule entry {number} {entry!r} has {text!r}, not a time HH:MM."
        raise ConfigError(msg)
    return minutes


def _segments(windows: tuple[SessionWindow, ...]) -> tuple[tuple[int, SessionState], ...]:
    """The whole day as ``(start minute, state)``: gaps closed, equal neighbours joined."""
    segments: list[tuple[int, SessionState]] = []
    minute = 0
    for window in (*windows, SessionWindow(_DAY_MINUTES, _DAY_MINUTES + 1, SessionState.CLOSED)):
        if window.start > minute:
            segments.append((minute, SessionState.CLOSED))
        segments.append((window.start, window.state))
        minute = window.end
    joined = [segments[0]]
    for start, state in segments[1:]:
        if state is not joined[-1][1] and start < _DAY_MINUTES:
            joined.append((start, state))
    return tuple(joined)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


FORTS = forts_schedule()
"""The Moscow Exchange derivatives market's day, morning session included."""
