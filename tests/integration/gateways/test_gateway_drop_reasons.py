"""The gateway logs why it drops bad market data and commands, naming where a message belongs.

A real :class:`OrderGateway` over a SQLite file and real ZeroMQ sockets (the rig of
``gateway_wire``): a feed author or host author reading the log learns the reason and,
for a message on the wrong endpoint, the endpoint it belongs on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateways.store import open_store
from tests.integration.gateways.gateway_wire import GatewayRig, order
from yard_actors.testing import quote as build_quote
from yard_actors.testing import wait_until
from yard_actors.wire.codec import encode
from yard_actors.wire.events import OrderAccepted


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[GatewayRig]:
    rig = GatewayRig(open_store(f"sqlite:///{tmp_path}/orders.db"))
    yield rig
    rig.close()


def _drops(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "gateways.drops"]


def test_bad_market_data_is_logged_with_its_reason_and_where_it_belongs(
    rig: GatewayRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.drops")
    quote = encode(build_quote("Si", 99, 101, ts=1))
    rig.feed.send_multipart([b"Si", quote.replace(b'"bid":"99"', b'"bid":"NaN"')])
    rig.feed.send_multipart([b"Si", encode(order("m-1"))])
    rig.wire.send(order("good-1"))

    [report] = rig.wire.reports(1)
    wait_until(lambda: len(_drops(caplog)) == 2, what="two drops logged")

    assert isinstance(report, OrderAccepted)
    bad_field, wrong = _drops(caplog)
    assert bad_field.startswith("order gateway dropped market data (bad_field, 1 so far): ")
    assert "Quote.bid must be a finite decimal" in bad_field
    assert wrong.startswith(
        "order gateway dropped market data (wrong_intake, 1 so far): a NewOrder on data, "
        "which takes Quote, Tick, "
    )
    assert wrong.endswith("; a NewOrder belongs on orders, sent by a host to the gateway")


def test_a_report_sent_as_a_command_names_trades_as_its_endpoint(
    rig: GatewayRig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gateways.drops")
    accepted = OrderAccepted(ts=1, client_order_id="r-1", robot="r")
    rig.wire.send_frames([b"r", encode(accepted)])
    rig.wire.send(order("good-2"))

    rig.wire.reports(1)
    wait_until(lambda: len(_drops(caplog)) == 1, what="the drop logged")

    [line] = _drops(caplog)
    assert line.startswith("order gateway dropped a command (wrong_intake, 1 so far): ")
    assert line.endswith("; an OrderAccepted belongs on trades, published by the gateway")
