"""Studying a run afterwards: each robot's state and actions per event in a database, and a report.

``yard analyze`` (:mod:`yard_actors.app.analyze_command`) replays a journal's robots in one
read (:mod:`.analyzer`), writes one row per robot and event (:mod:`.records`, the state as
changes: :mod:`.delta`) into SQLite (:mod:`.sqlite_sink`) or MongoDB (:mod:`.mongo_sink`),
computes each robot's figures (:mod:`.metrics`), checks them against the run's order store
(:mod:`.store_check`), and draws the report (:mod:`.report`: :mod:`.series`, :mod:`.plots`,
:mod:`.report_html`).

Importing this package loads neither matplotlib nor pymongo (a second each on a busy
machine): import :func:`~yard_actors.analysis.report.report_robots` and
:class:`~yard_actors.analysis.mongo_sink.MongoSink` from their modules.
"""

from yard_actors.analysis.analyzer import RobotAnalysis, analyze_journal, analyze_robot
from yard_actors.analysis.metrics import MetricsLedger, RobotMetrics
from yard_actors.analysis.records import EventRow, Sink, StateDeltas, state_at
from yard_actors.analysis.report_html import write_report
from yard_actors.analysis.sqlite_sink import SQLiteSink
from yard_actors.analysis.store_check import StoreCheck, StoreFacts, check_store

__all__ = [
    "EventRow",
    "MetricsLedger",
    "RobotAnalysis",
    "RobotMetrics",
    "SQLiteSink",
    "Sink",
    "StateDeltas",
    "StoreCheck",
    "StoreFacts",
    "analyze_journal",
    "analyze_robot",
    "check_store",
    "state_at",
    "write_report",
]
