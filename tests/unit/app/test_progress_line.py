"""``yard run``'s live progress line fits the terminal it is drawn on (issue 14, item 9).

Drawn by a real rich Console of a given width into a string, as rich's Live draws it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import pytest
from rich.console import Console

from yard_actors.app.progress import BAR_MIN, RunProgress
from yard_actors.testing import quote
from yard_actors.wire.events import Quote

NS = 1_000_000_000
START = 1_764_226_800 * NS  # 2025-11-27 07:00:00 UTC


class Day(Sequence[Quote]):
    """156,000 quotes a second apart from 07:00 UTC, each made when asked for (building
    them all takes seconds; the line reads two or three)."""

    def __len__(self) -> int:
        return 156_000

    @overload
    def __getitem__(self, index: int) -> Quote: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Quote]: ...
    def __getitem__(self, index: int | slice) -> Quote | Sequence[Quote]:
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self)))]
        n = range(len(self))[index]  # IndexError past the end, as a list
        return quote("Si", 90000 + n % 7, 90001 + n % 7, ts=START + n * NS)


EVENTS = Day()
ROBOTS: list[Mapping[str, Any]] = [
    {"name": name, "commands_out": 1_234, "position": {"Si": 2, "RTS": 0}, "pnl": "-1,234.50"}
    for name in ("trend-si", "mm-si", "mm-rts", "spread")
]


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def drawn(line: RunProgress, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    with console.capture() as captured:
        console.print(line)
    return captured.get().splitlines()


def progress(
    published: int,
    *,
    speed: float | None = None,
    robots: Callable[[], Sequence[Mapping[str, Any]]] | None = lambda: ROBOTS,
    clock: Clock | None = None,
) -> RunProgress:
    return RunProgress(
        EVENTS, published=lambda: published, speed=speed, robots=robots, clock=clock or Clock()
    )


@pytest.mark.parametrize("width", [20, 40, 60, 79, 80, 100, 120, 200, 300])
@pytest.mark.parametrize("published", [0, 1, 70_123, 156_000])
def test_the_line_is_one_line_never_wider_than_the_terminal(width: int, published: int) -> None:
    lines = drawn(progress(published, speed=10.0), width)

    assert len(lines) == 1
    assert len(lines[0]) <= width


def test_at_80_columns_it_shows_the_bar_count_market_clock_and_time_left() -> None:
    [line] = drawn(progress(70_123, speed=10.0), 80)

    assert "70,123/156,000" in line
    assert "44%" in line
    assert "02:28:42 UTC" in line  # the 70,123rd event's time: 07:00:00 + 70,122 s
    assert "ETA 2:23:08" in line  # 85,877 market seconds left, at ten times real time
    assert line.startswith("━")
    assert "trend-si" not in line  # the robots only where there is room


def test_at_full_speed_it_shows_events_a_second_and_the_time_left_at_that_rate() -> None:
    clock = Clock()
    line = progress(70_000, clock=clock)
    clock.now += 35.0

    [text] = drawn(line, 80)

    assert "2,000 ev/s" in text
    assert "ETA 0:43" in text  # 86,000 events left at 2,000 a second


def test_a_wide_terminal_shows_each_robots_commands_position_and_pnl() -> None:
    [line] = drawn(progress(70_123, speed=10.0), 200)

    assert "trend-si 1,234 cmd Si:+2 P&L -1,234.50" in line
    assert "│ mm-si 1,234 cmd" in line
    assert len(line) <= 200


def test_the_robots_that_do_not_fit_are_cut_with_an_ellipsis() -> None:
    [line] = drawn(progress(70_123, speed=10.0), 130)

    assert "trend-si" in line
    assert line.endswith("…")
    assert len(line) == 130


def test_the_parts_keep_their_places_as_the_numbers_grow() -> None:
    early = drawn(progress(1, speed=10.0, robots=None), 80)[0]
    late = drawn(progress(155_999, speed=10.0, robots=None), 80)[0]

    assert early.index("UTC") == late.index("UTC")
    assert early.index("/156,000") == late.index("/156,000")


def test_a_narrow_terminal_keeps_the_bar_and_the_count_and_drops_the_rest_first() -> None:
    [line] = drawn(progress(70_123, speed=10.0), 40)

    assert "70,123/156,000" in line
    assert "UTC" not in line
    assert line.count("━") + line.count("─") >= BAR_MIN
