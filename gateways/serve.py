"""``yard gateway``: the order gateway with the paper exchange as a process of its own.

It binds the orders, replies (trades) and recovery endpoints, watches the data
endpoint for prices and session status, and writes everything to the order
store. It prints one line with its endpoints once it is ready and runs until
SIGINT or SIGTERM, then stops cleanly: the store is closed with every report
written. Its paper exchange takes the :class:`~gateways.paper.PaperConfig`
defaults, those of ``yard run``: orders are refused until the data endpoint
brings an open session (``yard feed`` adds FORTS sessions unless told not to).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import attrs

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store

__all__ = ["GatewaySettings", "serve"]

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class GatewaySettings:
    """Where ``yard gateway`` binds and connects, its store, and its paper exchange."""

    store: str
    orders: str
    replies: str
    recovery: str | None
    data: str | None
    symbols: tuple[str, ...]
    paper: PaperConfig = attrs.field(factory=PaperConfig)


def serve(settings: GatewaySettings, *, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGINT/SIGTERM when called on the main thread."""
    stopping = stop if stop is not None else _signal_event()
    if settings.paper.require_session and settings.data is None:
        log.warning(
            "yard gateway has no data endpoint to learn session status from, and requires "
            "an open session: it will refuse every order (--no-require-session accepts them)."
        )
    store = open_store(settings.store)
    exchange = PaperExchange(settings.paper)
    try:
        gateway = OrderGateway(
            store=store,
            exchange=exchange,
            orders=settings.orders,
            trades=settings.replies,
            recovery=settings.recovery,
            data=settings.data,
            symbols=settings.symbols,
        )
    except BaseException:
        store.close()
        raise
    try:
        endpoints = " ".join(f"{k}={v}" for k, v in gateway.endpoints.items())
        print(f"yard gateway ready: {endpoints} store={settings.store}", flush=True)
        stopping.wait()
    finally:
        gateway.stop()
        store.close()
        counts = ", ".join(f"{k} {v}" for k, v in sorted(gateway.stats.items())) or "nothing"
        print(f"yard gateway stopped: {counts}", flush=True)


def _signal_event() -> threading.Event:
    event = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        event.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return event
