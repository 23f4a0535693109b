"""``yard run``: the main job, all roles in one process or one role of several.

``--role all`` (the default) runs the feed, the order gateway with the paper
exchange and its store, and one host with every configured robot, wired over
the configured endpoints (``inproc://`` by default). ``--role host`` runs only
a host, with all robots or the ``--robots`` named, for deployments where the
feed (``yard feed``) and the gateway (``yard gateway``) are processes of their
own, possibly on other machines; it logs its robots' and intakes' counters
every ``--health-every`` seconds and on SIGUSR1.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import attrs
import pykka
import zmq

from gateways.feed import Published, QuotePublisher, market_stream, replay_events
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperExchange
from gateways.readers import read_file
from gateways.store import open_store, reopener
from yard_actors.app.config_file import FeedSettings, SystemSettings
from yard_actors.app.summary import render, summarize
from yard_actors.errors import ConfigError
from yard_actors.host.host import Host
from yard_actors.host.host_config import HostSettings, RobotSettings
from yard_actors.net import Security
from yard_actors.robot.loader import load_robot_class
from yard_actors.wire.events import Quote

__all__ = ["HEALTH_EVERY_S", "fresh_run_dir", "run_all", "run_host", "start_gateway"]

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 60.0
_STOP_GRACE_S = 2.0  # on SIGTERM, how long the host may take to finish what it has
"""How often ``yard run --role host`` logs its health by default (``--health-every``)."""


def fresh_run_dir(data_dir: Path) -> Path:
    """``data_dir/run-NNNN``, one more than the last: no run overwrites another's."""
    taken = [int(p.name[4:]) for p in data_dir.glob("run-[0-9][0-9][0-9][0-9]")]
    run_dir = data_dir / f"run-{max(taken, default=0) + 1:04d}"
    run_dir.mkdir(parents=True)
    return run_dir


def in_run_dir(settings: SystemSettings, run_dir: Path) -> SystemSettings:
    """The same settings with the journal and the SQLite store inside ``run_dir``."""
    kwargs = dict(settings.host.host_kwargs)
    kwargs["journal_dir"] = str(run_dir / "journal")
    store = f"sqlite:///{run_dir / 'yard.db'}"
    kwargs["store"] = store
    host = attrs.evolve(settings.host, host_kwargs=kwargs)
    return attrs.evolve(settings, host=host, store=store)


def _robots(host: HostSettings, names: Sequence[str] | None) -> tuple[RobotSettings, ...]:
    if not names:
        return host.robots
    known = {robot.name: robot for robot in host.robots}
    missing = [name for name in names if name not in known]
    if missing:
        msg = f"--robots names {', '.join(missing)}, not in the config ({', '.join(known)})"
        raise ConfigError(msg)
    return tuple(known[name] for name in names)


def _symbols(robots: Sequence[RobotSettings]) -> list[str]:
    symbols: dict[str, None] = {}
    for robot in robots:
        for symbol in robot.symbols or load_robot_class(robot.class_path).symbols:
            symbols.setdefault(symbol)
    return list(symbols)


def _market(feed: FeedSettings) -> list[Published]:
    """The whole market, read at once: the progress bar needs its length, the summary its quotes."""
    files = [read_file(path) for path in feed.files]
    return list(market_stream(files, seed=feed.seed, sessions=feed.sessions))


def run_all(
    settings: SystemSettings, *, speed: float | None, live: bool, limit: int | None = None
) -> int:
    """Run feed, gateway and host in this process; print the summary; return the exit code."""
    robots = settings.host.robots
    symbols = _symbols(robots)
    events = _market(settings.feed)[:limit]
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    publisher = gateway = None
    started = time.perf_counter()
    try:
        security = settings.security.in_one_process()  # one process, one key for every role
        publisher = QuotePublisher(context, settings.endpoint("data"), security=security)
        gateway = start_gateway(settings, context=context, symbols=symbols, security=security)
        kwargs = {
            **settings.host.host_kwargs,
            "recovery": settings.endpoint("recovery"),
            "security": security,
        }
        with Host(context=context, **kwargs) as host:
            for robot in robots:
                host.add_robot(
                    robot.class_path,
                    name=robot.name,
                    symbols=robot.symbols,
                    params=robot.params,
                    limits=robot.limits,
                )
            publisher.wait_for_subscribers(symbols, count=2)  # the host and the gateway
            _publish(publisher, events, host, speed=speed, live=live)
            _settle(host)
            elapsed = time.perf_counter() - started
            snapshots = [host.snapshot(robot.name) for robot in robots]
            journal = host.journal_dir
        store = gateway.store  # the one in use: a fresh one if an outage opened it anew
        fills = {r.name: [t.fill for t in store.trades(robot=r.name)] for r in robots}
        orders = {r.name: len(store.orders(robot=r.name)) for r in robots}
    finally:
        if gateway is not None:
            gateway.stop()
            gateway.store.close()
        if publisher is not None:
            publisher.close()
        context.term()
    rows = summarize(snapshots, orders, fills, (e for e in events if isinstance(e, Quote)))
    _print(render(rows))
    _print(
        f"{len(events):,} events in {elapsed:.1f} s; journal: {journal}; store: {settings.store}\n"
        f"replay a robot: yard replay {journal} {robots[0].name}"
        if robots
        else ""
    )
    return 0


