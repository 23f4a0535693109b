"""Core benchmarks: raw ZeroMQ and Pykka limits beside yard's latency and throughput.

Everything runs in one process and one run, so the raw limits and the host's
figures come from the same machine under the same load::

    python benchmarks/bench_core.py            # full run, about 2-3 minutes on 2 cores
    python benchmarks/bench_core.py --quick    # counts / 4, about 20 s
    python benchmarks/bench_core.py --json out.json
    python benchmarks/bench_core.py --only tput/1/ --scale 2   # some cases, twice the counts

Cases (``--only`` takes name prefixes):

* ``raw/...``: plain inproc ZeroMQ PUSH->PULL and XPUB->SUB, plain Pykka ``tell`` to
  one ThreadingActor, and a ping-pong through the same hops a host uses
  (XPUB->SUB thread->``tell``->actor->PUSH->PULL) with no yard code in them.
* ``latency/...``: one robot that answers every quote with a NewOrder; the feed
  publishes one quote and blocks until the command reaches the gateway's PULL.
* ``tput/<robots>/...``: quotes published as fast as possible to robots that
  count them and emit nothing, timed from the first publish to the moment the
  last robot handled the last quote.

This is a script, not a test: it prints figures and checks that nothing was dropped.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import itertools
import json
import math
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pykka
import zmq

from gateways.feed import SyntheticQuotes
from yard_actors import FlushPolicy, Host, JournalConfig, NewOrder, Quote, Robot, encode

Context = zmq.Context[zmq.Socket[bytes]]
Socket = zmq.Socket[bytes]

SYMBOL = "Si"
TOPIC = SYMBOL.encode()
FINISH_TIMEOUT_S = 180.0  # a case that has not finished by then has lost messages
_rig_ids = itertools.count(1)


@attrs.frozen(kw_only=True)
class Counts:
    """How many messages each case sends; ``--quick`` and ``--scale`` shrink or grow them."""

    zmq_messages: int = 500_000
    tells: int = 200_000
    pingpongs: int = 10_000
    latency_quotes: int = 10_000
    latency_warmup: int = 1_000
    tput_quotes: tuple[tuple[int, int], ...] = (
        (1, 200_000),
        (10, 100_000),
        (100, 10_000),
        (1000, 1_500),
    )

    def scaled(self, factor: float) -> Counts:
        def n(value: int) -> int:
            return max(100, int(value * factor))

        return Counts(
            zmq_messages=n(self.zmq_messages),
            tells=n(self.tells),
            pingpongs=n(self.pingpongs),
            latency_quotes=n(self.latency_quotes),
            latency_warmup=n(self.latency_warmup),
            tput_quotes=tuple((robots, n(quotes)) for robots, quotes in self.tput_quotes),
        )


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What ran the figures: OS, CPU, cores, Python and library versions."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "pykka": importlib.metadata.version("pykka"),
    }


def _reset_peak_rss() -> None:
    # Linux lets a process reset VmHWM, so each case reports its own peak, not the run's.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- raw limits --------------------------------------------------------------------------------


def _pair(context: Context, sender: int, receiver: int, url: str) -> tuple[Socket, Socket]:
    out = context.socket(sender)
    out.setsockopt(zmq.LINGER, 0)
    out.setsockopt(zmq.SNDHWM, 0)
    out.bind(url)
    into = context.socket(receiver)
    into.setsockopt(zmq.LINGER, 0)
    into.setsockopt(zmq.RCVHWM, 1_000_000)
    into.connect(url)
    if receiver == zmq.SUB:
        into.subscribe(TOPIC)
        assert out.recv() == b"\x01" + TOPIC  # the XPUB sees the subscription
    return out, into


def raw_zmq(count: int, payload: bytes, pattern: str) -> dict[str, Any]:
    """Two-frame messages from this thread to a receiving thread over inproc; msgs/s."""
    sender, receiver = (zmq.PUSH, zmq.PULL) if pattern == "push-pull" else (zmq.XPUB, zmq.SUB)
    context: Context = zmq.Context()
    out, into = _pair(context, sender, receiver, f"inproc://bench-raw-{next(_rig_ids)}")
    finished: list[int] = []

    def receive() -> None:
        recv = into.recv_multipart
        for _ in range(count):
            recv()
        finished.append(time.perf_counter_ns())

    thread = threading.Thread(target=receive, name="bench-raw-receiver")
    thread.start()
    started = time.perf_counter_ns()
    send = out.send_multipart
    for _ in range(count):
        send((TOPIC, payload))
    thread.join()
    out.close()
    into.close()
    context.term()
    seconds = (finished[0] - started) / 1e9
    return {"messages": count, "seconds": seconds, "per_s": count / seconds}


class _Sink(pykka.ThreadingActor):
    """Sets ``done`` when it receives ``last``."""

    def __init__(self, last: int, done: threading.Event) -> None:
        super().__init__()
        self._last = last
        self._done = done

    def on_receive(self, message: Any) -> None:
        if message == self._last:
            self._done.set()


def raw_pykka(count: int) -> dict[str, Any]:
    """``tell`` ``count`` ints to one ThreadingActor; time until it handled the last one."""
    done = threading.Event()
    ref = _Sink.start(count - 1, done)
    try:
        started = time.perf_counter_ns()
        tell = ref.tell
        for n in range(count):
            tell(n)
        sent = time.perf_counter_ns()
        if not done.wait(FINISH_TIMEOUT_S):
            msg = f"the actor did not handle {count} tells in {FINISH_TIMEOUT_S} s"
            raise RuntimeError(msg)
        finished = time.perf_counter_ns()
    finally:
        ref.stop()
    seconds = (finished - started) / 1e9
    return {
        "messages": count,
        "seconds": seconds,
        "per_s": count / seconds,
        "send_per_s": count / ((sent - started) / 1e9),
    }


class _Forwarder(pykka.ThreadingActor):
    """Sends each message it is told on a PUSH socket: the robot actor's hop, without yard."""

    def __init__(self, push: Socket) -> None:
        super().__init__()
        self._push = push

    def on_receive(self, message: Any) -> None:
        self._push.send_multipart((b"robot", message))


