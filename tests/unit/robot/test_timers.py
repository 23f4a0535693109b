"""Timers in event time, driven through the RobotHarness: schedule, firing, catch-up, replay."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from yard_actors import NewOrder, Quote, Robot, RobotError, Timer
from yard_actors.robot.robot import HandlerResult
from yard_actors.robot.timers import MAX_CATCH_UP
from yard_actors.testing import RobotHarness, quote

MS = 1_000_000
SECOND = 1_000 * MS
T0 = 1_700_000_000_000_000_000


def utc_ns(text: str) -> int:
    """``"2024-03-01 07:00"`` (UTC) in nanoseconds since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * SECOND


class Quiet(Robot):
    """Has no on_timer of its own."""

    symbols = ("Si",)


class Beats(Robot):
    """Asks for ``every("beat", 1000)`` in on_start and records each timer it sees."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.fired: list[list[object]] = []
        self.every("beat", 1_000)

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.fired.append([timer.name, timer.ts, self.now])
        return None


class Manual(Robot):
    """Sets no timer itself: the tests call its timer methods between events (no replay)."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.fired: list[list[object]] = []

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.fired.append([timer.name, timer.ts])
        return None


class TradesOnTimer(Robot):
    """Buys one lot at the last bid on every beat; at the close, stops beating and cancels."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.every("beat", 250)
        self.at("close", "18:45")

    def on_timer(self, timer: Timer) -> HandlerResult:
        if timer.name == "close":
            self.cancel_timer("beat")
            return self.cancel_all()
        last = self.last_quote("Si")
        return None if last is None else self.buy("Si", 1, last.bid)


def feed_quote(harness: RobotHarness[Any], ts: int, bid: int = 100) -> list[object]:
    return list(harness.feed(quote("Si", bid, bid + 1, ts=ts)))


def timer_events(harness: RobotHarness[Any]) -> list[tuple[str, int]]:
    return [(e.name, e.ts) for e in harness.events if isinstance(e, Timer)]


def test_every_fires_at_its_due_times_before_the_event_that_passes_them() -> None:
    harness = RobotHarness(Beats, name="alpha")
    feed_quote(harness, T0)  # the first event anchors the timer set in on_start

    feed_quote(harness, T0 + 500 * MS)
    feed_quote(harness, T0 + 1_000 * MS)  # due exactly now: fires before the quote
    feed_quote(harness, T0 + 2_500 * MS)

    assert timer_events(harness) == [("beat", T0 + 1_000 * MS), ("beat", T0 + 2_000 * MS)]
    assert [type(e).__name__ for e in harness.events] == [
        "Quote",
        "Quote",
        "Timer",
        "Quote",
        "Timer",
        "Quote",
    ]
    assert isinstance(harness.robot, Beats)
    assert harness.robot.fired == [
        ["beat", T0 + 1_000 * MS, T0 + 1_000 * MS],
        ["beat", T0 + 2_000 * MS, T0 + 2_000 * MS],
    ]
    assert all(e.robot == "alpha" for e in harness.events if isinstance(e, Timer))
    assert harness.robot.timer_schedule == {"beat": T0 + 3_000 * MS}


def test_a_timer_set_in_on_start_waits_for_the_first_event() -> None:
    harness = RobotHarness(Beats)
    assert harness.robot.timer_schedule == {"beat": None}
    assert harness.robot.due_timers(T0 + 10 * SECOND) == []

    feed_quote(harness, T0 + 7 * MS)

    assert harness.robot.timer_schedule == {"beat": T0 + 1_007 * MS}


def test_a_timer_set_in_a_handler_counts_from_that_event() -> None:
    class LateStarter(Manual):
        def on_quote(self, quote: Quote) -> HandlerResult:
            if "late" not in self.timer_schedule:
                self.every("late", 300)
            return None

    harness = RobotHarness(LateStarter)
    feed_quote(harness, T0 + 50 * MS)

    feed_quote(harness, T0 + 1_000 * MS)

    assert timer_events(harness) == [
        ("late", T0 + 350 * MS),
        ("late", T0 + 650 * MS),
        ("late", T0 + 950 * MS),
    ]


def test_several_timers_fire_in_due_order_with_ties_by_name() -> None:
    harness = RobotHarness(Manual)
    feed_quote(harness, T0)
    robot = harness.robot
    assert isinstance(robot, Manual)
    robot.every("b", 1_000)
    robot.every("c", 1_000)
    robot.every("a", 500)

    feed_quote(harness, T0 + 1_200 * MS)

    assert timer_events(harness) == [
        ("a", T0 + 500 * MS),
        ("a", T0 + 1_000 * MS),
        ("b", T0 + 1_000 * MS),
        ("c", T0 + 1_000 * MS),
    ]
    assert robot.fired == [[name, ts] for name, ts in timer_events(harness)]


def test_due_timers_lists_what_is_due_without_changing_the_schedule() -> None:
    harness = RobotHarness(Beats, name="alpha")
    feed_quote(harness, T0)

    first = harness.robot.due_timers(T0 + 2_000 * MS)
    again = harness.robot.due_timers(T0 + 2_000 * MS)

    assert (
        first
        == again
        == [
            Timer(ts=T0 + 1_000 * MS, robot="alpha", name="beat"),
            Timer(ts=T0 + 2_000 * MS, robot="alpha", name="beat"),
        ]
    )
    assert harness.robot.due_timers(T0 + 2_000 * MS, limit=1) == first[:1]
    assert harness.robot.timer_schedule == {"beat": T0 + 1_000 * MS}


def test_at_fires_at_moscow_time_which_is_utc_plus_three() -> None:
    class Opens(Manual):
        def on_start(self) -> None:
            super().on_start()
            self.at("open", "10:00")
            self.at("close", "18:45:30", tz="Europe/Moscow")

    harness = RobotHarness(Opens)
    feed_quote(harness, utc_ns("2024-03-01 06:00"))  # 09:00 in Moscow

    feed_quote(harness, utc_ns("2024-03-02 08:00"))

    assert timer_events(harness) == [
        ("open", utc_ns("2024-03-01 07:00")),
        ("close", utc_ns("2024-03-01 15:45:30")),
        ("open", utc_ns("2024-03-02 07:00")),
    ]
    assert harness.robot.timer_schedule == {
        "close": utc_ns("2024-03-02 15:45:30"),
        "open": utc_ns("2024-03-03 07:00"),
    }


def test_at_follows_the_zone_across_a_daylight_saving_change() -> None:
    harness = RobotHarness(Manual)
    feed_quote(harness, utc_ns("2024-03-30 00:00"))
    harness.robot.at("london", "09:00", tz="Europe/London")  # BST starts on 31 March

    feed_quote(harness, utc_ns("2024-04-01 00:00"))

    assert timer_events(harness) == [
        ("london", utc_ns("2024-03-30 09:00")),
        ("london", utc_ns("2024-03-31 08:00")),
    ]


def test_at_asked_at_its_own_time_first_fires_the_next_day() -> None:
    harness = RobotHarness(Manual)
    feed_quote(harness, utc_ns("2024-03-01 07:00"))

    harness.robot.at("open", "10:00")

    assert harness.robot.timer_schedule == {"open": utc_ns("2024-03-02 07:00")}


def test_cancel_timer_stops_it_and_says_whether_there_was_one() -> None:
    harness = RobotHarness(Beats)
    feed_quote(harness, T0)
    feed_quote(harness, T0 + 1_500 * MS)

    assert harness.robot.cancel_timer("beat") is True
    assert harness.robot.cancel_timer("beat") is False
    feed_quote(harness, T0 + 5_000 * MS)

    assert timer_events(harness) == [("beat", T0 + 1_000 * MS)]
    assert harness.snapshot()["timers"] == {}


def test_asking_again_for_a_name_replaces_the_timer() -> None:
    harness = RobotHarness(Beats)
    feed_quote(harness, T0)
    feed_quote(harness, T0 + 400 * MS)

    harness.robot.every("beat", 5_000)
    feed_quote(harness, T0 + 5_000 * MS)

    assert timer_events(harness) == []
    assert harness.robot.timer_schedule == {"beat": T0 + 5_400 * MS}


def test_a_handler_that_cancels_a_timer_due_at_once_stops_it_firing() -> None:
    class CancelsB(Manual):
        def on_timer(self, timer: Timer) -> HandlerResult:
            super().on_timer(timer)
            self.cancel_timer("b")
            self.every("late", 1)  # already due before the next quote: fires first
            return None

    harness = RobotHarness(CancelsB)
    feed_quote(harness, T0)
    harness.robot.every("a", 100)
    harness.robot.every("b", 100)

    feed_quote(harness, T0 + 101 * MS)

    assert timer_events(harness) == [("a", T0 + 100 * MS), ("late", T0 + 101 * MS)]


def test_a_long_gap_fires_every_missed_occurrence_once() -> None:
    harness = RobotHarness(Beats)
    feed_quote(harness, T0)

    feed_quote(harness, T0 + 10 * SECOND + 1)

    assert [ts for _, ts in timer_events(harness)] == [T0 + n * SECOND for n in range(1, 11)]
    assert harness.events[-1].ts == T0 + 10 * SECOND + 1


def test_a_gap_with_more_than_the_cap_fires_only_the_latest_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = RobotHarness(Manual, name="fast")
    feed_quote(harness, T0)
    harness.robot.every("tick", 1)  # first due at T0 + 1 ms

    with caplog.at_level(logging.WARNING):
        feed_quote(harness, T0 + 5_000 * MS)

    fired = [ts for _, ts in timer_events(harness)]
    assert len(fired) == MAX_CATCH_UP
    assert fired == [T0 + n * MS for n in range(5_001 - MAX_CATCH_UP, 5_001)]
    assert harness.robot.timer_schedule == {"tick": T0 + 5_001 * MS}
    assert f"robot fast skipped {5_000 - MAX_CATCH_UP} occurrences of timer 'tick'" in caplog.text


def test_a_paused_robot_timers_still_reach_on_timer() -> None:
    harness = RobotHarness(Beats)
    feed_quote(harness, T0)
    harness.control("pause")

    feed_quote(harness, T0 + 2_500 * MS)
    paused_schedule = harness.robot.timer_schedule
    harness.control("resume")
    feed_quote(harness, T0 + 3_000 * MS)

    assert [ts for _, ts in timer_events(harness)] == [T0 + n * SECOND for n in (1, 2, 3)]
    assert paused_schedule == {"beat": T0 + 3 * SECOND}
    assert isinstance(harness.robot, Beats)
    assert [ts for _, ts, _ in harness.robot.fired] == [T0 + n * SECOND for n in (1, 2, 3)]


def test_a_halted_robot_timers_advance_without_reaching_on_timer() -> None:
    harness = RobotHarness(Beats)
    feed_quote(harness, T0)
    harness.control("halt")

    feed_quote(harness, T0 + 2_500 * MS)
    harness.control("resume")
    feed_quote(harness, T0 + 3_000 * MS)

    assert [ts for _, ts in timer_events(harness)] == [T0 + n * SECOND for n in (1, 2, 3)]
    assert isinstance(harness.robot, Beats)
    assert [ts for _, ts, _ in harness.robot.fired] == [T0 + 3 * SECOND]


def test_a_failed_robot_timers_still_advance() -> None:
    class Breaks(Beats):
        def on_quote(self, quote: Quote) -> HandlerResult:
            raise RuntimeError("broken")

    harness = RobotHarness(Breaks)
    feed_quote(harness, T0)
    assert harness.robot.status.value == "failed"

    feed_quote(harness, T0 + 2_000 * MS)

    assert len(timer_events(harness)) == 2
    assert isinstance(harness.robot, Beats)
    assert harness.robot.fired == []
    assert harness.robot.timer_schedule == {"beat": T0 + 3 * SECOND}


def test_the_snapshot_holds_the_timers() -> None:
    class Both(Beats):
        def on_start(self) -> None:
            super().on_start()
            self.at("open", "10:00:15", tz="Europe/Moscow")

    harness = RobotHarness(Both)
    assert harness.snapshot()["timers"] == {
        "beat": {"every_ms": 1_000, "next_due": None},
        "open": {"at": "10:00:15", "tz": "Europe/Moscow", "next_due": None},
    }

    feed_quote(harness, utc_ns("2024-03-01 06:00"))

    assert harness.snapshot()["timers"] == {
        "beat": {"every_ms": 1_000, "next_due": utc_ns("2024-03-01 06:00:01")},
        "open": {
            "at": "10:00:15",
            "tz": "Europe/Moscow",
            "next_due": utc_ns("2024-03-01 07:00:15"),
        },
    }


def test_replay_of_a_timer_robot_gives_the_same_commands_and_snapshot() -> None:
    harness = RobotHarness(TradesOnTimer, name="alpha")
    start = utc_ns("2024-03-01 15:44:59")
    for n in range(12):
        for command in feed_quote(harness, start + n * 100 * MS, bid=100 + n):
            if isinstance(command, NewOrder) and n % 2 == 0:
                harness.fill(command)  # some fill, the rest are cancelled at the close
    harness.advance_to(utc_ns("2024-03-01 15:46"))  # past the close

    fresh, commands = harness.replay()

    assert len([c for c in harness.commands if isinstance(c, NewOrder)]) >= 3
    assert timer_events(harness)[-1] == ("close", utc_ns("2024-03-01 15:45"))
    assert commands == harness.commands
    assert fresh.snapshot() == harness.snapshot()


def test_the_harness_fires_a_named_timer_and_refuses_an_unknown_one() -> None:
    harness = RobotHarness(Beats, name="alpha")
    with pytest.raises(RobotError, match="starts at the robot's first event"):
        harness.timer("beat")
    feed_quote(harness, T0)

    harness.timer("beat")

    assert timer_events(harness) == [("beat", T0 + SECOND)]
    assert harness.ts == T0 + SECOND
    with pytest.raises(RobotError, match="robot alpha has no timer 'nope'"):
        harness.timer("nope")


def test_a_timer_event_not_made_from_the_schedule_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    harness = RobotHarness(Beats, name="alpha")
    feed_quote(harness, T0)

    with caplog.at_level(logging.WARNING):
        harness.feed(Timer(ts=T0 + 1, robot="alpha", name="beat"))  # not on the schedule
        harness.feed(Timer(ts=T0 + 2, robot="alpha", name="other"))

    assert isinstance(harness.robot, Beats)
    assert harness.robot.fired == []
    assert harness.robot.timer_schedule == {"beat": T0 + SECOND}
    assert "robot alpha ignored timer 'beat'" in caplog.text


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        (lambda r: r.every("t", 0), r"interval_ms must be .* was 0"),
        (lambda r: r.every("t", 1.5), r"interval_ms must be .* was 1\.5"),
        (lambda r: r.every("", 10), "a timer name must be a non-empty string"),
        (lambda r: r.at("t", "25:00"), "time_of_day must be 'HH:MM' or 'HH:MM:SS'.*'25:00'"),
        (lambda r: r.at("t", "9:30"), "time_of_day must be .*'9:30'"),
        (lambda r: r.at("t", "10:00", tz="Mars/Base"), "tz must be an IANA time zone.*Mars"),
    ],
)
def test_a_bad_timer_request_is_refused_with_a_sentence(
    ask: Callable[[Robot], object], message: str
) -> None:
    robot = Manual("alpha")
    with pytest.raises(RobotError, match=message):
        ask(robot)


def test_a_bad_request_in_a_handler_fails_the_robot() -> None:
    class BadAsk(Manual):
        def on_quote(self, quote: Quote) -> HandlerResult:
            self.every("t", -1)
            return None

    harness = RobotHarness(BadAsk)
    feed_quote(harness, T0)

    assert harness.robot.status.value == "failed"
    assert "interval_ms must be" in (harness.robot.error or "")


def test_a_plain_robot_sets_no_timer_horizon_and_a_timer_robot_does() -> None:
    plain = RobotHarness(Quiet)
    beats = RobotHarness(Beats)
    feed_quote(beats, T0)

    assert plain.robot.timer_horizon(T0) is None
    assert beats.robot.timer_horizon(T0 + 10 * MS) == T0 + 11 * MS
    assert beats.robot.timer_horizon(T0 + 1_000 * MS) == T0 + 1_000 * MS  # due: nothing before
