"""The gateway fails loudly or recovers, never hangs alive: hostile frames, adapter faults.

A real :class:`OrderGateway` over a SQLite file and real ZeroMQ sockets; the
exchange is the paper exchange, or :class:`~.exchanges.Brittle` (the paper
exchange with faults on demand) where a fault is the point.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.drops import LOG_FIRST
from gateways.store import OrderState, open_store
from tests.integration.gateways.exchanges import BOOM, CRASH, Brittle
from tests.integration.gateways.gateway_wire import GatewayRig, order
from yard_actors.testing import quote as build_quote
from yard_actors.testing import wait_until
from yard_actors.wire.codec import encode
from yard_actors.wire.events import CancelOrder, OrderAccepted, OrderRejected
from yard_actors.wire.names import RECOVERY_REPLAY


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[GatewayRig]:
    rig = GatewayRig(open_store(f"sqlite:///{tmp_path}/orders.db"))
    yield rig
    rig.close()


@pytest.fixture
def brittle(tmp_path: Path) -> Iterator[GatewayRig]:
    rig = GatewayRig(open_store(f"sqlite:///{tmp_path}/orders.db"), Brittle())
    yield rig
    rig.close()


def _payload(**fields: object) -> bytes:
    """A NewOrder's JSON with ``fields`` changed, spelled as a hostile sender might."""
    base: dict[str, object] = {
        "type": "NewOrder",
        "v": 1,
        "ts": 1,
        "client_order_id": "h-1",
        "robot": "r",
        "symbol": "Si",
        "side": "buy",
        "qty": 1,
        "price": "100",
    }
    base.update(fields)
    return json.dumps(base).encode()


def test_hostile_commands_are_counted_and_dropped_and_a_good_order_still_round_trips(
    rig: GatewayRig,
) -> None:
    wire = rig.wire
    hostile = [
        [b"r", _payload(price="NaN")],
        [b"r", _payload(price="Infinity")],
        [b"r", _payload(price="1e999999")],
        [b"r", _payload(qty=2**64)],
        [b"r", _payload(qty=-3)],
        [b"r", b"not json"],
        [b"r"],
        [b"r", _payload(), b"extra"],
        [b"someone-else", _payload()],
        [b"r", encode(CancelOrder(ts=1, client_order_id="x", robot="r")), b""],
        [
            b"Si",
            b'{"type":"Tick","v":1,"ts":1,"symbol":"Si","price":"1","qty":1,"aggressor":"buy"}',
        ],
    ]
    for frames in hostile:
        wire.send_frames(frames)
    wire.send(order("good-1"))

    [report] = wire.reports(1)

    assert isinstance(report, OrderAccepted)
    assert report.client_order_id == "good-1"
    stats = rig.gateway.stats
    assert stats["dropped_command_bad_field"] == 5
    assert stats["dropped_command_not_json"] == 1
    assert stats["dropped_command_bad_frames"] == 3
    assert stats["dropped_command_topic_mismatch"] == 1
    assert stats["dropped_command_wrong_intake"] == 1
    assert rig.gateway.failure is None


def test_a_price_the_tick_check_cannot_divide_gets_one_answer_and_the_gateway_goes_on(
    rig: GatewayRig,
) -> None:
    """Valid per docs/wire.md, yet 1e28 % 1 overflows the default decimal context."""
    wire = rig.wire
    wire.send_frames(
        [b"r", _payload(client_order_id="huge-1", price="10000000000000000000000000000")]
    )
    wire.send(order("good-2"))

    reports = wire.reports(2)

    assert [r.client_order_id for r in reports] == ["huge-1", "good-2"]
    assert isinstance(reports[1], OrderAccepted)
    assert wire.quiet(0.2) == []
    record = rig.store.order("huge-1")
    assert record is not None
    assert record.state in (OrderState.ACCEPTED, OrderState.REJECTED)


