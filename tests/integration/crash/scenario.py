"""One crash scenario's seed and verdict: the seeded Random, and the judgement at the end.

Apart from :mod:`.deployment` because it judges a run rather than runs one: it prints the
seed (``YARD_CRASH_SEED`` replays a run), then the counts and every violation, and fails a
run that broke consistency or traded too little to prove anything.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Sequence
from typing import Protocol

import attrs
import pytest

from tests.integration.crash.invariant import Consistency

__all__ = ["MIN_FILLS", "MIN_ORDERS", "Rig", "Scenario"]


class Rig(Protocol):
    """What a scenario reads of the rig it ran (:class:`~.deployment.Deployment`)."""

    @property
    def days(self) -> Sequence[object]: ...

    def kills(self) -> int: ...


MIN_ORDERS = 200
"""A scenario whose store holds fewer orders than this did not trade enough to prove anything."""
MIN_FILLS = 50


@attrs.define
class Scenario:
    """One scenario's name, seed, seeded Random and start time; it prints and judges the end.

    The seed is ``YARD_CRASH_SEED`` or a fresh one, printed at once, so a failing CI run
    can be replayed with the same random moments.
    """

    name: str
    seed: int
    rng: random.Random
    started: float

    @classmethod
    def begin(cls, name: str) -> Scenario:
        given = os.environ.get("YARD_CRASH_SEED", "")
        seed = int(given) if given else random.SystemRandom().randrange(10**9)
        print(f"{name}: YARD_CRASH_SEED={seed}", flush=True)
        return cls(name, seed, random.Random(f"{seed}:{name}"), time.monotonic())

    def conclude(
        self,
        rig: Rig,
        findings: Sequence[str],
        consistency: Consistency,
        capsys: pytest.CaptureFixture[str],
        *,
        also: str = "",
    ) -> None:
        """Print the counts and every violation to the CI log; fail on any of them.

        ``also`` adds to the counts (``"2 MongoDB outages, "``). Fails too when too little
        traded (:data:`MIN_ORDERS`, :data:`MIN_FILLS`): a run in which nothing happened
        must not pass.
        """
        violations = [*findings, *consistency.violations]
        seconds = time.monotonic() - self.started
        with capsys.disabled():  # the CI log shows the work done, passing or not
            print(
                f"\n[crash] {self.name}: seed {self.seed}, {rig.kills()} kills, {also}"
                f"{len(rig.days)} days, {consistency.counts()}, {seconds:.1f} s, "
                f"{len(violations)} violations",
                *(f"  - {v}" for v in violations),
                sep="\n",
                flush=True,
            )
        assert not violations, (
            f"{self.name} (YARD_CRASH_SEED={self.seed}) broke consistency "
            f"{len(violations)} times:\n" + "\n".join(f"- {v}" for v in violations)
        )
        too_little = f"{self.name} traded too little to prove anything: {consistency.counts()}"
        assert consistency.orders >= MIN_ORDERS, too_little
        assert consistency.fills >= MIN_FILLS, too_little