def start_gateway(
    settings: SystemSettings,
    *,
    context: zmq.Context[zmq.Socket[bytes]],
    symbols: Sequence[str],
    security: Security,
) -> OrderGateway:
    """``yard run``'s order gateway: the paper exchange over the configured store.

    After a store outage it opens the store anew (:func:`gateways.store.reopener`),
    as ``yard gateway`` does, so a store left unusable by the outage is replaced.
    The store in use is then :attr:`OrderGateway.store`: close it after ``stop()``.
    Raises StoreError if the store cannot be opened or read.
    """
    store = open_store(settings.store)
    try:
        return OrderGateway(
            store=store,
            exchange=PaperExchange(settings.paper),
            orders=settings.endpoint("orders"),
            trades=settings.endpoint("trades"),
            recovery=settings.endpoint("recovery"),
            data=settings.endpoint("data"),
            symbols=symbols,
            context=context,
            security=security,
            reopen_store=reopener(settings.store),
        )
    except BaseException:
        store.close()
        raise


def _publish(
    publisher: QuotePublisher,
    events: Sequence[Published],
    host: Host,
    *,
    speed: float | None,
    live: bool,
) -> None:
    """Publish in event time (``speed`` times real time, or as fast as possible), with progress."""
    # rich is imported here, not at the top: only yard run draws with it, and it would add
    # ~75 ms (python -X importtime -c "import rich.progress") to every other command's start.
    from rich.progress import BarColumn, Progress, TextColumn  # noqa: PLC0415

    columns = (
        TextColumn("[bold]market data"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,}"),
        TextColumn("{task.fields[robots]}"),
    )
    with Progress(*columns, disable=not live, transient=False) as progress:
        task = progress.add_task("feed", total=len(events), robots="")

        def show(published: int) -> None:
            progress.update(task, completed=published, robots=_line(host))

        replay_events(events, publisher, speed=speed, progress=show if live else None)


def _line(host: Host) -> str:
    parts = []
    for row in host.robots():
        position = ",".join(f"{s}{q:+d}" for s, q in row["position"].items() if q) or "flat"
        parts.append(f"{row['name']} {row['commands_out']}cmd {position} pnl {row['pnl']}")
    return " | ".join(parts)


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


def run_host(
    settings: SystemSettings,
    robot_names: Sequence[str] | None,
    *,
    health_every: float = HEALTH_EVERY_S,
) -> int:
    """Run one host with the named robots until SIGINT or SIGTERM, then print its table.

    Meanwhile log its health (:func:`_log_health`) every ``health_every`` seconds
    (0: never) and whenever SIGUSR1 comes, at INFO even without ``-v``. Call from the
    main thread: it installs the signal handlers, which run there.
    """
    robots = _robots(settings.host, robot_names)
    wake = threading.Event()
    signals: set[int] = set()

    def handle(signum: int, frame: FrameType | None) -> None:
        signals.add(signum)
        wake.set()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, handle)
    if not log.isEnabledFor(logging.INFO):  # the health lines, not the rest of INFO
        log.setLevel(logging.INFO)
    with Host(**settings.host.host_kwargs) as host:
        for robot in robots:
            host.add_robot(
                robot.class_path,
                name=robot.name,
                symbols=robot.symbols,
                params=robot.params,
                limits=robot.limits,
            )
        print(f"yard host ready: {', '.join(r.name for r in robots)}", flush=True)
        _watch(host, wake, signals, health_every)
        try:  # what has arrived, if it is handled soon; a robot far behind is not waited for
            host.wait_idle(timeout=_STOP_GRACE_S)
        except pykka.Timeout:
            log.warning("robots still had events waiting; the host stops without them")
        print(host.robots(), flush=True)
    return 0


def _watch(host: Host, wake: threading.Event, signals: set[int], every: float) -> None:
    """Log the host's health every ``every`` s (if > 0) and on SIGUSR1; return on SIGINT/TERM."""
    stop = {signal.SIGINT, signal.SIGTERM}
    due = time.monotonic() + every if every > 0 else math.inf
    while True:
        wake.wait(None if due == math.inf else max(0.0, due - time.monotonic()))
        wake.clear()
        if signals & stop:
            return
        asked = signal.SIGUSR1 in signals
        signals.discard(signal.SIGUSR1)
        if (now := time.monotonic()) >= due:
            due, asked = now + every, True
        if asked:
            _log_health(host)


def _log_health(host: Host) -> None:
    """Log one line per robot and one per intake: the counters a supervisor watches.

    Robots: status, events in, commands out, mailbox. Intakes: received,
    delivered, unrouted, and what was dropped by reason (``docs/wire.md`` section 2).
    """
    for row in host.robots():
        log.info(
            "health: robot %s %s: %s events in, %s commands out, mailbox %s",
            row["name"],
            row["status"],
            f"{row['events_in']:,}",
            f"{row['commands_out']:,}",
            row["mailbox"],
        )
    try:
        intakes = host.intake_stats()
    except pykka.Timeout:
        log.warning("health: the intakes did not answer in time; they may be stuck")
        return
    for kind, stats in intakes.items():
        dropped = ", ".join(f"{why} {n:,}" for why, n in sorted(stats.dropped.items()))
        log.info(
            "health: %s intake on %s: %s received, %s delivered, %s unrouted, dropped: %s",
            kind,
            stats.url,
            f"{stats.received:,}",
            f"{stats.delivered:,}",
            f"{stats.unrouted:,}",
            dropped or "none",
        )


def _print(renderable: Any) -> None:
    from rich.console import Console  # noqa: PLC0415 - as in _publish: yard run's alone

    Console(width=140).print(renderable)
