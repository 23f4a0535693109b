"""``yard gateway``: the order gateway with the paper exchange as a process of its own.

It binds the orders, replies (trades) and recovery endpoints, watches the data
endpoint for prices and session status, and writes everything to the order
store. It prints one line with its endpoints once it is ready and runs until
SIGINT or SIGTERM, then stops cleanly: the store is closed with every report
written. Its paper exchange takes the :class:`~gateways.paper.PaperConfig`
defaults, those of ``yard run``: orders are refused until the data endpoint
brings an open session (``yard feed`` adds FORTS sessions unless told not to).
``exchange`` names another adapter to run instead (``module:factory``).

It logs its counters (:meth:`~gateways.order_gateway.OrderGateway.health`, and
the peers its endpoints refused, ``refused_<reason>``: :mod:`yard_actors.net`)
every ``health_every_s`` seconds and on SIGUSR1. If the gateway's thread ends
on an unexpected error, :func:`serve` stops at once and raises GatewayError,
so the process ends with a non-zero status rather than live on serving nothing.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Final

import attrs
import zmq

from gateways.exchange import ExchangeAdapter
from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store, reopener
from yard_actors import net
from yard_actors.errors import ConfigError, GatewayError
from yard_actors.net import LOCAL_ONLY, Security

__all__ = ["HEALTH_EVERY_S", "GatewaySettings", "serve"]

log = logging.getLogger(__name__)
health_log = logging.getLogger(f"{__name__}.health")

HEALTH_EVERY_S: Final = 60.0
"""How often ``yard gateway`` logs its counters unless told (``--health-every``)."""


@attrs.frozen(kw_only=True)
class GatewaySettings:
    """Where ``yard gateway`` binds and connects, its store, and its exchange.

    ``exchange``: ``module:factory`` of an exchange adapter, called with no
    arguments, instead of the paper exchange. ``health_every_s``: seconds
    between health lines (0: only on SIGUSR1). ``security``: its keys and
    message size limit; ``tcp://`` endpoints need keys (:mod:`yard_actors.net`).
    """

    store: str
    orders: str
    replies: str
    recovery: str | None
    data: str | None
    symbols: tuple[str, ...]
    paper: PaperConfig = attrs.field(factory=PaperConfig)
    exchange: str | None = None
    health_every_s: float = HEALTH_EVERY_S
    security: Security = LOCAL_ONLY


def serve(settings: GatewaySettings, *, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGINT/SIGTERM when called on the main thread.

    On the main thread, SIGUSR1 logs the gateway's health. Raises GatewayError
    at once if the gateway's thread ends on an unexpected error, StoreError if
    the store cannot be opened, ConfigError for an ``exchange`` it cannot build.
    """
    wake = threading.Event()
    asked = threading.Event()  # SIGUSR1
    if stop is None:
        stopping = _signal_event(wake, asked)
    else:
        stopping = stop
        _forward(stop.wait, wake)
    if settings.paper.require_session and settings.data is None and settings.exchange is None:
        log.warning(
            "yard gateway has no data endpoint to learn session status from, and requires "
            "an open session: it will refuse every order (--no-require-session accepts them)."
        )
    exchange = _exchange(settings)
    store = open_store(settings.store)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()  # its refusals are counted in it
    try:
        gateway = OrderGateway(
            store=store,
            exchange=exchange,
            orders=settings.orders,
            trades=settings.replies,
            recovery=settings.recovery,
            data=settings.data,
            symbols=settings.symbols,
            reopen_store=reopener(settings.store),
            context=context,
            security=settings.security,
        )
    except BaseException:
        store.close()
        context.term()
        raise
    _forward(gateway.wait, wake)
    try:
        endpoints = " ".join(f"{k}={v}" for k, v in gateway.endpoints.items())
        print(f"yard gateway ready: {endpoints} store={settings.store}", flush=True)
        _watch(gateway, context, settings.health_every_s, stopping=stopping, asked=asked, wake=wake)
    finally:
        gateway.stop()
        gateway.store.close()
        stats = {**gateway.stats, **_refused(context)}
        context.term()
        counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "nothing"
        print(f"yard gateway stopped: {counts}", flush=True)
    if gateway.failure is not None:
        failure = gateway.failure
        msg = (
            f"the order gateway stopped on an unexpected error, {type(failure).__name__}: "
            f"{failure}; it served nothing after it (the log above has the traceback)"
        )
        raise GatewayError(msg) from failure


def _watch(
    gateway: OrderGateway,
    context: zmq.Context[zmq.Socket[bytes]],
    every_s: float,
    *,
    stopping: threading.Event,
    asked: threading.Event,
    wake: threading.Event,
) -> None:
    """Until told to stop or the gateway's thread ends: log its health when due or asked."""
    if health_log.level == logging.NOTSET:  # health lines show at the CLI's default level
        health_log.setLevel(logging.INFO)
    due = time.monotonic() + every_s if every_s > 0 else None
    while not stopping.is_set() and not gateway.wait(0):
        wake.wait(None if due is None else max(0.0, due - time.monotonic()))
        wake.clear()  # before looking: a wake after this is seen by the next wait
        if asked.is_set():
            asked.clear()
            _log_health(gateway, context)
        if due is not None and time.monotonic() >= due:
            _log_health(gateway, context)
            due = time.monotonic() + every_s


def _refused(context: zmq.Context[zmq.Socket[bytes]]) -> dict[str, int]:
    return {f"refused_{why}": n for why, n in net.refusals(context).items()}


def _log_health(gateway: OrderGateway, context: zmq.Context[zmq.Socket[bytes]]) -> None:
    counts = {**gateway.health(), **_refused(context)}
    first = ("commands", "reports", "store_retries", "working_orders", "store_down")
    rest = sorted(k for k in counts if k not in first)
    health_log.info(
        "yard gateway health: %s", ", ".join(f"{k} {counts[k]}" for k in (*first, *rest))
    )


def _exchange(settings: GatewaySettings) -> ExchangeAdapter:
    if settings.exchange is None:
        return PaperExchange(settings.paper)
    module, _, name = settings.exchange.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        msg = (
            f"--exchange {settings.exchange!r} names no adapter ({exc}); give "
            "module:factory, a class or function in an importable module"
        )
        raise ConfigError(msg) from exc
    adapter: ExchangeAdapter = factory()
    if not all(callable(getattr(adapter, call, None)) for call in _CALLS):
        msg = f"--exchange {settings.exchange!r} built {adapter!r}, which lacks {', '.join(_CALLS)}"
        raise ConfigError(msg)
    return adapter


_CALLS: Final = ("submit", "cancel", "on_market", "poll")  # restore is optional (new)


def _forward(wait: Callable[[], object], wake: threading.Event) -> None:
    """Set ``wake`` once ``wait()`` returns, from a daemon thread."""

    def run() -> None:
        wait()
        wake.set()

    threading.Thread(target=run, name="yard-gateway-watch", daemon=True).start()


def _signal_event(wake: threading.Event, asked: threading.Event) -> threading.Event:
    event = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        event.set()
        wake.set()

    def health(signum: int, frame: FrameType | None) -> None:
        asked.set()
        wake.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, health)
    return event
