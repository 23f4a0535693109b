"""Analysis throughput (yard analyze into SQLite) against the raw limit of reading the journal.

The journals are bench_replay.py's, written the same way in a temporary folder: a trivial
robot's fanned quotes, and a live market maker's quotes with each of its orders accepted.
Cases, each in the same run:

* ``read+decode``: the forward streaming reader with each event decoded: the raw limit;
* ``analyze trivial`` / ``analyze market maker``: :func:`~yard_actors.analysis.analyze_journal`
  into a fresh ``analysis.sqlite``: the replay, a snapshot and its row per event (changed
  keys, whole every 1,000 rows), figures and plot series, batched writes; events/s;
* ``report market maker``: the summaries, three PNG plots and report.html, in seconds.

Also printed: the database's size per event.

    python benchmarks/bench_analyze.py [--events 200000] [--mm-events 50000] [--json out.json]
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import cli
from bench_replay import read_and_decode, timed_case, write_market_maker, write_trivial
from measure import machine, print_machine

from yard_actors.analysis.analyzer import analyze_journal
from yard_actors.analysis.report import report_robots
from yard_actors.analysis.sqlite_sink import SQLiteSink


def analysed(journal: Path, database: Path, robot: str) -> int:
    with SQLiteSink(database) as sink:
        [analysis] = analyze_journal(journal, sink, robots=[robot])
    return analysis.events


def reported(journal: Path, out: Path, robot: str) -> dict[str, Any]:
    with SQLiteSink(out / "analysis.sqlite") as sink:
        analyses = analyze_journal(journal, sink, robots=[robot])
        started = time.perf_counter()
        report_robots(analyses, sink, out, title="bench")
    seconds = time.perf_counter() - started
    print(f"{'report market maker':<22} {seconds:>8.2f} s (summaries, 3 PNG, report.html)")
    return {"case": "report market maker", "seconds": round(seconds, 3)}


def size_per_event(database: Path, events: int) -> float:
    size = sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))
    return size / max(events, 1)


def main() -> None:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="trivial journal events")
    parser.add_argument("--mm-events", type=int, default=50_000, help="market maker quotes")
    cli.add_json(parser)
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as temp:
        folder = Path(temp)
        trivial, mm = folder / "trivial", folder / "mm"
        write_trivial(trivial, args.events)
        write_market_maker(mm, args.mm_events)
        n = args.events
        results.append(timed_case("read+decode", n, lambda: read_and_decode(trivial, "trivial")))
        trivial_db = folder / "trivial.sqlite"
        results.append(
            timed_case("analyze trivial", n, lambda: analysed(trivial, trivial_db, "trivial"))
        )
        mm_events = read_and_decode(mm, "mm")
        results.append(timed_case("read+decode mm", mm_events, lambda: read_and_decode(mm, "mm")))
        mm_db = folder / "mm.sqlite"
        results.append(
            timed_case("analyze market maker", mm_events, lambda: analysed(mm, mm_db, "mm"))
        )
        for name, database, events in (("trivial", trivial_db, n), ("mm", mm_db, mm_events)):
            per_event = size_per_event(database, events)
            print(f"database {name}: {per_event:,.0f} bytes per event")
            results.append({"case": f"db bytes per event {name}", "bytes": round(per_event)})
        results.append(reported(mm, folder / "report", "mm"))
    cli.write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