def raw_pingpong(count: int, warmup: int, payload: bytes) -> dict[str, Any]:
    """XPUB->SUB->thread->tell->actor->PUSH->PULL and back to this thread: the hops' floor."""
    context: Context = zmq.Context()
    run = next(_rig_ids)
    feed, sub = _pair(context, zmq.XPUB, zmq.SUB, f"inproc://bench-pp-data-{run}")
    push, pull = _pair(context, zmq.PUSH, zmq.PULL, f"inproc://bench-pp-orders-{run}")
    pull.setsockopt(zmq.RCVTIMEO, 10_000)
    ref = _Forwarder.start(push)

    def receive() -> None:
        recv, tell = sub.recv_multipart, ref.tell
        for _ in range(count + warmup):
            tell(recv()[1])

    thread = threading.Thread(target=receive, name="bench-pp-intake")
    thread.start()
    try:
        samples = _pingpong(feed, pull, [payload] * (count + warmup))
    finally:
        thread.join()
        ref.stop()
        for socket in (feed, sub, push, pull):
            socket.close()
        context.term()
    return _percentiles(samples[warmup:])


# --- the host rig --------------------------------------------------------------------------------


def _wait_subscribed(feed: Socket, topic: bytes, timeout: float = 30.0) -> None:
    """Block until ``feed`` (an XPUB) sees a subscription to ``topic``, as TestFeed does."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not feed.poll(int(remaining * 1000)):
            msg = f"the host did not subscribe to {topic!r} within {timeout} s"
            raise TimeoutError(msg)
        if feed.recv() == b"\x01" + topic:
            return


class _Rig:
    """A host wired over inproc to a bench feed (XPUB on data) and gateway (PULL on orders).

    With ``data`` given, the host connects there instead and the rig binds no feed.
    """

    def __init__(
        self, journal_dir: str | None, journal: JournalConfig | None, data: str | None
    ) -> None:
        run = f"{os.getpid()}-{next(_rig_ids)}"
        urls = {k: f"inproc://yard-bench-{run}-{k}" for k in ("data", "orders", "trades")}
        self.context: Context = zmq.Context()
        self.sockets: list[Socket] = []
        self.feed = self._bind(zmq.XPUB, urls["data"])  # unbounded: a PUB drops at its HWM
        self.orders = self._bind(zmq.PULL, urls["orders"])
        self.orders.setsockopt(zmq.RCVTIMEO, 10_000)
        self._bind(zmq.XPUB, urls["trades"])
        self.host = Host(
            data=urls["data"] if data is None else data,
            orders=urls["orders"],
            trades=urls["trades"],
            control=f"inproc://yard-bench-{run}-control",
            context=self.context,
            journal_dir=journal_dir,
            journal=journal,
        )

    def _bind(self, kind: int, url: str) -> Socket:
        socket = self.context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, 0)
        self.sockets.append(socket)
        socket.bind(url)
        return socket

    def close(self) -> None:
        self.host.stop()
        for socket in self.sockets:
            socket.close()
        self.context.term()


@contextlib.contextmanager
def _rig(journal: str, data: str | None = None) -> Iterator[_Rig]:
    """``journal`` is ``off``, ``every-event`` (the default policy) or ``every-1000``."""
    config = None
    if journal == "every-1000":
        config = JournalConfig(flush=FlushPolicy.EVERY_N, every_n=1000)
    with tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp:
        rig = _Rig(None if journal == "off" else tmp, config, data)
        try:
            yield rig
        finally:
            rig.close()


def _publish_in_child(url: str, payloads: list[bytes], ready: Any, go: Any, took: Any) -> None:
    """Run in a child process: bind the feed, wait for the host, publish everything on ``go``."""
    context: Context = zmq.Context()
    feed = context.socket(zmq.XPUB)
    feed.setsockopt(zmq.SNDHWM, 0)
    feed.bind(url)
    _wait_subscribed(feed, TOPIC)
    ready.set()
    go.wait()
    started = time.perf_counter()
    send = feed.send_multipart
    for payload in payloads:
        send((TOPIC, payload))
    took.value = time.perf_counter() - started
    feed.close(linger=30_000)  # term() returns once every quote is handed to the host
    context.term()


class _ChildFeed:
    """A feed in another process over ``ipc://``, so publishing takes no GIL from the host."""

    def __init__(self, directory: str, payloads: Sequence[bytes]) -> None:
        self.url = f"ipc://{directory}/data"
        spawn = multiprocessing.get_context("spawn")
        self._ready, self._go = spawn.Event(), spawn.Event()
        self._took = spawn.Value("d", math.nan)
        self._process = spawn.Process(
            target=_publish_in_child,
            args=(self.url, list(payloads), self._ready, self._go, self._took),
            name="bench-feed",
            daemon=True,
        )
        self._process.start()

    def wait_subscribed(self, timeout: float = 60.0) -> None:
        if not self._ready.wait(timeout):
            msg = f"the feed process saw no subscription within {timeout} s"
            raise TimeoutError(msg)

    def go(self) -> None:
        self._go.set()

    def close(self) -> float:
        """Wait for the child to end; return how long it took to publish, in seconds."""
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.terminate()
        return float(self._took.value)


