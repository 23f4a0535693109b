"""A backtest's parts put together over a run folder: store, paper exchange, journal, robots.

:class:`BacktestSession` opens a fresh SQLite order store (``yard.db``) and journal
(``journal/``) in a run folder, as ``yard run`` lays one out, builds the robots as a
host does and journals each one's spec; :meth:`BacktestSession.run` takes a market
stream through them (:mod:`.engine`); :meth:`BacktestSession.close` writes what is
held and closes both. The orders and fills are then read from the store, the
source of truth, as ``yard run``'s summary reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from gateways.feed import Published
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store
from gateways.store.base import OrderRecord, OrderStore
from yard_actors.backtest.desk import OrderDesk
from yard_actors.backtest.engine import Backtest, LoopCounts
from yard_actors.backtest.journaling import RunJournal
from yard_actors.backtest.robots import RobotRunner, build_robot
from yard_actors.errors import ConfigError
from yard_actors.host.host_config import RobotSettings
from yard_actors.journal import FlushPolicy, Journal, JournalConfig
from yard_actors.robot.risk import limits_notice
from yard_actors.robot.robot import Robot
from yard_actors.wire.events import Fill
from yard_actors.wire.instruments import InstrumentTable

__all__ = ["JOURNAL_CONFIG", "BacktestSession"]

log = logging.getLogger(__name__)

JOURNAL_CONFIG: Final = JournalConfig(flush=FlushPolicy.EVERY_N, every_n=10_000)
"""A backtest's journal: handed to the system in large writes (nothing to lose to a crash
that a rerun would not write again)."""


class BacktestSession:
    """The backtest of ``robots`` in ``run_dir``; use as a context manager or :meth:`close`.

    Raises ConfigError for no robots or two of one name, RobotError for a robot that
    cannot be built, StoreError or JournalError if the folder cannot hold them.
    """

    def __init__(
        self,
        run_dir: Path,
        robots: Sequence[RobotSettings],
        *,
        paper: PaperConfig,
        instruments: InstrumentTable | None = None,
        journal: JournalConfig = JOURNAL_CONFIG,
    ) -> None:
        names = [robot.name for robot in robots]
        if not names or len(set(names)) != len(names):
            msg = f"a backtest needs one robot or more, each of its own name, was {names}"
            raise ConfigError(msg)
        instruments = instruments if instruments is not None else InstrumentTable()
        built = [build_robot(robot, instruments) for robot in robots]  # before any file
        for limits in dict.fromkeys(robot.limits for robot in robots):
            log.log(*limits_notice(limits))  # as a host says at its start
        self.run_dir = run_dir
        self.store_url = f"sqlite:///{run_dir / 'yard.db'}"
        self.journal_dir = run_dir / "journal"
        self._store = open_store(self.store_url)
        try:
            self._journal = RunJournal(Journal(self.journal_dir, journal))
        except BaseException:
            self._store.close()
            raise
        try:
            self.desk = _desk(self._store, built, paper, instruments)
            runners = []
            for robot, spec in built:
                self._journal.robot(robot.name, spec)
                runners.append(RobotRunner(robot, self._journal, self.desk))
        except BaseException:
            self.close()
            raise
        self._backtest = Backtest(runners, desk=self.desk, journal=self._journal)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(runner.name for runner in self._backtest.robots)

    @property
    def store(self) -> OrderStore:
        return self._store

    def run(self, events: Iterable[Published]) -> LoopCounts:
        """Take ``events`` through the robots; see :meth:`.engine.Backtest.run`."""
        return self._backtest.run(events)

    def snapshots(self) -> list[dict[str, Any]]:
        """Each robot's :meth:`~yard_actors.Robot.snapshot`, as the host's table has it."""
        return [runner.robot.snapshot() for runner in self._backtest.robots]

    def orders(self) -> dict[str, list[OrderRecord]]:
        return {name: self._store.orders(robot=name) for name in self.names}

    def fills(self) -> dict[str, list[Fill]]:
        return {name: [t.fill for t in self._store.trades(robot=name)] for name in self.names}

    def close(self) -> None:
        """Write what the journal holds; close it and the store. Idempotent."""
        try:
            self._journal.close()
        finally:
            self._store.close()

    def __enter__(self) -> BacktestSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _desk(
    store: OrderStore,
    built: Sequence[tuple[Robot, Any]],
    paper: PaperConfig,
    instruments: InstrumentTable,
) -> OrderDesk:
    """The paper exchange's desk, taking the market data of every robot's symbols."""
    symbols: dict[str, None] = {}
    for robot, _ in built:
        symbols.update(dict.fromkeys(robot.subscriptions))
    idle = paper.latency_ns == 0  # nothing in flight: a quote with no order working waits
    return OrderDesk(
        store, PaperExchange(paper, instruments), symbols=symbols, idle_quotes_wait=idle
    )
