"""Market-data feeds that publish on a host's data endpoint.

:class:`SyntheticQuotes` makes a seeded random walk of quotes on each
instrument's tick grid: the same seed gives the same session, so demos and
benchmarks are repeatable. :func:`market_stream` is the market both ``yard
feed`` and ``yard run`` publish: files (or the sample day) merged, given their
sessions; :func:`replay_events` publishes a stream paced by its event time, and
:func:`serve_feed` is ``yard feed``. The endpoint itself (XPUB, and the last
statuses sent again to late joiners) is :class:`~gateways.publisher.QuotePublisher`,
re-exported here with :data:`Published` for the code that imports them from this module.
"""

from __future__ import annotations

import itertools
import logging
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, tzinfo
from decimal import Decimal
from typing import Protocol, TextIO

import attrs
import zmq

from gateways.pacing import check_speed
from gateways.publisher import REPEAT_EVERY_S, Published, QuotePublisher, peers
from gateways.readers import MarketFile, merge, read_file
from gateways.sample import SAMPLE_DATE, sample_session
from gateways.sessions import FORTS, schedule_of, with_instrument_sessions, with_sessions
from yard_actors import net
from yard_actors.errors import ConfigError, YardError
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.events import Bar, MarketEvent, Quote, SessionStatus, SystemStatus, Tick
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, InstrumentTable

__all__ = [
    "INTERRUPTED",
    "REPEAT_EVERY_S",
    "Published",
    "QuotePublisher",
    "ReplayCounts",
    "SyntheticQuotes",
    "market_stream",
    "replay_events",
    "serve_feed",
]

log = logging.getLogger(__name__)

INTERRUPTED = 130
"""What :func:`serve_feed` returns when Ctrl-C stopped it: 128 + SIGINT, as a shell reports it."""
_MIN_PAUSE_S = 0.001  # pacing: less than this ahead of time is published at once
PROGRESS_EVERY = 2_000
"""How many events :func:`replay_events` publishes between two calls of its ``progress``."""

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


class _Publisher(Protocol):
    def publish(self, event: Published) -> None: ...

    def idle(self, seconds: float) -> None: ...


@attrs.frozen(kw_only=True)
class ReplayCounts:
    """What :func:`replay_events` published, and the wall-clock seconds it took."""

    quotes: int
    ticks: int
    bars: int = 0
    sessions: int
    others: int
    seconds: float

    @property
    def events(self) -> int:
        return self.quotes + self.ticks + self.bars + self.sessions + self.others

    @property
    def rate(self) -> float:
        """Events per second of wall-clock time."""
        return self.events / self.seconds if self.seconds > 0 else 0.0


def replay_events(
    events: Iterable[Published],
    publisher: _Publisher,
    *,
    speed: float | None = None,
    progress: Callable[[int], object] | None = None,
) -> ReplayCounts:
    """Publish ``events`` in order, paced by their ``ts``; blocks until the last is sent.

    ``speed=None`` publishes as fast as possible, ``1.0`` in real time (the
    gaps between events' times kept), ``N`` N times faster; anything else
    raises ConfigError (see :func:`~gateways.pacing.check_speed`). Pacing
    waits (``publisher.idle``) until each event is due by ``time.monotonic``
    against the first event, so it does not drift; an event due less than a
    millisecond ahead goes at once. ``progress``, if given, is called on this
    thread with the number of events published so far, every
    :data:`PROGRESS_EVERY` events and once after the last. Raises what the
    stream raises (a strict reader's FeedError), after publishing the events
    before it.
    """
    speed = check_speed(speed, source="speed")
    counts: Counter[type] = Counter()
    began = time.monotonic()
    first_ts: int | None = None
    published = 0
    for event in events:
        if speed is not None:
            first_ts = event.ts if first_ts is None else first_ts
            ahead = began + (event.ts - first_ts) / 1e9 / speed - time.monotonic()
            if ahead > _MIN_PAUSE_S:
                publisher.idle(ahead)  # pacing to event time, bounded by the event's due time
        publisher.publish(event)
        counts[type(event)] += 1
        published += 1
        if progress is not None and published % PROGRESS_EVERY == 0:
            progress(published)
    if progress is not None:
        progress(published)
    return ReplayCounts(
        quotes=counts[Quote],
        ticks=counts[Tick],
        bars=counts[Bar],
        sessions=counts[SessionStatus],
        others=counts[SystemStatus],
        seconds=time.monotonic() - began,
    )


