"""Cases that run a real :class:`~yard_actors.Host`: per-event costs, latency, throughput.

The host is wired over inproc to a bench feed (XPUB on ``data``) and a bench
gateway (PULL on ``orders``), all in one ZeroMQ context, as :mod:`yard_actors.testing`
does; or, for ``child_feed``, to a feed in another process over ``ipc://``
(:class:`ChildFeed`, which :mod:`bench_many` uses too).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import zmq
from bench_raw import (
    FINISH_TIMEOUT_S,
    SYMBOL,
    TOPIC,
    Context,
    bound,
    endpoint_ids,
    pingpong,
    wait_topics,
    zmq_costs,
)
from measure import leave_host_cpus, peak_rss_kb, per_op_us, percentiles, reset_peak_rss

from yard_actors import FlushPolicy, Host, JournalConfig, NewOrder, Quote, Robot, decode, encode
from yard_actors.host.backlog import MailboxLimits
from yard_actors.journal import Journal

# --- a robot that answers every quote, and what each step of that costs ------------------------


class Buyer(Robot):
    """Answers every quote with a limit buy at the bid."""

    symbols = (SYMBOL,)

    def on_quote(self, quote: Quote) -> NewOrder:
        return self.buy(quote.symbol, 1, quote.bid)


def costs(count: int, payloads: Sequence[bytes]) -> dict[str, Any]:
    """What one event costs each step of the hot path, in µs, measured alone in this thread."""
    quotes = [decode(payload) for payload in payloads[:count]]
    buyer = Buyer("buyer")
    order = buyer.handle(quotes[0])[0]
    result = zmq_costs(count, payloads[0])
    result["decode a Quote"] = per_op_us(count, lambda: decode(payloads[0]))
    result["encode a NewOrder"] = per_op_us(count, lambda: encode(order))
    batch = iter(quotes * 2)
    result["Robot.handle(quote) -> NewOrder"] = per_op_us(count, lambda: buyer.handle(next(batch)))
    with tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp, Journal(tmp) as journal:
        result["journal record_events([1]) + flush"] = per_op_us(
            count, lambda: journal.record_events(payloads[:1])
        )
        result["journal record_deliveries([1]) + flush"] = per_op_us(
            count, lambda: journal.record_deliveries("buyer", [1])
        )
        result["journal record_command + flush"] = per_op_us(
            count, lambda: journal.record_command("buyer", payloads[0])
        )
    return {"costs_us": result}


# --- the host rig --------------------------------------------------------------------------------


class _Rig:
    """A host wired over inproc to a bench feed (XPUB on data) and gateway (PULL on orders).

    With ``data`` given, the host connects there instead (a feed in another process)
    and the rig's own feed socket stays unused.
    """

    def __init__(
        self,
        journal_dir: str | None,
        journal: JournalConfig | None,
        data: str | None,
        **host_kwargs: Any,
    ) -> None:
        run = f"{os.getpid()}-{next(endpoint_ids)}"
        urls = {k: f"inproc://yard-bench-{run}-{k}" for k in ("data", "orders", "trades")}
        self.context: Context = zmq.Context()
        self.feed = bound(self.context, zmq.XPUB, urls["data"])
        self.orders = bound(self.context, zmq.PULL, urls["orders"])
        self.orders.setsockopt(zmq.RCVTIMEO, 10_000)
        self.sockets = [self.feed, self.orders, bound(self.context, zmq.XPUB, urls["trades"])]
        self.host = Host(
            data=urls["data"] if data is None else data,
            orders=urls["orders"],
            trades=urls["trades"],
            control=f"inproc://yard-bench-{run}-control",
            context=self.context,
            journal_dir=journal_dir,
            journal=journal,
            **host_kwargs,
        )

    def close(self) -> None:
        self.host.stop()
        for socket in self.sockets:
            socket.close()
        self.context.term()


@contextlib.contextmanager
def host_rig(journal: str, data: str | None = None, **host_kwargs: Any) -> Iterator[_Rig]:
    """``journal`` is ``off``, ``every-event`` (the default policy) or ``every-1000``.

    The robots must see every quote, so conflation is kept out of reach (its counting
    and its check per burst still run; ``docs/runtime.md``, *Overload*).
    """
    host_kwargs.setdefault("mailbox", MailboxLimits(conflate_at=10**9, overrun_at=10**9 + 1))
    config = None
    if journal == "every-1000":
        config = JournalConfig(flush=FlushPolicy.EVERY_N, every_n=1000)
    with tempfile.TemporaryDirectory(prefix="yard-bench-") as tmp:
        made = _Rig(None if journal == "off" else tmp, config, data, **host_kwargs)
        try:
            yield made
        finally:
            made.close()


def _publish_in_child(
    url: str, topics: list[bytes], payloads: list[bytes], *, ready: Any, go: Any, took: Any
) -> None:
    """Run in a child process: bind the feed, wait for a subscriber to each topic, then on
    ``go`` publish payload ``n`` under topic ``n mod len(topics)`` (SyntheticQuotes' round
    robin over its symbols) and note how long that took."""
    leave_host_cpus()  # the host was pinned (--pin-host): keep the feed off its CPU
    context: Context = zmq.Context()
    feed = bound(context, zmq.XPUB, url)
    wait_topics(feed, topics, ChildFeed.WAIT_S)
    ready.set()
    go.wait()
    started = time.perf_counter()
    send = feed.send_multipart
    for n, payload in enumerate(payloads):
        send((topics[n % len(topics)], payload))
    took.value = time.perf_counter() - started
    feed.close(linger=60_000)  # term() returns once every quote is handed to the host
    context.term()


class ChildFeed:
    """A feed in another process over ``ipc://``, so publishing takes no GIL from the host.

    ``payloads`` go out in turn under ``topics``, round robin, as SyntheticQuotes makes them.
    """

    WAIT_S = 120.0  # for the host's subscriptions, which 5,000 robots take a while to send

    def __init__(self, directory: str, topics: Sequence[bytes], payloads: Sequence[bytes]) -> None:
        self.url = f"ipc://{directory}/data"
        spawn = multiprocessing.get_context("spawn")
        self._ready, self._go = spawn.Event(), spawn.Event()
        self._took = spawn.Value("d", math.nan)
        self._process = spawn.Process(
            target=_publish_in_child,
            args=(self.url, list(topics), list(payloads)),
            kwargs={"ready": self._ready, "go": self._go, "took": self._took},
            name="bench-feed",
            daemon=True,
        )
        self._process.start()

    def wait_subscribed(self) -> None:
        """Block until the feed saw every topic subscribed; raise TimeoutError if it did not."""
        if not self._ready.wait(self.WAIT_S):
            msg = f"the feed process saw no subscription within {self.WAIT_S} s"
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


def latency(journal: str, payloads: Sequence[bytes], warmup: int) -> dict[str, Any]:
    """Publish one quote, block until its NewOrder reaches the gateway; per-quote µs."""
    with host_rig(journal) as rig:
        rig.host.add_robot(Buyer, name="buyer")
        wait_topics(rig.feed, [TOPIC])
        samples = pingpong(rig.feed, rig.orders, payloads)
        rig.host.wait_idle()  # the actor counts a command after sending it
        commands = rig.host.robots()[0]["commands_out"]
    result = percentiles(samples[warmup:])
    result["commands"] = commands
    result["ok"] = commands == len(payloads)
    return result


# --- throughput --------------------------------------------------------------------------------


class FinishLine:
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


def _counting_robot(finish: FinishLine) -> type[Robot]:
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
    finish = FinishLine(robots, len(payloads))
    robot_class = _counting_robot(finish)
    reset_peak_rss()
    with tempfile.TemporaryDirectory(prefix="yard-bench-ipc-") as ipc_dir:
        child = ChildFeed(ipc_dir, [TOPIC], payloads) if child_feed else None
        began = time.perf_counter()
        with host_rig(journal, None if child is None else child.url) as rig:
            for n in range(robots):
                rig.host.add_robot(robot_class, name=f"r{n:04d}")
            if child is None:
                wait_topics(rig.feed, [TOPIC])
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
        "peak_rss_mb": peak_rss_kb() / 1024,
    }
