"""`yard replay`'s fast way (a run's commands compared whole) finds what the step-by-step way finds.

:meth:`RobotReplay.feed` compares a run's commands once and looks at its steps only when they
differ; :meth:`RobotReplay.steps` compares every step. Journals where live robots send from
none to three orders per quote, replayed by robots that send one more, one fewer, another
price, or raise, must give the same counts, failure and first divergence both ways.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from yard_actors import Quote, Robot
from yard_actors.journal import Group, Journal
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.replay_steps import RobotReplay
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote
from yard_actors.wire.codec import encode

CLASS = "tests.unit.journal.test_replay_feed.Scheduled"


class Scheduled(Robot):
    """Sends ``schedule[n]`` orders on its n-th quote; a replay may change one quote's."""

    symbols = ("Si",)
    schedule: tuple[int, ...] = ()
    changed_at = -1  # the quote whose orders the changed robot alters
    change = ""  # "more", "fewer", "price" or "raise"

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        n, self.quotes = self.quotes, self.quotes + 1
        count, price = self.schedule[n % len(self.schedule)], quote.bid - 5
        if n == self.changed_at:
            if self.change == "raise":
                msg = f"quote {n} raises"
                raise RuntimeError(msg)
            count += {"more": 1, "fewer": -1}.get(self.change, 0)
            price -= self.change == "price"
        return [self.buy(quote.symbol, 1, price) for _ in range(max(count, 0))]


def _record(directory: Path, schedule: tuple[int, ...], quotes: int, run: int) -> None:
    live = type("Live", (Scheduled,), {"schedule": schedule})("a")
    group = Group("Si", ("a",))
    with Journal(directory) as journal:
        journal.record_robot("a", {"name": "a", "class": CLASS, "symbols": ["Si"]})
        for start in range(0, quotes, run):
            burst = [quote("Si", 100 + n, 102 + n, ts=n + 1) for n in range(start, start + run)]
            first = journal.record_fanned([(encode(q), group) for q in burst])
            journal.record_watermark("a", first + len(burst) - 1)
            for event in burst:
                for command in live.handle(event):
                    journal.record_command("a", encode(command))


def _outcome(replay: RobotReplay) -> tuple[object, ...]:
    divergence = replay.divergence
    where = None
    if divergence is not None:
        where = (
            divergence.seq,
            divergence.event,
            divergence.index,
            divergence.step,
            divergence.journaled,
            divergence.produced,
        )
    return (replay.events, replay.commands, replay.failure, replay.failed_at, where)


@settings(max_examples=60, deadline=None)  # no deadline: the 2 CPUs are shared
@given(
    schedule=st.lists(st.integers(0, 3), min_size=1, max_size=5).map(tuple),
    run=st.integers(1, 5),
    changed_at=st.integers(-1, 23),
    change=st.sampled_from(["more", "fewer", "price", "raise"]),
)
def test_the_fast_feed_finds_the_first_divergence_the_steps_find(
    schedule: tuple[int, ...], run: int, changed_at: int, change: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        _record(directory, schedule, quotes=24, run=run)
        replayed = type(
            "Replayed",
            (Scheduled,),
            {"schedule": schedule, "changed_at": changed_at, "change": change},
        )

        [fed] = replay_journal(directory, {"a": replayed("a")}).run().values()
        stepped = replay_journal(directory, {"a": replayed("a")})
        for _ in stepped.steps():
            pass

        assert _outcome(fed) == _outcome(stepped.replays["a"])
        quiet = not schedule[changed_at % len(schedule)]  # no orders to alter there
        if change != "raise":  # a handler that raises fails the robot; handle() keeps it
            assert fed.identical == (changed_at < 0 or (change != "more" and quiet))
