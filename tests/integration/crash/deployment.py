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
"""

from __future__ import annotations

import csv
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

import attrs
import pytest
import zmq

from gateways.sample import SAMPLE_DATE, sample_session
from gateways.sessions import FORTS
from gateways.store import OrderRecord, OrderStore, StoreError, open_store
from tests.integration.crash.invariant import Consistency
from yard_actors.net import Security, connect, make_keys
from yard_actors.wire.codec import encode
from yard_actors.wire.events import (
    Control,
    ControlAction,
    Fill,
    OrderAccepted,
    OrderRejected,
    Quote,
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

REPO = Path(__file__).resolve().parents[3]

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

START_S = 30.0  # a process must print its ready line within this
STOP_S = 20.0  # a process told to stop (SIGTERM) must be gone within this
TRADING_S = 10.0  # after a restart, each host must have a new order accepted within this
AFTER_REPORTS = 600  # reports a scenario lets the robots trade after its last restart
SETTLE_S = 15.0  # after the halt, every order must be final within this
QUIET_S = 1.5  # the store is settled when no report came for this long (three heartbeats)
POLL_S = 0.05


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def note(logs: Path, text: str) -> None:
    """Append a timestamped line to ``logs/rig.log``: what the rig did, and when."""
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
    with (logs / "rig.log").open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {text}\n")


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


# --- the market ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Day:
    """A trading day for ``yard feed``: the bundled sample day (no files) or CSV files."""

    day: date
    seed: int
    files: tuple[Path, ...] = ()

    def feed_args(self) -> list[str]:
        return [*(str(f) for f in self.files), "--seed", str(self.seed)]


def sample_day(seed: int = 7) -> Day:
    """The bundled sample day, as ``yard feed`` makes it with no files."""
    return Day(day=SAMPLE_DATE, seed=seed)


def next_trading_day(after: date) -> date:
    """The first day after ``after`` with an open FORTS session."""
    day = after + timedelta(days=1)
    while not FORTS.windows_on(day):
        day += timedelta(days=1)
    return day


def csv_day(directory: Path, *, seed: int, day: date, hours: float = 6.0) -> Day:
    """The first ``hours`` of a sample day on ``day`` (seeded), written as two CSV files."""
    directory.mkdir(parents=True, exist_ok=True)
    quotes_path, ticks_path = directory / f"{day}-quotes.csv", directory / f"{day}-ticks.csv"
    with quotes_path.open("w", newline="") as q_file, ticks_path.open("w", newline="") as t_file:
        quotes, ticks = csv.writer(q_file), csv.writer(t_file)
        quotes.writerow(("timestamp", "symbol", "bid", "ask", "bid_size", "ask_size"))
        ticks.writerow(("timestamp", "symbol", "last", "volume", "side"))
        first: int | None = None
        for event in sample_session(seed=seed, date=day):
            first = event.ts if first is None else first
            if event.ts - first > hours * 3600 * 10**9:
                break
            if isinstance(event, Quote):
                quotes.writerow(
                    (event.ts, event.symbol, event.bid, event.ask, event.bid_size, event.ask_size)
                )
            else:
                ticks.writerow(
                    (event.ts, event.symbol, event.price, event.qty, event.aggressor.value)
                )
    files = (quotes_path, ticks_path)
    return Day(day=day, seed=seed, files=files)


# --- processes ----------------------------------------------------------------------------


class YardProcess:
    """One command as a process of its own, started again at will; output in numbered logs.

    ``ready`` is the start of the line it prints once it serves (None: it is ready
    at once). Run ``n`` writes ``{name}.{n}.out`` and ``{name}.{n}.err`` in ``logs``.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        logs: Path,
        *,
        ready: str | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.command = list(command)
        self.logs = logs
        self.ready = ready
        self.runs = 0
        self.kills = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._killed = False  # SIGKILL sent by signal_kill, not yet reaped
        self._launched = 0.0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def output(self, run: int | None = None) -> str:
        return self._log(run, "out")

    def errors(self, run: int | None = None) -> str:
        return self._log(run, "err")

    def _log(self, run: int | None, kind: str) -> str:
        path = self.logs / f"{self.name}.{run or self.runs}.{kind}"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = START_S) -> None:
        """Start it and wait for its ready line; raise RuntimeError with its logs if none comes."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start it and return at once: :meth:`wait_ready` waits for it to serve."""
        if self.running:
            msg = f"{self.name} is already running (pid {self.pid}); stop or kill it first"
            raise RuntimeError(msg)
        self.runs += 1
        with (
            (self.logs / f"{self.name}.{self.runs}.out").open("wb") as out,
            (self.logs / f"{self.name}.{self.runs}.err").open("wb") as err,
        ):
            self._process = subprocess.Popen(
                self.command, cwd=self.logs, env=self.env, stdout=out, stderr=err
            )
        self._launched = time.monotonic()

    def wait_ready(self, timeout: float = START_S) -> None:
        """Wait for the ready line; raise RuntimeError with its stderr if it exits or none comes."""
        assert self._process is not None
        process = self._process
        poll(lambda: self._is_ready() or process.poll() is not None, timeout)
        ready = self._is_ready()
        waited = time.monotonic() - self._launched
        note(
            self.logs,
            f"{self.name} run {self.runs} (pid {self.pid}) ready: {ready}, {waited:.2f} s",
        )
        if not ready:
            code = process.poll()
            self.kill(count=False)
            msg = (
                f"{self.name} (run {self.runs}) printed no {self.ready!r} line within "
                f"{timeout} s (exit code {code}); its stderr:\n{self.errors()[-3000:]}"
            )
            raise RuntimeError(msg)

    def _is_ready(self) -> bool:
        if self.ready is None:
            return True
        return any(line.startswith(self.ready) for line in self.output().splitlines())

    def signal_kill(self) -> None:
        """Send SIGKILL without waiting: :meth:`kill` then counts and reaps it."""
        if self.running:
            assert self._process is not None
            self._process.send_signal(signal.SIGKILL)
            self._killed = True

    def kill(self, *, count: bool = True) -> None:
        """SIGKILL it (a crash: nothing runs after it) and reap it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None or self._killed:
            process.send_signal(signal.SIGKILL)
            self.kills += count
        self._killed = False
        process.wait(timeout=STOP_S)
        note(self.logs, f"{self.name} run {self.runs} killed (exit {process.returncode})")
        self._process = None

    def stop(self, timeout: float = STOP_S) -> str | None:
        """SIGTERM it and wait; a sentence if it had died, would not stop or exited non-zero."""
        process = self._process
        if process is None:
            return None
        if process.poll() is not None:
            self._process = None
            return (
                f"{self.name} (run {self.runs}) had exited by itself with code {process.returncode}"
            )
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(count=False)
            return f"{self.name} (run {self.runs}) did not stop within {timeout} s of SIGTERM"
        self._process = None
        note(self.logs, f"{self.name} run {self.runs} stopped (exit {process.returncode})")
        if process.returncode != 0:
            tail = self.errors().strip().splitlines()[-1:] or ["(no stderr)"]
            return f"{self.name} (run {self.runs}) exited with code {process.returncode}: {tail[0]}"
        return None

    def tracebacks(self) -> list[str]:
        """A sentence for each run whose stderr holds a Python traceback."""
        found = []
        for run in range(1, self.runs + 1):
            err = self.errors(run)
            if "Traceback (most recent call last)" in err:
                last = [line for line in err.splitlines() if line and not line[0].isspace()]
                found.append(
                    f"{self.name} (run {run}) logged a traceback; its last line: {last[-1]!r}"
                )
        return found


def start_together(processes: Sequence[YardProcess], timeout: float = START_S) -> None:
    """Launch them all at once (in the order given), then wait until each serves."""
    for process in processes:
        process.launch()
    for process in processes:
        process.wait_ready(timeout)


def _yard(
    name: str,
    args: Sequence[str],
    logs: Path,
    ready: str | None,
    env: Mapping[str, str] | None = None,
) -> YardProcess:
    command = [sys.executable, "-m", "yard_actors.app.cli", *args]
    return YardProcess(name, command, logs, ready=ready, env=env)


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
        self.gateway = _yard("gateway", self._gateway_args(), self.logs, "yard gateway ready")
        self.hosts = {
            host: _yard(
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
        self.feed = _yard(f"feed-{len(self.feeds) + 1}", args, self.logs, ready=None)
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

    def send_control(self, action: ControlAction) -> None:
        """Send ``action`` to every robot on its host's control endpoint (ts 0: no clock move)."""
        for host, robots in HOSTS.items():
            push = self._context.socket(zmq.PUSH)
            push.setsockopt(zmq.LINGER, 5000)
            connect(
                push, self.control[host], Security.from_keys(self.keys, "controller"), server=host
            )
            for robot in robots:
                control = Control(ts=0, robot=robot, action=action)
                push.send_multipart([robot.encode(), encode(control)])
            push.close()  # LINGER: what is queued goes out before close returns... or 5 s pass

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
        self.send_control(ControlAction.HALT)
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


