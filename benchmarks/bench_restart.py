"""Time from a gateway restart to reconciled robots: SIGKILL a `yard gateway`, start it again.

A real ``yard gateway`` process (paper exchange, SQLite store, ipc:// endpoints) serves
one in-process host of ``--robots`` market makers, fed quotes whose mid moves every
quote, so every robot keeps cancelling and re-quoting: at any moment some orders and
cancels are in flight. Each round:

1. quotes flow for ``--warm`` seconds;
2. the gateway is killed with SIGKILL, and ``--dark`` more quotes are published while it
   is down, so robots send orders and cancels into a dead link;
3. the quotes stop, the gateway is started again on the same store (``t0``: just before
   the process is spawned), and the host is polled every millisecond.

Printed per round, from ``t0``: when the gateway printed "ready", and when every robot
was *reconciled* — no order awaiting its first report and no cancel awaiting its
answer (``robots()``'s ``awaiting`` and ``cancelling`` at 0) — with how many orders the
gateway reported as lost in transit. What reconciles them: the order link's reconnect
(orders sent before the drop are asked about at once) and, for the rest,
``reply_timeout`` (``--reply-timeout``; yard's default is 5 s).

    python benchmarks/bench_restart.py [--robots 50] [--rounds 5]
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import cli
import zmq
from measure import machine, print_machine

from robots.market_maker import MarketMaker
from yard_actors import Host, encode
from yard_actors.host.table import RobotTable
from yard_actors.testing import quote

SYMBOL = "Si"
TS0 = 1_700_000_000_000_000_000
STEP_NS = 1_000_000
READY_S = 30.0
RECONCILE_S = 60.0


class Gateway:
    """A ``yard gateway`` process on ipc:// endpoints in ``directory``, over one store."""

    def __init__(self, directory: Path) -> None:
        self.urls = {
            name: f"ipc://{directory}/{name}.sock" for name in ("orders", "trades", "recovery")
        }
        self._args = [
            sys.executable,
            "-m",
            "yard_actors.app.cli",
            "gateway",
            "--store",
            f"sqlite:///{directory}/orders.sqlite",
            "--orders",
            self.urls["orders"],
            "--replies",
            self.urls["trades"],
            "--recovery",
            self.urls["recovery"],
            "--no-require-session",
            "--health-every",
            "0",
        ]
        self._log = directory / "gateway.log"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> float:
        """Spawn the process; return how long it took to print that it is ready (s)."""
        started = time.perf_counter()
        with self._log.open("a") as log:
            self.process = subprocess.Popen(  # noqa: S603 - no shell
                self._args, stdout=subprocess.PIPE, stderr=log, text=True
            )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until ready (or exit)
        if "ready" not in line:
            msg = f"gateway did not start: {line!r}; see {self._log}"
            raise RuntimeError(msg)
        return time.perf_counter() - started

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Market:
    """Publishes Si quotes whose mid moves every quote (so market makers re-quote)."""

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], url: str) -> None:
        self._socket = context.socket(zmq.PUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(url)
        self._n = 0

    def publish(self, count: int, every_s: float) -> None:
        for _ in range(count):
            self._n += 1
            mid = 90_000 + (self._n % 20) * 2
            event = quote(SYMBOL, Decimal(mid - 1), Decimal(mid + 1), ts=TS0 + self._n * STEP_NS)
            self._socket.send_multipart([SYMBOL.encode(), encode(event)])
            time.sleep(every_s)

    def close(self) -> None:
        self._socket.close()


def _waiting(table: RobotTable) -> tuple[int, int]:
    return sum(r["awaiting"] for r in table), sum(r["cancelling"] for r in table)


def run_round(
    host: Host, gateway: Gateway, market: Market, *, warm: float, dark: int, rate: float
) -> dict[str, Any]:
    market.publish(int(warm * rate), 1 / rate)
    before = _waiting(host.robots())
    gateway.kill()
    market.publish(dark, 1 / rate)
    time.sleep(0.2)  # let the robots send what the dark quotes caused into the dead link
    stranded = _waiting(host.robots())
    t0 = time.perf_counter()
    ready_s = gateway.start()
    reconciled_s = None
    while time.perf_counter() - t0 < RECONCILE_S:
        if _waiting(host.robots()) == (0, 0):
            reconciled_s = time.perf_counter() - t0
            break
        time.sleep(0.001)
    return {
        "in_flight_at_kill": before,
        "stranded": stranded,
        "ready_s": ready_s,
        "reconciled_s": reconciled_s,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--robots", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=float, default=2.0, help="seconds of quotes per round")
    parser.add_argument("--rate", type=float, default=500.0, help="quotes per second")
    parser.add_argument("--dark", type=int, default=50, help="quotes while the gateway is down")
    parser.add_argument("--reply-timeout", type=float, default=5.0)
    args = parser.parse_args(argv)
    print_machine(machine())
    with tempfile.TemporaryDirectory(prefix="yard-bench-restart-") as scratch:
        directory = Path(scratch)
        gateway = Gateway(directory)
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        market = Market(context, f"ipc://{directory}/data.sock")
        results: list[dict[str, Any]] = []
        try:
            gateway.start()
            with Host(
                data=f"ipc://{directory}/data.sock",
                orders=gateway.urls["orders"],
                trades=gateway.urls["trades"],
                recovery=gateway.urls["recovery"],
                control=f"ipc://{directory}/control.sock",
                journal_dir=directory / "journal",
                reply_timeout=args.reply_timeout,
            ) as host:
                for n in range(args.robots):
                    host.add_robot(MarketMaker, name=f"mm-{n}")
                time.sleep(0.5)  # subscriptions settle
                for n in range(1, args.rounds + 1):
                    result = run_round(
                        host, gateway, market, warm=args.warm, dark=args.dark, rate=args.rate
                    )
                    results.append(result)
                    shown = (
                        "not within 60 s"
                        if result["reconciled_s"] is None
                        else f"{result['reconciled_s'] * 1000:8.1f} ms"
                    )
                    print(
                        f"round {n}: in flight at the kill (orders, cancels) "
                        f"{result['in_flight_at_kill']}, stranded {result['stranded']}; "
                        f"gateway ready {result['ready_s'] * 1000:7.1f} ms, "
                        f"robots reconciled {shown}",
                        flush=True,
                    )
        finally:
            gateway.stop()
            market.close()
            context.term()
    done = [r["reconciled_s"] for r in results if r["reconciled_s"] is not None]
    ready = [r["ready_s"] for r in results]
    print(
        f"\n{args.robots} robots, {args.rounds} rounds, reply_timeout {args.reply_timeout} s: "
        f"gateway ready p50 {statistics.median(ready) * 1000:.1f} ms; "
        + (
            f"reconciled p50 {statistics.median(done) * 1000:.1f} ms, max {max(done) * 1000:.1f} ms"
            if done
            else "never reconciled"
        )
        + f" ({len(done)} of {len(results)} rounds)"
    )
    return 0 if len(done) == len(results) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    threading.current_thread().name = "bench"
    sys.exit(main())
