"""What a benchmark's figures ran on, what they cost the machine, and how they are summed up.

Every bench script reports the machine and the yard commit beside its figures; runs
each case with its CPU accounted (this process's, and what other processes used
meanwhile: a case run on a busy machine is suspect); keeps its processes on the
CPUs ``--pin-host`` gave them; and sums latencies up as the same percentiles,
printed in the same table columns.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs
import zmq

T = TypeVar("T")
Result = dict[str, Any]
Case = tuple[str, Callable[[], Result]]

# --- the machine and the code measured ------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What ran the figures: OS, CPU, cores, the CPUs this process may use (call it after
    :func:`pin_host`), Python and library versions, and the yard commit."""
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
        "host_cpus": sorted(os.sched_getaffinity(0)),
        "yard": source_version(),
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


# --- CPUs: where the processes run, and what a case cost -----------------------------------------


def pin_host(cpu: int | None) -> None:
    """Run this process on ``cpu`` (None: leave it be); call it before any thread starts,
    so every thread inherits it."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def free_cpus() -> list[int]:
    """The CPUs this process is not pinned to: none unless ``--pin-host`` pinned it.

    A child process inherits its parent's CPUs, so there it means the parent's free ones.
    """
    return sorted(set(range(os.cpu_count() or 1)) - os.sched_getaffinity(0))


def leave_host_cpus() -> None:
    """Run this child process on the CPUs its parent was not pinned to, if it was pinned."""
    others = free_cpus()
    if others:
        os.sched_setaffinity(0, others)


@attrs.frozen(kw_only=True)
class CpuUse:
    """What a case cost: wall time, this process's CPU (with reaped children's), the CPU
    other processes used meanwhile, and what the hypervisor stole; in seconds."""

    wall_s: float
    own_s: float
    others_s: float
    steal_s: float


def _cpu_now() -> tuple[float, float, float]:
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


def timed(run: Callable[[], T]) -> tuple[T, CpuUse]:
    """Run ``run`` and say what it cost (/proc/stat counts 10 ms ticks: a case shorter
    than ~0.1 s reads coarsely)."""
    own0, busy0, steal0 = _cpu_now()
    began = time.perf_counter()
    result = run()
    wall = time.perf_counter() - began
    own1, busy1, steal1 = _cpu_now()
    own, steal = own1 - own0, steal1 - steal0
    others = max(0.0, (busy1 - busy0) - steal - own)
    return result, CpuUse(wall_s=wall, own_s=own, others_s=others, steal_s=steal)


def run_cases(cases: Iterable[Case], only: Sequence[str]) -> dict[str, Result]:
    """Run the cases whose name starts with one of ``only`` (all if it is empty), one by
    one, printing progress; each result gets its ``case_*`` CPU figures."""
    results: dict[str, Result] = {}
    for name, run in cases:
        if only and not any(name.startswith(prefix) for prefix in only):
            continue
        print(f"running {name} ...", end=" ", flush=True)
        result, use = timed(run)
        result["case_wall_s"] = use.wall_s
        result["case_cpu_s"] = use.own_s
        result["others_cpu_s"] = use.others_s
        result["steal_s"] = use.steal_s
        results[name] = result
        print(f"{use.wall_s:.1f} s", flush=True)
    return results


def all_ok(results: Mapping[str, Result]) -> bool:
    """Whether every case's checks added up (a case without checks counts as fine)."""
    return all(result.get("ok", True) for result in results.values())


# --- memory -----------------------------------------------------------------------------------


def reset_peak_rss() -> None:
    # Linux lets a process reset VmHWM, so each case reports its own peak, not the run's.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_kb(field: str) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return None


def peak_rss_kb() -> int:
    """This process's peak RSS (VmHWM); ``ru_maxrss`` would include the parent's, across exec."""
    peak = _status_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if peak is None else peak


def rss_kb() -> int:
    """This process's resident memory now (VmRSS; 0 where /proc cannot tell)."""
    return _status_kb("VmRSS") or 0


def exact(payload: bytes) -> bytes:
    # Each orjson.dumps result pins about 4 KB of heap while it lives (a shrunk 4 KB
    # buffer); copying into an exact-size bytes keeps 200k payloads at ~30 MB, not ~800 MB.
    return bytes(memoryview(payload))


# --- figures and their tables -------------------------------------------------------------------


def per_op_us(count: int, op: Callable[[], object]) -> float:
    """Call ``op`` ``count`` times on this thread; µs per call."""
    clock = time.perf_counter_ns
    started = clock()
    for _ in range(count):
        op()
    return (clock() - started) / count / 1000


def percentiles(samples_ns: Sequence[int]) -> Result:
    """Nearest-rank percentiles, max and mean of nanosecond samples, in µs."""
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] / 1000

    return {
        "samples": len(ordered),
        "p50_us": at(0.50),
        "p90_us": at(0.90),
        "p99_us": at(0.99),
        "p999_us": at(0.999),
        "max_us": ordered[-1] / 1000,
        "mean_us": sum(ordered) / len(ordered) / 1000,
    }


def percentile_head(title: str, width: int) -> str:
    """The header of a table of :func:`percentiles` rows, with ``title`` ``width`` wide."""
    return (
        f"{title:<{width}}{'n':>7}{'p50':>8}{'p90':>8}{'p99':>8}{'p99.9':>8}{'max':>9}{'mean':>8}"
    )


def percentile_row(name: str, p: Mapping[str, Any], width: int) -> str:
    """One row of that table: ``p`` is what :func:`percentiles` returned."""
    return (
        f"{name:<{width}}{p['samples']:>7,}{p['p50_us']:>8.0f}{p['p90_us']:>8.0f}"
        f"{p['p99_us']:>8.0f}{p['p999_us']:>8.0f}{p['max_us']:>9.0f}{p['mean_us']:>8.0f}"
    )


def print_machine(info: Mapping[str, Any]) -> None:
    """The machine line of a report: ``info`` is what :func:`machine` returned."""
    print(
        f"\nmachine: {info['platform']} | {info['cpu']} | nproc {info['nproc']} | "
        f"Python {info['python']} | pyzmq {info['pyzmq']} / libzmq {info['libzmq']} | "
        f"pykka {info['pykka']} | this process on CPUs {info['host_cpus']} | "
        f"yard {info['yard']}"
    )


def print_cpu(results: Mapping[str, Result]) -> None:
    """Each case's wall time and CPU, flagged where other processes used enough to matter."""
    print(f"\n{'CPU per case (s)':<31}{'wall':>7}{'this':>7}{'others':>8}{'steal':>7}")
    for name, r in results.items():
        others = r["others_cpu_s"]
        noisy = "  <- shared machine" if others > max(0.05, 0.1 * r["case_wall_s"]) else ""
        print(
            f"{name:<31}{r['case_wall_s']:>7.1f}{r['case_cpu_s']:>7.1f}"
            f"{r['others_cpu_s']:>8.1f}{r['steal_s']:>7.1f}{noisy}"
        )
