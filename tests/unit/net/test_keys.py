"""CURVE key pairs on disk: made in zmq.auth's format, secret files their owner's only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import zmq.auth

from yard_actors.errors import ConfigError
from yard_actors.net import load_key_pair, load_public_key, make_keys
from yard_actors.net.keys import TrustedKeys


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_key_pair_is_a_public_file_and_a_secret_file_only_its_owner_can_read(
    tmp_path: Path,
) -> None:
    written = make_keys(tmp_path / "keys", ["gateway"])

    public, secret = tmp_path / "keys" / "gateway.key", tmp_path / "keys" / "gateway.key_secret"
    assert written == [public, secret]
    assert _mode(secret) == 0o600
    assert _mode(tmp_path / "keys") == 0o700
    assert zmq.auth.load_certificate(public) == (zmq.auth.load_certificate(secret)[0], None)
    pair = load_key_pair(secret)
    assert pair.name == "gateway"
    assert pair.public == load_public_key(public)
    assert zmq.curve_public(pair.secret) == pair.public


def test_making_keys_never_overwrites_one_and_writes_nothing_when_it_refuses(
    tmp_path: Path,
) -> None:
    make_keys(tmp_path, ["host-a"])
    before = (tmp_path / "host-a.key_secret").read_bytes()

    with pytest.raises(ConfigError, match=r"host-a\.key, .*host-a\.key_secret already exist"):
        make_keys(tmp_path, ["host-b", "host-a"])

    assert (tmp_path / "host-a.key_secret").read_bytes() == before
    assert not (tmp_path / "host-b.key").exists()


@pytest.mark.parametrize("name", ["", "../up", "a/b", ".hidden", "x" * 65])
def test_a_key_name_that_is_not_a_plain_file_stem_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="must be 1 to 64 letters"):
        make_keys(tmp_path, [name])


def test_a_secret_key_others_can_read_is_refused_with_the_chmod_that_fixes_it(
    tmp_path: Path,
) -> None:
    make_keys(tmp_path, ["feed"])
    secret = tmp_path / "feed.key_secret"
    secret.chmod(0o640)

    with pytest.raises(ConfigError, match=r"can be read by other users \(mode 0640\).*chmod 600"):
        load_key_pair(secret)


def test_a_missing_secret_key_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; make it with `yard keys .* --name h`"):
        load_key_pair(tmp_path / "h.key_secret")


def test_a_public_key_given_as_the_secret_one_is_refused(tmp_path: Path) -> None:
    make_keys(tmp_path, ["feed"])

    with pytest.raises(ConfigError, match="is not a secret key file"):
        load_key_pair(tmp_path / "feed.key")


def test_trusted_keys_name_each_public_key_in_the_directory_and_the_own_one(
    tmp_path: Path,
) -> None:
    make_keys(tmp_path / "public", ["host-a", "host-b"])
    make_keys(tmp_path / "own", ["gateway"])
    own = load_key_pair(tmp_path / "own" / "gateway.key_secret")

    trusted = TrustedKeys(tmp_path / "public", own)

    assert trusted.name_of(load_public_key(tmp_path / "public" / "host-a.key")) == "host-a"
    assert trusted.name_of(load_public_key(tmp_path / "public" / "host-b.key")) == "host-b"
    assert trusted.name_of(own.public) == "gateway"
    assert trusted.name_of(zmq.curve_keypair()[0]) is None


def test_a_key_added_to_or_removed_from_the_directory_counts_without_a_restart(
    tmp_path: Path,
) -> None:
    make_keys(tmp_path, ["host-a"])
    trusted = TrustedKeys(tmp_path)
    make_keys(tmp_path / "elsewhere", ["host-c"])
    newcomer = load_public_key(tmp_path / "elsewhere" / "host-c.key")
    assert trusted.name_of(newcomer) is None

    (tmp_path / "elsewhere" / "host-c.key").rename(tmp_path / "host-c.key")
    assert trusted.name_of(newcomer) == "host-c"

    (tmp_path / "host-c.key").unlink()
    assert trusted.name_of(newcomer) is None


def test_a_directory_of_trusted_keys_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a directory of public keys"):
        TrustedKeys(tmp_path / "nowhere")
