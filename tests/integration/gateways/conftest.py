"""The order store fixtures the contract's tests share: each backend, on a file or a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.store import OrderStore, open_store


@pytest.fixture(params=["sqlite", "mongo"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of each backend in turn: a SQLite file, a database on the MongoDB server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orders.db'}"  # an absolute path: four slashes
    url: str = request.getfixturevalue("mongo_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[OrderStore]:
    with open_store(store_url) as opened:
        yield opened