def market_stream(
    files: Sequence[MarketFile],
    *,
    seed: int,
    sessions: bool,
    instruments: InstrumentTable | None = None,
) -> Iterator[Published]:
    """The market a feed publishes: ``files`` merged in time order, or the sample day if none.

    ``seed`` seeds the sample day. With ``sessions``, FORTS session changes are
    added (:func:`~gateways.sessions.with_sessions`), and the sample day ends
    with its 23:50 ``closed``; an instrument of ``instruments`` with a schedule of
    its own adds its own session's changes from its first event on
    (:func:`~gateways.sessions.with_instrument_sessions`). Lazy: a file is opened
    when its first event is asked for, and a reader's FeedError is raised while
    iterating.
    """
    market: Iterator[MarketEvent] = merge(*files) if files else sample_session(seed=seed)
    if not sessions:
        return market
    until = None if files else FORTS.day_bounds(SAMPLE_DATE)[1]  # the sample day ends closed
    own = {
        i.symbol: (i.session, schedule_of(i))
        for i in (instruments.scheduled() if instruments is not None else ())
    }
    if own:
        return with_instrument_sessions(market, own, until=until)
    return with_sessions(market, FORTS, until=until)  # the common case, one session to keep


def serve_feed(
    files: Sequence[str],
    bind: str,
    *,
    speed: float | None = None,
    strict: bool = False,
    wait_for: int = 1,
    hosts: int | None = None,
    gateways: int = 1,
    limit: int | None = None,
    sessions: bool = True,
    seed: int = 7,
    wait_timeout: float = 60.0,
    linger: float = 30.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
    security: Security = LOCAL_ONLY,
    zone: tzinfo = UTC,
    instruments: InstrumentTable | None = None,
) -> int:
    """``yard feed``: publish ``files`` (or the sample day, seeded, if none) on ``bind``.

    Reads and merges the files lazily, adds session changes (FORTS, and each
    scheduled instrument's own, :func:`market_stream`; none with
    ``sessions=False``), waits for ``hosts`` hosts and ``gateways`` gateways to
    say they are ready (:meth:`QuotePublisher.wait_until_ready`), or, with
    ``hosts`` None, for ``wait_for`` subscribers to some symbol (0: does not
    wait), publishes the first ``limit`` events (None: all) at ``speed`` (see
    :func:`replay_events`),
    gives subscribers up to ``linger`` seconds to take what is queued, and
    prints one summary line to ``out``, with the peers its endpoint refused
    (``security``: its keys, :mod:`yard_actors.net`). Returns 0, or 2 after
    printing the reason to ``err`` when it cannot go on: a bad argument, a
    socket that cannot bind (or a ``tcp://`` one without keys), no subscriber
    in time, a bad row in ``strict`` mode (the events before it are published)
    or an unreadable file. ``zone`` is the time zone of CSV timestamps written
    without one (:func:`~gateways.readers.read_file`); ``instruments`` gives the tick
    grids rows are checked against (default: the built-in table). A KeyboardInterrupt (Ctrl-C)
    stops it where it is: it prints the summary line of what went out and returns
    :data:`INTERRUPTED`.
    """
    out, err = out or sys.stdout, err or sys.stderr
    try:
        _check_arguments(speed, wait_for, wait_timeout)
        _check_peers(hosts, gateways, limit)
    except ConfigError as exc:
        print(f"yard feed: {exc}", file=err)
        return 2
    readers = [read_file(path, strict=strict, zone=zone, instruments=instruments) for path in files]
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    drain = 0.0
    try:
        publisher = QuotePublisher(context, bind, security=security)
    except YardError as exc:
        context.term()
        print(f"yard feed: {exc}", file=err)
        return 2
    counted = _Counted(publisher)
    stopped = False
    try:
        stream = market_stream(readers, seed=seed, sessions=sessions, instruments=instruments)
        # Opening every file now makes a wrong one fail before the wait, not after it.
        stream = stream if limit is None else itertools.islice(stream, limit)
        head = list(itertools.islice(stream, 1))
        if hosts is not None:
            print(
                f"yard feed: waiting for {peers(hosts, gateways)} to be ready on "
                f"{publisher.endpoint}; start them now (Ctrl-C to stop)",
                file=out,
                flush=True,
            )
            publisher.wait_until_ready(hosts=hosts, gateways=gateways, timeout=wait_timeout)
        elif wait_for:  # said at once (on err: out has the summary): silent, it looks hung
            waiting = _count(wait_for, "subscriber")
            print(
                f"yard feed: waiting for {waiting} to a symbol on {publisher.endpoint}; start "
                "the hosts now (Ctrl-C to stop)",
                file=err,
                flush=True,
            )
            publisher.wait_for_market_subscribers(count=wait_for, timeout=wait_timeout)
        drain = linger  # from here on, what is published deserves its chance to arrive
        counts = replay_events(itertools.chain(head, stream), counted, speed=speed)
    except YardError as exc:
        print(f"yard feed: {exc}", file=err)
        return 2
    except KeyboardInterrupt:  # Ctrl-C (or SIGTERM, as yard feed turns it): say what went out
        drain = 0.0  # the operator wants out now, not after the queue drains
        stopped = True
        counts = counted.counts()
    finally:
        refused = net.refusals(context)  # before term(): it ends the context's authenticator
        publisher.close(linger=drain)
        context.term()
    source = _count(len(files), "file") if files else f"the sample session (seed {seed})"
    bad = _count(sum(reader.stats.bad_rows for reader in readers), "bad row")
    print(
        f"yard feed: {_count(counts.events, 'event')} ({_count(counts.quotes, 'quote')}, "
        f"{_count(counts.ticks, 'tick')}, "
        + (f"{_count(counts.bars, 'bar')}, " if counts.bars else "")
        + f"{_count(counts.sessions, 'session change')}) "
        f"from {source}, {bad} skipped, in {counts.seconds:.2f} s: {counts.rate:,.0f} events/s"
        + "".join(f"; refused {_count(n, 'peer')} ({why})" for why, n in sorted(refused.items()))
        + ("; stopped before the end (interrupted)" if stopped else ""),
        file=out,
    )
    return INTERRUPTED if stopped else 0


