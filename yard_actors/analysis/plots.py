"""A robot's three plots as PNG files: equity curve, position over time, price with its orders.

Drawn with matplotlib's Agg canvas on a :class:`~matplotlib.figure.Figure` made here, never
through ``pyplot``: no display is needed or opened, no global figure state is shared, and
a figure is freed when it goes out of scope. The series come downsampled (:mod:`.series`).
Times on the x axis are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from yard_actors.analysis.series import Envelope, Marker, RobotSeries, Thinned
from yard_actors.wire.events import Side

__all__ = ["PLOTS", "file_stem", "write_plots"]

PLOTS = ("equity", "position", "price")
"""The plots of every robot, in the order the report shows them: ``<stem>-<plot>.png``."""

_WIDTH_IN, _HEIGHT_IN, _DPI = 9.0, 3.0, 100
_PANEL_IN = 2.2  # each further symbol's price panel
_COLOURS = {Side.BUY: "tab:green", Side.SELL: "tab:red"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(robot: str, taken: set[str]) -> str:
    """A file name stem for ``robot``, safe on every file system and unlike those ``taken``."""
    stem = _UNSAFE.sub("_", robot).strip("._") or "robot"
    unique, n = stem, 1
    while unique.lower() in taken:
        n += 1
        unique = f"{stem}-{n}"
    taken.add(unique.lower())
    return unique


def write_plots(robot: str, series: RobotSeries, folder: Path, stem: str) -> list[Path]:
    """Write the robot's plots into ``folder``; return their paths in :data:`PLOTS` order."""
    folder.mkdir(parents=True, exist_ok=True)
    end = series.equity.last[0] if series.equity.last is not None else None
    drawings = (
        (_equity, f"{robot}: equity (net P&L, marked to mid)"),
        (_position, f"{robot}: position (lots)"),
        (_price, f"{robot}: price, orders (triangles) and fills (circles)"),
    )
    # the price plot has a panel per symbol: their prices may lie far apart (Si and RTS)
    panels = (1, 1, max(1, len([s for s in series.symbols() if s in series.prices])))
    paths = []
    for name, (draw, title), rows in zip(PLOTS, drawings, panels, strict=True):
        figure = Figure(figsize=(_WIDTH_IN, _HEIGHT_IN + _PANEL_IN * (rows - 1)), dpi=_DPI)
        FigureCanvasAgg(figure)
        figure.subplots_adjust(**_margins(rows))  # fixed: a layout engine costs more than drawing
        axes = figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        axes[0].set_title(title, fontsize=10)
        if not draw(list(axes), series, end):
            axes[0].text(0.5, 0.5, "no data", ha="center", va="center", transform=axes[0].transAxes)
        path = folder / f"{stem}-{name}.png"
        figure.savefig(path, format="png")
        paths.append(path)
    return paths


def _margins(rows: int) -> dict[str, float]:
    """Margins in figure fractions that give the same inches however many panels."""
    height = _HEIGHT_IN + _PANEL_IN * (rows - 1)
    return {
        "left": 0.08,
        "right": 0.98,
        "bottom": 0.36 / height,
        "top": 1 - 0.36 / height,
        "hspace": 0.25,
    }


def _times(ts: Sequence[int]) -> np.ndarray:
    return np.array(ts, dtype="datetime64[ns]")


def _line(axes: Axes, envelope: Envelope, label: str, *, steps: bool, end: int | None) -> bool:
    points = envelope.points()
    if not points:
        return False
    if steps and end is not None and points[-1][0] < end:
        points.append((end, points[-1][1]))  # a position holds until the next fill
    ts, values = zip(*points, strict=True)
    axes.plot(_times(ts), values, label=label, drawstyle="steps-post" if steps else "default")
    return True


def _equity(panels: list[Axes], series: RobotSeries, end: int | None) -> bool:
    axes = panels[0]
    drawn = _line(axes, series.equity, "equity", steps=False, end=end)
    if drawn:
        axes.axhline(0, color="grey", linewidth=0.5)
    return drawn


def _position(panels: list[Axes], series: RobotSeries, end: int | None) -> bool:
    axes = panels[0]
    drawn = False
    for symbol in series.symbols():
        if symbol in series.positions:
            drawn |= _line(axes, series.positions[symbol], symbol, steps=True, end=end)
    if drawn:
        axes.axhline(0, color="grey", linewidth=0.5)
        axes.legend(loc="upper left", fontsize=8)
    return drawn


def _price(panels: list[Axes], series: RobotSeries, end: int | None) -> bool:
    symbols = [symbol for symbol in series.symbols() if symbol in series.prices]
    for axes, symbol in zip(panels, symbols, strict=False):
        _line(axes, series.prices[symbol], f"{symbol} mark", steps=False, end=None)
        _markers(axes, series.orders.get(symbol), marker="^", filled=False)
        _markers(axes, series.fills.get(symbol), marker="o", filled=True)
        axes.legend(loc="upper left", fontsize=8)
    return bool(symbols)


def _markers(axes: Axes, thinned: Thinned | None, *, marker: str, filled: bool) -> None:
    if thinned is None:
        return
    for side in Side:
        kept: list[Marker] = [m for m in thinned.kept if m.side is side]
        if not kept:
            continue
        shape = marker if side is Side.BUY or marker != "^" else "v"
        colour = _COLOURS[side]
        axes.scatter(
            _times([m.ts for m in kept]),
            [m.price for m in kept],
            marker=shape,
            s=18,
            facecolors=colour if filled else "none",
            edgecolors=colour,
            linewidths=0.8,
            zorder=3,
        )
