"""A component's security settings: checked when made, keys found by name, config tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yard_actors.errors import ConfigError
from yard_actors.net import DEFAULT_MAX_MESSAGE_SIZE, FEED, GATEWAY, Security, make_keys
from yard_actors.net.keys import load_public_key
from yard_actors.net.security import security_from_config


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    make_keys(tmp_path / "keys", ["feed", "gateway", "host-a"])
    return tmp_path / "keys"


def test_a_component_with_keys_is_named_by_its_secret_key_and_finds_its_servers_keys(
    keys: Path,
) -> None:
    security = Security.from_keys(keys, "host-a")

    assert security.keyed
    assert security.name == "host-a"
    assert security.key_pair().name == "host-a"
    assert security.server_key(GATEWAY) == load_public_key(keys / "gateway.key")
    assert security.max_message_size == DEFAULT_MAX_MESSAGE_SIZE


def test_a_server_key_can_be_named_by_another_file(keys: Path, tmp_path: Path) -> None:
    make_keys(tmp_path / "other", ["gw-2"])
    security = Security.from_keys(
        keys, "host-a", server_keys={GATEWAY: tmp_path / "other/gw-2.key"}
    )

    assert security.server_key(GATEWAY) == load_public_key(tmp_path / "other" / "gw-2.key")
    assert security.server_key(FEED) == load_public_key(keys / "feed.key")


def test_a_missing_server_key_says_which_server_and_how_to_get_its_key(keys: Path) -> None:
    security = Security.from_keys(keys, "host-a")

    with pytest.raises(
        ConfigError, match=r"the host-b server's public key: .*host-b\.key does not"
    ):
        security.server_key("host-b")


def test_a_secret_key_without_public_keys_is_refused() -> None:
    with pytest.raises(ConfigError, match="secret_key is given without public_keys"):
        Security(secret_key=Path("keys/host.key_secret"))


@pytest.mark.parametrize("size", [0, -1, True, 1.5])
def test_a_message_size_limit_must_be_a_positive_number_of_bytes(size: Any) -> None:
    with pytest.raises(ConfigError, match="max_message_size must be a positive number of bytes"):
        Security(max_message_size=size)


def test_in_one_process_every_role_is_its_own_server(keys: Path) -> None:
    security = Security.from_keys(keys, "host-a").in_one_process()

    own = security.key_pair().public
    assert security.server_key(FEED) == own
    assert security.server_key(GATEWAY) == own


def test_a_security_table_reads_paths_relative_to_its_config_file(keys: Path) -> None:
    source = str(keys.parent / "yard.toml")
    table = {
        "secret_key": "keys/host-a.key_secret",
        "public_keys": "keys",
        "server_keys": {"feed": "keys/gateway.key"},
        "allow_insecure_tcp": False,
        "max_message_size": 100_000,
    }

    security = security_from_config(table, source=source)

    assert security.secret_key == keys / "host-a.key_secret"
    assert security.public_keys == keys
    assert security.server_key(FEED) == load_public_key(keys / "gateway.key")
    assert security.max_message_size == 100_000


@pytest.mark.parametrize(
    ("table", "error"),
    [
        ({"secret": "x"}, r"yard\.toml: security\.secret: unknown key \(allowed: "),
        ({"secret_key": 3}, r"security\.secret_key: must be a file path \(a string\), was 3"),
        ({"secret_key": "keys/host-a.key_secret"}, r"yard\.toml: security: secret_key is given"),
        (
            {"secret_key": "keys/nobody.key_secret", "public_keys": "keys"},
            r"security\.secret_key: .*nobody\.key_secret does not exist; make it with `yard keys",
        ),
        (
            {"secret_key": "keys/host-a.key_secret", "public_keys": "nowhere"},
            r"security\.public_keys: .*nowhere is not a directory of public keys",
        ),
        ({"server_keys": {"gateway": "keys/gw.key"}}, r"security\.server_keys\.gateway: .*gw\.key"),
        ({"allow_insecure_tcp": "yes"}, r"security\.allow_insecure_tcp: must be true or false"),
        ({"max_message_size": 0}, r"security\.max_message_size: must be a positive number"),
    ],
)
def test_a_bad_security_table_names_the_file_the_key_and_the_problem(
    keys: Path, table: dict[str, Any], error: str
) -> None:
    with pytest.raises(ConfigError, match=error):
        security_from_config(table, source=str(keys.parent / "yard.toml"))
