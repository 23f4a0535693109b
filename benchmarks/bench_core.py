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

import argparse
import contextlib
import importlib.metadata
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import zmq
from bench_host import costs, latency, peak_rss_mb, reset_peak_rss, throughput
from bench_raw import SYMBOL, raw_pingpong, raw_pykka, raw_zmq

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


# --- the machine -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What ran the figures: OS, CPU, cores, Python and library versions."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "pykka": importlib.metadata.version("pykka"),
    }


def _git(repo: Path, *args: str) -> str:
    # read-only git only; --no-optional-locks keeps `status` from refreshing the index
    argv = ["git", "--no-optional-locks", "-C", str(repo), *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)  # noqa: S603 - no shell
    return done.stdout.strip()


def source_version() -> str:
    """The yard commit measured, marked ``+dirty`` if yard_actors or gateways have edits."""
    repo = Path(__file__).resolve().parent.parent
    try:
        commit = _git(repo, "rev-parse", "--short", "HEAD")
        changes = _git(
            repo, "status", "--porcelain", "--untracked-files=no", "--", "yard_actors", "gateways"
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}+dirty" if changes else commit


# --- running and printing ----------------------------------------------------------------------


def _cases(
    counts: Counts, payloads: Sequence[bytes]
) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
    one = payloads[0]
    latency_n = counts.latency_quotes + counts.latency_warmup
    cases: list[tuple[str, Callable[[], dict[str, Any]]]] = [
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
) -> Callable[[], Any]:
    return lambda: throughput(robots, journal, payloads, child_feed=child_feed)


def _cpu_seconds() -> tuple[float, float, float]:
    """This process's (and its reaped children's) CPU, all CPUs' busy time, and steal."""
    own = sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )
    busy = steal = math.nan
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal; guest time is already in user
        busy = (sum(fields[:8]) - fields[3] - fields[4]) / hz
        steal = fields[7] / hz
    return own, busy, steal


def _run_case(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run one case and add its wall time, its CPU, and CPU other processes used meanwhile."""
    own0, busy0, steal0 = _cpu_seconds()
    began = time.perf_counter()
    result = run()
    wall = time.perf_counter() - began
    own1, busy1, steal1 = _cpu_seconds()
    result["case_wall_s"] = wall
    result["case_cpu_s"] = own1 - own0
    result["others_cpu_s"] = max(0.0, (busy1 - busy0) - (steal1 - steal0) - (own1 - own0))
    result["steal_s"] = steal1 - steal0
    return result


def _payloads(count: int) -> list[bytes]:
    # Each orjson.dumps result pins about 4 KB of heap while it lives (a shrunk 4 KB
    # buffer); copying into an exact-size bytes keeps 200k payloads at ~30 MB, not ~800 MB.
    return [bytes(memoryview(encode(quote))) for quote in SyntheticQuotes((SYMBOL,), count=count)]


def _print_report(info: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    print(
        f"\nmachine: {info['platform']} | {info['cpu']} | nproc {info['nproc']} | "
        f"Python {info['python']} | pyzmq {info['pyzmq']} / libzmq {info['libzmq']} | "
        f"pykka {info['pykka']} | this process on CPUs {info['host_cpus']} | "
        f"yard {info['yard']}"
    )
    _print_raw({k: v for k, v in results.items() if k.startswith("raw/") and "per_s" in v})
    _print_costs({k: v for k, v in results.items() if "costs_us" in v})
    _print_latency({k: v for k, v in results.items() if "p50_us" in v})
    _print_throughput({k: v for k, v in results.items() if k.startswith("tput/")})
    _print_cpu(results)


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
        print(
            f"\n{'tick-to-command latency (µs)':<31}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}"
            f"{'p99.9':>8}{'max':>9}{'mean':>8}"
        )
    for name, r in lat.items():
        flag = "" if r.get("ok", True) else f"  WARNING: {r['commands']:,} commands counted"
        print(
            f"{name:<31}{r['samples']:>7,}{r['p50_us']:>8.0f}{r['p90_us']:>8.0f}"
            f"{r['p99_us']:>8.0f}{r['p999_us']:>8.0f}{r['max_us']:>9.0f}"
            f"{r['mean_us']:>8.0f}{flag}"
        )


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


def _print_cpu(results: dict[str, dict[str, Any]]) -> None:
    # Other processes' CPU during a case means the figures shared the machine: distrust them.
    print(f"\n{'CPU per case (s)':<31}{'wall':>7}{'this':>7}{'others':>8}{'steal':>7}")
    for name, r in results.items():
        others = r["others_cpu_s"]
        noisy = "  <- shared machine" if others > max(0.05, 0.1 * r["case_wall_s"]) else ""
        print(
            f"{name:<31}{r['case_wall_s']:>7.1f}{r['case_cpu_s']:>7.1f}"
            f"{r['others_cpu_s']:>8.1f}{r['steal_s']:>7.1f}{noisy}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="counts / 4: about 20 s")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run the cases whose name starts with PREFIX (repeatable)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results as JSON")
    parser.add_argument(
        "--pin-host",
        type=int,
        metavar="CPU",
        help="run this process (host, feed thread, gateway) on one CPU; a child feed gets the rest",
    )
    args = parser.parse_args(argv)
    if args.pin_host is not None:
        os.sched_setaffinity(0, {args.pin_host})  # before any thread starts, so all inherit it
    counts = Counts().scaled(args.scale * (0.25 if args.quick else 1.0))
    need = max(
        counts.latency_quotes + counts.latency_warmup, *(quotes for _, quotes in counts.tput_quotes)
    )
    payloads = _payloads(need)
    info = machine()
    info["host_cpus"] = sorted(os.sched_getaffinity(0))
    info["yard"] = source_version()
    reset_peak_rss()
    info["rss_before_cases_mb"] = round(peak_rss_mb())
    results: dict[str, dict[str, Any]] = {}
    run_started = time.perf_counter()
    for name, run in _cases(counts, payloads):
        if args.only and not any(name.startswith(prefix) for prefix in args.only):
            continue
        print(f"running {name} ...", end=" ", flush=True)
        results[name] = _run_case(run)
        print(f"{results[name]['case_wall_s']:.1f} s", flush=True)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    _print_report(info, results)
    print(
        f"\nrun took {time.perf_counter() - run_started:.0f} s (after building {need:,} "
        f"quotes); RSS before the cases {info['rss_before_cases_mb']} MB; "
        f"process peak RSS (getrusage) {max_rss:.0f} MB"
    )
    if args.json is not None:
        report = {
            "machine": info,
            "counts": attrs.asdict(counts),
            "results": results,
            "process_peak_rss_mb": max_rss,
        }
        args.json.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0 if all(r.get("ok", True) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
