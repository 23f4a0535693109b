"""Replay throughput against the raw limit of reading the journal, and replay memory on a long one.

Journals are generated in a temporary folder as a live host writes them: quotes fanned out
to the robot's group, one watermark per run of ``RUN`` events (what the data intake drains
in one go), the robot's commands after each run. For the market maker, each order it sends
is answered by an acceptance (an ``E`` + ``D`` event to it alone, as the trades intake
journals one), so its book turns over as it would live. Cases, each on its own journal:

* ``read``: the forward streaming reader alone (frames verified, runs attributed), events/s;
* ``read+decode``: the same, each event decoded: the raw limit of a replay in one process;
* ``read ahead``, ``read ahead+decode``: the same with the read in a child process
  (:mod:`~yard_actors.journal.stream_ahead`, as ``yard replay`` reads a journal of 64 MB or
  more on two cores): the raw limit of such a replay;
* ``replay trivial``: what ``yard replay`` does (:func:`~yard_actors.journal.replay_steps.
  replay_journal`, no step kept, the read ahead chosen by size) with a robot that only
  counts its quotes, events/s (target: 200,000 on the 2-core machine);
* ``replay trivial, one process``: the same with the read in this process;
* ``replay_steps trivial``: the same through :func:`~yard_actors.journal.replay.replay_steps`,
  a :class:`ReplayStep` built per event (what the analyzer reads);
* ``replay market maker``: ``yard replay``'s way with ``robots.market_maker:MarketMaker``;
* peak RSS (VmHWM, reset before each case) of every case: flat means about the same for 1M
  and 10M events (``--events 10000000`` writes ~1.4 GB to the temp folder); for the cases
  reading ahead, the reading child's peak RSS too.

    python benchmarks/bench_replay.py [--events 1000000] [--mm-events 200000] [--json out.json]
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cli
import orjson
from measure import machine, peak_rss_kb, print_machine, reset_peak_rss, rss_kb

from robots.market_maker import MarketMaker
from yard_actors import Quote, Robot
from yard_actors.journal import Group, Journal, JournalConfig
from yard_actors.journal.replay import replay_steps
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.stream import RobotRun, stream_runs
from yard_actors.journal.stream_ahead import reads_ahead, stream_runs_ahead
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import accepted, quote
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import NewOrder
from yard_actors.wire.fast_decode import DECODERS

RUN = 16  # events per watermark
TS0 = 1_700_000_000_000_000_000
STEP_NS = 1_000_000
MM_PARAMS = {"half_spread_ticks": 2, "max_position": 3, "requote_ticks": 2}


class Trivial(Robot):
    """Counts its quotes: the replay's own cost, with nearly none of a robot's."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return None


def quotes(count: int) -> list[bytes]:
    """``count`` quotes whose mid walks up and down by a tick or two, encoded once each."""
    payloads = []
    for n in range(count):
        bid = 90_000 + (n * 7919 % 23) - 11
        payloads.append(encode(quote("Si", bid, bid + 2, ts=TS0 + n * STEP_NS)))
    return payloads


def write_trivial(directory: Path, events: int) -> None:
    """A journal of ``events`` fanned quotes to robot ``trivial`` (64 distinct payloads)."""
    payloads = quotes(64)
    group = Group("Si", ("trivial",))
    with Journal(directory) as journal:
        journal.record_robot("trivial", {"name": "trivial", "class": "bench_replay:Trivial"})
        for start in range(0, events, RUN):
            size = min(RUN, events - start)
            burst = [(payloads[(start + n) % 64], group) for n in range(size)]
            first = journal.record_fanned(burst)
            journal.record_watermark("trivial", first + size - 1)


def write_market_maker(directory: Path, events: int) -> None:
    """A journal of a live market maker on ``events`` quotes, each order of it accepted."""
    robot = MarketMaker("mm", params=MM_PARAMS)
    group = Group("Si", ("mm",))
    payloads = quotes(events)
    spec = {"name": "mm", "class": "robots.market_maker:MarketMaker", "params": MM_PARAMS}
    with Journal(directory, config=JournalConfig()) as journal:
        journal.record_robot("mm", spec)
        for start in range(0, events, RUN):
            burst = payloads[start : start + RUN]
            first = journal.record_fanned([(payload, group) for payload in burst])
            journal.record_watermark("mm", first + len(burst) - 1)
            sent = [c for p in burst for c in robot.handle(decode(p))]
            for command in sent:
                journal.record_command("mm", encode(command))
            ts = decode(burst[-1]).ts
            for order in sent:
                if isinstance(order, NewOrder):
                    _deliver(journal, robot, encode(accepted(order, ts=ts)))


