"""The timer requests a robot makes: ``every``, ``at``, ``cancel_timer``.

A base of :class:`~yard_actors.robot.robot.Robot`, apart from it so the class traders
subclass stays handlers and dispatch; the rules of the schedule itself are in
:mod:`yard_actors.robot.timers`.
"""

from __future__ import annotations

from yard_actors.robot.timers import TimerSchedule

__all__ = ["TimerRequests"]


class TimerRequests:
    """Ask for timers; the robot sets ``_timers``, ``_events`` and ``_now``."""

    _timers: TimerSchedule
    _events: int
    _now: int

    def every(self, name: str, interval_ms: int) -> None:
        """Have :meth:`on_timer` run every ``interval_ms`` of event time, first that long from now.

        Asked before the first event (in :meth:`on_start`), it counts from the first
        event. Asking again for ``name`` replaces that timer. Raises :class:`RobotError`
        for a bad name or interval.
        """
        self._timers.every(name, interval_ms, self._asked_at())

    def at(self, name: str, time_of_day: str, tz: str = "Europe/Moscow") -> None:
        """Have :meth:`on_timer` run each day at ``time_of_day`` local time in ``tz``.

        ``time_of_day`` is ``"HH:MM"`` or ``"HH:MM:SS"``; the first time is the first
        one strictly after now (after the first event, if asked before it). Asking
        again for ``name`` replaces that timer. Raises :class:`RobotError` for a bad
        name, time or zone.
        """
        self._timers.at(name, time_of_day, tz, self._asked_at())

    def cancel_timer(self, name: str) -> bool:
        """Remove timer ``name``; False if there was none. Its due events are then ignored."""
        return self._timers.cancel(name)

    @property
    def timer_schedule(self) -> dict[str, int | None]:
        """Each timer's next due event time, by name; None until the first event anchors it."""
        return self._timers.next_dues()

    def _asked_at(self) -> int | None:
        return None if self._events == 0 else self._now
