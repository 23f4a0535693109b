"""Servers for the integration tests: a MongoDB wire server, started once per session.

The server is nx-27017 (a MongoDB wire-protocol server over SQLite, from the
test extras) unless ``YARD_MONGO_URL`` names a real one, which is then used as
it is and nothing is started. Each test that asks for ``mongo_url`` gets a
database of its own, dropped after it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

_START_SECONDS = 30.0
_POLL_SECONDS = 0.05
# nx-27017's console script, run with this interpreter so that the venv's copy is used.
_NX_27017 = (sys.executable, "-c", "import sys; from nx_27017 import main; sys.exit(main())")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=250)
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a MongoDB server for the whole session (no database in it)."""
    given = os.environ.get("YARD_MONGO_URL")
    if given:
        yield given
        return
    home = tmp_path_factory.mktemp("nx-27017")
    port = _free_port()
    command = [
        *_NX_27017,
        *("--data-dir", str(home / "data")),  # one file per database: dropping one drops it only
        *("-p", str(port)),
        *("--pid-file", str(home / "nx-27017.pid")),
        *("--log-file", str(home / "nx-27017.log")),
    ]
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    with (home / "output.txt").open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + _START_SECONDS
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (home / "output.txt").read_text(errors="replace")
                    pytest.fail(f"nx-27017 did not answer on port {port} ({command}):\n{log}")
                time.sleep(_POLL_SECONDS)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def with_database(server_url: str, database: str) -> str:
    """``server_url`` naming ``database`` as its path (the store's database)."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))


@pytest.fixture
def mongo_url(mongo_server: str) -> Iterator[str]:
    """A URL naming a database of this test's own on the session's server; dropped after."""
    database = f"yard_test_{uuid.uuid4().hex[:16]}"
    yield with_database(mongo_server, database)
    client: MongoClient[dict[str, object]] = MongoClient(mongo_server)
    try:
        client.drop_database(database)
    finally:
        client.close()
