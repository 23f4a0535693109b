"""The process rig of the crash tests: a feed, a gateway and two hosts, each a real process.

Everything talks over tcp on 127.0.0.1 (free ports), keyed, as README's "Deployment
across processes" runs it (a key pair per process and one for the controller, every
process trusting the lot): ``yard feed`` publishes a trading day, ``yard gateway``
keeps the order store, and two ``yard run --role host`` processes each run two of
the example robots (``robots/``) with a journal directory of their own. A test
kills any of them with SIGKILL (:meth:`Deployment.kill`), starts it again on the
same store or journal, checks that trading resumed (:meth:`Deployment.await_trading`),
and at the end settles and stops everything cleanly (:meth:`Deployment.settle`) before
it checks :func:`tests.integration.crash.invariant.check_consistency`.

What goes wrong on the way is not raised but returned as sentences (*findings*), so
a test collects them all and reports every one. Every wait has a timeout; leaving
the ``with`` block kills whatever still runs. The random moments come from a
``random.Random`` seeded by :class:`Scenario` (``YARD_CRASH_SEED`` replays a run).

The rig's parts live beside it: the processes (:mod:`.processes`), the trading days
(:mod:`.market`) and a scenario's seed and verdict (:mod:`.scenario`); the names the tests
import from here are re-exported.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import pytest
import zmq

from gateways.store import OrderRecord, OrderStore, StoreError, open_store
from tests.integration.crash.market import Day, csv_day, next_trading_day, sample_day
from tests.integration.crash.processes import (
    START_S,
    YardProcess,
    free_port,
    note,
    poll,
    start_together,
    yard_process,
)
from tests.integration.crash.scenario import Scenario
from yard_actors.ctl import connect
from yard_actors.errors import YardError
from yard_actors.net import Security, make_keys
from yard_actors.wire.events import (
    Fill,
    OrderAccepted,
    OrderRejected,
)

__all__ = [
    "BACKENDS",
    "HOSTS",
    "ROUNDS",
    "START_S",
    "Day",
    "Deployment",
    "Scenario",
    "YardProcess",
    "crash_rounds",
    "csv_day",
    "free_port",
    "next_trading_day",
    "note",
    "poll",
    "sample_day",
    "start_together",
    "store_for",
]

HOSTS: Mapping[str, tuple[str, ...]] = {
    "host-a": ("trend-si", "mm-si"),
    "host-b": ("trend-rts", "mm-rts"),
}
"""Which robots each host runs: the trend followers and market makers trade often."""

RUNTIMES: Mapping[str, str] = {"host-a": "pooled", "host-b": "threads"}
"""Each host's ``YARD_RUNTIME``: both robot runtimes are crashed in every run."""

ROBOTS_TOML = """
[[robots]]
class = "robots.trend:TrendFollower"
name = "trend-si"
symbols = ["Si"]
params = { fast = 5, slow = 20, qty = 1 }

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-si"
symbols = ["Si"]
params = { half_spread_ticks = 2, max_position = 3 }

[[robots]]
class = "robots.trend:TrendFollower"
name = "trend-rts"
symbols = ["RTS"]
params = { fast = 5, slow = 20, qty = 1 }

[[robots]]
class = "robots.market_maker:MarketMaker"
name = "mm-rts"
symbols = ["RTS"]
params = { half_spread_ticks = 2, tick_size = "10", max_position = 3 }
"""

SPEED = 500
"""The feed's speed: 500 times real time plays the sample day's 14 h 25 min in 104 s."""

ROUNDS = 5
"""Host kills per CI run unless ``YARD_CRASH_ROUNDS`` asks for more."""

TRADING_S = 10.0  # after a restart, each host must have a new order accepted within this
AFTER_REPORTS = 600  # reports a scenario lets the robots trade after its last restart
SETTLE_S = 15.0  # after the halt, every order must be final within this
QUIET_S = 1.5  # the store is settled when no report came for this long (three heartbeats)


LONG = bool(os.environ.get("YARD_CRASH_ROUNDS"))
BACKENDS = ("sqlite", "mongodb") if LONG else ("sqlite",)
"""The gateway's stores: a long run crashes hosts and gateways over MongoDB too."""


