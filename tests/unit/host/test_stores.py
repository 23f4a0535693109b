"""How a host finds the change stream of its order store without importing gateways."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from yard_actors.errors import ConfigError
from yard_actors.host import stores
from yard_actors.host.stores import FILL_SOURCES, fill_source_for, without_credentials


def test_a_mongodb_store_is_opened_through_the_installed_entry_point() -> None:
    opener = fill_source_for("mongodb://127.0.0.1:1/yard?directConnection=true")
    assert opener is not None
    assert opener.func.__module__ == "gateways.store"  # type: ignore[attr-defined]


@pytest.mark.parametrize("url", [None, "sqlite:///yard-data/yard.db", "not a url"])
def test_a_store_without_a_change_stream_gives_no_fill_source(url: str | None) -> None:
    assert fill_source_for(url) is None


def test_a_broken_entry_point_is_a_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = EntryPoint(name="mongodb", value="gateways.nowhere:open_store", group=FILL_SOURCES)

    def entry_points(*, group: str, name: str) -> list[EntryPoint]:
        return [broken] if (group, name) == (FILL_SOURCES, "mongodb") else []

    monkeypatch.setattr(stores, "entry_points", entry_points)
    with pytest.raises(ConfigError, match=r"gateways\.nowhere:open_store .* fails to load"):
        fill_source_for("mongodb://db1/yard")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "mongodb://trader:s3cret@db1,db2/yard?replicaSet=rs0",
            "mongodb://db1,db2/yard?replicaSet=rs0",
        ),
        ("mongodb://db1/yard", "mongodb://db1/yard"),
        ("sqlite:///a@b.db", "sqlite:///a@b.db"),
        ("", ""),
    ],
)
def test_a_store_url_loses_its_credentials_before_a_log_line(url: str, shown: str) -> None:
    assert without_credentials(url) == shown
