"""A MongoDB wire-protocol server for tests and benchmarks: nx-27017, on a free port.

Robots whose store is MongoDB can then be tested without installing MongoDB:
nx-27017 (the test extra) speaks the wire protocol over SQLite, change streams
included. Set ``YARD_MONGO_URL`` to use a real server instead; the callers in
this repository do.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yard_actors.errors import YardError

__all__ = ["database_of", "nx_server", "scratch_database"]

_START_SECONDS = 30.0
_POLL_SECONDS = 0.05


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    from pymongo import MongoClient  # noqa: PLC0415 - only callers of this module need it
    from pymongo.errors import PyMongoError  # noqa: PLC0415

    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=250)
    try:
        client.admin.command("ping")
    except PyMongoError:
        return False
    finally:
        client.close()
    return True


def database_of(server_url: str, database: str) -> str:
    """``server_url`` naming ``database`` as its path (the store's database)."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{database}"))


@contextlib.contextmanager
def nx_server(directory: Path, *, cpus: Sequence[int] = ()) -> Iterator[str]:
    """Run nx-27017 with its files in ``directory``; yield its URL; stop it on the way out.

    ``cpus`` pins the server (a benchmark keeps it off the host's core). Raises
    YardError with the server's output if it does not answer within 30 s.
    """
    pin = f"os.sched_setaffinity(0, {sorted(cpus)}); " if cpus else ""
    start = f"import os, sys; {pin}from nx_27017 import main; sys.exit(main())"
    port = _free_port()
    command = [
        *(sys.executable, "-c", start),  # this interpreter: the venv's copy of nx-27017
        *("--data-dir", str(directory / "data")),  # a file per database: dropping one drops it
        *("-p", str(port)),
        *("--pid-file", str(directory / "nx-27017.pid")),  # its own: a shared one is refused
        *("--log-file", str(directory / "nx-27017.log")),
    ]
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    with (directory / "output.txt").open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            deadline = time.monotonic() + _START_SECONDS
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (directory / "output.txt").read_text(errors="replace")
                    msg = f"nx-27017 did not answer on port {port} ({command}):\n{log}"
                    raise YardError(msg)
                time.sleep(_POLL_SECONDS)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str = "yard_test") -> Iterator[str]:
    """A database of its own on the server at ``server_url``, dropped on the way out."""
    from pymongo import MongoClient  # noqa: PLC0415

    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    try:
        yield database_of(server_url, name)
    finally:
        client: MongoClient[dict[str, object]] = MongoClient(server_url)
        try:
            client.drop_database(name)
        finally:
            client.close()