def test_hostile_recovery_requests_are_dropped_and_replay_still_answers(rig: GatewayRig) -> None:
    wire = rig.wire
    wire.send(order("good-3"))
    wire.reports(1)
    hostile = [
        [RECOVERY_REPLAY, b"r", b"99999999999999999999"],
        [RECOVERY_REPLAY, b"r", b"abc"],
        [RECOVERY_REPLAY, b"r", b"-5"],
        [RECOVERY_REPLAY, b"r", b" 5"],
        [RECOVERY_REPLAY, b"r"],
        [RECOVERY_REPLAY, b"r", b"0", b"more"],
        [RECOVERY_REPLAY, b"\xff\xfe", b"0"],
        [RECOVERY_REPLAY, b"", b"0"],
        [b"rewind", b"r", b"0"],
        [b"resolve", b"r", b"x" * 200],
    ]
    for frames in hostile:
        wire.recovery.send_multipart(frames)

    replayed = wire.replayed("r")

    assert [type(r).__name__ for r in replayed] == ["OrderAccepted"]
    stats = rig.gateway.stats
    assert stats["dropped_recovery_bad_seq"] == 4
    assert stats["dropped_recovery_bad_frames"] == 2
    assert stats["dropped_recovery_bad_robot"] == 2
    assert stats["dropped_recovery_unknown_request"] == 1
    assert stats["dropped_recovery_bad_client_order_id"] == 1


def test_hostile_market_data_is_dropped_and_the_gateway_goes_on(rig: GatewayRig) -> None:
    feed, wire = rig.feed, rig.wire
    quote = encode(build_quote("Si", 99, 101, ts=1))
    hostile = [
        [b"Si"],
        [b"Si", b"{"],
        [b"Si", quote.replace(b'"bid":"99"', b'"bid":"NaN"')],
        [b"Si", encode(order("m-1"))],
        [b"Si", quote.replace(b'"Si"', b'"RTS"')],
    ]
    for frames in hostile:
        feed.send_multipart(frames)
    wire.send(order("good-4"))

    [report] = wire.reports(1)

    assert isinstance(report, OrderAccepted)
    wait_until(
        lambda: sum(v for k, v in rig.gateway.stats.items() if k.startswith("dropped_market")) == 5
    )
    stats = rig.gateway.stats
    assert stats["dropped_market_bad_frames"] == 1
    assert stats["dropped_market_not_json"] == 1
    assert stats["dropped_market_bad_field"] == 1
    assert stats["dropped_market_wrong_intake"] == 1
    assert stats["dropped_market_topic_mismatch"] == 1


def test_a_flood_of_bad_commands_logs_a_few_lines_not_one_each(
    rig: GatewayRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.drops")
    for _ in range(3000):
        rig.wire.send_frames([b"r", b"not json"])
    rig.wire.send(order("good-5"))

    rig.wire.reports(1)

    assert rig.gateway.stats["dropped_command_not_json"] == 3000
    lines = [r for r in caplog.records if r.name == "gateways.drops"]
    assert len(lines) == LOG_FIRST + 3  # the first ten, then the 1000th, 2000th, 3000th
    assert "(not_json, 3000 so far)" in lines[-1].getMessage()


def test_an_adapter_failing_on_one_order_gets_it_rejected_and_serves_the_next(
    brittle: GatewayRig,
) -> None:
    wire = brittle.wire
    wire.send(order("boom-1", symbol=BOOM))
    wire.send(order("fine-1"))

    rejected, accepted = wire.reports(2)

    assert isinstance(rejected, OrderRejected)
    assert rejected.client_order_id == "boom-1"
    assert "the exchange adapter failed on this order: RuntimeError" in rejected.reason
    assert isinstance(accepted, OrderAccepted)
    record = brittle.store.order("boom-1")
    assert record is not None
    assert record.state is OrderState.REJECTED
    assert brittle.gateway.stats["adapter_errors"] == 1


def test_a_gateway_whose_thread_dies_says_why_and_stops_serving(brittle: GatewayRig) -> None:
    brittle.wire.send(order("crash-1", symbol=CRASH))

    assert brittle.gateway.wait(timeout=10)

    failure = brittle.gateway.failure
    assert isinstance(failure, RuntimeError)
    assert str(failure) == "the exchange link's thread died"
