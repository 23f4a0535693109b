"""Core benchmarks: raw ZeroMQ and Pykka limits beside yard's latency and throughput.

Everything runs in one process and one run, so the raw limits and the host's
figures come from the same machine under the same load::

    python benchmarks/bench_core.py            # full run: ~45 s on the 2-core box, <3 min
    python benchmarks/bench_core.py --quick    # counts / 4: ~10-20 s
    python benchmarks/bench_core.py --json out.json
    python benchmarks/bench_core.py --only tput/1/ --scale 2   # some cases, twice the counts
    python benchmarks/bench_core.py --pin-host 0   # this process on CPU 0, a child feed elsewhere

Cases (``--only`` takes name prefixes):

* ``raw/...``: plain inproc ZeroMQ PUSH->PULL and XPUB->SUB, plain Pykka ``tell`` to
  one ThreadingActor, and a ping-pong through the same hops a host uses
  (XPUB->SUB thread->``tell``->actor->PUSH->PULL) with no yard code in them.
* ``costs/per-event``: each step of the hot path timed alone on this thread (µs).
* ``latency/...``: one robot that answers every quote with a NewOrder; the feed
  publishes one quote and blocks until the command reaches the gateway's PULL.
* ``tput/<robots>/...``: quotes published as fast as possible to robots that
  count them and emit nothing, timed from the first publish to the moment the
  last robot handled the last quote. ``tput/1/child-feed/...`` publishes from a
  child process over ``ipc://``, so the publisher takes no GIL from the host.

The last table gives each case's CPU time and the CPU other processes used
meanwhile: a case run on a busy machine is flagged, and its figures are suspect.
This is a script, not a test: it prints figures and checks that nothing was
dropped (exit status 1 if anything was).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import cli
from bench_host import costs, latency, throughput
from bench_raw import SYMBOL, raw_pingpong, raw_pykka, raw_zmq
from measure import (
    Case,
    Result,
    all_ok,
    exact,
    machine,
    peak_rss_kb,
    percentile_head,
    percentile_row,
    pin_host,
    print_cpu,
    print_machine,
    reset_peak_rss,
    run_cases,
)

from gateways.feed import SyntheticQuotes
from yard_actors import encode


@attrs.frozen(kw_only=True)
class Counts:
    """How many messages each case sends; ``--quick`` and ``--scale`` shrink or grow them."""

    zmq_messages: int = 500_000
    tells: int = 200_000
    pingpongs: int = 10_000
    costs: int = 20_000
    latency_quotes: int = 10_000
    latency_warmup: int = 1_000
    tput_quotes: tuple[tuple[int, int], ...] = (
        (1, 200_000),
        (10, 100_000),
        (100, 10_000),
        (1000, 1_500),
    )

    def scaled(self, factor: float) -> Counts:
        def n(value: int) -> int:
            return max(100, int(value * factor))

        return Counts(
            zmq_messages=n(self.zmq_messages),
            tells=n(self.tells),
            pingpongs=n(self.pingpongs),
            costs=n(self.costs),
            latency_quotes=n(self.latency_quotes),
            latency_warmup=n(self.latency_warmup),
            tput_quotes=tuple((robots, n(quotes)) for robots, quotes in self.tput_quotes),
        )


# --- running and printing ----------------------------------------------------------------------


def _cases(counts: Counts, payloads: Sequence[bytes]) -> list[Case]:
    one = payloads[0]
    latency_n = counts.latency_quotes + counts.latency_warmup
    cases: list[Case] = [
        ("raw/zmq-push-pull", lambda: raw_zmq(counts.zmq_messages, one, "push-pull")),
        ("raw/zmq-xpub-sub", lambda: raw_zmq(counts.zmq_messages, one, "xpub-sub")),
        ("raw/pykka-tell", lambda: raw_pykka(counts.tells)),
        ("raw/pingpong", lambda: raw_pingpong(counts.pingpongs, counts.latency_warmup, one)),
        ("costs/per-event", lambda: costs(counts.costs, payloads)),
        (
            "latency/journal",
            lambda: latency("every-event", payloads[:latency_n], counts.latency_warmup),
        ),
        ("latency/no-journal", lambda: latency("off", payloads[:latency_n], counts.latency_warmup)),
    ]
    for robots, quotes in counts.tput_quotes:
        journals = ("every-event", "off", "every-1000") if robots == 1 else ("every-event",)
        for journal in journals:
            name = f"tput/{robots}/{journal}"
            cases.append((name, _bind_tput(robots, journal, payloads[:quotes])))
        if robots == 1:
            for journal in ("every-event", "off"):
                name = f"tput/1/child-feed/{journal}"
                cases.append((name, _bind_tput(1, journal, payloads[:quotes], child_feed=True)))
    return cases


def _bind_tput(
    robots: int, journal: str, payloads: Sequence[bytes], *, child_feed: bool = False
) -> Callable[[], Result]:
    return lambda: throughput(robots, journal, payloads, child_feed=child_feed)


def quote_payloads(count: int) -> list[bytes]:
    """``count`` encoded synthetic quotes of the bench symbol."""
    return [exact(encode(quote)) for quote in SyntheticQuotes((SYMBOL,), count=count)]


def print_report(info: dict[str, Any], results: dict[str, Result]) -> None:
    """The machine, then the table of each kind of case that ran, then each case's CPU."""
    print_machine(info)
    _print_raw({k: v for k, v in results.items() if k.startswith("raw/") and "per_s" in v})
    _print_costs({k: v for k, v in results.items() if "costs_us" in v})
    _print_latency({k: v for k, v in results.items() if "p50_us" in v})
    _print_throughput({k: v for k, v in results.items() if k.startswith("tput/")})
    print_cpu(results)


