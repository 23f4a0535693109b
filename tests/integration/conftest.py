"""Servers for the integration tests: a MongoDB wire server, started once per session.

The server is nx-27017 (a MongoDB wire-protocol server over SQLite, from the
test extras) unless ``YARD_MONGO_URL`` names a real one, which is then used as
it is and nothing is started. Each test that asks for ``mongo_url`` gets a
database of its own, dropped after it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from yard_actors.testing.mongo import nx_server, scratch_database


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a MongoDB server for the whole session (no database in it)."""
    given = os.environ.get("YARD_MONGO_URL")
    if given:
        yield given
        return
    with nx_server(tmp_path_factory.mktemp("nx-27017")) as url:
        yield url


@pytest.fixture
def mongo_url(mongo_server: str) -> Iterator[str]:
    """A URL naming a database of this test's own on the session's server; dropped after."""
    with scratch_database(mongo_server) as url:
        yield url