# --- tick-to-command latency -------------------------------------------------------------------


class Buyer(Robot):
    """Answers every quote with a limit buy at the bid."""

    symbols = (SYMBOL,)

    def on_quote(self, quote: Quote) -> NewOrder:
        return self.buy(quote.symbol, 1, quote.bid)


def _pingpong(feed: Socket, pull: Socket, payloads: Sequence[bytes]) -> list[int]:
    clock, send, recv = time.perf_counter_ns, feed.send_multipart, pull.recv_multipart
    samples = []
    for payload in payloads:
        started = clock()
        send((TOPIC, payload))
        recv()
        samples.append(clock() - started)
    return samples


def _percentiles(samples_ns: Sequence[int]) -> dict[str, Any]:
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1000

    return {
        "samples": len(ordered),
        "p50_us": at(0.50),
        "p90_us": at(0.90),
        "p99_us": at(0.99),
        "p999_us": at(0.999),
        "max_us": ordered[-1] / 1000,
        "mean_us": sum(ordered) / len(ordered) / 1000,
    }


def latency(journal: str, payloads: Sequence[bytes], warmup: int) -> dict[str, Any]:
    """Publish one quote, block until its NewOrder reaches the gateway; per-quote µs."""
    with _rig(journal) as rig:
        rig.host.add_robot(Buyer, name="buyer")
        _wait_subscribed(rig.feed, TOPIC)
        samples = _pingpong(rig.feed, rig.orders, payloads)
        rig.host.wait_idle()  # the actor counts a command after sending it
        commands = rig.host.robots()[0]["commands_out"]
    result = _percentiles(samples[warmup:])
    result["commands"] = commands
    result["ok"] = commands == len(payloads)
    return result


