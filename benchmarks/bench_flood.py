"""Flood: an order's round trip through ``yard gateway`` with and without recovery floods.

``yard gateway`` runs as a process of its own (SQLite store, paper exchange,
``ipc://`` endpoints), its store holding a robot's long history (``--history``
reports). A client times one order at a time: a NewOrder pushed on ``orders``,
its acceptance read on ``trades``. Cases, each on a fresh gateway:

* ``quiet``: ``--orders`` round trips, nothing else going on;
* ``flood-N`` (``--requests``, repeatable; default 50 and 200): a peer that never
  reads (a DEALER taking one message, a 4 KB socket buffer) sends N requests for the
  whole history at once, alternately ``replay`` from the start and ``resolve`` of
  its first order; the client's round trips are timed for ``--window`` s from then.

Printed per case: round trip percentiles (µs), the gateway's RSS before the flood
and at its peak during it (MB, /proc/PID/status), and the recovery counters of its
health line at the end (SIGUSR1). Issue 12 measured, before recovery had a thread
of its own: quiet 2.4 ms; 50 requests 8.3 s and 406 MB; 200 requests 33.6 s and
1.23 GB.

    python benchmarks/bench_flood.py
    python benchmarks/bench_flood.py --requests 50 --window 10 --json flood.json
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import cli
import zmq
from measure import machine, percentile_head, percentile_row, percentiles, print_machine

from gateways.store import OrderState, SQLiteOrderStore
from yard_actors import NewOrder, OrderAccepted, Side, decode, encode
from yard_actors.wire.names import RECOVERY_REPLAY, RECOVERY_RESOLVE

REPO = Path(__file__).resolve().parents[1]
TS = 1_700_000_000_000_000_000
ROBOT = "big"
HEALTH = re.compile(r"yard gateway health: (.*)$")
RECOVERY_KEYS = (
    "replays",
    "resolves",
    "recovery_pages",
    "recovery_merged",
    "recovery_requests_discarded",
    "dropped_recovery_not_reading",
)
_ids = itertools.count(1)


def new_order(robot: str) -> NewOrder:
    return NewOrder(
        ts=TS + next(_ids),
        client_order_id=f"{robot}-{next(_ids)}",
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        qty=1,
        price=Decimal(100),
    )


def fill_history(path: Path, count: int) -> bytes:
    """``count`` reports of ROBOT; the id of the (stored, accepted) order of the first."""
    first = f"{ROBOT}-0"
    with SQLiteOrderStore(path, checkpoint_interval_s=None) as store, store.batch():
        store.add_pending(
            NewOrder(ts=TS, client_order_id=first, robot=ROBOT, symbol="Si", side=Side.BUY, qty=1)
        )
        store.transition(first, OrderState.ACCEPTED, ts=TS, exchange_order_id="X0")
        for n in range(count):
            store.add_report(
                ROBOT,
                OrderAccepted(
                    ts=TS + n, client_order_id=f"{ROBOT}-{n}", robot=ROBOT, exchange_order_id="X"
                ),
            )
    return first.encode()


@contextlib.contextmanager
def gateway_process(
    store: Path, work: Path
) -> Iterator[tuple[subprocess.Popen[bytes], dict[str, str]]]:
    """``yard gateway`` on ipc:// endpoints in ``work``, until the block ends."""
    urls = {name: f"ipc://{work / name}" for name in ("orders", "trades", "recovery")}
    out, err = work / "gateway.out", work / "gateway.err"
    command = [
        *(sys.executable, "-m", "yard_actors.app.cli", "gateway"),
        *("--store", f"sqlite:///{store}", "--no-require-session", "--health-every", "0"),
        *("--orders", urls["orders"], "--replies", urls["trades"], "--recovery", urls["recovery"]),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)  # noqa: S603 - no shell
    try:
        deadline = time.monotonic() + 30
        while "yard gateway ready" not in out.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"yard gateway did not start: {err.read_text()[-2000:]}")
            time.sleep(0.05)
        yield process, urls
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def health(process: subprocess.Popen[bytes], err: Path) -> dict[str, int]:
    """The counters of a health line asked for now (SIGUSR1); {} if none comes in 10 s."""
    before = err.read_text().count("yard gateway health:")
    process.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [m.group(1) for line in err.read_text().splitlines() if (m := HEALTH.search(line))]
        if len(lines) > before:
            pairs = (item.rsplit(" ", 1) for item in lines[-1].split(", "))
            return {name: int(value) for name, value in pairs}
        time.sleep(0.05)
    return {}


