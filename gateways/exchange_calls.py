"""Calls into an exchange adapter that never raise: a failure becomes a refusal.

An adapter is the one part of the order path that talks to the outside world (a
broker's API, or the paper exchange), so it may fail on any call. Whoever drives it —
the order gateway's loop, or the backtest's order desk in one thread — must still
answer the robot: a failed ``submit`` is answered with an :class:`OrderRejected` and a
failed ``cancel`` with a refused :class:`CancelReply`, each saying why; the failure is
counted (``stats["adapter_errors"]``) and logged, rate-limited, with its traceback.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Final

from gateways.drops import should_log
from gateways.exchange import ExchangeAdapter
from gateways.store.base import Report
from yard_actors.wire.events import CancelOrder, CancelReply, NewOrder, OrderRejected

__all__ = ["DETAIL", "ExchangeCalls", "described"]

DETAIL: Final = 300  # characters of an error quoted in a status or a reason


def described(exc: BaseException) -> str:
    """An error as a reason quotes it: its type and text, cut to :data:`DETAIL`."""
    return f"{type(exc).__name__}: {exc}"[:DETAIL]


class ExchangeCalls:
    """``submit`` and ``cancel`` on ``exchange``, answering for it when it fails.

    ``who`` names the caller in the log ("order gateway", "backtest order desk").
    """

    def __init__(
        self, exchange: ExchangeAdapter, *, stats: Counter[str], who: str, log: logging.Logger
    ) -> None:
        self._exchange = exchange
        self._stats = stats
        self._who = who
        self._log = log

    def submit(self, order: NewOrder) -> list[Report]:
        try:
            return self._exchange.submit(order)
        except Exception as exc:
            self.failed("submit", order.client_order_id, exc)
            reason = f"the exchange adapter failed on this order: {described(exc)}"
            return [
                OrderRejected(
                    ts=order.ts,
                    client_order_id=order.client_order_id,
                    robot=order.robot,
                    reason=reason,
                )
            ]

    def cancel(self, cancel: CancelOrder) -> list[Report]:
        try:
            return self._exchange.cancel(cancel)
        except Exception as exc:
            self.failed("cancel", cancel.client_order_id, exc)
            reason = f"the exchange adapter failed on this cancel: {described(exc)}"
            return [
                CancelReply(
                    ts=cancel.ts,
                    client_order_id=cancel.client_order_id,
                    robot=cancel.robot,
                    cancelled=False,
                    reason=reason,
                )
            ]

    def failed(self, call: str, what: str, exc: Exception) -> None:
        """Count and log (rate-limited) a failed adapter call; ``what`` names its subject."""
        self._stats["adapter_errors"] += 1
        count = self._stats["adapter_errors"]
        if should_log(count):
            self._log.error(
                "%s: the exchange adapter's %s failed on %s (%d so far)",
                *(self._who, call, what, count),
                exc_info=exc,
            )
