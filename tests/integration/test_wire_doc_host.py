"""What docs/wire.md promises an outside implementer about a host, on a real host.

A topic no robot takes is logged with the topic (rate-limited) and counted; a message on
the wrong endpoint names the endpoint it belongs on; a control's ``ts`` is the wall
clock in nanoseconds, and one that is plainly not (a zero, milliseconds) is refused.
Real Pykka actors and ZeroMQ sockets, through the test kit (``run_robot``).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import attrs
import pytest

from yard_actors import Control, ControlAction, NewOrder, Quote, Robot, RobotError, encode
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import LiveHost, quote, run_robot, wait_until
from yard_actors.wire.events import Fill, Side

TS = 1_700_000_000_000_000_000


@attrs.frozen(kw_only=True)
class Lots:
    qty: int = attrs.field(default=1, validator=attrs.validators.instance_of(int))


class Bidder(Robot):
    """Bids at the bid of each quote, so a test sees the robot is still trading."""

    symbols = ("Si",)
    params_class = Lots

    def on_quote(self, quote: Quote) -> HandlerResult:
        return self.buy(quote.symbol, 1, quote.bid)


def _fill(robot: str) -> Fill:
    return Fill(
        ts=TS,
        trade_id="T-1",
        client_order_id=f"{robot}-1",
        robot=robot,
        symbol="Si",
        side=Side.BUY,
        price=Decimal(100),
        qty=1,
    )


def _unrouted(live: LiveHost) -> tuple[int, int]:
    stats = live.host.intake_stats()
    return stats["data"].unrouted, stats["trades"].unrouted


def _unrouted_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "yard_actors.host.unrouted"]


def test_a_topic_no_robot_takes_is_logged_with_its_topic_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.unrouted")
    with run_robot(Bidder, name="alpha", journal_dir=tmp_path) as live:
        for n in range(12):  # "Si " reaches the intake (prefix "Si") and goes to nobody
            live.feed.send_raw(b"Si ", encode(quote("Si ", 100, 101, ts=TS + n)))
        live.gateway.send_raw(b"alpha2", encode(_fill("alpha2")))  # prefix "alpha": nobody's robot
        live.publish(quote("Si", 100, 101, ts=TS + 20))

        assert isinstance(live.next_command(), NewOrder)  # the robot trades on
        wait_until(lambda: _unrouted(live) == (12, 1), what="12 unrouted on data, 1 on trades")

    lines = _unrouted_lines(caplog)
    data = [line for line in lines if "topic 'Si '" in line]
    assert len(data) == 2  # the 1st and the 10th, not all 12
    assert "(1 of it so far, 1 unrouted in all)" in data[0]
    assert "without its whitespace it would be 'Si'" in data[0]
    assert "(10 of it so far, 10 unrouted in all)" in data[1]
    [trades] = [line for line in lines if "topic 'alpha2'" in line]
    assert trades.startswith("trades intake on ")


def test_a_fill_on_data_is_refused_naming_the_endpoint_it_belongs_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.drops")
    with run_robot(Bidder, name="alpha", journal_dir=tmp_path) as live:
        live.feed.send_raw(b"Si", encode(_fill("alpha")))  # topic routed: decoded, then refused
        live.publish(quote("Si", 100, 101, ts=TS + 1))

        assert isinstance(live.next_command(), NewOrder)
        wait_until(
            lambda: live.host.intake_stats()["data"].dropped == {"wrong_intake": 1},
            what="the Fill counted as wrong_intake",
        )

    assert "a Fill on data, which takes Quote, Tick, " in caplog.text
    assert "; a Fill belongs on trades, published by the gateway" in caplog.text


@pytest.mark.parametrize(
    ("ts", "why"),
    [
        (0, "was 0: a zero, or seconds"),
        (1_732_723_200_000, "was 1732723200000: a zero, or seconds, milliseconds"),
        (1_732_723_200_000_000, "was 1732723200000000"),
    ],
)
def test_a_control_ts_that_is_not_wall_clock_nanoseconds_is_refused_and_not_sent(
    tmp_path: Path, ts: int, why: str
) -> None:
    with run_robot(Bidder, name="alpha", journal_dir=tmp_path) as live:
        with pytest.raises(RobotError, match=f"must be the wall clock in nanoseconds.*{why}"):
            live.host.control("alpha", ControlAction.PAUSE, ts=ts)
        live.control(Control(ts=TS, robot="alpha", action=ControlAction.PAUSE))

        wait_until(lambda: live.host.robots().by_name("alpha")["status"] == "paused")
        snapshot = live.snapshot("alpha")

    assert snapshot["last_refusal"] is None


def test_a_bad_set_params_value_is_refused_naming_the_field_and_the_value(tmp_path: Path) -> None:
    with run_robot(Bidder, name="alpha", journal_dir=tmp_path) as live:
        with pytest.raises(RobotError) as refused:
            live.host.set_params("alpha", qty="one")
        with pytest.raises(RobotError) as unknown:
            live.host.set_params("alpha", qtty=2)

    assert str(refused.value) == (
        "cannot set params of alpha: Lots refused qty='one', the params are unchanged: 'qty' "
        "must be <class 'int'> (got 'one' that is a <class 'str'>); nothing sent"
    )
    assert str(unknown.value) == (
        "cannot set params of alpha: Lots has no param 'qtty' (its params: qty); "
        "the params are unchanged; nothing sent"
    )


def test_a_controllers_call_for_an_unknown_robot_is_answered_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="yard_actors.host.control_server")
    refused = pytest.raises(RobotError, match=r"^no robot named 'nobody' on this host")
    with run_robot(Bidder, name="alpha", journal_dir=tmp_path) as live, refused:
        live.ctl.pause("nobody")

    [line] = [r for r in caplog.records if r.name == "yard_actors.host.control_server"]
    assert line.levelno == logging.WARNING
    assert "pause from " in line.getMessage()
    assert line.getMessage().endswith(
        "refused: no robot named 'nobody' on this host (robots: alpha)"
    )
