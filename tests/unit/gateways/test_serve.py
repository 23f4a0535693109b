"""What `yard gateway` opens its store's retries with."""

from __future__ import annotations

import pytest

from gateways.store import with_retry_timeouts


@pytest.mark.parametrize(
    ("url", "retry_url"),
    [
        (
            "mongodb://127.0.0.1:27017/yard?directConnection=true",
            "mongodb://127.0.0.1:27017/yard?directConnection=true"
            "&serverSelectionTimeoutMS=2000&connectTimeoutMS=2000&socketTimeoutMS=5000",
        ),
        (
            "mongodb://db1",
            "mongodb://db1/?serverSelectionTimeoutMS=2000&connectTimeoutMS=2000"
            "&socketTimeoutMS=5000",
        ),
        (
            "mongodb://db1/yard?sockettimeoutms=100",
            "mongodb://db1/yard?sockettimeoutms=100"
            "&serverSelectionTimeoutMS=2000&connectTimeoutMS=2000",
        ),
        ("sqlite:///yard-data/yard.db", "sqlite:///yard-data/yard.db"),
    ],
)
def test_a_store_retry_waits_seconds_not_forever_and_the_url_own_timeouts_win(
    url: str, retry_url: str
) -> None:
    assert with_retry_timeouts(url) == retry_url
