"""A feed in a process of its own: market data over and over, as fast as it can publish.

For the overload tests. :class:`LoopingFeed` starts it (``spawn``, so the child
shares nothing with the test's threads) and stops it on exit; the child binds a
PUB on ``url`` and publishes ``events`` quotes and ticks of Si (the seeded sample
day, encoded once) in a loop until told to stop, never dropping (as yard's feed).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.synchronize import Event as EventType
from types import TracebackType

import zmq

from gateways.sample import sample_session
from yard_actors import encode

START_TIMEOUT_S = 60.0


def _publish(url: str, events: int, ready: EventType, stop: EventType) -> None:
    stream = sample_session(symbols=("Si",))
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
    """``with LoopingFeed(url):`` a max-speed looping feed on ``url`` for the block."""

    def __init__(self, url: str, events: int = 20_000) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._ready, self._stop = spawn.Event(), spawn.Event()
        self._process = spawn.Process(
            target=_publish, args=(url, events, self._ready, self._stop), name="looping-feed"
        )

    def __enter__(self) -> LoopingFeed:
        self._process.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self._end()
            msg = f"the looping feed did not start within {START_TIMEOUT_S} s"
            raise AssertionError(msg)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end()

    def _end(self) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(10)
