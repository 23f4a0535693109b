"""``Robot.session_open``: each symbol's session, its instrument's own or the FORTS day."""

from __future__ import annotations

from decimal import Decimal

from yard_actors import Robot
from yard_actors.testing import RobotHarness
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable


class _Both(Robot):
    symbols = ("Si", "NG")


def test_a_robot_tells_each_symbol_session_apart() -> None:
    table = InstrumentTable(
        [
            *DEFAULT_INSTRUMENTS.values(),
            Instrument(symbol="NG", tick_size=Decimal("0.001"), schedule="10:00-14:00"),
        ]
    )
    harness = RobotHarness(_Both, instruments=table)
    before = (harness.robot.session_open("Si"), harness.robot.session_open("NG"))

    harness.session("open")
    harness.session("closed", session="NG")
    after_ng = (harness.robot.session_open("Si"), harness.robot.session_open("NG"))
    harness.session("open", session="NG")
    harness.session("clearing", session="MOEX")  # a feed of one's own naming the FORTS day

    assert before == (False, False)
    assert after_ng == (True, False)
    assert (harness.robot.session_open("Si"), harness.robot.session_open("NG")) == (False, True)
