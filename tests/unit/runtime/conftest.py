"""Fixtures of the runtime tests: a test pool, each runtime in turn, a lenient quick turn."""

from __future__ import annotations

from collections.abc import Iterator

import pykka
import pytest

from tests.unit.runtime.actors import WAIT
from yard_actors.runtime import Pool, PooledActor, mailbox


@pytest.fixture
def pool() -> Iterator[Pool]:
    pool = Pool(workers=2, name="test-pool")
    yield pool
    pykka.ActorRegistry.stop_all(timeout=WAIT)
    assert pool.shutdown(WAIT)


@pytest.fixture(params=["threading", "pooled"])
def base(request: pytest.FixtureRequest, pool: Pool) -> type[pykka.Actor]:
    """The runtime under test: ``ThreadingActor``, or ``PooledActor`` on the test pool."""
    if request.param == "threading":
        return pykka.ThreadingActor

    class OnTestPool(PooledActor):
        actor_pool = pool

    return OnTestPool


@pytest.fixture
def quick_is_20_ms(monkeypatch: pytest.MonkeyPatch) -> int:
    """A turn counts as quick under 20 ms: a busy CI box must not make a quick one slow."""
    monkeypatch.setattr(mailbox, "QUICK_TURN_NS", 20_000_000)
    return 20_000_000
