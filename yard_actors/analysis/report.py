"""From the pass's results to what ``yard analyze`` leaves: summaries, store checks, plots, page.

For each robot: its journal checked against the run's order store (when the caller read one),
its summary and figures written to the sink, its three plots drawn; then ``report.html``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from yard_actors.analysis.analyzer import RobotAnalysis
from yard_actors.analysis.plots import file_stem, write_plots
from yard_actors.analysis.records import RobotSummary, Sink
from yard_actors.analysis.report_html import ReportedRobot, write_report
from yard_actors.analysis.store_check import StoreCheck, StoreFacts, check_store

__all__ = ["StoreReader", "report_robots"]

StoreReader = Callable[[str], StoreFacts]
"""Reads one robot's orders and fills from the run's order store, by robot name."""


def report_robots(
    analyses: Sequence[RobotAnalysis],
    sink: Sink,
    out: Path,
    *,
    store: StoreReader | None = None,
    title: str,
) -> tuple[list[ReportedRobot], Path]:
    """Write each robot's summary to ``sink``, its plots into ``out``, then the report page.

    Returns the robots as reported and the page's path.
    """
    reported = []
    stems: set[str] = set()
    for analysis in analyses:
        check = _checked(analysis, store)
        sink.end_robot(_summary(analysis, check))
        plots = write_plots(analysis.robot, analysis.series, out, file_stem(analysis.robot, stems))
        reported.append(
            ReportedRobot(
                robot=analysis.robot,
                class_path=analysis.class_path,
                metrics=analysis.metrics,
                divergence=analysis.divergence,
                store_check=None if check is None else check.sentence,
                store_agrees=None if check is None else check.agrees,
                plots=tuple(plots),
            )
        )
    return reported, write_report(out, reported, title=title)


def _checked(analysis: RobotAnalysis, store: StoreReader | None) -> StoreCheck | None:
    if store is None or analysis.facts is None:
        return None
    return check_store(analysis.facts, store(analysis.robot))


def _summary(analysis: RobotAnalysis, check: StoreCheck | None) -> RobotSummary:
    return RobotSummary(
        robot=analysis.robot,
        class_path=analysis.class_path,
        spec=analysis.spec,
        events=analysis.events,
        commands=analysis.commands,
        first_ts=analysis.first_ts,
        last_ts=analysis.last_ts,
        full_every=analysis.full_every,
        divergence=analysis.divergence,
        store_check=None if check is None else check.sentence,
        metrics=analysis.metrics.to_json(),
    )
