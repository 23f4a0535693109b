"""``[security]`` in a host config: read with the rest, its paths beside the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors.errors import ConfigError
from yard_actors.host.host_config import host_settings
from yard_actors.net import Security, make_keys

ENDPOINTS = {name: f"inproc://{name}" for name in ("data", "orders", "trades", "control")}


def test_a_security_table_becomes_the_hosts_security(tmp_path: Path) -> None:
    make_keys(tmp_path / "keys", ["host-a"])
    config = {
        "endpoints": ENDPOINTS,
        "security": {"secret_key": "keys/host-a.key_secret", "public_keys": "keys"},
    }

    settings = host_settings(config, source=str(tmp_path / "yard.toml"))

    assert settings.host_kwargs["security"] == Security.from_keys(tmp_path / "keys", "host-a")


def test_a_bad_security_table_stops_start_up_naming_file_and_key(tmp_path: Path) -> None:
    config = {"endpoints": ENDPOINTS, "security": {"max_message_size": "big"}}

    with pytest.raises(ConfigError, match=r"^yard\.toml: security\.max_message_size: must be a"):
        host_settings(config, source="yard.toml")


def test_security_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"^yard\.toml: security: must be of type Mapping"):
        host_settings({"endpoints": ENDPOINTS, "security": "keys"}, source="yard.toml")