# --- what a scenario reports ----------------------------------------------------------------

MIN_ORDERS = 200
"""A scenario whose store holds fewer orders than this did not trade enough to prove anything."""
MIN_FILLS = 50


@attrs.define
class Scenario:
    """One scenario's name, seed, seeded Random and start time; it prints and judges the end.

    The seed is ``YARD_CRASH_SEED`` or a fresh one, printed at once, so a failing CI run
    can be replayed with the same random moments.
    """

    name: str
    seed: int
    rng: random.Random
    started: float

    @classmethod
    def begin(cls, name: str) -> Scenario:
        given = os.environ.get("YARD_CRASH_SEED", "")
        seed = int(given) if given else random.SystemRandom().randrange(10**9)
        print(f"{name}: YARD_CRASH_SEED={seed}", flush=True)
        return cls(name, seed, random.Random(f"{seed}:{name}"), time.monotonic())

    def conclude(
        self,
        rig: Deployment,
        findings: Sequence[str],
        consistency: Consistency,
        capsys: pytest.CaptureFixture[str],
        *,
        also: str = "",
    ) -> None:
        """Print the counts and every violation to the CI log; fail on any of them.

        ``also`` adds to the counts (``"2 MongoDB outages, "``). Fails too when too little
        traded (:data:`MIN_ORDERS`, :data:`MIN_FILLS`): a run in which nothing happened
        must not pass.
        """
        violations = [*findings, *consistency.violations]
        seconds = time.monotonic() - self.started
        with capsys.disabled():  # the CI log shows the work done, passing or not
            print(
                f"\n[crash] {self.name}: seed {self.seed}, {rig.kills()} kills, {also}"
                f"{len(rig.days)} days, {consistency.counts()}, {seconds:.1f} s, "
                f"{len(violations)} violations",
                *(f"  - {v}" for v in violations),
                sep="\n",
                flush=True,
            )
        assert not violations, (
            f"{self.name} (YARD_CRASH_SEED={self.seed}) broke consistency "
            f"{len(violations)} times:\n" + "\n".join(f"- {v}" for v in violations)
        )
        too_little = f"{self.name} traded too little to prove anything: {consistency.counts()}"
        assert consistency.orders >= MIN_ORDERS, too_little
        assert consistency.fills >= MIN_FILLS, too_little
