"""An instrument's own session is named after its symbol, so one named as the FORTS day's
session with a schedule of its own is refused at start-up, naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors import ConfigError
from yard_actors.app.cli import main
from yard_actors.app.instrument_config import instrument_table, instruments_in_file
from yard_actors.wire.instruments import DEFAULT_SESSION

CLASH = (
    rf"instruments\.{DEFAULT_SESSION}\.schedule: an instrument with a schedule of its own "
    rf"trades in a session named after its symbol, and {DEFAULT_SESSION} is the name of the "
    r"FORTS day's session"
)
FORTS_WITH_A_SCHEDULE = f'[instruments.{DEFAULT_SESSION}]\ntick = "1"\nschedule = "10:00-14:00"\n'


def test_an_instrument_named_as_the_forts_day_with_a_schedule_is_refused() -> None:
    table = {DEFAULT_SESSION: {"tick": "1", "schedule": "10:00-14:00"}}

    with pytest.raises(ConfigError, match=rf"^yard\.toml: {CLASH}"):
        instrument_table(table, source="yard.toml")


@pytest.mark.parametrize("schedule", [None, "forts"])
def test_an_instrument_named_as_the_forts_day_trades_in_it_without_a_schedule(
    schedule: str | None,
) -> None:
    given = {"tick": "1"} if schedule is None else {"tick": "1", "schedule": schedule}

    table = instrument_table({DEFAULT_SESSION: given}, source="yard.toml")

    assert table.session_of(DEFAULT_SESSION) == DEFAULT_SESSION
    assert table.scheduled() == ()


def test_the_gateway_and_the_feed_refuse_it_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "yard.toml"
    config.write_text(FORTS_WITH_A_SCHEDULE, encoding="utf-8")

    with pytest.raises(ConfigError, match=rf"^{config}: {CLASH}"):
        instruments_in_file(config)


def test_yard_run_stops_at_start_up_with_exit_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "yard.toml"
    config.write_text(FORTS_WITH_A_SCHEDULE, encoding="utf-8")

    code = main(["run", str(config), "--quiet", "--data-dir", str(tmp_path / "data")])

    assert code == 2
    assert f"instruments.{DEFAULT_SESSION}.schedule: an instrument" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before a run folder is made
