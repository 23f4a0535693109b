"""A feed in a process of its own: the sample day over and over, as fast as it can publish.

For overload runs (tests/integration/test_overload.py, benchmarks/bench_overload.py):
:class:`LoopingFeed` starts a child process (``spawn``, so it shares nothing with the
caller's threads) that binds a PUB on ``url`` and publishes the first ``events``
quotes and ticks of the seeded sample day (:func:`~gateways.sample.sample_session`,
encoded once) in a loop until stopped, never dropping (``SNDHWM`` 0, as yard's feed):
a host reads what it can and the rest waits. Not a market, not paced: the point is
more data than a host can take.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from multiprocessing.synchronize import Event as EventType
from types import TracebackType
from typing import Final, Self

import zmq

from gateways.sample import sample_session
from yard_actors.wire.codec import encode

__all__ = ["LoopingFeed"]

START_TIMEOUT_S: Final = 60.0  # the child imports, builds the day and binds within this
_STOP_S: Final = 10.0  # a child told to stop ends within this, or is killed


def _publish(
    url: str, events: int, symbols: Sequence[str], ready: EventType, stop: EventType
) -> None:
    """The child process: publish ``events`` of the sample day round and round until ``stop``."""
    stream = sample_session(symbols=tuple(symbols))
    frames = [(e.symbol.encode(), encode(e)) for e, _ in zip(stream, range(events), strict=False)]
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    socket = context.socket(zmq.PUB)
    socket.setsockopt(zmq.SNDHWM, 0)
    socket.setsockopt(zmq.LINGER, 0)
    socket.bind(url)
    ready.set()
    try:
        while not stop.is_set():
            for frame in frames:
                socket.send_multipart(frame)
    finally:
        socket.close()
        context.term()


class LoopingFeed:
    """``with LoopingFeed(url):`` a max-speed looping feed on ``url`` for the block.

    ``events``: how many events of the day make one loop; ``symbols``: whose. Entering
    raises AssertionError if the child has not bound within a minute. :meth:`stop` ends
    it before the block does (a caller that times what follows); leaving the block
    stops it too, killing a child that does not end within 10 s.
    """

    def __init__(self, url: str, *, events: int = 20_000, symbols: Sequence[str] = ("Si",)) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._ready, self._stop = spawn.Event(), spawn.Event()
        self._process = spawn.Process(
            target=_publish,
            args=(url, events, tuple(symbols), self._ready, self._stop),
            name="looping-feed",
        )

    def __enter__(self) -> Self:
        self._process.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            msg = f"the looping feed did not start within {START_TIMEOUT_S} s"
            raise AssertionError(msg)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop publishing and wait for the child to end; idempotent."""
        self._stop.set()
        self._process.join(_STOP_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(_STOP_S)
