"""The report: real PNG images per robot, and one HTML page that shows and links them."""

from __future__ import annotations

import base64
import re
import sqlite3
from pathlib import Path

import numpy as np
from matplotlib import image

from tests.unit.analysis.test_analyzer import _long_run, _round_trip
from yard_actors.analysis.analyzer import analyze_journal
from yard_actors.analysis.plots import file_stem
from yard_actors.analysis.report import report_robots
from yard_actors.analysis.sqlite_sink import SQLiteSink
from yard_actors.analysis.store_check import StoreFacts


def _report(tmp_path: Path, *, store: StoreFacts | None = None) -> tuple[list[Path], Path]:
    out = tmp_path / "out"
    with SQLiteSink(out / "analysis.sqlite") as sink:
        analyses = analyze_journal(tmp_path / "journal", sink, collect_facts=store is not None)
        reported, page = report_robots(
            analyses,
            sink,
            out,
            store=None if store is None else (lambda robot: store),
            title="a <test> run",
        )
    return [path for robot in reported for path in robot.plots], page


def test_each_robot_has_three_real_png_images(tmp_path: Path) -> None:
    _round_trip(tmp_path / "journal")

    plots, _ = _report(tmp_path)

    assert [path.name for path in plots] == ["r-equity.png", "r-position.png", "r-price.png"]
    for path in plots:
        pixels = image.imread(path)
        assert pixels.shape == (300, 900, 4)
        assert len(np.unique(pixels.reshape(-1, 4), axis=0)) > 10  # drawn, not one colour


def test_the_page_embeds_and_links_every_plot(tmp_path: Path) -> None:
    _round_trip(tmp_path / "journal")

    plots, page = _report(tmp_path)
    html = page.read_text(encoding="utf-8")

    assert page.name == "report.html"
    for path in plots:
        assert f"href='{path.name}'" in html
        embedded = re.search(
            rf"<a href='{re.escape(path.name)}'><img src='data:image/png;base64,([A-Za-z0-9+/=]+)'",
            html,
        )
        assert embedded is not None
        assert base64.b64decode(embedded[1]) == path.read_bytes()
    assert "<title>a &lt;test&gt; run</title>" in html
    # realised, fees, unrealised, net, turnover in the robot's row
    assert "<td>10</td><td>1.0</td><td>0</td><td>9.0</td><td>210</td>" in html
    assert "<td>identical</td><td>-</td></tr>" in html  # replay verdict; no store given


def test_a_store_that_disagrees_is_flagged_in_the_page_and_the_database(tmp_path: Path) -> None:
    _round_trip(tmp_path / "journal")
    store = StoreFacts(orders=frozenset(), fills={})

    _, page = _report(tmp_path, store=store)

    html = page.read_text(encoding="utf-8")
    assert "<p class='bad'>MISMATCH: " in html
    assert "<td><span class='bad'>MISMATCH</span></td></tr>" in html
    with sqlite3.connect(tmp_path / "out" / "analysis.sqlite") as db:
        (check,) = db.execute("SELECT store_check FROM robots WHERE robot = 'r'").fetchone()
    assert check.startswith("MISMATCH: orders: 2 in the journal, 0 in the store")


def test_plots_of_a_long_journal_are_drawn_from_a_downsampled_series(tmp_path: Path) -> None:
    _long_run(tmp_path / "journal", 5000)

    plots, _ = _report(tmp_path)

    assert all(image.imread(path).shape == (300, 900, 4) for path in plots)


def test_file_stems_are_safe_and_unique() -> None:
    taken: set[str] = set()

    assert [file_stem(name, taken) for name in ("mm/si", "mm:si", "../x", "MM_SI")] == [
        "mm_si",
        "mm_si-2",
        "x",
        "MM_SI-3",
    ]
