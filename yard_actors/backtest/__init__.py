"""Backtest: the same robots over recorded market data, in one thread, as a market-time run.

A backtest runs the robots' own code, the paper exchange and the order store's writes
by the rules of a market-time ``yard run`` (:mod:`.engine`), without actors, threads or
sockets, and leaves a run folder that ``yard replay`` and ``yard analyze`` read as a
live run's: a journal (:mod:`.journaling`) and an SQLite store (:mod:`.desk`).
"""

from yard_actors.backtest.desk import OrderDesk
from yard_actors.backtest.engine import Backtest, LoopCounts, topic_of
from yard_actors.backtest.journaling import RunJournal
from yard_actors.backtest.robots import RobotRunner, build_robot
from yard_actors.backtest.session import JOURNAL_CONFIG, BacktestSession

__all__ = [
    "JOURNAL_CONFIG",
    "Backtest",
    "BacktestSession",
    "LoopCounts",
    "OrderDesk",
    "RobotRunner",
    "RunJournal",
    "build_robot",
    "topic_of",
]
