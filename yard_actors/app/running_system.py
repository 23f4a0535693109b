"""The configured system, feed, order gateway and host, running in this process.

``yard run`` (:func:`yard_actors.app.yard_run.run_all`) publishes the market in the
foreground with a progress bar and stops when it is all out; ``yard repl`` starts the
feed in the background and stops when its console closes. Both start and stop the
system here, so what runs and what the summary says are the same for both:
:meth:`RunningSystem.start`, then :meth:`~RunningSystem.publish` or
:meth:`~RunningSystem.start_feed`, then :meth:`RunningSystem.stop` for a
:class:`RunSummary`. Every method is for one controlling thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import pykka
import zmq

from gateways.feed import Published, QuotePublisher, market_stream, replay_events
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperExchange
from gateways.readers import read_file
from gateways.store import open_store, reopener
from yard_actors.app.config_file import FeedSettings, SystemSettings
from yard_actors.app.lockstep import Lockstep
from yard_actors.app.summary import RobotSummary, summarize
from yard_actors.errors import YardError
from yard_actors.host.host import Host
from yard_actors.host.host_config import RobotSettings
from yard_actors.net import Security
from yard_actors.robot.loader import load_robot_class
from yard_actors.wire.events import SessionStatus
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["RunSummary", "RunningSystem", "after", "start_gateway"]

log = logging.getLogger(__name__)

_FEED_SLICE_S = 0.2  # a background feed waiting for an event's time looks for a stop this often
_FEED_JOIN_S = 5.0


@attrs.frozen(kw_only=True)
class RunSummary:
    """What a run did: per-robot rows (:func:`~yard_actors.app.summary.summarize`) and totals."""

    rows: list[RobotSummary]
    events: int  # market events published
    seconds: float  # from start to stop, wall clock
    journal: Path | None
    store: str
    robots: tuple[str, ...]


class RunningSystem:
    """Feed, gateway and host over the configured endpoints, in one ZeroMQ context.

    ``limit``: publish only the first ``limit`` market events. The market is read
    at once (the progress bar needs its length, the summary its quotes).
    ``market_time``: the feed publishes an event only when all the last one caused
    is done (:mod:`yard_actors.app.lockstep`), so a run is the same every time.
    ``resume_after``: a resumed run's last data time; only the market after it is
    published (see :func:`after`).
    """

    def __init__(
        self,
        settings: SystemSettings,
        *,
        limit: int | None = None,
        market_time: bool = False,
        resume_after: int | None = None,
    ) -> None:
        self.settings = settings
        self.market_time = market_time
        market = _market(settings.feed, settings.instruments)
        if resume_after is not None:
            market = after(market, resume_after)
        self.events: list[Published] = market[:limit]
        self._robots = settings.host.robots
        self._symbols = _symbols(self._robots)
        self._context: zmq.Context[zmq.Socket[bytes]] | None = None
        self._publisher: QuotePublisher | None = None
        self._gateway: OrderGateway | None = None
        self._host: Host | None = None
        self._feed: threading.Thread | None = None
        self._stop_feed = threading.Event()
        self._published = 0
        self._started = 0.0

    @property
    def host(self) -> Host:
        if self._host is None:
            msg = "the system is not running: call start() first"
            raise YardError(msg)
        return self._host

    @property
    def published(self) -> int:
        """Market events published so far."""
        return self._published

    @property
    def feed_running(self) -> bool:
        return self._feed is not None and self._feed.is_alive()

    def start(self) -> Host:
        """Start gateway, feed socket and host with every configured robot; return the host.

        Returns once the host and the gateway have subscribed to the market, so no
        event published afterwards is lost. On a failure, what was started is stopped.
        """
        self._started = time.perf_counter()
        self._context = zmq.Context()
        try:
            settings = self.settings
            security = settings.security.in_one_process()  # one process, one key for every role
            self._publisher = QuotePublisher(
                self._context,
                settings.endpoint("data"),
                security=security,
                **({"repeat_every": None} if self.market_time else {}),  # each status once
            )
            self._gateway = start_gateway(
                settings,
                context=self._context,
                symbols=self._symbols,
                security=security,
                paced=self.market_time,
            )
            kwargs = {
                **settings.host.host_kwargs,
                "recovery": settings.endpoint("recovery"),
                "security": security,
            }
            self._host = Host(context=self._context, **kwargs)
            for robot in self._robots:
                self._host.add_robot(
                    robot.class_path,
                    name=robot.name,
                    symbols=robot.symbols,
                    params=robot.params,
                    limits=robot.limits,
                )
            self._publisher.wait_for_subscribers(self._symbols, count=2)  # host and gateway
        except BaseException:
            self.close()
            raise
        return self._host

    def publish(self, *, speed: float | None, progress: Callable[[int], object] | None) -> None:
        """Publish the whole market on this thread, in event time (``speed``), then return."""
        if not self.market_time:
            replay_events(self._counted(), self._feed_publisher(), speed=speed, progress=progress)
            return
        assert self._gateway is not None
        lockstep = Lockstep(self._feed_publisher(), self._gateway, self.host)
        try:
            replay_events(self._counted(), lockstep, speed=speed, progress=progress)
            lockstep.finish()
        finally:
            lockstep.close()

    def start_feed(self, *, speed: float | None, done: Callable[[], object] | None = None) -> None:
        """Publish the market on a thread of its own; :meth:`stop` ends it wherever it is.

        ``done`` is called on that thread once the last event is out (not after a stop).
        """

        def feed() -> None:
            try:
                self.publish(speed=speed, progress=None)
            except Exception:
                log.exception(
                    "the feed failed after %s events; the robots keep running", self._published
                )
                return
            if not self._stop_feed.is_set() and done is not None:
                done()

        self._feed = threading.Thread(target=feed, name="yard-feed", daemon=True)
        self._feed.start()

    def stop(self) -> RunSummary:
        """End the feed, let the robots handle what reached them, stop it all; the summary.

        Rows are for the robots on the host at the time (added ones too), with orders and
        fills from the store, the source of truth.
        """
        self._stop_feed.set()
        if self._feed is not None:
            self._feed.join(_FEED_JOIN_S)
            if self._feed.is_alive():
                log.error(
                    "the feed did not stop within %s s; the system stops without it", _FEED_JOIN_S
                )
        host, gateway = self.host, self._gateway
        assert gateway is not None
        try:
            _settle(host)
        except pykka.Timeout:
            log.warning("robots still had events waiting; the host stops without them")
        names = tuple(row["name"] for row in host.robots())
        snapshots = [host.snapshot(name) for name in names]
        journal = host.journal_dir
        host.stop()
        seconds = time.perf_counter() - self._started
        try:
            store = gateway.store  # the one in use: a fresh one if an outage opened it anew
            fills = {name: [t.fill for t in store.trades(robot=name)] for name in names}
            orders = {name: store.orders(robot=name) for name in names}
        finally:
            self.close()
        market = self.events[: self._published]  # what was published: quotes, ticks, bars
        return RunSummary(
            rows=summarize(snapshots, orders, fills, market, self.settings.instruments),
            events=self._published,
            seconds=seconds,
            journal=journal,
            store=self.settings.store,
            robots=names,
        )

    def __enter__(self) -> RunningSystem:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop whatever is still running, host first, context last, with no summary.

        Idempotent; :meth:`stop` calls it, and leaving a ``with`` block does.
        """
        self._stop_feed.set()
        if self._host is not None:
            self._host.stop()
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway.store.close()
            self._gateway = None
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None
        if self._context is not None:
            self._context.term()
            self._context = None

    def _counted(self) -> Iterator[Published]:
        for event in self.events:
            if self._stop_feed.is_set():
                return
            yield event

    def _feed_publisher(self) -> _FeedPublisher:
        assert self._publisher is not None
        return _FeedPublisher(self._publisher, self._stop_feed, self._count)

    def _count(self) -> None:
        self._published += 1


