"""An instrument's own session schedule: written in yard.toml, checked there with the key
named, and journaled with the table."""

from __future__ import annotations

import pytest

from yard_actors import ConfigError
from yard_actors.app.instrument_config import instrument_table
from yard_actors.wire.instruments import (
    DEFAULT_INSTRUMENTS,
    DEFAULT_SESSION,
    InstrumentTable,
    open_windows,
)

NG = {"tick": "0.001", "schedule": "10:00-14:00, 14:05-18:50"}


def test_a_schedule_is_read_as_moscow_minutes_in_one_spelling() -> None:
    table = instrument_table({"NG": NG}, source="yard.toml")
    ng = table.get("NG")

    assert ng is not None
    assert ng.schedule == "10:00-14:00,14:05-18:50"
    assert open_windows(ng.schedule) == ((600, 840), (845, 1130))
    assert (ng.session, table.session_of("NG"), table.session_of("Si")) == (
        "NG",
        "NG",
        DEFAULT_SESSION,
    )


def test_forts_puts_a_built_in_instrument_back_on_the_forts_day() -> None:
    table = instrument_table({"BR": {"schedule": "forts"}}, source="yard.toml")

    assert table.get("BR") == DEFAULT_INSTRUMENTS["BR"]
    assert table.session_of("BR") == DEFAULT_SESSION


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("10:00", r"stretch '10:00' is not HH:MM-HH:MM \(Moscow time\)"),
        ("14:00-10:00", r"must end after it starts, by 24:00 \(split one"),
        ("10:00-14:00,13:00-15:00", r"'13:00-15:00' overlaps or comes before the one before it"),
        (5, r"schedule must be stretches such as"),
    ],
)
def test_a_bad_schedule_is_refused_naming_the_key_and_the_stretch(
    schedule: object, problem: str
) -> None:
    with pytest.raises(ConfigError, match=r"^yard\.toml: instruments\.NG\.schedule: .*" + problem):
        instrument_table({"NG": {"tick": "0.001", "schedule": schedule}}, source="yard.toml")


def test_a_schedule_survives_the_journal_json_and_none_leaves_the_json_as_it_was() -> None:
    table = instrument_table({"NG": NG}, source="yard.toml")

    assert InstrumentTable.from_json(table.to_json()) == table
    assert "schedule" not in InstrumentTable().to_json()["Si"]


def test_a_status_of_an_unknown_session_reports_the_forts_day() -> None:
    table = instrument_table({"NG": NG}, source="yard.toml")

    assert [table.session_key(s) for s in ("NG", "FORTS", "MOEX")] == ["NG", "FORTS", "FORTS"]
