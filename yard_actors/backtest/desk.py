"""The order gateway's desk without its sockets: commands held, released by robot, stored, filled.

A backtest runs the gateway's order path in its own thread, the one it runs on:
the same :class:`~gateways.paced.PacedInput` decides when a command meets the market
(held until the round's release, applied by robot name, each once the market has
reached its ``ts``), the same :class:`~gateways.recording.Recorder` writes the order
store (a pending order, then each report under the robot's next seq), and the paper
exchange (:class:`~gateways.paper.PaperExchange`) answers. So a backtest's store holds
what a market-time ``yard run`` (:mod:`gateways.paced`) writes for the same commands.

What this desk does not have, the backtest cannot need: no hosts to own robots, no
recovery requests, no store outage (a store error ends the backtest: nobody would
take a refusal and retry). Not thread-safe: one thread calls every method.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Final

from gateways.drops import Drops, should_log
from gateways.exchange import ExchangeAdapter, MarketUpdate
from gateways.exchange_calls import ExchangeCalls
from gateways.incoming import read_command
from gateways.paced import PacedInput
from gateways.recording import Recorder
from gateways.store.base import OrderStore, ReportRecord
from yard_actors.errors import DecodeError
from yard_actors.wire.events import (
    CancelOrder,
    Command,
    NewOrder,
    Quote,
    Tick,
)
from yard_actors.wire.names import SESSION_TOPIC

__all__ = ["OrderDesk"]

_COMMANDS = (NewOrder, CancelOrder)  # what the gateway reads on orders (incoming.py)

log = logging.getLogger(__name__)

_WHO: Final = "backtest order desk"  # its name in the log lines of its parts


class OrderDesk:
    """The paced gateway's rules over ``store`` and ``exchange``, called by a backtest's loop.

    ``symbols``: the robots' symbols, the market data the gateway would subscribe to
    (prefixes, as ZeroMQ's; with the session statuses). :meth:`on_market` applies an
    event at once and holds the reports it causes; :meth:`take` holds a robot's
    command; :meth:`release` applies the commands held and hands back every report
    held, in the order stored, as the gateway publishes them at a release.

    ``idle_quotes_wait``: for the paper exchange with no latency, where a quote that finds
    no order working (none resting, none in flight) only becomes the exchange's view of
    its symbol, and a trade print changes nothing: with no order working, a quote is not
    applied until something could meet it (an order, a cancel, a session status): then
    the last quote of each symbol is, which leaves the exchange as every quote would
    have; a print is not applied at all. A third of a quiet robot's backtest went into
    market data that could fill nothing.
    """

    def __init__(
        self,
        store: OrderStore,
        exchange: ExchangeAdapter,
        *,
        symbols: Iterable[str],
        idle_quotes_wait: bool = False,
    ) -> None:
        self.stats: Counter[str] = Counter()
        self._drops = Drops(_WHO, self.stats)
        self._recorder = Recorder(
            store, working=len(store.open_orders()), stats=self.stats, who=_WHO, log=log
        )
        self._exchange = exchange
        self._calls = ExchangeCalls(exchange, stats=self.stats, who=_WHO, log=log)
        self._paced = PacedInput(self._drops, self.stats)
        self._topics = (SESSION_TOPIC, *symbols)
        self._takes: dict[str, bool] = {}
        self._market_ts = 0
        self._held: list[ReportRecord] = []  # stored, not yet handed out
        self._idle_quotes_wait = idle_quotes_wait
        self._waiting_quotes: dict[str, Quote] = {}  # the last of each symbol, not yet applied

    @property
    def store(self) -> OrderStore:
        return self._recorder.store

    def takes(self, topic: str) -> bool:
        """Whether the gateway's data socket would take events of ``topic`` (its prefixes)."""
        takes = self._takes.get(topic)
        if takes is None:
            takes = any(topic.startswith(prefix) for prefix in self._topics)
            self._takes[topic] = takes
        return takes

    def on_market(self, event: MarketUpdate) -> None:
        """Apply market data as the paced gateway takes it (``_take_market``): the released
        commands due before it first, those due at its very ``ts`` just after it."""
        paced = self._paced
        self._market_ts = max(self._market_ts, event.ts)
        if paced.waiting:
            for command in paced.due(event.ts, before=True):
                self._handle(command)
        elif self._idle_quotes_wait and not self._recorder.working:
            if type(event) is Quote:  # it could fill nothing: it waits (idle_quotes_wait)
                self._waiting_quotes[event.symbol] = event
                return
            if type(event) is Tick:  # a print fills resting orders, and only does that
                return
        if self._waiting_quotes:
            self._apply_waiting_quotes()
        try:
            reports = self._exchange.on_market(event)
        except Exception as exc:
            self._calls.failed("on_market", repr(event), exc)
            return
        if reports:
            self._recorder.record_all(reports, self._held)
        if paced.waiting:  # released, waiting for this very ts
            for command in paced.due(event.ts):
                self._handle(command)

    def take(self, robot: str, payload: bytes, command: Command | None = None) -> None:
        """Hold a robot's encoded command until the next release, read as the gateway reads it.

        ``command``: the command ``payload`` encodes, to skip decoding it again when it is
        the robot's own (a command under another robot's name is read, and dropped).
        """
        self._paced.commands_taken += 1
        if command is None or command.robot != robot or type(command) not in _COMMANDS:
            try:
                command = read_command([robot.encode(), payload])
            except DecodeError as exc:
                self._drops.drop("command", exc.reason, str(exc))
                return
        self.stats["commands"] += 1
        self._paced.commands.append(command)

    def release(self, *, flush: bool = False) -> list[ReportRecord]:
        """Apply the commands held that the market has reached (all of them: ``flush``, the
        end of the data); return every report held, in the order stored."""
        paced = self._paced
        paced.release()
        for command in paced.due(self._market_ts, flush=flush):
            self._handle(command)
        self._recorder.record_all(self._exchange.poll(self._market_ts), self._held)
        paced.releases += 1
        held, self._held = self._held, []
        self.stats["reports"] += len(held)
        return held

    def held(self) -> bool:
        """Commands or reports are held for the next release."""
        return bool(self._held or self._paced.commands)

    def has_commands(self) -> bool:
        """Commands are held for the next release."""
        return bool(self._paced.commands)

    @property
    def waiting(self) -> int:
        """Commands released and waiting for the market to reach their ``ts``."""
        return len(self._paced.waiting)

    # --- the gateway's handlers (gateway_loop.py), with no outage to meet -------------------

    def _apply_waiting_quotes(self) -> None:
        quotes, self._waiting_quotes = self._waiting_quotes, {}
        for quote in quotes.values():
            try:
                self._recorder.record_all(self._exchange.on_market(quote), self._held)
            except Exception as exc:
                self._calls.failed("on_market", repr(quote), exc)

    def _handle(self, command: NewOrder | CancelOrder) -> None:
        if self._waiting_quotes:
            self._apply_waiting_quotes()
        if isinstance(command, NewOrder):
            self._on_new_order(command)
        else:
            self._on_cancel(command)

    def _on_new_order(self, order: NewOrder) -> None:
        if not self._recorder.add_order(order):
            self.stats["duplicate_orders"] += 1
            count = self.stats["duplicate_orders"]
            if should_log(count):
                log.info(
                    "backtest order desk ignored a repeated order %s (%d so far)",
                    *(order.client_order_id, count),
                )
            return
        reports = self._calls.submit(order)
        self._recorder.record_all(reports, self._held)

    def _on_cancel(self, cancel: CancelOrder) -> None:
        self._recorder.record_all(self._calls.cancel(cancel), self._held)
