"""The host's change-stream watcher rides out a MongoDB server restart and misses no fill.

A real :class:`~yard_actors.host.fill_watch.FillWatcher` follows a real store on
nx-27017 and forwards over a real inproc socket. The server is stopped and
started again (its own port and files); whatever fails, the watcher's thread
goes on, tries the store again with backoff, resumes after its token and
sweeps the store for what was stored meanwhile.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.store import MongoOrderStore, open_store
from gateways.store.mongo import FillWatch
from tests.integration.gateways.store_orders import new_order, working
from tests.integration.nx_restartable import NxServer
from yard_actors.errors import StoreError
from yard_actors.host.fill_watch import FillSource, FillWatcher, OpenFillSource
from yard_actors.testing import filled, wait_until
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Fill

pytestmark = pytest.mark.timeout(120)

_SELECTION_MS = 300  # how long the watcher's client looks for a server that is down


@pytest.fixture
def nx(tmp_path: Path) -> Iterator[NxServer]:
    server = NxServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.term()


class Watched:
    """A FillWatcher on ``open_source`` following robot ``alpha``, and the socket it feeds."""

    def __init__(
        self,
        context: zmq.Context[zmq.Socket[bytes]],
        open_source: OpenFillSource,
        token_file: Path | None = None,
    ) -> None:
        url = f"inproc://fill-watch-test-{id(self)}"
        self.pull = context.socket(zmq.PULL)
        self.pull.setsockopt(zmq.LINGER, 0)
        self.pull.bind(url)
        self.watcher = FillWatcher(
            open_source, "the test store", context, url, token_file, max_delay_s=0.5
        )
        self.seqs: set[int] = set()
        self.watcher.start()
        self.watcher.watch("alpha", 0)

    def wait_for(self, seqs: set[int], timeout: float = 30.0) -> None:
        """Until every seq in ``seqs`` was forwarded (each may come twice: stream and sweep)."""
        deadline = time.monotonic() + timeout
        while not seqs <= self.seqs:
            left = deadline - time.monotonic()
            assert left > 0, f"seqs {sorted(seqs - self.seqs)} were never forwarded"
            if self.pull.poll(int(min(left, 0.1) * 1000)):
                robot, payload = self.pull.recv_multipart()
                fill = decode(payload)
                assert robot == b"alpha"
                assert isinstance(fill, Fill)
                self.seqs.add(fill.seq)

    def close(self) -> None:
        self.watcher.stop()
        self.pull.close()


@pytest.fixture
def watched(context: zmq.Context[zmq.Socket[bytes]]) -> Iterator[list[Watched]]:
    made: list[Watched] = []
    yield made
    for each in made:
        each.close()


def test_the_fill_watcher_follows_again_after_the_server_restarts_and_misses_no_fill(
    nx: NxServer,
    tmp_path: Path,
    context: zmq.Context[zmq.Socket[bytes]],
    watched: list[Watched],
) -> None:
    url = nx.database_url("restart", selection_ms=_SELECTION_MS)
    with open_store(url) as gateway_store:
        order = working(gateway_store, new_order(qty=10))
        gateway_store.apply_fill(filled(order, 1, trade_id="t-1"))
    watch = Watched(context, lambda: MongoOrderStore(url), tmp_path / "token.json")
    watched.append(watch)
    watch.wait_for({1})

    nx.stop()
    time.sleep(2.0)  # the outage itself: the watcher's stream fails within ~0.3 s of it
    nx.start()
    with open_store(url) as gateway_store:
        gateway_store.apply_fill(filled(order, 2, trade_id="t-2"))
        gateway_store.apply_fill(filled(order, 3, trade_id="t-3"))
    watch.wait_for({1, 2, 3})

    assert watch.watcher.is_alive()
    assert watch.watcher.failures >= 1
    assert watch.seqs == {1, 2, 3}


class ForgetfulStore(MongoOrderStore):
    """A real store on a server that no longer has the point a token names.

    MongoDB refuses such a token once its oplog has moved past it; nx-27017 keeps
    its change log, so this store refuses the token as MongoDB would.
    """

    def watch_fills(
        self, robots: Sequence[str], *, resume_after: Mapping[str, Any] | None = None
    ) -> FillWatch:
        if resume_after is not None:
            msg = f"the server no longer has the change stream's point {resume_after}"
            raise StoreError(msg)
        return super().watch_fills(robots)


def test_a_token_the_server_refuses_is_dropped_and_the_store_swept_instead(
    mongo_url: str,
    tmp_path: Path,
    context: zmq.Context[zmq.Socket[bytes]],
    watched: list[Watched],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token_file = tmp_path / "token.json"
    token_file.write_text('{"_data": "a point long gone"}')
    with open_store(mongo_url) as gateway_store:
        order = working(gateway_store, new_order(qty=10))
        gateway_store.apply_fill(filled(order, 1, trade_id="t-1"))

        watch = Watched(context, lambda: ForgetfulStore(mongo_url), token_file)
        watched.append(watch)
        watch.wait_for({1})
        gateway_store.apply_fill(filled(order, 2, trade_id="t-2"))
        watch.wait_for({1, 2})

    assert watch.watcher.failures == 0
    assert any("cannot resume after its token" in r.getMessage() for r in caplog.records)


def test_an_unexpected_error_is_logged_with_its_traceback_and_the_watcher_goes_on(
    mongo_url: str,
    context: zmq.Context[zmq.Socket[bytes]],
    watched: list[Watched],
    caplog: pytest.LogCaptureFixture,
) -> None:
    opened = 0

    def open_source() -> FillSource:
        nonlocal opened
        opened += 1
        if opened == 1:
            msg = "a bug in the first open"
            raise RuntimeError(msg)
        return MongoOrderStore(mongo_url)

    with open_store(mongo_url) as gateway_store:
        order = working(gateway_store, new_order(qty=10))
        watch = Watched(context, open_source)
        watched.append(watch)
        gateway_store.apply_fill(filled(order, 1, trade_id="t-1"))
        watch.wait_for({1})

    wait_until(lambda: watch.watcher.failures == 1, what="the failure counted")
    assert watch.watcher.is_alive()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "failed unexpectedly" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)
