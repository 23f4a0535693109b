"""The MongoDB server's own floor under yard's change-stream fill path, with no yard code.

Measures, on one nx-27017 started for the run (or the server at ``--mongo-url``):

* one pymongo command's round trip (``insert_one``, ``update_one``, ``find_one``),
  each timed alone from one thread, as the order store issues them; and an
  insert into ``trades`` while a change stream watches it (as the gateway's
  trade inserts are when a host follows the stream);
* insert -> change-stream notification: one thread inserts a document into
  ``trades`` every ``--gap-ms``; another follows ``trades`` with the same
  filtered change stream as ``FillWatch`` (``$match`` on ``fullDocument.name``
  and ``operationType: insert``) and stamps each notification. The watcher
  polls ``try_next()`` with a fixed pause between empty polls; the pause is
  varied (0 = back-to-back polls). This is the server's latency floor for
  the fill leg of the round trip: yard cannot see a fill sooner;
* what an idle watch costs: polls per second and the CPU of this process and
  of the server, for a fixed 10 ms pause (yard before) and for
  :class:`FillWatch`'s adaptive one, after it has gone idle.

Run: ``python benchmarks/bench_mongo_stream.py [--count N] [--gap-ms G]``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cli
from measure import percentiles
from pymongo import MongoClient, monitoring

from gateways.store.mongo_watch import BUSY_FOR_S, BUSY_PAUSE_S, IDLE_PAUSE_S, FillWatch
from yard_actors.testing.mongo import nx_server, scratch_database

Document = dict[str, Any]


def _percentiles(samples_ns: Sequence[int]) -> str:
    p = percentiles(samples_ns)
    return (
        f"n={p['samples']:5d}  p50 {p['p50_us']:7.0f}  p90 {p['p90_us']:7.0f}  "
        f"p99 {p['p99_us']:7.0f}  mean {p['mean_us']:7.0f} µs"
    )


def command_costs(url: str, count: int) -> None:
    """Each command the store sends, timed alone, ``count`` times."""
    client: MongoClient[Document] = MongoClient(url)
    with contextlib.ExitStack() as stack:
        stack.callback(client.close)
        orders = client.get_default_database()["orders"]
        trades = client.get_default_database()["trades"]
        trades.create_index("trade_id", unique=True)
        steps: list[tuple[str, Callable[[int], object]]] = [
            ("insert_one orders", lambda i: orders.insert_one({"_id": f"o{i}", "v": 0})),
            (
                "update_one orders",
                lambda i: orders.update_one({"_id": f"o{i}", "v": 0}, {"$set": {"v": 1}}),
            ),
            ("find_one orders", lambda i: orders.find_one({"_id": f"o{i}"})),
            ("insert_one trades", lambda i: trades.insert_one({"trade_id": f"t{i}", "name": "r"})),
            (
                "… while watched",  # nx-27017 logs each change of a watched collection
                lambda i: trades.insert_one({"trade_id": f"w{i}", "name": "r"}),
            ),
        ]
        for name, step in steps:
            if name.endswith("watched"):
                stack.enter_context(trades.watch([{"$match": {"operationType": "insert"}}]))
            samples = []
            for i in range(count):
                start = time.perf_counter_ns()
                step(i)
                samples.append(time.perf_counter_ns() - start)
            print(f"  {name:<20} {_percentiles(samples)}")


def stream_latency(url: str, count: int, gap_s: float, pause_s: float) -> list[int]:
    """Insert -> notification delays (ns) with the watcher pausing ``pause_s`` between polls."""
    client: MongoClient[Document] = MongoClient(url)
    trades = client.get_default_database()["trades"]
    match = {"operationType": "insert", "fullDocument.name": {"$in": ["robot"]}}
    sent: dict[int, int] = {}
    delays: list[int] = []
    ready = threading.Event()
    polls = [0]

    def watch() -> None:
        with trades.watch([{"$match": match}], max_await_time_ms=100) as stream:
            ready.set()
            while len(delays) < count:
                change = stream.try_next()
                polls[0] += 1
                if change is None:
                    if pause_s:
                        time.sleep(pause_s)
                    continue
                now = time.perf_counter_ns()
                delays.append(now - sent[change["fullDocument"]["n"]])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(10)
    inserter: MongoClient[Document] = MongoClient(url)
    target = inserter.get_default_database()["trades"]
    cpu = time.process_time()
    for n in range(count):
        sent[n] = time.perf_counter_ns()
        target.insert_one({"name": "robot", "n": n})
        time.sleep(gap_s)
    watcher.join(30)
    cpu = time.process_time() - cpu
    print(
        f"  pause {pause_s * 1000:4.1f} ms: {_percentiles(delays)}"
        f"  polls/insert {polls[0] / count:5.1f}  client CPU {cpu:5.1f} s"
    )
    inserter.close()
    client.close()
    return delays


class _GetMores(monitoring.CommandListener):
    """Counts getMore commands: the watch's polls."""

    def __init__(self) -> None:
        self.count = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.count += event.command_name == "getMore"

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def _cpu_seconds(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cost(url: str, seconds: float, server_pid: int | None, **polling: float) -> None:
    """CPU of this process and of the server while a FillWatch follows an idle collection.

    One fill first (the watch is then in its busy pace, as after trading); counted
    from when that pace has ended, for ``seconds`` without any fill.
    """
    polls = _GetMores()
    client: MongoClient[Document] = MongoClient(url, event_listeners=[polls])
    trades = client.get_default_database()["trades"]
    match = {"operationType": "insert", "fullDocument.name": {"$in": ["robot"]}}
    with FillWatch(trades.watch([{"$match": match}]), "idle", **polling) as watch:
        trades.insert_one(_trade(0))
        watch.next(timeout=5)
        watch.next(timeout=polling.get("busy_for", 0.0) + 0.2)  # let the busy pace end
        polls.count = 0
        cpu, server = time.process_time(), _cpu_seconds(server_pid)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            watch.next(timeout=deadline - time.monotonic())
        cpu, server = time.process_time() - cpu, _cpu_seconds(server_pid) - server
    client.close()
    settings = ", ".join(f"{name} {value * 1000:g} ms" for name, value in polling.items())
    print(
        f"  {settings}: {polls.count / seconds:6.1f} polls/s, this process "
        f"{cpu / seconds * 100:5.1f} % CPU, server {server / seconds * 100:5.1f} % CPU"
    )


def _trade(n: int) -> Document:
    return {
        "trade_id": f"t-{n}",
        "name": "robot",
        "seq": n + 1,
        "client_order_id": f"o-{n}",
        "symbol": "Si",
        "side": "buy",
        "price": "1",
        "qty": 1,
        "fee": "0",
        "ts": n,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--count", type=int, default=2000, help="inserts per measurement")
    parser.add_argument("--gap-ms", type=float, default=4.0, help="pause between inserts")
    parser.add_argument(
        "--pauses",
        default="0,0.5,1,10",
        help="watcher pauses between empty polls, ms, comma-separated",
    )
    parser.add_argument("--idle-s", type=float, default=10.0, help="idle watch time")
    cli.add_mongo_url(parser, per="per measurement")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        given = contextlib.nullcontext(args.mongo_url)
        with nx_server(Path(tmp)) if args.mongo_url is None else given as server:
            print(f"pymongo command round trips ({args.count} each):")
            with scratch_database(server, "yard_floor") as url:
                command_costs(url, args.count)
            print(f"insert -> change stream notification, an insert every {args.gap_ms} ms:")
            for pause in args.pauses.split(","):
                with scratch_database(server, "yard_floor") as url:
                    stream_latency(url, args.count, args.gap_ms / 1000, float(pause) / 1000)
            pid_file = Path(tmp) / "nx-27017.pid"
            pid = int(pid_file.read_text()) if args.mongo_url is None else None
            print(f"a FillWatch on an idle collection, {args.idle_s:g} s:")
            for polling in (
                {"busy_pause": IDLE_PAUSE_S, "busy_for": 0.0},  # yard before: a fixed 10 ms
                {"busy_pause": BUSY_PAUSE_S, "busy_for": BUSY_FOR_S, "idle_pause": IDLE_PAUSE_S},
            ):
                with scratch_database(server, "yard_floor") as url:
                    idle_cost(url, args.idle_s, pid, **polling)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
