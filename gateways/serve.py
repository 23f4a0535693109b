"""``yard gateway``: the order gateway with the paper exchange as a process of its own.

It binds the orders, replies (trades) and recovery endpoints, watches the data
endpoint for prices and session status, and writes everything to the order
store. It prints one line with its endpoints once it is ready and runs until
SIGINT or SIGTERM, then stops cleanly: the store is closed with every report
written.
"""

from __future__ import annotations

import signal
import threading
from decimal import Decimal
from types import FrameType

import attrs

from gateways.order_gateway import OrderGateway
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store

__all__ = ["GatewaySettings", "serve"]


@attrs.frozen(kw_only=True)
class GatewaySettings:
    store: str
    orders: str
    replies: str
    recovery: str | None
    data: str | None
    symbols: tuple[str, ...]
    latency_ns: int = 0
    fee_per_lot: Decimal = Decimal(0)
    require_session: bool = False


def serve(settings: GatewaySettings, *, stop: threading.Event | None = None) -> None:
    """Run until ``stop`` is set, or SIGINT/SIGTERM when called on the main thread."""
    stopping = stop if stop is not None else _signal_event()
    store = open_store(settings.store)
    exchange = PaperExchange(
        PaperConfig(
            latency_ns=settings.latency_ns,
            fee_per_lot=settings.fee_per_lot,
            require_session=settings.require_session,
        )
    )
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
