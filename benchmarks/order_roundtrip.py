"""The round-trip cases: a quote through the robot, the gateway and back, timed per leg.

Each round sends one quote; the robot takes one lot, and the fill makes it send a
marker (an IOC sell far above the market) that the exchange cancels. The next
quote goes out only once the marker is final, so the robot never has two orders
in flight. The exchange stamps the taking order and the marker, the store the
fill: their differences are the legs :func:`round_trip` and
:func:`round_trip_process` report. See :mod:`bench_orders` for the paths measured.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench_raw import TOPIC, Socket
from measure import Result, percentiles
from order_process import process_rig
from order_rig import (
    COMMANDS,
    ROBOT,
    StampedExchange,
    Stamps,
    gateway_troubles,
    market_payloads,
    order_rig,
    round_trip_robot,
    wait_reports,
)

from gateways.store import SQLiteOrderStore
from gateways.store.base import OrderStore
from yard_actors import Host
from yard_actors.wire.frames import send

ROUND_TIMEOUT_S = 15.0


def round_trip(
    store_kind: str, path: str, rounds: int, warmup: int, mongo: str | None = None
) -> Result:
    """Ping-pong quotes through a robot and the gateway; see the module docstring."""
    settled = threading.Event()
    fast = path == "fast"
    stamps = Stamps(None if fast else settled)
    exchange = StampedExchange()
    problems: list[str] = []
    COMMANDS.reset()
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        order_rig(store_kind, Path(tmp), stamps, exchange, mongo) as (rig, url),
    ):
        host = rig.start_host(Path(tmp) / "journal", stream_only=None if fast else url)
        robot_class = round_trip_robot(settled if fast else None, book_complete=fast)
        host.add_robot(robot_class, name=ROBOT)
        rig.wait_subscribers(2)  # the gateway's market data and the host's
        quoted = _pump_rounds(rig.feed, rounds, warmup, settled, problems)
        measured = len(quoted) - warmup
        commands = COMMANDS.per(measured) if url is not None and measured > 0 else {}
        if not rig.wait_reports(4 * len(quoted), timeout=10.0):  # accept + fill, accept + cancel
            sent = rig.gateway.stats["reports"]
            problems.append(f"the gateway sent {sent} of {4 * len(quoted)} reports")
        checked = _check_round_trips(
            rig.store, host, dict(rig.gateway.stats), len(quoted), problems
        )
    stamped = (quoted, exchange.taker_in_ns, stamps.fill_ns, exchange.marker_in_ns)
    found = {"mongo_per_round": commands, **checked}
    return _round_trip_result(
        store_kind, path, stamped, warmup=warmup, found=found, problems=problems
    )


def round_trip_process(rounds: int, warmup: int, gateway_cpus: list[int]) -> Result:
    """The SQLite fast-path round trip with the gateway in a child process on ``gateway_cpus``.

    Feed, host and robot stay in this process; the gateway's sockets are ipc://.
    """
    settled = threading.Event()
    problems: list[str] = []
    robot_class = round_trip_robot(settled, book_complete=True)
    with (
        tempfile.TemporaryDirectory(prefix="yard-bench-orders-") as tmp,
        process_rig(tmp, robot_class, gateway_cpus) as (feed, host, gateway),
    ):
        quoted = _pump_rounds(feed, rounds, warmup, settled, problems)
        if not wait_reports(gateway.reports_sent, 4 * len(quoted), timeout=10.0):
            sent = gateway.reports_sent()
            problems.append(f"the gateway sent {sent} of {4 * len(quoted)} reports")
        host.wait_idle()
        stopped = gateway.stop()
        with SQLiteOrderStore(Path(tmp) / "orders.db", checkpoint_interval_s=None) as store:
            checked = _check_round_trips(store, host, stopped["stats"], len(quoted), problems)
    stamped = (quoted, stopped["taker_in_ns"], stopped["fill_ns"], stopped["marker_in_ns"])
    found = {"gateway_cpus": gateway_cpus, **checked}
    path = "fast, gateway in its own process"
    return _round_trip_result(
        "sqlite", path, stamped, warmup=warmup, found=found, problems=problems
    )


def _pump_rounds(
    feed: Socket, rounds: int, warmup: int, settled: threading.Event, problems: list[str]
) -> list[int]:
    """Send a quote each time the last round has settled; when each was sent.

    pymongo's command count restarts after the ``warmup`` rounds.
    """
    quoted: list[int] = []
    clock = time.perf_counter_ns
    for n, payload in enumerate(market_payloads(rounds + warmup)):
        if n == warmup:
            COMMANDS.reset()
        settled.clear()
        quoted.append(clock())
        send(feed, TOPIC, payload)
        if not settled.wait(ROUND_TIMEOUT_S):
            problems.append(f"round {n}: the marker was not final after {ROUND_TIMEOUT_S} s")
            break
    return quoted


def _round_trip_result(
    store_kind: str,
    path: str,
    stamped: tuple[list[int], list[int], list[int], list[int]],
    *,
    warmup: int,
    found: dict[str, Any],
    problems: list[str],
) -> Result:
    """A round trip's figures: each leg's percentiles, beside what the case ``found``."""
    stages = _stages(*stamped, warmup)
    if stages is None:
        return {"store": store_kind, "path": path, "ok": False, "problems": problems}
    return {
        "store": store_kind,
        "path": path,
        "rounds": stages["round trip: order in -> marker in"]["samples"],
        "warmup": warmup,
        "stages_us": stages,
        **found,
        "ok": not problems,
        "problems": problems,
    }


def _stages(
    quoted: list[int], t_in: list[int], t_fill: list[int], t_out: list[int], warmup: int
) -> dict[str, dict[str, float]] | None:
    """Each leg's percentiles over the rounds after ``warmup`` that have all four stamps."""
    taken = slice(warmup, min(map(len, (quoted, t_in, t_fill, t_out))))
    t_q, t_in, t_fill, t_out = quoted[taken], t_in[taken], t_fill[taken], t_out[taken]
    if not t_out:
        return None
    return {
        "round trip: order in -> marker in": percentiles(_diff(t_out, t_in)),
        "  order in -> fill written": percentiles(_diff(t_fill, t_in)),
        "  fill written -> marker in": percentiles(_diff(t_out, t_fill)),
        "quote -> order in": percentiles(_diff(t_in, t_q)),
        "full loop: quote -> marker in": percentiles(_diff(t_out, t_q)),
    }