class Client:
    """PUSH on orders, SUB on trades (topic ``timer``): one order at a time."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], urls: dict[str, str]) -> None:
        self.push = context.socket(zmq.PUSH)
        self.sub = context.socket(zmq.SUB)
        for socket in (self.push, self.sub):
            socket.setsockopt(zmq.LINGER, 0)
        self.sub.subscribe(b"timer")
        self.sub.connect(urls["trades"])
        self.push.connect(urls["orders"])

    def close(self) -> None:
        self.push.close()
        self.sub.close()

    def round_trip_ns(self, timeout: float = 60.0) -> int | None:
        order = new_order("timer")
        start = time.perf_counter_ns()
        self.push.send_multipart([b"timer", encode(order)])
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self.sub.poll(int(left * 1000) + 1):
                return None
            report = decode(self.sub.recv_multipart()[1])
            if getattr(report, "client_order_id", None) == order.client_order_id:
                return time.perf_counter_ns() - start
        return None

    def warm_up(self) -> None:
        deadline = time.monotonic() + 30
        while self.round_trip_ns(0.5) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("no order came back from the gateway")


def run_case(name: str, args: Any, history: Path, first: bytes, requests: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="yb-", dir="/tmp"))  # ipc paths are short
    store = work / "orders.db"
    shutil.copy(history, store)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        with gateway_process(store, work) as (process, urls):
            client = Client(context, urls)
            silent = context.socket(zmq.DEALER)
            silent.setsockopt(zmq.LINGER, 0)
            silent.setsockopt(zmq.RCVHWM, 1)
            silent.setsockopt(zmq.RCVBUF, 4096)
            silent.connect(urls["recovery"])
            try:
                client.warm_up()
                for _ in range(50):
                    client.round_trip_ns()
                rss_before = rss_peak = rss_mb(process.pid)
                for n in range(requests):
                    if n % 2:
                        silent.send_multipart([RECOVERY_RESOLVE, ROBOT.encode(), first])
                    else:
                        silent.send_multipart([RECOVERY_REPLAY, ROBOT.encode(), str(n).encode()])
                samples: list[int] = []
                lost = 0
                end = time.monotonic() + args.window if requests else None
                while (
                    (len(samples) + lost < args.orders) if end is None else time.monotonic() < end
                ):
                    trip = client.round_trip_ns()
                    if trip is None:
                        lost += 1
                    else:
                        samples.append(trip)
                    rss_peak = max(rss_peak, rss_mb(process.pid))
                counts = health(process, work / "gateway.err")
            finally:
                silent.close()
                client.close()
    finally:
        context.term()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "round_trip": percentiles(samples) if samples else {},
        "lost": lost,
        "rss_before_mb": round(rss_before, 1),
        "rss_peak_mb": round(rss_peak, 1),
        "recovery": {key: counts.get(key, 0) for key in RECOVERY_KEYS},
    }


def main() -> None:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--history", type=int, default=20_000, help="reports in the history")
    parser.add_argument(
        "--requests", type=int, action="append", help="flood sizes (default: 50 and 200)"
    )
    parser.add_argument("--orders", type=int, default=1000, help="round trips of the quiet case")
    parser.add_argument("--window", type=float, default=5.0, help="seconds timed under a flood")
    cli.add_json(parser)
    args = parser.parse_args()
    info = machine()
    with tempfile.TemporaryDirectory() as directory:
        history = Path(directory) / "history.db"
        first = fill_history(history, args.history)
        cases = {"quiet": 0} | {f"flood-{n}": n for n in args.requests or (50, 200)}
        results = {name: run_case(name, args, history, first, n) for name, n in cases.items()}
    print_machine(info)
    print(f"\nhistory: {args.history:,} reports of {ROBOT}; round trip in µs")
    print(percentile_head("case", 12) + f"{'lost':>6}{'RSS MB':>16}")
    for name, result in results.items():
        rss = f"{result['rss_before_mb']:.0f} -> {result['rss_peak_mb']:.0f}"
        row = percentile_row(name, result["round_trip"], 12) if result["round_trip"] else name
        print(f"{row}{result['lost']:>6}{rss:>16}")
    for name, result in results.items():
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in result["recovery"].items()))
    cli.write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
