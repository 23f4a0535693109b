"""``[pool] max_workers`` and ``[mailbox]``: checked with the file, key and problem named,
and carried to the host's pool and mailbox limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from yard_actors import ConfigError, Host
from yard_actors.app.config_file import load_settings
from yard_actors.host import runtimes
from yard_actors.host.backlog import CONFLATE_AT, OVERRUN_AT, MailboxLimits
from yard_actors.host.host_config import host_settings
from yard_actors.runtime import SPARE_WORKERS, Pool

ENDPOINTS = {
    "data": "inproc://d",
    "orders": "inproc://o",
    "trades": "inproc://t",
    "control": "inproc://c",
}


def _settings(**tables: Any) -> dict[str, Any]:
    return dict(host_settings({"endpoints": ENDPOINTS, **tables}, source="yard.toml").host_kwargs)


def test_a_mailbox_table_sets_the_host_mailbox_limits() -> None:
    kwargs = _settings(mailbox={"conflate_at": 500, "overrun_at": 2000})

    assert kwargs["mailbox"] == MailboxLimits(conflate_at=500, overrun_at=2000)


def test_a_mailbox_table_keeps_the_default_of_what_it_leaves_out() -> None:
    assert _settings(mailbox={"conflate_at": 20})["mailbox"] == MailboxLimits(
        conflate_at=20, overrun_at=OVERRUN_AT
    )
    assert _settings(mailbox={"overrun_at": 20_000})["mailbox"] == MailboxLimits(
        conflate_at=CONFLATE_AT, overrun_at=20_000
    )


def test_no_mailbox_table_leaves_the_host_its_defaults() -> None:
    assert "mailbox" not in _settings()


def test_pool_max_workers_becomes_the_host_argument() -> None:
    kwargs = _settings(pool={"workers": 2, "max_workers": 2})

    assert (kwargs["pool_workers"], kwargs["pool_max_workers"]) == (2, 2)


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {"mailbox": {"conflate_at": 0}},
            "yard.toml: mailbox.conflate_at: must be a positive number of events, was 0",
        ),
        (
            {"mailbox": {"overrun_at": "lots"}},
            "yard.toml: mailbox.overrun_at: must be of type int, was str 'lots'",
        ),
        (
            {"mailbox": {"overrun_at": 1.5e4}},
            "yard.toml: mailbox.overrun_at: must be of type int, was float 15000.0",
        ),
        (
            {"mailbox": {"conflate_at": 100, "overrun_at": 100}},
            r"yard\.toml: mailbox\.overrun_at: must be above mailbox\.conflate_at = 100 .*was 100",
        ),
        (
            {"mailbox": {"conflate_at": 60_000}},
            r"yard\.toml: mailbox\.overrun_at: must be above mailbox\.conflate_at = 60000 .*"
            r"was 50000",
        ),
        (
            {"mailbox": {"limit": 5}},
            r"yard\.toml: mailbox\.limit: unknown key \(allowed: conflate_at, overrun_at\)",
        ),
        ({"mailbox": 5}, "yard.toml: mailbox: must be of type Mapping, was int 5"),
        (
            {"pool": {"max_workers": 0}},
            "yard.toml: pool.max_workers: must be positive, was 0",
        ),
        (
            {"pool": {"max_workers": True}},
            "yard.toml: pool.max_workers: must be of type int, was bool True",
        ),
        (
            {"pool": {"workers": 4, "max_workers": 2}},
            "yard.toml: pool.max_workers: is the most workers the pool may grow to and must be "
            "at least pool.workers = 4, was 2",
        ),
    ],
)
def test_a_bad_mailbox_or_pool_setting_names_file_key_and_problem(
    tables: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings(**tables)


def test_a_config_file_mailbox_and_pool_reach_the_settings(tmp_path: Path) -> None:
    path = tmp_path / "yard.toml"
    path.write_text(
        "[pool]\nmax_workers = 3\n[mailbox]\nconflate_at = 100\noverrun_at = 400\n",
        encoding="utf-8",
    )

    kwargs = load_settings(path).host.host_kwargs

    assert kwargs["pool_max_workers"] == 3
    assert kwargs["mailbox"] == MailboxLimits(conflate_at=100, overrun_at=400)


def test_a_bad_mailbox_key_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "yard.toml"
    path.write_text("[mailbox]\nconflate_at = -1\n", encoding="utf-8")

    message = f"{path}: mailbox.conflate_at: must be a positive number of events, was -1"
    with pytest.raises(ConfigError) as refused:
        load_settings(path)

    assert str(refused.value) == message


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[Pool]:
    """Every pool a host makes for its robots."""
    made: list[Pool] = []

    class Recorded(Pool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(runtimes, "Pool", Recorded)
    return made


@pytest.mark.parametrize(
    ("pool", "max_workers"),
    [({"workers": 2, "max_workers": 5}, 5), ({"workers": 2}, 2 + SPARE_WORKERS)],
)
def test_a_host_from_config_grows_its_pool_to_max_workers(
    pool: dict[str, int], max_workers: int, pools: list[Pool], tmp_path: Path
) -> None:
    config = {"endpoints": ENDPOINTS, "journal_dir": str(tmp_path), "pool": pool}

    with Host.from_config(config):
        pass

    [made] = pools
    assert (made.workers, made.max_workers) == (2, max_workers)
