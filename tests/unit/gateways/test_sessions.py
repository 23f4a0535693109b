"""Session schedules as data, and the SessionStatus events they put into a stream."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from gateways.sessions import FORTS, SessionSchedule, forts_schedule, with_sessions
from yard_actors.errors import ConfigError
from yard_actors.testing import tick
from yard_actors.wire.events import SessionState, SessionStatus, Tick

OPEN, CLEARING, CLOSED = SessionState.OPEN, SessionState.CLEARING, SessionState.CLOSED


def msk(text: str) -> int:
    """Moscow wall-clock time ``YYYY-MM-DD HH:MM[:SS]`` as UTC nanoseconds."""
    local = datetime.fromisoformat(text + "+03:00")
    return int(local.astimezone(UTC).timestamp()) * 10**9


def every_ten_minutes(start: str, end: str) -> list[Tick]:
    return [tick("Si", 90000, ts=ts) for ts in range(msk(start), msk(end) + 1, 600 * 10**9)]


def statuses(stream: Sequence[object]) -> list[tuple[int, SessionState]]:
    return [(e.ts, e.state) for e in stream if isinstance(e, SessionStatus)]


def test_a_forts_day_gets_every_boundary_at_its_exact_instant() -> None:
    events = every_ten_minutes("2025-11-27 08:00", "2025-11-27 23:59")

    stream = list(with_sessions(events, FORTS))

    assert statuses(stream) == [
        (msk("2025-11-27 08:00"), CLOSED),  # the state at the first event, at its time
        (msk("2025-11-27 09:00"), OPEN),
        (msk("2025-11-27 14:00"), CLEARING),
        (msk("2025-11-27 14:05"), OPEN),
        (msk("2025-11-27 18:45"), CLEARING),
        (msk("2025-11-27 19:05"), OPEN),
        (msk("2025-11-27 23:50"), CLOSED),
    ]
    assert [e for e in stream if isinstance(e, Tick)] == events
    assert [e.ts for e in stream] == sorted(e.ts for e in stream)
    assert {e.session for e in stream if isinstance(e, SessionStatus)} == {"FORTS"}


def test_without_the_morning_session_trading_opens_at_ten() -> None:
    events = every_ten_minutes("2025-11-27 08:00", "2025-11-27 11:00")

    stream = list(with_sessions(events, forts_schedule(morning=False), "FORTS-main"))

    assert statuses(stream) == [(msk("2025-11-27 08:00"), CLOSED), (msk("2025-11-27 10:00"), OPEN)]


def test_an_event_stamped_on_a_boundary_comes_after_its_status() -> None:
    at_clearing = tick("Si", 90000, ts=msk("2025-11-27 14:00"))
    before = tick("Si", 90000, ts=msk("2025-11-27 13:59"))

    stream = list(with_sessions([before, at_clearing], FORTS))

    assert stream == [
        SessionStatus(ts=before.ts, session="FORTS", state=OPEN),
        before,
        SessionStatus(ts=at_clearing.ts, session="FORTS", state=CLEARING),
        at_clearing,
    ]


def test_a_stream_that_starts_in_clearing_says_so_first() -> None:
    first = tick("Si", 90000, ts=msk("2025-11-27 14:02"))

    assert next(with_sessions([first], FORTS)) == SessionStatus(
        ts=first.ts, session="FORTS", state=CLEARING
    )


def test_a_weekend_passes_closed_without_saturday_sessions() -> None:
    friday = tick("Si", 90000, ts=msk("2025-11-28 23:00"))
    monday = tick("Si", 90000, ts=msk("2025-12-01 10:30"))

    stream = list(with_sessions([friday, monday], FORTS))

    assert statuses(stream) == [
        (friday.ts, OPEN),
        (msk("2025-11-28 23:50"), CLOSED),
        (msk("2025-12-01 09:00"), OPEN),
    ]


def test_until_adds_the_boundaries_after_the_last_event() -> None:
    last = tick("Si", 90000, ts=msk("2025-11-27 18:00"))

    stream = list(with_sessions([last], FORTS, until=msk("2025-11-28 00:00")))

    assert statuses(stream)[1:] == [
        (msk("2025-11-27 18:45"), CLEARING),
        (msk("2025-11-27 19:05"), OPEN),
        (msk("2025-11-27 23:50"), CLOSED),
    ]


def test_an_empty_stream_gets_no_status() -> None:
    assert list(with_sessions([], FORTS)) == []


def test_state_at_follows_the_table_with_windows_closed_at_their_end() -> None:
    assert FORTS.state_at(msk("2025-11-27 08:59:59")) is CLOSED
    assert FORTS.state_at(msk("2025-11-27 09:00")) is OPEN
    assert FORTS.state_at(msk("2025-11-27 14:04:59")) is CLEARING
    assert FORTS.state_at(msk("2025-11-27 23:50")) is CLOSED
    assert FORTS.state_at(msk("2025-11-29 12:00")) is CLOSED  # a Saturday


def test_a_schedule_may_run_to_midnight_and_start_at_it() -> None:
    schedule = SessionSchedule.from_entries(
        [("00:00", "06:00", "open"), ("18:00", "24:00", "open")], utc_offset_minutes=0
    )
    events = [tick("Si", 1, ts=msk("2025-11-27 23:00")), tick("Si", 1, ts=msk("2025-11-28 15:00"))]

    stream = list(with_sessions(events, schedule))

    # 20:00 UTC is open, and stays open past midnight (no status) until 06:00 UTC.
    assert statuses(stream) == [(events[0].ts, OPEN), (msk("2025-11-28 09:00"), CLOSED)]


def test_a_schedule_that_never_opens_has_no_changes() -> None:
    schedule = SessionSchedule.from_entries([], trading_days=())

    assert list(schedule.changes(0)) == []


def test_windows_on_a_day_join_touching_windows_of_one_state() -> None:
    day = datetime(2025, 11, 27).date()

    windows = FORTS.windows_on(day)

    assert windows == [
        (msk("2025-11-27 09:00"), msk("2025-11-27 14:00")),
        (msk("2025-11-27 14:05"), msk("2025-11-27 18:45")),
        (msk("2025-11-27 19:05"), msk("2025-11-27 23:50")),
    ]
    assert FORTS.windows_on(datetime(2025, 11, 29).date()) == []


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("10:00", "9:00", "open")], "entry 1 ('10:00', '9:00', 'open') has '9:00', not a time"),
        ([("10:00", "25:00", "open")], "has '25:00', not a time HH:MM"),
        ([("10:00", "10:00", "open")], "entry 1 ('10:00', '10:00', 'open') does not end after"),
        ([("23:00", "01:00", "open")], "split a window that runs past midnight in two"),
        ([("10:00", "11:00", "lunch")], "has state 'lunch'; use open, clearing, halted, closed"),
        ([("10:00", "11:00")], "entry 1 must be (start, end, state), was ('10:00', '11:00')"),
        (
            [("10:00", "12:00", "open"), ("14:00", "15:00", "open"), ("11:00", "13:00", "halted")],
            "session window 11:00-13:00 halted overlaps 10:00-12:00 open",
        ),
    ],
)
def test_a_bad_schedule_entry_is_refused_by_name(entries: list[object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        SessionSchedule.from_entries(entries)  # type: ignore[arg-type]


def test_trading_days_must_be_weekday_numbers() -> None:
    with pytest.raises(ConfigError, match=r"trading_days must be weekday numbers .* was"):
        SessionSchedule.from_entries([], trading_days=[7])
