"""``yard keys`` and the security flags of ``yard gateway`` and ``yard feed``."""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateways.serve import GatewaySettings
from tests.unit.app.cli_rig import ENDPOINTS, refusal, served_fixture  # noqa: F401 - a fixture
from yard_actors.app import cli
from yard_actors.app.config_file import SystemSettings
from yard_actors.net import DEFAULT_MAX_MESSAGE_SIZE, LOCAL_ONLY, Security, load_key_pair


def test_yard_keys_makes_a_deployments_key_pairs_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["keys", str(tmp_path / "keys")]) == 0

    names = sorted(path.name for path in (tmp_path / "keys").iterdir())
    assert names == [f"{n}.{s}" for n in ("feed", "gateway", "host") for s in ("key", "key_secret")]
    assert load_key_pair(tmp_path / "keys" / "host.key_secret").name == "host"
    mode = (tmp_path / "keys" / "gateway.key_secret").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert capsys.readouterr().out.count("yard: wrote") == 3


def test_yard_keys_makes_the_named_pairs(tmp_path: Path) -> None:
    assert cli.main(["keys", str(tmp_path), "--name", "host-a", "--name", "host-b"]) == 0

    assert sorted(p.name for p in tmp_path.glob("*.key")) == ["host-a.key", "host-b.key"]


def test_yard_keys_never_overwrites_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli.main(["keys", str(tmp_path), "--name", "gateway"])
    before = (tmp_path / "gateway.key_secret").read_bytes()

    assert cli.main(["keys", str(tmp_path), "--name", "gateway"]) == 2

    assert "already exist; yard keys never overwrites a key" in capsys.readouterr().err
    assert (tmp_path / "gateway.key_secret").read_bytes() == before


def test_without_security_flags_yard_gateway_has_no_keys_and_the_default_size_limit(
    served: list[GatewaySettings],
) -> None:
    assert cli.main(["gateway", *ENDPOINTS]) == 0

    assert served[0].security == LOCAL_ONLY
    assert served[0].security.max_message_size == DEFAULT_MAX_MESSAGE_SIZE


def test_the_security_flags_make_the_gateways_security(
    served: list[GatewaySettings], tmp_path: Path
) -> None:
    flags = [
        *("--secret-key", str(tmp_path / "gateway.key_secret")),
        *("--public-keys", str(tmp_path)),
        *("--server-key", f"feed={tmp_path / 'feed-2.key'}"),
        *("--max-message-size", "100000"),
    ]

    assert cli.main(["gateway", *ENDPOINTS, *flags]) == 0

    assert served[0].security == Security(
        secret_key=tmp_path / "gateway.key_secret",
        public_keys=tmp_path,
        server_keys={"feed": tmp_path / "feed-2.key"},
        max_message_size=100_000,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--server-key", "gateway"], "argument --server-key: must be NAME=FILE"),
        (["--max-message-size", "0"], "argument --max-message-size: must be a positive whole"),
    ],
)
def test_a_bad_security_flag_stops_the_command_naming_the_flag(
    flags: list[str],
    message: str,
    served: list[GatewaySettings],
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert message in refusal(["gateway", *ENDPOINTS, *flags], capsys)


def test_a_secret_key_without_public_keys_stops_yard_gateway(
    served: list[GatewaySettings], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["gateway", *ENDPOINTS, "--secret-key", "k/gateway.key_secret"]) == 2

    assert "secret_key is given without public_keys" in capsys.readouterr().err
    assert served == []


def test_yard_feed_on_tcp_without_keys_exits_2_saying_how_to_make_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["feed", "--bind", "tcp://127.0.0.1:*", "--wait-for", "0"]) == 2

    assert "Make keys with `yard keys keys" in capsys.readouterr().err


def test_yard_run_secret_key_gives_one_host_of_a_config_its_own_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.main(["keys", str(tmp_path / "keys"), "--name", "host-a", "--name", "host-b"])
    config = tmp_path / "yard.toml"
    config.write_text(
        '[security]\nsecret_key = "keys/host-a.key_secret"\npublic_keys = "keys"\n'
        # a host of its own needs endpoints another process can reach: not inproc://
        '[endpoints]\ndata = "ipc://d"\norders = "ipc://o"\ntrades = "ipc://t"\n',
        encoding="utf-8",
    )
    hosted: list[SystemSettings] = []

    def run_host(settings: SystemSettings, names: Sequence[str] | None, **_: object) -> int:
        hosted.append(settings)
        return 0

    monkeypatch.setattr(cli, "run_host", run_host)
    other = tmp_path / "keys" / "host-b.key_secret"

    assert cli.main(["run", str(config), "--role", "host", "--secret-key", str(other)]) == 0

    assert hosted[0].security == Security.from_keys(tmp_path / "keys", "host-b")
