"""A control is stamped with its sender's wall clock: it must not move a robot's clock.

In market time (``yard run`` on a past day) a control sent from ``yard ctl`` carries
today's wall time. Were it to move the robot's clock, every timer of the rest of the
day would fall due at once, and the robot's orders would carry today's time.
"""

from __future__ import annotations

from yard_actors import Control, ControlAction, Robot, Timer
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness, quote

MS = 1_000_000
SECOND = 1_000 * MS
DAY = 86_400 * SECOND
T0 = 1_600_000_000 * SECOND  # a past day's data
WALL = T0 + 800 * DAY  # "today", when the operator sends the control


class Beats(Robot):
    symbols = ("Si",)

    def on_start(self) -> None:
        self.fired: list[int] = []
        self.every("beat", 1_000)

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.fired.append(timer.ts)
        return None


def test_a_control_with_a_wall_clock_ts_fires_no_timer_and_keeps_the_data_clock() -> None:
    harness = RobotHarness(Beats, name="beats")
    harness.feed(quote("Si", 90_000, 90_001, ts=T0))
    harness.feed(quote("Si", 90_000, 90_001, ts=T0 + 3 * SECOND))
    assert isinstance(harness.robot, Beats)
    fired = len(harness.robot.fired)

    harness.feed(Control(ts=WALL, robot="beats", action=ControlAction.PAUSE))
    assert len(harness.robot.fired) == fired
    assert harness.robot.now == T0 + 3 * SECOND

    harness.feed(Control(ts=WALL + SECOND, robot="beats", action=ControlAction.RESUME))
    harness.feed(quote("Si", 90_000, 90_001, ts=T0 + 5 * SECOND))
    assert harness.robot.fired[-1] == T0 + 5 * SECOND
    assert len(harness.robot.fired) == fired + 2
    assert harness.robot.now == T0 + 5 * SECOND
