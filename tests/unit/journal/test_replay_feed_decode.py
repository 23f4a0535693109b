"""`yard replay`'s fast way decodes an event as the codec does, bad payloads included.

:meth:`RobotReplay.feed` runs the codec's fast path inline and leaves anything it does not
accept to :func:`~yard_actors.wire.codec.decode`; a payload that is not JSON, not an
object, of no known type, of a type without a fast decoder, with a bad field, or over the
size limit must fail the robot with the same sentence the step-by-step way gives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from yard_actors import Quote, Robot
from yard_actors.journal import Group, Journal
from yard_actors.journal.replay_all import replay_journal
from yard_actors.journal.replay_steps import RobotReplay
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import quote
from yard_actors.wire.codec import encode
from yard_actors.wire.schema import MAX_PAYLOAD_BYTES

GOOD = encode(quote("Si", 100, 102, ts=1))
BAD = {
    "not_json": b"{not json",
    "not_utf8": b'{"type":"\xff"}',
    "array": b'["Quote"]',
    "number": b"17",
    "type_not_a_string": GOOD.replace(b'"Quote"', b'["Quote"]'),
    "unknown_type": GOOD.replace(b'"Quote"', b'"Quotation"'),
    "bad_field": GOOD.replace(b'"100"', b'"1e999999"'),
    "price_as_number": GOOD.replace(b'"100"', b"100"),  # no fast decoder takes it
    "oversized": GOOD[:-1] + b"," + b" " * MAX_PAYLOAD_BYTES + b"}",
}


class Counting(Robot):
    """Counts its quotes."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: Quote) -> HandlerResult:
        self.quotes += 1
        return None


def _outcome(replay: RobotReplay) -> tuple[object, ...]:
    robot = replay.robot
    assert isinstance(robot, Counting)
    return (replay.events, replay.failure, replay.failed_at, replay.identical, robot.quotes)


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_payload_fails_the_fed_robot_as_it_fails_the_stepped_one(
    tmp_path: Path, case: str
) -> None:
    group = Group("Si", ("a",))
    with Journal(tmp_path) as journal:
        journal.record_robot("a", {"name": "a", "class": "x:Counting"})
        first = journal.record_fanned([(GOOD, group), (BAD[case], group), (GOOD, group)])
        journal.record_watermark("a", first + 2)

    [fed] = replay_journal(tmp_path, {"a": Counting("a")}).run().values()
    stepped = replay_journal(tmp_path, {"a": Counting("a")})
    for _ in stepped.steps():
        pass

    assert _outcome(fed) == _outcome(stepped.replays["a"])
    if case == "price_as_number":  # the general path takes it: the robot runs on
        assert fed.failure is None
        assert fed.robot.quotes == 3  # type: ignore[attr-defined]
    else:
        assert fed.failure is not None
        assert fed.failure.error.startswith("DecodeError: ")
        assert fed.failure.seq == first + 1