class _Counted:
    """A publisher that counts what it published, for a summary of a feed cut short."""

    def __init__(self, publisher: _Publisher) -> None:
        self._publisher = publisher
        self._counts: Counter[type] = Counter()
        self._began = time.monotonic()

    def publish(self, event: Published) -> None:
        self._publisher.publish(event)
        self._counts[type(event)] += 1

    def idle(self, seconds: float) -> None:
        self._publisher.idle(seconds)

    def counts(self) -> ReplayCounts:
        return ReplayCounts(
            quotes=self._counts[Quote],
            ticks=self._counts[Tick],
            bars=self._counts[Bar],
            sessions=self._counts[SessionStatus],
            others=self._counts[SystemStatus],
            seconds=time.monotonic() - self._began,
        )


def _check_arguments(speed: float | None, wait_for: int, wait_timeout: float) -> None:
    check_speed(speed, source="--speed")
    if wait_for < 0:
        msg = f"--wait-for must be a number of subscribers, 0 or more, was {wait_for!r}"
        raise ConfigError(msg)
    if not wait_timeout > 0:
        msg = f"the wait for subscribers must last a positive number of seconds, was {wait_timeout}"
        raise ConfigError(msg)


def _check_peers(hosts: int | None, gateways: int, limit: int | None) -> None:
    if hosts is not None and hosts < 0:
        msg = f"--hosts must be a number of hosts, 0 or more, was {hosts!r}"
        raise ConfigError(msg)
    if gateways < 0:
        msg = f"--gateways must be a number of gateways, 0 or more, was {gateways!r}"
        raise ConfigError(msg)
    if limit is not None and limit < 1:
        msg = f"--limit must be a number of events, 1 or more, was {limit!r}"
        raise ConfigError(msg)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"