def crash_rounds() -> int:
    """Host kills to make: ``YARD_CRASH_ROUNDS`` if set (a long run), else :data:`ROUNDS`."""
    given = os.environ.get("YARD_CRASH_ROUNDS", "")
    if not given:
        return ROUNDS
    rounds = int(given)
    if rounds < 1:
        msg = f"YARD_CRASH_ROUNDS must be a positive number of rounds, was {given!r}"
        raise ValueError(msg)
    return rounds


def store_for(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The store URL for ``backend``: a SQLite file, or a database of the session's
    MongoDB server (the hosts then also follow their fills by change stream)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'yard.db'}"
    return str(request.getfixturevalue("mongo_url"))


# --- the deployment -----------------------------------------------------------------------


class Deployment:
    """A feed, a gateway and the :data:`HOSTS`, as processes in ``root``; a context manager.

    ``store`` is the gateway's order store; ``host_store`` is what the hosts' config
    names as ``store`` (a MongoDB URL adds the change-stream path). Leaving the
    ``with`` block kills every process still running and closes the store reader.
    """

    def __init__(
        self,
        root: Path,
        *,
        store: str,
        rng: random.Random,
        host_store: str | None = None,
        speed: float = SPEED,
    ) -> None:
        self.root = root
        self.store_url = store
        self.rng = rng
        self.speed = speed
        self.days: list[Day] = []
        endpoints = ("data", "orders", "trades", "recovery")
        self.url = {name: f"tcp://127.0.0.1:{free_port()}" for name in endpoints}
        self.control = {host: f"tcp://127.0.0.1:{free_port()}" for host in HOSTS}
        self.journal_dirs = {host: root / f"journal-{host}" for host in HOSTS}
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.keys = root / "keys"
        make_keys(self.keys, ["feed", "gateway", *HOSTS, "controller"])
        config = root / "yard.toml"
        config.write_text(self._config(host_store or store), encoding="utf-8")
        self.gateway = yard_process(
            "gateway", self._gateway_args(), self.logs, "yard gateway ready"
        )
        self.hosts = {
            host: yard_process(
                host,
                self._host_args(config, host),
                self.logs,
                "yard host ready",
                env={"YARD_RUNTIME": RUNTIMES[host]},
            )
            for host in HOSTS
        }
        self.feed: YardProcess | None = None
        self.feeds: list[YardProcess] = []
        self._market_open = False  # while True, a feed that ended is followed by the next day
        self._last_report: tuple[dict[str, int], float] = ({}, 0.0)  # seqs, when: see _quiet
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._reader: OrderStore | None = None

    def _config(self, host_store: str) -> str:
        return (
            f'store = "{host_store}"\n'
            "[endpoints]\n"
            + "".join(f'{name} = "{url}"\n' for name, url in self.url.items())
            + 'control = "tcp://127.0.0.1:*"\n'
            + "[security]\n"
            + f'secret_key = "{self.keys / "host-a.key_secret"}"  # each host: --secret-key\n'
            + f'public_keys = "{self.keys}"\n'
            + ROBOTS_TOML
        )

    def _keyed(self, name: str) -> list[str]:
        """The flags that give the process ``name`` its key pair and the keys it trusts."""
        return [
            "--secret-key",
            str(self.keys / f"{name}.key_secret"),
            "--public-keys",
            str(self.keys),
        ]

    def _gateway_args(self) -> list[str]:
        return [
            *("gateway", "--store", self.store_url),
            *("--orders", self.url["orders"], "--replies", self.url["trades"]),
            *("--recovery", self.url["recovery"], "--data", self.url["data"]),
            *("--symbols", "Si,RTS"),
            *self._keyed("gateway"),
        ]

    def _host_args(self, config: Path, host: str) -> list[str]:
        return [
            *("run", str(config), "--role", "host", "--robots", ",".join(HOSTS[host])),
            *("--journal-dir", str(self.journal_dirs[host]), "--control", self.control[host]),
            *("--secret-key", str(self.keys / f"{host}.key_secret")),
        ]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill whatever still runs, close the store reader and the control sockets."""
        for process in self.processes():
            process.kill(count=False)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self._context.term()

    def processes(self) -> list[YardProcess]:
        return [*self.feeds, *self.hosts.values(), self.gateway]

    @property
    def robots(self) -> tuple[str, ...]:
        return tuple(robot for robots in HOSTS.values() for robot in robots)

    # --- starting and killing ------------------------------------------------------------

    def start(self, day: Day) -> None:
        """Start the gateway and the hosts together, then the feed playing ``day``."""
        start_together([self.gateway, *self.hosts.values()])
        self.start_feed(day)

    def start_feed(self, day: Day) -> None:
        """Play ``day`` once the gateway and a host subscribe to one symbol (two of each)."""
        self.days.append(day)
        args = [
            *("feed", *day.feed_args(), "--bind", self.url["data"]),
            *("--speed", str(self.speed), "--wait-for", "2"),
            *self._keyed("feed"),
        ]
        self.feed = yard_process(f"feed-{len(self.feeds) + 1}", args, self.logs, ready=None)
        self.feeds.append(self.feed)
        self.feed.start()
        self._market_open = True

    def keep_market_open(self) -> None:
        """If the feed has played its whole day, play the next trading day (a long run)."""
        if not self._market_open or self.feed is None or self.feed.running:
            return
        self.feed.stop()
        day = next_trading_day(self.days[-1].day)
        self.start_feed(csv_day(self.root / "market", seed=len(self.days) + 7, day=day))

    def kill(self, *processes: YardProcess) -> None:
        """SIGKILL them together: no goodbye, no flush, no clean close."""
        for process in processes:
            process.signal_kill()
        for process in processes:
            process.kill()

    def kill_when_busy(self, processes: Sequence[YardProcess], robots: Iterable[str]) -> int:
        """Wait for a random number of new reports of ``robots`` and a random instant; kill.

        The moment falls where orders flow (between 1 and 300 reports after the call,
        then 0 to 250 ms more), drawn from the seeded Random. Returns the number of
        reports waited for.
        """
        robots = tuple(robots)
        reports = self.rng.randint(1, 300)
        pause = self.rng.uniform(0.0, 0.25)
        start = self.report_count(robots)
        self._wait(lambda: self.report_count(robots) >= start + reports, TRADING_S)
        time.sleep(pause)  # the random instant itself, not a wait for something
        self.kill(*processes)
        note(self.logs, f"killed {len(processes)} after {reports} reports + {pause * 1000:.0f} ms")
        return reports

    def trade_for(self, reports: int) -> list[str]:
        """Let the robots trade until the store holds ``reports`` more reports of theirs."""
        start = self.report_count(self.robots)
        if self._wait(lambda: self.report_count(self.robots) >= start + reports, TRADING_S):
            return []
        done = self.report_count(self.robots) - start
        return [f"the robots got only {done} of {reports} reports in {TRADING_S} s of trading"]

    def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """:func:`poll` while the market stays open: a day that ends is followed by the next."""

        def open_and(condition: Callable[[], bool] = condition) -> bool:
            self.keep_market_open()
            return condition()

        return poll(open_and, timeout)

    def halt_all(self) -> list[str]:
        """Halt every host's robots through its control endpoint, as ``yard ctl halt`` does;
        return a sentence for each host that did not answer."""
        findings = []
        keys = Security.from_keys(self.keys, "controller")
        for host in HOSTS:
            with connect(self.control[host], keys=keys, server=host, context=self._context) as ctl:
                try:
                    ctl.halt()
                except YardError as exc:
                    findings.append(f"{host} did not halt: {exc}")
        return findings

    # --- reading the store ---------------------------------------------------------------

    @property
    def store(self) -> OrderStore:
        if self._reader is None:
            url = self.store_url
            if url.startswith("mongodb"):  # a reader must not hang 30 s while the server is down
                url += ("&" if "?" in url else "?") + "serverSelectionTimeoutMS=1000"
            self._reader = open_store(url)
        return self._reader

    def last_seqs(self) -> dict[str, int]:
        try:
            return self.store.last_seqs()
        except StoreError:
            return {}

    def report_count(self, robots: Iterable[str]) -> int:
        seqs = self.last_seqs()
        return sum(seqs.get(robot, 0) for robot in robots)

    def _orders(self, robot: str) -> list[OrderRecord]:
        for _ in range(3):
            try:
                return self.store.orders(robot=robot)
            except StoreError:
                return []
            except KeyError:  # SQLite: an order written between orders()'s two SELECTs; again
                continue
        return []

    def await_trading(self, hosts: Iterable[str], after: str) -> list[str]:
        """Wait until each host has a robot with a new order accepted; sentences for the rest.

        New: not in the store when this is called. Per host, not per robot: a trend
        follower whose limit order rests may rightly wait, but a market maker quotes
        on. ``after`` names the event for the sentences ("kill 3 of host-a").
        """
        robots = {host: HOSTS[host] for host in hosts}
        seqs = self.last_seqs()
        since = {robot: seqs.get(robot, 0) for names in robots.values() for robot in names}
        known = {order.client_order_id for robot in since for order in self._orders(robot)}
        waiting = set(robots)

        def trading(host: str) -> bool:
            return any(
                self._is_new_acceptance(report, known)
                for robot in robots[host]
                for report in self._reports(robot, since)
            )

        def answered() -> bool:
            waiting.difference_update([host for host in sorted(waiting) if trading(host)])
            return not waiting

        resumed = self._wait(answered, TRADING_S)
        note(self.logs, f"trading after {after}: {'resumed' if resumed else 'NOT resumed'}")
        return [self._not_trading(host, robots[host], since, known, after) for host in waiting]

    def _reports(self, robot: str, since: Mapping[str, int]) -> list[object]:
        try:
            return [record.report for record in self.store.reports(robot, after_seq=since[robot])]
        except StoreError:
            return []

    @staticmethod
    def _is_new_acceptance(report: object, known: set[str]) -> bool:
        return isinstance(report, OrderAccepted | Fill) and report.client_order_id not in known

    def _not_trading(
        self,
        host: str,
        robots: Sequence[str],
        since: Mapping[str, int],
        known: set[str],
        after: str,
    ) -> str:
        reports = [report for robot in robots for report in self._reports(robot, since)]
        new = {o.client_order_id for robot in robots for o in self._orders(robot)} - known
        rejections = [r for r in reports if isinstance(r, OrderRejected)]
        why = f"; the last rejection said {rejections[-1].reason!r}" if rejections else ""
        return (
            f"trading did not resume after {after}: no robot of {host} ({', '.join(robots)}) "
            f"had a new order accepted within {TRADING_S} s ({len(new)} new orders in the "
            f"store, {len(reports)} reports, {len(rejections)} of them rejections{why})"
        )

    # --- the end of a scenario -------------------------------------------------------------

    def settle(self) -> list[str]:
        """Trade a while, stop the feed, halt every robot, wait for every order to be final, stop.

        The halt makes each robot cancel what it holds, so an order that the gateway
        can no longer cancel (its exchange lost it) or that the robot waits on in vain
        is still open at the end. Returns sentences for whatever did not settle or stop.
        """
        findings = self.trade_for(AFTER_REPORTS)
        self.stop_feed()
        findings += self.halt_all()
        if not poll(self._quiet_with_nothing_open, SETTLE_S):
            findings.append(self._still_open())
        return findings + self.stop_all()

    def stop_feed(self) -> None:
        """End the market: the feed is killed (it has no state to lose) and not followed."""
        self._market_open = False
        if self.feed is not None:
            self.feed.kill(count=False)

    def wait_quiet(self) -> bool:
        """Wait until no new report came for :data:`QUIET_S`; False after :data:`SETTLE_S`."""
        return poll(self._quiet, SETTLE_S)

    def _quiet(self) -> bool:
        seqs, now = self.last_seqs(), time.monotonic()
        if seqs != self._last_report[0]:
            self._last_report = (seqs, now)
            return False
        return now - self._last_report[1] >= QUIET_S

    def _quiet_with_nothing_open(self) -> bool:
        try:
            if self.store.open_orders():
                return False
        except StoreError:
            return False
        return self._quiet()

    def _still_open(self) -> str:
        try:
            still = self.store.open_orders()
        except StoreError as exc:
            return f"after the halt the store could not be read: {exc}"
        shown = ", ".join(f"{o.client_order_id} ({o.state.value})" for o in still[:8])
        more = f" and {len(still) - 8} more" if len(still) > 8 else ""
        return (
            f"{len(still)} orders were still open {SETTLE_S} s after every robot was halted "
            f"(each robot cancels its working orders on a halt): {shown}{more}"
        )

    def stop_all(self) -> list[str]:
        """Stop the feed, then the hosts, then the gateway, each with SIGTERM; what went wrong."""
        self.stop_feed()
        findings = [f for host in self.hosts.values() if (f := host.stop()) is not None]
        if (found := self.gateway.stop()) is not None:
            findings.append(found)
        return findings

    def tracebacks(self) -> list[str]:
        return [found for process in self.processes() for found in process.tracebacks()]

    def kills(self) -> int:
        return sum(process.kills for process in self.processes())
