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
Its ``--recovery-*`` flags (:func:`add_recovery_flags`) set the
:class:`~gateways.recovery_limits.RecoveryLimits` of its recovery endpoint.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
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
from gateways.recovery_limits import RecoveryLimits
from gateways.signal_wakeup import Wakeup
from gateways.store import open_store, reopener
from yard_actors import net
from yard_actors.errors import ConfigError, GatewayError
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "HEALTH_EVERY_S",
    "GatewaySettings",
    "add_recovery_flags",
    "recovery_limits_from",
    "serve",
]

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
    ``recovery_limits``: what its recovery endpoint holds and sends for its peers.
    ``instruments``: what the paper exchange lists (``yard gateway --config``: the
    ``[instruments]`` of yard.toml; by default the built-in table).
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
    recovery_limits: RecoveryLimits = attrs.field(factory=RecoveryLimits)
    instruments: InstrumentTable = attrs.field(factory=InstrumentTable)


def serve(settings: GatewaySettings, *, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGINT/SIGTERM when called on the main thread.

    On the main thread, SIGUSR1 logs the gateway's health. Raises GatewayError
    at once if the gateway's thread ends on an unexpected error, StoreError if
    the store cannot be opened, ConfigError for an ``exchange`` it cannot build.
    """
    wake = Wakeup()  # set from signal handlers: no lock may be taken there (signal_wakeup.py)
    asked = _Flag()  # SIGUSR1
    stopping: threading.Event | _Flag
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
            recovery_limits=settings.recovery_limits,
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


_RECOVERY_FLAGS: Final = {  # RecoveryLimits field: flag, what it counts, what it bounds
    "page_reports": ("--recovery-page-reports", "reports", "per reply, and per store read"),
    "peer_requests": (
        "--recovery-peer-requests",
        "requests",
        "one peer may have waiting or in progress",
    ),
    "queued_bytes": ("--recovery-queued-bytes", "bytes", "of all peers' requests waiting"),
    "active_peers": ("--recovery-active-peers", "peers", "whose requests are answered at once"),
    "stall_s": ("--recovery-stall-s", "seconds", "a peer may leave its replies unread"),
}


def add_recovery_flags(parser: argparse.ArgumentParser) -> None:
    """Add ``--recovery-*`` flags, one per :class:`RecoveryLimits` field, defaulting to it."""
    group = parser.add_argument_group("recovery limits (a peer that asks more is refused)")
    for field in attrs.fields(RecoveryLimits):
        flag, unit, what = _RECOVERY_FLAGS[field.name]
        group.add_argument(
            flag,
            dest=f"recovery_{field.name}",
            type=_positive(unit, whole=isinstance(field.default, int)),
            default=field.default,
            metavar="S" if unit == "seconds" else "N",
            help=f"{unit} {what} (default: %(default)s)",
        )


def recovery_limits_from(args: argparse.Namespace) -> RecoveryLimits:
    """The :class:`RecoveryLimits` the flags of :func:`add_recovery_flags` give."""
    return RecoveryLimits(**{name: getattr(args, f"recovery_{name}") for name in _RECOVERY_FLAGS})


def _positive(unit: str, *, whole: bool) -> Callable[[str], float]:
    """An argparse type for a positive number; argparse names the flag in its error."""

    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            value = 0
        if not 0 < value < math.inf:  # NaN fails this too
            kind = "whole number" if whole else "number"
            msg = f"must be a positive {kind} of {unit}, was {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def _watch(
    gateway: OrderGateway,
    context: zmq.Context[zmq.Socket[bytes]],
    every_s: float,
    *,
    stopping: threading.Event | _Flag,
    asked: _Flag,
    wake: Wakeup,
) -> None:
    """Until told to stop or the gateway's thread ends: log its health when due or asked."""
    if health_log.level == logging.NOTSET:  # health lines show at the CLI's default level
        health_log.setLevel(logging.INFO)
    due = time.monotonic() + every_s if every_s > 0 else None
    while not stopping.is_set() and not gateway.wait(0):
        wake.wait(None if due is None else max(0.0, due - time.monotonic()))
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
        return PaperExchange(settings.paper, settings.instruments)
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


def _forward(wait: Callable[[], object], wake: Wakeup) -> None:
    """Set ``wake`` once ``wait()`` returns, from a daemon thread."""

    def run() -> None:
        wait()
        wake.set()

    threading.Thread(target=run, name="yard-gateway-watch", daemon=True).start()


class _Flag:
    """A flag a signal handler may set: a plain attribute, no lock (``threading.Event``
    takes one, which the interrupted main thread may hold)."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def clear(self) -> None:
        self._set = False


def _signal_event(wake: Wakeup, asked: _Flag) -> _Flag:
    event = _Flag()

    def stop(signum: int, frame: FrameType | None) -> None:
        event.set()
        wake.set()

    def health(signum: int, frame: FrameType | None) -> None:
        asked.set()
        wake.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, health)
    wake.wake_on_signals()  # a signal taken by another thread still wakes the main one
    return event
