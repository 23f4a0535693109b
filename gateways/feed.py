"""Market-data feeds that publish on a host's data endpoint.

:class:`SyntheticQuotes` makes a seeded random walk of quotes on each
instrument's tick grid: the same seed gives the same session, so demos and
benchmarks are repeatable. :class:`QuotePublisher` binds the data endpoint
(XPUB, so it can wait until the host has subscribed instead of losing the first
quotes to ZeroMQ's slow-joiner window) and publishes in the wire format of
``docs/wire.md``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

import zmq

from yard_actors.codec import encode
from yard_actors.errors import GatewayError
from yard_actors.events import Quote
from yard_actors.frames import send
from yard_actors.instruments import DEFAULT_INSTRUMENTS

__all__ = ["QuotePublisher", "SyntheticQuotes"]

_START_PRICES = {"Si": Decimal(90_000), "RTS": Decimal(110_000)}


class SyntheticQuotes:
    """A seeded random walk of one-tick-wide quotes, ``step_ns`` apart, round-robin over symbols."""

    def __init__(
        self,
        symbols: Sequence[str] = ("Si", "RTS"),
        *,
        seed: int = 7,
        count: int = 10_000,
        start_ts: int = 1_700_000_000_000_000_000,
        step_ns: int = 10_000_000,
    ) -> None:
        self.symbols = tuple(symbols)
        self.count = count
        self._seed = seed
        self._start_ts = start_ts
        self._step_ns = step_ns

    def __iter__(self) -> Iterator[Quote]:
        rng = random.Random(self._seed)
        mids = {s: _START_PRICES.get(s, Decimal(100)) for s in self.symbols}
        ticks = {
            s: DEFAULT_INSTRUMENTS[s].tick_size if s in DEFAULT_INSTRUMENTS else Decimal(1)
            for s in self.symbols
        }
        for n in range(self.count):
            symbol = self.symbols[n % len(self.symbols)]
            tick = ticks[symbol]
            mids[symbol] += tick * rng.choice((-2, -1, -1, 0, 0, 0, 1, 1, 2))
            bid = mids[symbol]
            yield Quote(
                ts=self._start_ts + n * self._step_ns,
                symbol=symbol,
                bid=bid,
                ask=bid + tick,
                bid_size=rng.randint(1, 50),
                ask_size=rng.randint(1, 50),
            )


class QuotePublisher:
    """Binds the data endpoint and publishes events; call from one thread only."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], url: str) -> None:
        self._socket = context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.SNDHWM, 0)  # never drop: the host reads as fast as it can
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)  # see every subscriber, not just the first
        try:
            self._socket.bind(url)
        except zmq.ZMQError as exc:
            self._socket.close()
            msg = f"feed cannot bind {url}: {exc}"
            raise GatewayError(msg) from exc
        self.endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._subscribed: Counter[bytes] = Counter()

    def wait_for_subscribers(
        self, topics: Iterable[str], *, count: int = 1, timeout: float = 10.0
    ) -> None:
        """Block until every topic has ``count`` subscribers, or raise GatewayError."""
        wanted = {t.encode() for t in topics}
        deadline = time.monotonic() + timeout
        while any(self._subscribed[t] < count for t in wanted):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._socket.poll(int(remaining * 1000)):
                missing = sorted(t.decode() for t in wanted if self._subscribed[t] < count)
                msg = f"fewer than {count} subscribers to {', '.join(missing)} after {timeout} s"
                raise GatewayError(msg)
            frame = self._socket.recv()
            if frame[:1] == b"\x01":
                self._subscribed[frame[1:]] += 1

    def publish(self, quote: Quote) -> None:
        send(self._socket, quote.symbol.encode(), encode(quote))

    def close(self) -> None:
        self._socket.close()
