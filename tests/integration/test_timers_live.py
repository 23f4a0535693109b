"""Timers on a live host: fired by the actor, journaled as events, replayed from the journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.timer_robots import (
    MS,
    TS,
    Heartbeat,
    StartsMidBurst,
    harness_run,
    quotes,
    run_burst,
)
from yard_actors import NewOrder, Robot, Timer, decode, replay
from yard_actors.journal import Journal, read_robot
from yard_actors.journal.replay import replay_into
from yard_actors.testing import quote, run_robot, wait_until

pytestmark = pytest.mark.usefixtures("each_runtime")

SECOND = 1_000 * MS


def test_a_live_timer_robot_replays_faithfully_from_its_journal(tmp_path: Path) -> None:
    market = quotes(20, 300 * MS)  # 5.7 s of event time: beats at 1, 2, 3, 4 and 5 s
    with run_robot(Heartbeat, name="beater", journal_dir=tmp_path) as live:
        for event in market:
            live.publish(event)
        commands = live.gateway.commands(5)
        # the fifth beat's order can leave before the last quotes are fanned out
        wait_until(
            lambda: live.host.robots().by_name("beater")["events_in"] == len(market) + 5,
            what="20 quotes and 5 beats handled",
        )
        live_snapshot = live.snapshot("beater")
        assert not live.gateway.has_command()

    result = replay(tmp_path, "beater")

    assert result.faithful
    assert result.robot.snapshot() == live_snapshot
    assert list(result.commands) == commands
    timers = [e for e in result.events if isinstance(e, Timer)]
    assert timers == [Timer(ts=TS + n * SECOND, robot="beater", name="beat") for n in range(1, 6)]
    assert live_snapshot["state"]["beats"] == [t.ts for t in timers]
    assert live_snapshot["timers"] == {"beat": {"every_ms": 1_000, "next_due": TS + 6 * SECOND}}


def test_the_timer_events_are_in_the_journal_before_the_quote_that_passed_them(
    tmp_path: Path,
) -> None:
    with run_robot(Heartbeat, name="beater", journal_dir=tmp_path) as live:
        for event in quotes(5, 600 * MS):  # 0, 0.6, 1.2, 1.8, 2.4 s
            live.publish(event)
        live.gateway.commands(2)
        live.wait_idle()

    history = read_robot(tmp_path, "beater")
    events = [decode(e.payload) for e in history.entries if e.kind == "event"]

    assert [(type(e).__name__, (e.ts - TS) // MS) for e in events] == [
        ("Quote", 0),
        ("Quote", 600),
        ("Timer", 1_000),
        ("Quote", 1_200),
        ("Quote", 1_800),
        ("Timer", 2_000),
        ("Quote", 2_400),
    ]


def test_a_live_run_and_a_harness_run_give_the_same_commands(tmp_path: Path) -> None:
    market = quotes(40, 170 * MS)
    expected = harness_run(Heartbeat, market, "beater")
    with run_robot(Heartbeat, name="beater", journal_dir=tmp_path) as live:
        for event in market:
            live.publish(event)
        commands = live.gateway.commands(len(expected.commands))
        # the last beat's order can leave before the last quotes are fanned out
        wait_until(
            lambda: live.snapshot("beater")["events"] == expected.snapshot()["events"],
            what="every quote and beat handled",
        )
        snapshot = live.snapshot("beater")

    assert commands == expected.commands
    assert snapshot == expected.snapshot()


def test_a_restarted_host_keeps_the_timer_schedule(tmp_path: Path) -> None:
    with run_robot(Heartbeat, name="beater", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 100, 101, ts=TS))
        live.publish(quote("Si", 101, 102, ts=TS + 1_500 * MS))
        [first] = live.gateway.commands(1)

    with run_robot(Heartbeat, name="beater", journal_dir=tmp_path) as live:
        live.publish(quote("Si", 102, 103, ts=TS + 3_200 * MS))
        later = live.gateway.commands(2)
        live.wait_idle()
        snapshot = live.snapshot("beater")

    assert first.ts == TS + SECOND
    assert [(c.client_order_id, c.ts) for c in later] == [
        ("beater-2", TS + 2 * SECOND),
        ("beater-3", TS + 3 * SECOND),
    ]
    assert snapshot["state"]["beats"] == [TS + n * SECOND for n in (1, 2, 3)]


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "journal") as opened:
        yield opened


@pytest.mark.parametrize(
    ("robot_class", "count", "step_ns"),
    [
        (Heartbeat, 2_500, 1 * MS),  # long quiet runs, cut at each beat
        (Heartbeat, 30, 200 * MS),  # a beat every few events
        (StartsMidBurst, 100, 400_000),  # a timer set inside the burst fires inside it
    ],
)
def test_a_burst_delivers_each_timer_before_the_event_that_passes_it(
    journal: Journal, robot_class: type[Robot], count: int, step_ns: int
) -> None:
    market = quotes(count, step_ns)
    expected = harness_run(robot_class, market, "burst")

    snapshot = run_burst(robot_class, market, journal, fanned=False)
    journal.flush()
    history = read_robot(journal.path, "burst")
    replayed = replay_into(robot_class("burst"), history)

    assert any(isinstance(e, Timer) for e in expected.events)
    assert list(replayed.events) == expected.events
    assert [decode(e.payload) for e in history.entries if e.kind == "command"] == (
        expected.commands
    )
    assert replayed.faithful
    assert snapshot == replayed.robot.snapshot() == expected.snapshot()
    assert all(isinstance(c, NewOrder) for c in expected.commands)
