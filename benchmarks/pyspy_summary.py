"""Summarise, per thread role, a ``py-spy record --threads --format raw`` profile of bench_core.

py-spy's thread names can be stale (a reused thread id keeps an old name), so each
thread is given its role from what its stacks run: the data intake's receive
thread (``IntakeActor._drain``), robot actors (``RobotActor.``), the benchmark's
main thread while it publishes (inside ``throughput``), and the rest. For each
role it prints its share of the samples and the functions that cost most, by
self time (the frame on top of the stack) and inclusive time::

    py-spy record --threads -r 200 --format raw -o /tmp/prof.txt -- \\
        python benchmarks/bench_core.py --only tput/1/every-event --scale 2
    python benchmarks/pyspy_summary.py /tmp/prof.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path

_LINE = re.compile(r"^thread \((?P<tid>\w+)\): (?P<stack>.*) (?P<count>\d+)$")
_LINENO = re.compile(r":\d+\)$")
_ROLES = (
    ("intake receive thread (data)", "IntakeActor._drain"),
    ("robot actor thread", "RobotActor."),
    ("main thread, publishing", "throughput (bench_host.py"),
)

Stack = tuple[str, ...]


def read_profile(path: Path) -> dict[str, Counter[Stack]]:
    """Stacks per thread id, frames root first, line numbers dropped."""
    threads: dict[str, Counter[Stack]] = defaultdict(Counter)
    for line in path.read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        frames = match["stack"].split(";")[1:]  # the first item is the thread's name
        stack = tuple(_LINENO.sub(")", frame) for frame in frames)
        threads[match["tid"]][stack] += int(match["count"])
    return threads


def role_of(stacks: Counter[Stack]) -> str:
    text = "\n".join(";".join(stack) for stack in stacks)
    for role, marker in _ROLES:
        if marker in text:
            return role
    return "other threads"


def by_role(threads: dict[str, Counter[Stack]]) -> dict[str, Counter[Stack]]:
    roles: dict[str, Counter[Stack]] = defaultdict(Counter)
    for stacks in threads.values():
        role = role_of(stacks)
        kept = stacks
        if role == "main thread, publishing":  # drop imports and quote building
            kept = Counter({s: n for s, n in stacks.items() if any("throughput (" in f for f in s)})
        roles[role].update(kept)
    return roles


def _top(stacks: Counter[Stack], top: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for stack, count in stacks.items():
        if stack:
            own[stack[-1]] += count
        for frame in set(stack):
            inclusive[frame] += count
    return own.most_common(top), inclusive.most_common(top)


def report(roles: dict[str, Counter[Stack]], top: int) -> None:
    total = sum(sum(stacks.values()) for stacks in roles.values())
    print(f"{total} samples in all roles")
    for role, stacks in sorted(roles.items(), key=lambda item: -sum(item[1].values())):
        samples = sum(stacks.values())
        print(f"\n== {role}: {samples} samples, {samples / total:.0%} of all")
        own, inclusive = _top(stacks, top)
        print("  self:")
        for frame, count in own:
            print(f"    {count / samples:6.1%}  {frame}")
        print("  inclusive:")
        for frame, count in inclusive:
            print(f"    {count / samples:6.1%}  {frame}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("profile", type=Path, help="py-spy raw output, recorded with --threads")
    parser.add_argument("--top", type=int, default=12, help="functions to list per role")
    args = parser.parse_args(argv)
    report(by_role(read_profile(args.profile)), args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
