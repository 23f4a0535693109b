"""A robot rebuilt from the journal sees the instrument table it ran with (its spec's), and a
spec journaled before yard kept one gives it the built-in table, as it had then."""

from __future__ import annotations

from decimal import Decimal

import pytest

from yard_actors import Robot
from yard_actors.backtest import build_robot as backtest_robot
from yard_actors.errors import JournalError, RobotError
from yard_actors.host.host_config import RobotSettings
from yard_actors.journal.rebuild import build_robot, spec_instruments
from yard_actors.robot.loader import class_path
from yard_actors.wire.instruments import Instrument, InstrumentTable

NG = Instrument(symbol="NG", tick_size=Decimal("0.001"), point_value_usd=Decimal(100))
COARSE_BR = Instrument(symbol="BR", tick_size=Decimal("0.05"), point_value_usd=Decimal(10))


class Gas(Robot):
    symbols = ("NG",)


def _spec(**extra: object) -> dict[str, object]:
    return {"name": "gas", "class": class_path(Gas), "symbols": ["NG"], "params": {}, **extra}


def test_the_robot_is_rebuilt_with_the_instruments_its_spec_journaled() -> None:
    table = InstrumentTable([NG, COARSE_BR])

    robot = build_robot(_spec(instruments=table.to_json()))

    assert robot.instrument("NG").tick == Decimal("0.001")
    assert robot.instrument("BR").tick == Decimal("0.05")  # a changed tick, as it ran


def test_a_spec_from_before_yard_kept_instruments_gets_the_built_in_table() -> None:
    robot = build_robot(_spec())

    assert spec_instruments(_spec()) is None
    assert robot.instrument("BR").tick == Decimal("0.01")
    with pytest.raises(RobotError, match="no instrument 'NG' in the instrument table"):
        robot.instrument("NG")


def test_a_table_given_to_the_rebuild_comes_before_the_journaled_one() -> None:
    journaled = InstrumentTable([NG]).to_json()

    robot = build_robot(_spec(instruments=journaled), instruments=InstrumentTable([COARSE_BR]))

    assert robot.instrument("BR").tick == Decimal("0.05")
    with pytest.raises(RobotError, match="no instrument 'NG'"):
        robot.instrument("NG")


def test_a_journaled_table_that_does_not_read_is_a_journal_error_naming_the_robot() -> None:
    with pytest.raises(JournalError, match="robot 'gas': the instruments of its journaled spec"):
        build_robot(_spec(instruments={"NG": {"tick": "-1"}}))


def test_a_backtest_journals_the_table_its_robot_sees_as_a_host_does() -> None:
    table = InstrumentTable([NG])
    settings = RobotSettings(class_path=class_path(Gas), name="gas", symbols=None, params={})

    robot, spec = backtest_robot(settings, table)

    assert spec["instruments"] == table.to_json()
    assert build_robot(spec).instrument("NG") == robot.instrument("NG")