def _deliver(journal: Journal, robot: Robot, payload: bytes) -> None:
    seq = journal.record_event(payload)
    journal.record_delivery(robot.name, seq)
    for command in robot.handle(decode(payload)):
        journal.record_command(robot.name, encode(command))


def timed_case(
    name: str, events: int, run: Callable[[], int], *, child: bool = False
) -> dict[str, Any]:
    """Run one case; ``child``: it reads in a child process, whose peak RSS is shown too
    (the largest of the children so far: the cases with a child read the same journal)."""
    reset_peak_rss()
    rss = rss_kb()
    started = time.perf_counter()
    fed = run()
    elapsed = time.perf_counter() - started
    result = {
        "case": name,
        "events": fed,
        "seconds": round(elapsed, 3),
        "events_per_s": round(fed / elapsed),
        "rss_before_mb": round(rss / 1024, 1),
        "peak_rss_mb": round(peak_rss_kb() / 1024, 1),
        "ok": fed == events,
    }
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if child else 0
    if child:
        result["child_peak_rss_mb"] = round(child_mb, 1)
    print(
        f"{name:<30} {fed:>10,} events {elapsed:>6.2f} s {fed / elapsed:>10,.0f} events/s   "
        f"peak RSS {result['peak_rss_mb']:>6,.1f} MB (before {result['rss_before_mb']:,.1f})"
        + (f", child {child_mb:,.1f} MB" if child else "")
    )
    return result


def read_only(directory: Path, robot: str) -> int:
    return sum(len(run.events) for run in stream_runs(directory, [robot]))


def read_ahead(directory: Path, robot: str) -> int:
    return sum(len(run.events) for run in stream_runs_ahead(directory, [robot]))


def read_and_decode(directory: Path, robot: str) -> int:
    """The raw limit of a replay in one process: read the journal, decode every event."""
    return decoded(stream_runs(directory, [robot]))


def decoded(runs: Iterable[RobotRun]) -> int:
    """Decode every event of ``runs`` as the replay's loop does (the codec's fast path
    inline, :func:`~yard_actors.wire.codec.decode` for the rest): the floor under it."""
    fed, loads, fast = 0, orjson.loads, DECODERS.get
    for run in runs:
        for _, payload in run.events:
            document = loads(payload)
            event = fast(document["type"])(document)  # type: ignore[misc]  # quotes here
            if event is None:
                decode(payload)
            fed += 1
    return fed


def stepped(directory: Path, robot: str, built: Robot) -> int:
    return sum(1 for _ in replay_steps(directory, robot, robot=built))


def replayed(directory: Path, robot: str, built: Robot, *, ahead: bool | None = None) -> int:
    [replay] = replay_journal(directory, {robot: built}, ahead=ahead).run().values()
    if not replay.identical:
        print(f"  {robot} did not replay identical: {replay.divergence or replay.failure}")
    return replay.events


def main() -> None:
    parser = cli.base_parser(__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="trivial journal events")
    parser.add_argument("--mm-events", type=int, default=200_000, help="market maker quotes")
    cli.add_json(parser)
    args = parser.parse_args()
    info = machine()
    print_machine(info)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as temp:
        trivial, mm = Path(temp) / "trivial", Path(temp) / "mm"
        started = time.perf_counter()
        write_trivial(trivial, args.events)
        write_market_maker(mm, args.mm_events)
        size = sum(p.stat().st_size for p in trivial.glob("journal-*.yj"))
        print(
            f"journals written in {time.perf_counter() - started:.1f} s; trivial: "
            f"{args.events:,} events, {size / 1e6:,.1f} MB"
        )
        n = args.events
        results.append(timed_case("read", n, lambda: read_only(trivial, "trivial")))
        results.append(timed_case("read+decode", n, lambda: read_and_decode(trivial, "trivial")))
        results.append(
            timed_case("read ahead", n, lambda: read_ahead(trivial, "trivial"), child=True)
        )
        results.append(
            timed_case(
                "read ahead+decode",
                n,
                lambda: decoded(stream_runs_ahead(trivial, ["trivial"])),
                child=True,
            )
        )
        results.append(
            timed_case(
                "replay trivial",
                n,
                lambda: replayed(trivial, "trivial", Trivial("t")),
                child=reads_ahead(trivial),
            )
        )
        results.append(
            timed_case(
                "replay trivial, one process",
                n,
                lambda: replayed(trivial, "trivial", Trivial("t"), ahead=False),
            )
        )
        results.append(
            timed_case("replay_steps trivial", n, lambda: stepped(trivial, "trivial", Trivial("t")))
        )
        mm_events = read_only(mm, "mm")
        results.append(
            timed_case(
                "replay market maker",
                mm_events,
                lambda: replayed(mm, "mm", MarketMaker("mm", params=MM_PARAMS)),
                child=reads_ahead(mm),
            )
        )
    cli.write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
