"""Core benchmarks: raw ZeroMQ and Pykka limits beside yard's latency and throughput.

Everything runs in one process and one run, so the raw limits and the host's
figures come from the same machine under the same load::

    python benchmarks/bench_core.py            # full run, about 2-3 minutes on 2 cores
    python benchmarks/bench_core.py --quick    # counts / 10, about 20 s
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
        (10, 40_000),
        (100, 3_000),
        (1000, 500),
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


class _Rig:
    """A host wired over inproc to a bench feed (XPUB on data) and gateway (PULL on orders)."""

    def __init__(self, journal_dir: str | None, journal: JournalConfig | None) -> None:
        run = f"{os.getpid()}-{next(_rig_ids)}"
        urls = {k: f"inproc://yard-bench-{run}-{k}" for k in ("data", "orders", "trades")}
        self.context: Context = zmq.Context()
        self.sockets: list[Socket] = []
        self.feed = self._bind(zmq.XPUB, urls["data"])
        self.feed.setsockopt(zmq.SNDHWM, 0)  # unbounded: a PUB drops at its high-water mark
        self.orders = self._bind(zmq.PULL, urls["orders"])
        self.orders.setsockopt(zmq.RCVTIMEO, 10_000)
        self._bind(zmq.XPUB, urls["trades"])
        self.host = Host(
            data=urls["data"],
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

    def wait_for(self, topic: bytes, timeout: float = 30.0) -> None:
        """Block until the host's data intake subscribed to ``topic`` (as TestFeed does)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.feed.poll(int(remaining * 1000)):
                msg = f"the host did not subscribe to {topic!r} within {timeout} s"
                raise TimeoutError(msg)
            if self.feed.recv() == b"\x01" + topic:
                return

    def close(self) -> None:
        self.host.stop()
        for socket in self.sockets:
            socket.close()
        self.context.term()


@contextlib.contextmanager
def _rig(journal: str) -> Iterator[_Rig]:
    """``journal`` is ``off``, ``every-event`` (the default policy) or ``every-1000``."""
    config = None
    if journal == "every-1000":
        config = JournalConfig(flush=FlushPolicy.EVERY_N, every_n=1000)
    with tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp:
        rig = _Rig(None if journal == "off" else tmp, config)
        try:
            yield rig
        finally:
            rig.close()


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
        rig.wait_for(TOPIC)
        samples = _pingpong(rig.feed, rig.orders, payloads)
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


def throughput(robots: int, journal: str, payloads: Sequence[bytes]) -> dict[str, Any]:
    """Publish every payload as fast as possible; time until every robot handled all."""
    finish = _FinishLine(robots, len(payloads))
    robot_class = _counting_robot(finish)
    _reset_peak_rss()
    began = time.perf_counter()
    with _rig(journal) as rig:
        for n in range(robots):
            rig.host.add_robot(robot_class, name=f"r{n:04d}")
        rig.wait_for(TOPIC)
        startup_s = time.perf_counter() - began
        threads = threading.active_count()
        started = time.perf_counter_ns()
        send = rig.feed.send_multipart
        for payload in payloads:
            send((TOPIC, payload))
        published = time.perf_counter_ns()
        finished = finish.done.wait(FINISH_TIMEOUT_S)
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
        "quotes": quotes,
        "seconds": seconds,
        "quotes_per_s": quotes / seconds,
        "deliveries_per_s": quotes * robots / seconds,
        "publish_per_s": quotes / ((published - started) / 1e9),
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


def _cases(counts: Counts, payloads: Sequence[bytes]) -> list[tuple[str, Callable[[], Any]]]:
    one = payloads[0]
    latency_n = counts.latency_quotes + counts.latency_warmup
    cases: list[tuple[str, Callable[[], Any]]] = [
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
    return cases


def _bind_tput(robots: int, journal: str, payloads: Sequence[bytes]) -> Callable[[], Any]:
    return lambda: throughput(robots, journal, payloads)


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
    raw = {k: v for k, v in results.items() if k.startswith("raw/") and "per_s" in v}
    if raw:
        print(f"\n{'raw limit':<22}{'messages':>10}{'msgs/s':>12}")
        for name, r in raw.items():
            print(f"{name:<22}{r['messages']:>10,}{r['per_s']:>12,.0f}")
    lat = {k: v for k, v in results.items() if "p50_us" in v}
    if lat:
        print(
            f"\n{'latency (µs)':<22}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'p99.9':>8}"
            f"{'max':>9}{'mean':>8}"
        )
        for name, r in lat.items():
            flag = "" if r.get("ok", True) else "  WARNING: commands missing"
            print(
                f"{name:<22}{r['samples']:>7,}{r['p50_us']:>8.0f}{r['p90_us']:>8.0f}"
                f"{r['p99_us']:>8.0f}{r['p999_us']:>8.0f}{r['max_us']:>9.0f}"
                f"{r['mean_us']:>8.0f}{flag}"
            )
    tput = {k: v for k, v in results.items() if k.startswith("tput/")}
    if tput:
        print(
            f"\n{'throughput':<24}{'quotes':>8}{'s':>7}{'quotes/s':>10}{'deliv/s':>10}"
            f"{'pub/s':>10}{'start s':>8}{'stop s':>7}{'threads':>8}{'RSS MB':>7}"
        )
        for name, r in tput.items():
            print(
                f"{name:<24}{r['quotes']:>8,}{r['seconds']:>7.2f}{r['quotes_per_s']:>10,.0f}"
                f"{r['deliveries_per_s']:>10,.0f}{r['publish_per_s']:>10,.0f}"
                f"{r['startup_s']:>8.2f}{r['stop_s']:>7.2f}{r['threads']:>8}"
                f"{r['peak_rss_mb']:>7.0f}"
            )
            if not r["ok"]:
                print(
                    f"  WARNING {name}: handled {r['handled']:,} of {r['expected']:,} "
                    f"(intake received {r['received']:,}, dropped {r['dropped']})"
                )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="counts / 10: about 20 s")
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
    counts = Counts().scaled(args.scale * (0.1 if args.quick else 1.0))
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
        began = time.perf_counter()
        results[name] = run()
        print(f"{time.perf_counter() - began:.1f} s", flush=True)
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
