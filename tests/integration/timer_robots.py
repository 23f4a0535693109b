"""Timer robots and a one-burst actor runner, shared by the timer and fan-out journal tests."""

from __future__ import annotations

from typing import Any

import pykka

from yard_actors import Quote, Robot, Timer, encode
from yard_actors.host.robot_actor import Deliver, DeliverBatch, RobotActor, ask_snapshot
from yard_actors.journal import Group, Journal
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import RobotHarness, quote

MS = 1_000_000
TS = 1_700_000_000_000_000_000


class Heartbeat(Robot):
    """Every second of event time, buys one lot at the last bid."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.beats: list[int] = []
        self.every("beat", 1_000)

    def on_timer(self, timer: Timer) -> HandlerResult:
        self.beats.append(timer.ts)
        last = self.last_quote("Si")
        return None if last is None else self.buy("Si", 1, last.bid)


class StartsMidBurst(Heartbeat):
    """Sets a fast timer on its third quote, so it falls due inside the same burst."""

    def on_quote(self, quote: Quote) -> HandlerResult:
        if int(quote.bid) == 102:
            self.every("fast", 1)
        return None


def quotes(count: int, step_ns: int = MS) -> list[Quote]:
    return [quote("Si", 100 + n, 101 + n, ts=TS + n * step_ns) for n in range(count)]


def harness_run(robot_class: type[Robot], events: list[Quote], name: str) -> RobotHarness[Robot]:
    harness = RobotHarness(robot_class, name=name)
    for event in events:
        harness.feed(event)
    return harness


def run_burst(
    robot_class: type[Robot], events: list[Quote], journal: Journal | None, *, fanned: bool
) -> dict[str, Any]:
    """Hand ``events`` to a robot actor named ``burst`` as one intake burst; its snapshot.

    ``fanned``: journaled as the data intake's fan-out (one group, watermarks), else as
    plain events with one delivery record each.
    """
    if journal is None:
        messages = [Deliver(event, fanned=fanned) for event in events]
    else:
        if fanned:
            group = Group("Si", ("burst",))
            first = journal.record_fanned([(encode(e), group) for e in events])
        else:
            first = journal.record_events([encode(e) for e in events])
        messages = [Deliver(e, first + n, fanned=fanned) for n, e in enumerate(events)]
    ref: pykka.ActorRef[RobotActor] = RobotActor.start(
        robot_class("burst"), journal=journal, order_link=None
    )
    try:
        ref.tell(DeliverBatch(messages))
        return ask_snapshot(ref, timeout=5)
    finally:
        ref.stop(timeout=5)