class _FeedPublisher:
    """The publisher as :func:`replay_events` sees it: counting, and cut short by a stop."""

    def __init__(
        self, publisher: QuotePublisher, stop: threading.Event, count: Callable[[], None]
    ) -> None:
        self._publisher = publisher
        self._stop = stop
        self._count = count

    def publish(self, event: Published) -> None:
        self._publisher.publish(event)
        self._count()

    def idle(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self._stop.is_set() and (left := deadline - time.monotonic()) > 0:
            self._publisher.idle(min(left, _FEED_SLICE_S))


def start_gateway(
    settings: SystemSettings,
    *,
    context: zmq.Context[zmq.Socket[bytes]],
    symbols: Sequence[str],
    security: Security,
    paced: bool = False,
) -> OrderGateway:
    """``yard run``'s order gateway: the paper exchange over the configured store.

    After a store outage it opens the store anew (:func:`gateways.store.reopener`),
    as ``yard gateway`` does, so a store left unusable by the outage is replaced.
    The store in use is then :attr:`OrderGateway.store`: close it after ``stop()``.
    ``paced``: for market time, released by a :class:`~yard_actors.app.lockstep.Lockstep`.
    Raises StoreError if the store cannot be opened or read.
    """
    store = open_store(settings.store)
    try:
        return OrderGateway(
            store=store,
            exchange=PaperExchange(settings.paper, settings.instruments),
            orders=settings.endpoint("orders"),
            trades=settings.endpoint("trades"),
            recovery=settings.endpoint("recovery"),
            data=settings.endpoint("data"),
            symbols=symbols,
            context=context,
            security=security,
            reopen_store=reopener(settings.store),
            paced=paced,
        )
    except BaseException:
        store.close()
        raise


def _symbols(robots: Sequence[RobotSettings]) -> list[str]:
    symbols: dict[str, None] = {}
    for robot in robots:
        for symbol in robot.symbols or load_robot_class(robot.class_path).symbols:
            symbols.setdefault(symbol)
    return list(symbols)


def after(market: list[Published], ts: int) -> list[Published]:
    """The market from just after ``ts``, as a resumed run continues it.

    Its robots were restored at ``ts`` and stamp their orders so; published again, the
    earlier data would run the gateway's clock behind theirs. Each session's last status
    at or before ``ts`` leads, so a gateway started afresh knows the session is open
    (robots that heard it already are not told twice).
    """
    statuses: dict[str, Published] = {}
    start = len(market)
    for index, event in enumerate(market):
        if event.ts > ts:
            start = index
            break
        if type(event) is SessionStatus:
            statuses[event.session] = event
    return [*statuses.values(), *market[start:]]


def _market(feed: FeedSettings, instruments: InstrumentTable) -> list[Published]:
    files = [read_file(path, zone=feed.tz, instruments=instruments) for path in feed.files]
    return list(
        market_stream(files, seed=feed.seed, sessions=feed.sessions, instruments=instruments)
    )


def _settle(host: Host, quiet_checks: int = 3) -> None:
    """Wait until no robot's event count moves for a few checks: reports are asynchronous."""
    last: list[int] = []
    still = 0
    while still < quiet_checks:
        host.wait_idle(timeout=30)
        counts = [row["events_in"] for row in host.robots()]
        still = still + 1 if counts == last else 0
        last = counts
        time.sleep(0.05)  # the run's own pacing, not a test wait
