"""``yard run``'s live progress: one line that fits the terminal it is drawn on.

The line holds, in this order of importance: how far the feed is (a bar, the percentage
and the count of market events), the market clock (the time of the last event out, UTC),
and the pace: at real-time speeds the time left, which the data's clock fixes; at full
speed (market time) the events a second and the time left at that rate. What does not
fit goes, least important first, and the bar shrinks to a minimum before anything does.
Where the terminal is wider than all that, each robot's commands, position and P&L follow
(``trend-si 12 cmd Si:+1 P&L 17.50``), cut where the line ends.

:class:`RunProgress` is a rich renderable: rich's refresh thread draws it (4 times a
second) from counters the feed's thread moves, so nothing here blocks the feed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gateways.feed import Published

__all__ = ["BAR_MAX", "BAR_MIN", "RunProgress"]

BAR_MIN = 10
"""The bar is never drawn narrower: below it, the least important parts go first."""
BAR_MAX = 40
"""Nor wider: what a wider terminal has left shows the robots."""
_ROBOTS_MIN = 16  # the robots' part is shown only with at least this much room
_GAP = "  "
_RATE_ROOM = len("99,999 ev/s")
_ETA_ROOM = len("ETA 00:00")


class RunProgress:
    """The progress of publishing ``events``: a renderable for :class:`rich.live.Live`.

    ``published`` reads how many events are out (any thread); ``speed`` is the run's
    (None: full speed); ``robots`` reads the host's robot rows (``Host.robots``), or
    None for no robot detail. ``clock`` is the wall clock the rate is measured on.
    """

    def __init__(
        self,
        events: Sequence[Published],
        *,
        published: Callable[[], int],
        speed: float | None,
        robots: Callable[[], Sequence[Mapping[str, Any]]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._events = events
        self._published = published
        self._speed = speed
        self._robots = robots
        self._clock = clock
        self._began = clock()  # made as the feed starts: the rate is measured from here

    def __rich_console__(self, console: Any, options: Any) -> Any:
        yield self.line(options.max_width)

    def line(self, width: int) -> Any:
        """The line for a terminal ``width`` columns wide (a rich Text, never wider).

        Which parts show, and how wide the bar is, depend on the width alone (each part
        takes the room its widest value needs), so the line does not jump as numbers grow.
        """
        from rich.text import Text  # noqa: PLC0415 - rich is yard run's alone (yard_run._publish)

        done = min(self._published(), len(self._events))
        parts = self._parts(done)
        while parts and _width(parts) + BAR_MIN > width:
            parts.pop()  # the least important part goes first
        text = Text(no_wrap=True, overflow="crop")
        _draw_bar(text, max(0, min(BAR_MAX, width - _width(parts))), done, len(self._events))
        for style, part, room in parts:
            text.append(_GAP)
            text.append(part.rjust(room), style=style)
        room = width - text.cell_len - len(" │ ")
        if self._robots is not None and room >= _ROBOTS_MIN:
            detail = _robots_detail(self._robots())
            if detail:
                text.append(" │ ", style="dim")
                text.append(_cut(detail, room))
        text.truncate(width)
        return text

    def _parts(self, done: int) -> list[tuple[str, str, int]]:
        """(style, text, the room it takes) of each piece after the bar, most important first."""
        total = len(self._events)
        parts = [
            ("progress.percentage", f"{100 * done // total if total else 100}%", 4),
            ("progress.download", f"{done:,}/{total:,}", len(f"{total:,}/{total:,}")),
            ("", _clock(self._events[done - 1].ts) if done else "--:--:-- UTC", 12),
        ]
        return parts + self._pace(done, total)

    def _pace(self, done: int, total: int) -> list[tuple[str, str, int]]:
        """The time left at a real-time speed; the rate and the time left at that rate at
        full speed; how long it took once all is out."""
        span_ns = self._events[-1].ts - self._events[0].ts if total else 0
        elapsed = self._clock() - self._began
        room = len(f"ETA {_duration(span_ns / 1e9 / self._speed)}") if self._speed else 0
        if done >= total:  # in the room the pace had: the bar keeps its length
            took = f"done in {_duration(elapsed)}"
            return [("progress.elapsed", took, room or _RATE_ROOM + len(_GAP) + _ETA_ROOM)]
        if self._speed is not None:  # the data's clock says how long is left
            if done == 0:
                return [("progress.remaining", "", room)]
            left_ns = self._events[-1].ts - self._events[done - 1].ts
            return [("progress.remaining", f"ETA {_duration(left_ns / 1e9 / self._speed)}", room)]
        if done == 0 or elapsed <= 0:
            return [("progress.data.speed", "", _RATE_ROOM), ("progress.remaining", "", _ETA_ROOM)]
        rate = done / elapsed
        return [
            ("progress.data.speed", f"{rate:,.0f} ev/s", _RATE_ROOM),
            ("progress.remaining", f"ETA {_duration((total - done) / rate)}", _ETA_ROOM),
        ]


def _width(parts: Sequence[tuple[str, str, int]]) -> int:
    return sum(len(_GAP) + max(room, len(text)) for _, text, room in parts)


def _draw_bar(text: Any, width: int, done: int, total: int) -> None:
    filled = width if total == 0 else width * done // total
    text.append("━" * filled, style="bar.finished" if done >= total else "bar.complete")
    text.append("─" * (width - filled), style="bar.back")


def _clock(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%H:%M:%S UTC")


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _robots_detail(rows: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for row in rows:
        held = row.get("position") or {}
        position = " ".join(f"{s}:{q:+d}" for s, q in held.items() if q) or "flat"
        parts.append(f"{row['name']} {row['commands_out']:,} cmd {position} P&L {row['pnl']}")
    return " │ ".join(parts)


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 1] + "…"
