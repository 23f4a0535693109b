"""Many robots in one host: both runtimes beside raw Pykka, from 1 to 5,000 robots.

For each runtime (``threads``: a Pykka ThreadingActor per robot; ``pooled``: robots
sharing yard's worker pool), each layout (every robot on one symbol, or robots spread
over 50 symbols) and each robot count, three cases, each in a fresh process so its
memory and threads are its own:

- throughput: quotes published as fast as a feed in its own process can (over
  ``ipc://``; ``--feed inproc`` publishes from the host's main thread instead),
  journal on (every-event flush), until every robot handled each quote of its
  symbol; deliveries/s;
- latency: one quote at a time to a host where one robot answers each quote of its
  symbol with an order and the others count (the answering robot is added last,
  so it is the last one its quote is fanned out to); tick-to-command p50/p99;
- memory: RSS grown by adding that many idle robots, per robot.

Raw Pykka in the same run: ``tell`` of every message to each of N counting actors,
ThreadingActor and yard's PooledActor, no host, no sockets.

    python benchmarks/bench_many.py                 # everything, about 10 minutes
    python benchmarks/bench_many.py --quick         # fewer quotes and robot counts
    python benchmarks/bench_many.py --robots 1000 --runtimes pooled --layouts one
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import gc
import math
import multiprocessing
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import cli
import pykka
from bench_host import Buyer, ChildFeed, FinishLine, host_rig
from bench_raw import FINISH_TIMEOUT_S, Sink, Socket, wait_topics
from measure import exact, machine, peak_rss_kb, percentiles, reset_peak_rss, rss_kb

from gateways.feed import SyntheticQuotes
from yard_actors import Quote, Robot, encode
from yard_actors.runtime import PooledActor

ROBOTS = (1, 10, 100, 1000, 5000)
SPREAD_SYMBOLS = 50
RUNTIMES = ("threads", "pooled")
LAYOUTS = ("one", "spread")
DELIVERIES = 1_000_000  # per throughput case, spread over the quotes


def symbols_for(layout: str, robots: int) -> list[str]:
    """``Si`` first (the answering robot's symbol), then ``S01``...``S49``."""
    count = 1 if layout == "one" else min(SPREAD_SYMBOLS, robots)
    return ["Si", *(f"S{n:02d}" for n in range(1, count))]


def payloads_for(symbols: Sequence[str], count: int) -> list[tuple[bytes, bytes]]:
    return [
        (quote.symbol.encode(), exact(encode(quote)))
        for quote in SyntheticQuotes(symbols, count=count)
    ]


def counting_robot(finish: FinishLine | None, expected: dict[str, int]) -> type[Robot]:
    class Counting(Robot):
        """Counts its quotes and emits nothing; tells the finish line at the last one."""

        def on_start(self) -> None:
            self._quotes = 0
            self._last = expected.get(self.subscriptions[0], 0)

        def on_quote(self, quote: Quote) -> None:
            self._quotes += 1
            if self._quotes == self._last and finish is not None:
                finish.robot_done()

    return Counting


# --- the cases, each run in a process of its own ------------------------------------------------


@contextlib.contextmanager
def _feed(
    where: str, payloads: list[tuple[bytes, bytes]], topics: list[bytes]
) -> Iterator[tuple[str | None, Callable[[Socket], Callable[[], None]]]]:
    """The data URL for the host (None: the rig's own feed) and a ``start(rig_feed)``.

    ``start`` waits for the host's subscriptions and returns ``publish()``. A feed in
    its own process (``child``, as in production) takes no GIL from the host; it sends
    the payloads under ``topics`` in turn, as SyntheticQuotes made them.
    """
    if where == "inproc":

        def start_inproc(rig_feed: Socket) -> Callable[[], None]:
            wait_topics(rig_feed, topics, 120.0)
            send = rig_feed.send_multipart

            def publish() -> None:
                for frames in payloads:
                    send(frames)

            return publish

        yield None, start_inproc
        return
    with tempfile.TemporaryDirectory(prefix="yard-bench-many-") as tmp:
        child = ChildFeed(tmp, topics, [payload for _, payload in payloads])

        def start_child(_rig_feed: Socket) -> Callable[[], None]:
            child.wait_subscribed()
            return child.go

        try:
            yield child.url, start_child
        finally:
            child.close()


def throughput(
    runtime: str, layout: str, robots: int, quotes: int, feed: str = "child"
) -> dict[str, Any]:
    symbols = symbols_for(layout, robots)
    payloads = payloads_for(symbols, quotes)
    per_symbol = {s: sum(1 for topic, _ in payloads if topic == s.encode()) for s in symbols}
    finish = FinishLine(robots, 0)
    robot_class = counting_robot(finish, per_symbol)
    deliveries = sum(per_symbol[symbols[n % len(symbols)]] for n in range(robots))
    topics = [s.encode() for s in symbols]
    reset_peak_rss()
    with (
        _feed(feed, payloads, topics) as (data, start),
        host_rig("every-event", data, runtime=runtime) as rig,
    ):
        began = time.perf_counter()
        for n in range(robots):
            rig.host.add_robot(robot_class, name=f"r{n:04d}", symbols=[symbols[n % len(symbols)]])
        publish = start(rig.feed)
        startup_s = time.perf_counter() - began
        threads = threading.active_count()
        started = time.perf_counter_ns()
        publish()
        finished = finish.done.wait(FINISH_TIMEOUT_S)
        rig.host.wait_idle(timeout=60.0)
        handled = sum(row["events_in"] for row in rig.host.robots())
        journal_bytes = _journal_bytes(rig.host.journal_dir)
        stopping = time.perf_counter()
        rig.host.stop(timeout=60.0)
        stop_s = time.perf_counter() - stopping
    seconds = (finish.finished_ns - started) / 1e9 if finished else math.nan
    return {
        "quotes": quotes,
        "deliveries": deliveries,
        "seconds": seconds,
        "deliveries_per_s": deliveries / seconds,
        "quotes_per_s": quotes / seconds,
        "ok": finished and handled == deliveries,
        "journal_bytes_per_quote": journal_bytes / quotes,
        "startup_s": startup_s,
        "stop_s": stop_s,
        "threads": threads,
        "peak_rss_mb": peak_rss_kb() / 1024,
    }


def _journal_bytes(directory: Path | None) -> int:
    if directory is None:
        return 0
    return sum(path.stat().st_size for path in directory.glob("journal-*.yj"))


def latency(runtime: str, layout: str, robots: int, samples: int) -> dict[str, Any]:
    symbols = symbols_for(layout, robots)
    warmup = max(20, samples // 10)
    payloads = payloads_for(symbols, (samples + warmup) * len(symbols))
    answered = [frames for frames in payloads if frames[0] == b"Si"][: samples + warmup]
    robot_class = counting_robot(None, {})
    with host_rig("every-event", runtime=runtime) as rig:
        for n in range(robots - 1):
            rig.host.add_robot(robot_class, name=f"r{n:04d}", symbols=[symbols[n % len(symbols)]])
        rig.host.add_robot(Buyer, name="buyer", symbols=["Si"])
        wanted = {symbols[n % len(symbols)] for n in range(robots - 1)} | {"Si"}
        wait_topics(rig.feed, {s.encode() for s in wanted}, 120.0)
        clock, send, recv = time.perf_counter_ns, rig.feed.send_multipart, rig.orders.recv_multipart
        taken = []
        for frames in answered:
            started = clock()
            send(frames)
            recv()
            taken.append(clock() - started)
        rig.host.wait_idle(timeout=60.0)
        table = {row["name"]: row for row in rig.host.robots()}
    result = percentiles(taken[warmup:])
    result["subscribers"] = sum(1 for n in range(robots - 1) if n % len(symbols) == 0) + 1
    result["robot_wait_p50_us"] = table["buyer"].get("wait_p50_us")
    result["robot_handle_p50_us"] = table["buyer"].get("handle_p50_us")
    return result


def memory(runtime: str, layout: str, robots: int) -> dict[str, Any]:
    symbols = symbols_for(layout, robots)
    robot_class = counting_robot(None, {})
    with host_rig("every-event", runtime=runtime) as rig:
        gc.collect()
        before = rss_kb()
        for n in range(robots):
            rig.host.add_robot(robot_class, name=f"r{n:04d}", symbols=[symbols[n % len(symbols)]])
        wait_topics(rig.feed, {s.encode() for s in symbols}, 120.0)
        rig.host.wait_idle(timeout=60.0)
        gc.collect()
        after = rss_kb()
    return {"rss_mb": after / 1024, "kb_per_robot": (after - before) / robots}


class _PooledSink(PooledActor, Sink):
    pass


def raw_fanout(runtime: str, actors: int, messages: int) -> dict[str, Any]:
    """``tell`` each of ``messages`` ints to every one of ``actors`` counting actors."""
    finish = FinishLine(actors, 0)
    cls = _PooledSink if runtime == "pooled" else Sink
    refs = [cls.start(messages - 1, finish.robot_done) for _ in range(actors)]
    try:
        started = time.perf_counter_ns()
        tells = [ref.tell for ref in refs]
        for n in range(messages):
            for tell in tells:
                tell(n)
        finished = finish.done.wait(FINISH_TIMEOUT_S)
    finally:
        for ref in refs:
            ref.stop(block=False)
        pykka.ActorRegistry.stop_all()
    seconds = (finish.finished_ns - started) / 1e9 if finished else math.nan
    return {"deliveries": actors * messages, "deliveries_per_s": actors * messages / seconds}


def _in_child(case: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=spawn) as pool:
        try:
            return pool.submit(case, *args).result(timeout=FINISH_TIMEOUT_S * 2)
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}


# --- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": info, "source": info["yard"], "cases": []}
    for robots in args.robots:
        raw_messages = max(10, min(100_000, 100_000 // robots))
        for runtime in args.runtimes:
            raw = _in_child(raw_fanout, runtime, robots, raw_messages)
            results["cases"].append({"case": "raw", "runtime": runtime, "robots": robots, **raw})
            _show(results["cases"][-1])
    for layout in args.layouts:
        for robots in args.robots:
            per_symbol = math.ceil(robots / len(symbols_for(layout, robots)))
            quotes = max(200, min(args.max_quotes, args.deliveries // per_symbol))
            samples = max(100, min(args.samples, 20_000 // per_symbol))
            for runtime in args.runtimes:
                case = {"case": "host", "runtime": runtime, "layout": layout, "robots": robots}
                case["throughput"] = _in_child(
                    throughput, runtime, layout, robots, quotes, args.feed
                )
                case["latency"] = _in_child(latency, runtime, layout, robots, samples)
                case["memory"] = _in_child(memory, runtime, layout, robots)
                results["cases"].append(case)
                _show(case)
    return results


def _show(case: dict[str, Any]) -> None:
    if case["case"] == "raw":
        rate = case.get("deliveries_per_s", math.nan)
        print(
            f"raw pykka {case['runtime']:8} {case['robots']:5} actors: {rate:12,.0f} deliveries/s"
        )
        return
    tput, lat, mem = case["throughput"], case["latency"], case["memory"]
    print(
        f"{case['runtime']:8} {case['layout']:6} {case['robots']:5} robots: "
        f"{tput.get('deliveries_per_s', math.nan):10,.0f} deliveries/s "
        f"{'ok' if tput.get('ok') else 'NOT OK ' + str(tput.get('error', ''))} | "
        f"tick-to-command p50 {lat.get('p50_us', math.nan):8.0f} µs "
        f"p99 {lat.get('p99_us', math.nan):8.0f} µs | "
        f"{mem.get('kb_per_robot', math.nan):6.1f} KB/robot, peak "
        f"{tput.get('peak_rss_mb', math.nan):6.0f} MB, threads {tput.get('threads')}",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument(
        "--robots", type=cli.comma_ints, default=list(ROBOTS), help="e.g. 1,10,1000"
    )
    parser.add_argument("--runtimes", type=cli.comma_names(RUNTIMES), default=list(RUNTIMES))
    parser.add_argument("--layouts", type=cli.comma_names(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--deliveries", type=int, default=DELIVERIES, help="per throughput case")
    parser.add_argument("--max-quotes", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000, help="latency samples, at most")
    parser.add_argument(
        "--feed",
        choices=("child", "inproc"),
        default="child",
        help="throughput: publish from a feed process over ipc:// (as in production), "
        "or from the host process's main thread over inproc://",
    )
    parser.add_argument("--quick", action="store_true", help="a tenth of the work")
    cli.add_json(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.deliveries //= 10
        args.max_quotes //= 10
        args.samples //= 4
    info = machine()
    print(f"machine: {info}\nsource: {info['yard']}", flush=True)
    results = run(args, info)
    cli.write_json(args.json, results)
    return 0 if all(_ok(case) for case in results["cases"]) else 1


def _ok(case: dict[str, Any]) -> bool:
    if case["case"] == "raw":
        return "error" not in case
    return bool(case["throughput"].get("ok")) and "error" not in case["latency"]


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(main())
