"""The report as one HTML page, ``report.html``: the figures of every robot, then its plots.

Self-contained: each plot is embedded as a base64 ``data:`` URI, so the page can be mailed
or moved alone; each also links to its PNG file beside the page (``<a href="robot-equity.png">``).
Every text from the run (robot names, classes, verdicts) is HTML-escaped. Money is in
roubles, as ``yard run``'s summary has it; a robot's figures in price points are marked
``pts``, and the notes say why (:mod:`.metrics`).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import attrs

from yard_actors.analysis.metrics import POINTS, RobotMetrics

__all__ = ["REPORT_NAME", "ReportedRobot", "write_report"]

REPORT_NAME = "report.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.bad { color: #b00; font-weight: bold; }
section { margin-top: 2em; }
img { display: block; max-width: 100%; margin: 0.5em 0; }
"""

_COLUMNS = (
    "robot",
    "events",
    "orders",
    "fills",
    "fill ratio",
    "realised",
    "fees",
    "unrealised",
    "net",
    "turnover",
    "avg slippage",
    "max drawdown",
    "time in market",
    "replay",
    "store",
)


@attrs.frozen(kw_only=True)
class ReportedRobot:
    """One robot as the report shows it: figures, verdicts, and its PNG files."""

    robot: str
    class_path: str
    metrics: RobotMetrics
    divergence: str | None
    store_check: str | None
    store_agrees: bool | None
    plots: tuple[Path, ...]


def write_report(folder: Path, robots: Sequence[ReportedRobot], *, title: str) -> Path:
    """Write ``report.html`` into ``folder`` (the plots' folder) and return its path."""
    sections = "\n".join(_section(robot) for robot in robots)
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{_table(robots)}\n{_notes(robots)}\n{sections}\n"
        "</body></html>\n"
    )
    path = folder / REPORT_NAME
    path.write_text(page, encoding="utf-8")
    return path


def _table(robots: Sequence[ReportedRobot]) -> str:
    head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    rows = "\n".join(_row(robot) for robot in robots)
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>"


def _row(robot: ReportedRobot) -> str:
    m = robot.metrics
    unit = " pts" if m.money == POINTS else ""  # roubles unmarked, as in yard run's summary
    cells = (
        f"<a href='#{_anchor(robot.robot)}'>{html.escape(robot.robot)}</a>",
        f"{m.events:,}",
        f"{m.orders:,}",
        f"{m.fills:,}",
        _share(m.fill_ratio),
        f"{m.realized:,}{unit}",
        f"{m.fees:,}",
        f"{m.unrealized:,}{unit}",
        f"{m.net:,}{unit}",
        f"{m.turnover:,}{unit}",
        "-" if m.avg_slippage is None else f"{m.avg_slippage} pts",
        f"{m.max_drawdown:,}{unit}",
        _share(m.time_in_market),
        "identical" if robot.divergence is None else "<span class='bad'>DIVERGED</span>",
        _store_cell(robot.store_agrees),
    )
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _store_cell(agrees: bool | None) -> str:
    if agrees is None:
        return "-"
    return "agrees" if agrees else "<span class='bad'>MISMATCH</span>"


def _share(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):.1%}"


def _notes(robots: Sequence[ReportedRobot]) -> str:
    notes = (
        "<p>Money in roubles, as yard run's summary has it: price points times each "
        "instrument's point value and lot, at the instrument table the run journaled; fees "
        "in roubles. Realised before fees; net = realised - fees + unrealised (open lots at "
        "the last mid). Slippage: per lot filled, in price points, against the mid of the "
        "robot's last quote when it sent the order; positive is a cost. Time in market: the "
        "share of market time (sessions open) with a position.</p>"
    )
    in_points = [robot for robot in robots if robot.metrics.money == POINTS]
    if in_points:
        names = ", ".join(html.escape(robot.robot) for robot in in_points)
        symbols = sorted({s for robot in in_points for s in robot.metrics.unpriced})
        notes += (
            f"<p>Marked pts: the money of {names} is in price points times lots, fees "
            f"included, as the robot keeps it: {html.escape(', '.join(symbols))} "
            f"{'has' if len(symbols) == 1 else 'have'} no rouble point value "
            '([instruments] usd_rub = "..." prices the dollar contracts RTS, BR, GOLD, '
            "ED; [instruments.SYMBOL] point_value any other).</p>"
        )
    return notes


def _section(robot: ReportedRobot) -> str:
    name = html.escape(robot.robot)
    lines = [f"<section id='{_anchor(robot.robot)}'><h2>{name}</h2>"]
    lines.append(f"<p>class {html.escape(robot.class_path)}</p>")
    if robot.divergence is None:
        lines.append("<p>replay: identical to the run</p>")
    else:
        lines.append(f"<p class='bad'>replay: {html.escape(robot.divergence)}</p>")
    if robot.store_check is not None:
        bad = "" if robot.store_agrees else " class='bad'"
        lines.append(f"<p{bad}>{html.escape(robot.store_check)}</p>")
    lines.extend(_image(path) for path in robot.plots)
    lines.append("</section>")
    return "\n".join(lines)


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    name = html.escape(path.name, quote=True)
    return (
        f"<a href='{name}'><img src='data:image/png;base64,{data}' alt='{name}' title='{name}'></a>"
    )


def _anchor(robot: str) -> str:
    return "robot-" + "".join(c if c.isalnum() else "-" for c in robot)