def _print_raw(raw: dict[str, dict[str, Any]]) -> None:
    if raw:
        print(f"\n{'raw limit':<31}{'messages':>10}{'msgs/s':>12}")
    for name, r in raw.items():
        print(f"{name:<31}{r['messages']:>10,}{r['per_s']:>12,.0f}")


def _print_costs(found: dict[str, dict[str, Any]]) -> None:
    for r in found.values():
        print(f"\n{'per-event cost, one thread (µs)':<42}{'µs':>8}")
        for step, us in r["costs_us"].items():
            print(f"{step:<42}{us:>8.2f}")


def _print_latency(lat: dict[str, dict[str, Any]]) -> None:
    if lat:
        print("\n" + percentile_head("tick-to-command latency (µs)", 31))
    for name, r in lat.items():
        flag = "" if r.get("ok", True) else f"  WARNING: {r['commands']:,} commands counted"
        print(percentile_row(name, r, 31) + flag)


def _print_throughput(tput: dict[str, dict[str, Any]]) -> None:
    if tput:
        print(
            f"\n{'throughput':<31}{'quotes':>8}{'s':>7}{'quotes/s':>10}{'deliv/s':>10}"
            f"{'pub/s':>10}{'start s':>8}{'stop s':>7}{'threads':>8}{'RSS MB':>7}"
        )
    for name, r in tput.items():
        print(
            f"{name:<31}{r['quotes']:>8,}{r['seconds']:>7.2f}{r['quotes_per_s']:>10,.0f}"
            f"{r['deliveries_per_s']:>10,.0f}{r['publish_per_s']:>10,.0f}"
            f"{r['startup_s']:>8.2f}{r['stop_s']:>7.2f}{r['threads']:>8}"
            f"{r['peak_rss_mb']:>7.0f}"
        )
        if not r["ok"]:
            print(
                f"  WARNING {name}: handled {r['handled']:,} of {r['expected']:,} "
                f"(intake received {r['received']:,}, dropped {r['dropped']})"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = cli.base_parser(__doc__)
    cli.add_run_options(parser, quick="counts / 4: about 20 s")
    cli.add_pin_host(parser, rest="a child feed gets the others")
    args = parser.parse_args(argv)
    pin_host(args.pin_host)
    counts = Counts().scaled(cli.count_factor(args))
    need = max(
        counts.latency_quotes + counts.latency_warmup, *(quotes for _, quotes in counts.tput_quotes)
    )
    payloads = quote_payloads(need)
    info = machine()
    reset_peak_rss()
    info["rss_before_cases_mb"] = round(peak_rss_kb() / 1024)
    run_started = time.perf_counter()
    results = run_cases(_cases(counts, payloads), args.only)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_report(info, results)
    print(
        f"\nrun took {time.perf_counter() - run_started:.0f} s (after building {need:,} "
        f"quotes); RSS before the cases {info['rss_before_cases_mb']} MB; "
        f"process peak RSS (getrusage) {max_rss:.0f} MB"
    )
    report = {
        "machine": info,
        "counts": attrs.asdict(counts),
        "results": results,
        "process_peak_rss_mb": max_rss,
    }
    cli.write_json(args.json, report)
    return 0 if all_ok(results) else 1


if __name__ == "__main__":
    sys.exit(main())