# --- throughput --------------------------------------------------------------------------------


class _FinishLine:
    """Counts robots that handled their last quote; the last one stamps the time."""

    def __init__(self, robots: int, quotes: int) -> None:
        self.quotes = quotes
        self.done = threading.Event()
        self.finished_ns = 0
        self._left = robots
        self._lock = threading.Lock()

    def robot_done(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self.finished_ns = time.perf_counter_ns()
                self.done.set()


def _counting_robot(finish: _FinishLine) -> type[Robot]:
    class Counting(Robot):
        """Counts quotes and emits nothing: delivery and handling, no commands."""

        symbols = (SYMBOL,)

        def on_start(self) -> None:
            self._quotes = 0

        def on_quote(self, quote: Quote) -> None:
            self._quotes += 1
            if self._quotes == finish.quotes:
                finish.robot_done()

    return Counting


def throughput(
    robots: int, journal: str, payloads: Sequence[bytes], *, child_feed: bool = False
) -> dict[str, Any]:
    """Publish every payload as fast as possible; time until every robot handled all.

    With ``child_feed`` the quotes come from another process over ``ipc://``, as in
    production; otherwise from this process's main thread over ``inproc://``.
    """
    finish = _FinishLine(robots, len(payloads))
    robot_class = _counting_robot(finish)
    _reset_peak_rss()
    with tempfile.TemporaryDirectory(prefix="yard-bench-ipc-") as ipc_dir:
        child = _ChildFeed(ipc_dir, payloads) if child_feed else None
        began = time.perf_counter()
        with _rig(journal, None if child is None else child.url) as rig:
            for n in range(robots):
                rig.host.add_robot(robot_class, name=f"r{n:04d}")
            if child is None:
                _wait_subscribed(rig.feed, TOPIC)
            else:
                child.wait_subscribed()
            startup_s = time.perf_counter() - began
            threads = threading.active_count()
            started = time.perf_counter_ns()
            if child is None:
                send = rig.feed.send_multipart
                for payload in payloads:
                    send((TOPIC, payload))
                publish_s = (time.perf_counter_ns() - started) / 1e9
            else:
                child.go()
            finished = finish.done.wait(FINISH_TIMEOUT_S)
            if child is not None:
                publish_s = child.close()
            rig.host.wait_idle(timeout=60.0)
            handled = sum(row["events_in"] for row in rig.host.robots())
            intake = rig.host.intake_stats()["data"]
            stopping = time.perf_counter()
            rig.host.stop(timeout=60.0)
            stop_s = time.perf_counter() - stopping
    seconds = (finish.finished_ns - started) / 1e9 if finished else math.nan
    quotes = len(payloads)
    return {
        "robots": robots,
        "journal": journal,
        "feed": "child process, ipc" if child_feed else "main thread, inproc",
        "quotes": quotes,
        "seconds": seconds,
        "quotes_per_s": quotes / seconds,
        "deliveries_per_s": quotes * robots / seconds,
        "publish_per_s": quotes / publish_s,
        "handled": handled,
        "expected": quotes * robots,
        "received": intake.received,
        "dropped": dict(intake.dropped),
        "ok": finished and handled == quotes * robots,
        "startup_s": startup_s,
        "stop_s": stop_s,
        "threads": threads,
        "peak_rss_mb": _peak_rss_mb(),
    }


# --- running and printing ----------------------------------------------------------------------


def _cases(
    counts: Counts, payloads: Sequence[bytes]
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    one = payloads[0]
    latency_n = counts.latency_quotes + counts.latency_warmup
    cases: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("raw/zmq-push-pull", lambda: raw_zmq(counts.zmq_messages, one, "push-pull")),
        ("raw/zmq-xpub-sub", lambda: raw_zmq(counts.zmq_messages, one, "xpub-sub")),
        ("raw/pykka-tell", lambda: raw_pykka(counts.tells)),
        ("raw/pingpong", lambda: raw_pingpong(counts.pingpongs, counts.latency_warmup, one)),
        (
            "latency/journal",
            lambda: latency("every-event", payloads[:latency_n], counts.latency_warmup),
        ),
        ("latency/no-journal", lambda: latency("off", payloads[:latency_n], counts.latency_warmup)),
    ]
    for robots, quotes in counts.tput_quotes:
        journals = ("every-event", "off", "every-1000") if robots == 1 else ("every-event",)
        for journal in journals:
            name = f"tput/{robots}/{journal}"
            cases.append((name, _bind_tput(robots, journal, payloads[:quotes])))
        if robots == 1:
            for journal in ("every-event", "off"):
                name = f"tput/1/{journal}+child-feed"
                cases.append((name, _bind_tput(1, journal, payloads[:quotes], child_feed=True)))
    return cases


def _bind_tput(
    robots: int, journal: str, payloads: Sequence[bytes], *, child_feed: bool = False
) -> Callable[[], Any]:
    return lambda: throughput(robots, journal, payloads, child_feed=child_feed)


def _cpu_seconds() -> tuple[float, float, float]:
    """This process's (and its reaped children's) CPU, all CPUs' busy time, and steal."""
    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    busy = steal = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal; guest time is already in user
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / hz
        steal = fields[7] / hz
    return own, busy, steal


def _run_case(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one case and add its wall time, its CPU, and CPU other processes used meanwhile."""
    own0, busy0, steal0 = _cpu_seconds()
    began = time.perf_counter()
    result = run()
    wall = time.perf_counter() - began
    own1, busy1, steal1 = _cpu_seconds()
    result["case_wall_s"] = wall
    result["case_cpu_s"] = own1 - own0
    result["others_cpu_s"] = max(0.0, (busy1 - busy0) - (steal1 - steal0) - (own1 - own0))
    result["steal_s"] = steal1 - steal0
    return result


def _payloads(count: int) -> list[bytes]:
    # Each orjson.dumps result pins about 4 KB of heap while it lives (a shrunk 4 KB
    # buffer); copying into an exact-size bytes keeps 200k payloads at ~30 MB, not ~800 MB.
    return [bytes(memoryview(encode(quote))) for quote in SyntheticQuotes((SYMBOL,), count=count)]


def _print_report(info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(
        f"\nmachine: {info['platform']} | {info['cpu']} | nproc {info['nproc']} | "
        f"Python {info['python']} | pyzmq {info['pyzmq']} / libzmq {info['libzmq']} | "
        f"pykka {info['pykka']}"
    )
    _print_raw({k: v for k, v in results.items() if k.startswith("raw/") and "per_s" in v})
    _print_latency({k: v for k, v in results.items() if "p50_us" in v})
    _print_throughput({k: v for k, v in results.items() if k.startswith("tput/")})
    _print_cpu(results)


def _print_raw(raw: dict[str, dict[str, Any]]) -> None:
    if raw:
        print(f"\n{'raw limit':<31}{'messages':>10}{'msgs/s':>12}")
    for name, r in raw.items():
        print(f"{name:<31}{r['messages']:>10,}{r['per_s']:>12,.0f}")


def _print_latency(lat: dict[str, dict[str, Any]]) -> None:
    if lat:
        print(
            f"\n{'tick-to-command latency (µs)':<31}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}"
            f"{'p99.9':>8}{'max':>9}{'mean':>8}"
        )
    for name, r in lat.items():
        flag = "" if r.get("ok", True) else f"  WARNING: {r['commands']:,} commands counted"
        print(
            f"{name:<31}{r['samples']:>7,}{r['p50_us']:>8.0f}{r['p90_us']:>8.0f}"
            f"{r['p99_us']:>8.0f}{r['p999_us']:>8.0f}{r['max_us']:>9.0f}"
            f"{r['mean_us']:>8.0f}{flag}"
        )


def _print_throughput(tput: dict[str, dict[str, Any]]) -> None:
    if tput:
        print(
            f"\n{'throughput':<31}{'quotes':>8}{'s':>7}{'quotes/s':>10}{'deliv/s':>10}"
            f"{'pub/s':>10}{'start s':>8}{'stop s':>7}{'threads':>8}{'RSS MB':>7}"
        )
    for name, r in tput.items():
        print(
            f"{name:<31}{r['quotes']:>8,}{r['seconds']:>7.2f}{r['quotes_per_s']:>10,.0f}"
            f"{r['deliveries_per_s']:>10,.0f}{r['publish_per_s']:>10,.0f}"
            f"{r['startup_s']:>8.2f}{r['stop_s']:>7.2f}{r['threads']:>8}"
            f"{r['peak_rss_mb']:>7.0f}"
        )
        if not r["ok"]:
            print(
                f"  WARNING {name}: handled {r['handled']:,} of {r['expected']:,} "
                f"(intake received {r['received']:,}, dropped {r['dropped']})"
            )


def _print_cpu(results: dict[str, dict[str, Any]]) -> None:
    # Other processes' CPU during a case means the figures shared the machine: distrust them.
    print(f"\n{'CPU per case (s)':<31}{'wall':>7}{'this':>7}{'others':>8}{'steal':>7}")
    for name, r in results.items():
        others = r["others_cpu_s"]
        noisy = "  <- shared machine" if others > max(0.05, 0.1 * r["case_wall_s"]) else ""
        print(
            f"{name:<31}{r['case_wall_s']:>7.1f}{r['case_cpu_s']:>7.1f}"
            f"{r['others_cpu_s']:>8.1f}{r['steal_s']:>7.1f}{noisy}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="counts / 4: about 20 s")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run the cases whose name starts with PREFIX (repeatable)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    args = parser.parse_args(argv)
    counts = Counts().scaled(args.scale * (0.25 if args.quick else 1.0))
    need = max(
        counts.latency_quotes + counts.latency_warmup, *(quotes for _, quotes in counts.tput_quotes)
    )
    payloads = _payloads(need)
    info = machine()
    _reset_peak_rss()
    info["rss_before_cases_mb"] = round(_peak_rss_mb())
    results: dict[str, dict[str, Any]] = {}
    run_started = time.perf_counter()
    for name, run in _cases(counts, payloads):
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        print(f"running {name} ...", end=" ", flush=True)
        results[name] = _run_case(run)
        print(f"{results[name]['case_wall_s']:.1f} s", flush=True)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print_report(info, results)
    print(
        f"\nrun took {time.perf_counter() - run_started:.0f} s (after building {need:,} "
        f"quotes); RSS before the cases {info['rss_before_cases_mb']} MB; "
        f"process peak RSS (getrusage) {max_rss:.0f} MB"
    )
    if args.json is not None:
        report = {
            "machine": info,
            "counts": attrs.asdict(counts),
            "results": results,
            "process_peak_rss_mb": max_rss,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if all(r.get("ok", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