def _diff(later: Sequence[int], earlier: Sequence[int]) -> list[int]:
    return [b - a for a, b in zip(earlier, later, strict=True)]


def _check_round_trips(
    store: OrderStore, host: Host, stats: dict[str, int], rounds: int, problems: list[str]
) -> dict[str, Any]:
    """Every taking order accepted and filled, every marker cancelled, nothing dropped."""
    host.wait_idle()
    state = host.snapshot(ROBOT)["state"]
    trades = host.intake_stats()["trades"]
    orders = store.orders(robot=ROBOT)
    by_state = Counter(order.state.value for order in orders)
    expected = {
        "quotes": rounds,
        "takers": rounds,
        "fills": rounds,
        "markers": rounds,
        "busy_quotes": 0,
        "stray_fills": 0,
    }
    for key, value in expected.items():
        if state[key] != value:
            problems.append(f"robot {key} was {state[key]}, expected {value}")
    if (by_state["filled"], by_state["cancelled"], len(orders)) != (rounds, rounds, 2 * rounds):
        problems.append(f"the store holds {dict(by_state)} for {rounds} rounds")
    if len(store.trades(robot=ROBOT)) != rounds:
        problems.append(f"the store holds {len(store.trades(robot=ROBOT))} trades, not {rounds}")
    if stats.get("commands") != 2 * rounds or gateway_troubles(stats):
        problems.append(f"gateway stats {stats}")
    lost = {k: v for k, v in trades.dropped.items() if k != "duplicate"}
    if lost:
        problems.append(f"the trades intake dropped {lost}")
    return {
        "robot": {key: state[key] for key in expected},
        "store_orders": dict(by_state),
        "gateway_stats": stats,
        "trades_intake": {"delivered": trades.delivered, "dropped": dict(trades.dropped)},
    }
