"""Suite-wide guards: no test may leave an actor or a thread running behind it."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator

import pykka
import pytest


@pytest.fixture(autouse=True)
def nothing_left_running() -> Iterator[None]:
    threads_before = set(threading.enumerate())
    yield
    leftover_actors = pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.stop_all(timeout=10)
    runtime = sys.modules.get("yard_actors.runtime")  # not imported: no default pool to stop
    if runtime is not None:
        runtime.shutdown_default_pool(timeout=10)  # PooledActor's shared workers start on use
    deadline = time.monotonic() + 2  # a thread that was told to stop may still be unwinding
    while (extra := set(threading.enumerate()) - threads_before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not leftover_actors, f"the test left actors running: {leftover_actors}"
    assert not extra, f"the test left threads running: {sorted(t.name for t in extra)}"


@pytest.fixture(params=["threads", "pooled"])
def each_runtime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once per robot runtime, as Pykka runs its suite on each of its runtimes.

    Hosts built without an explicit ``runtime`` read ``YARD_RUNTIME``; so do hosts in
    child processes the test starts. Use with ``pytestmark = pytest.mark.usefixtures(...)``.
    """
    runtime = str(request.param)
    monkeypatch.setenv("YARD_RUNTIME", runtime)
    return runtime
