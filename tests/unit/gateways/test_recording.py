"""Recorder.record_all: the one path by which the gateway and the backtest desk store reports.

On a real SQLite file: what is stored is handed back in the caller's list, in
order; what the store refuses is counted and logged (rate-limited) under the
caller's name and logger, and the reports after it are still stored.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from gateways.drops import LOG_FIRST
from gateways.recording import Recorder
from gateways.store import open_store
from gateways.store.base import OrderStore, ReportRecord
from yard_actors.testing import accepted, filled
from yard_actors.wire.events import Fill, NewOrder, OrderAccepted, Side

TS = 1_764_226_800_000_000_000
CALLER = "tests.recording.caller"  # the caller's logger: the records are told apart by it


def order(cid: str) -> NewOrder:
    return NewOrder(
        ts=TS, client_order_id=cid, robot="alpha", symbol="Si", side=Side.BUY, qty=2,
        price=Decimal("90000"),
    )  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OrderStore]:
    with open_store(f"sqlite:///{tmp_path / 'orders.db'}") as store:
        yield store


@pytest.fixture
def stats() -> Counter[str]:
    return Counter()


@pytest.fixture
def recorder(store: OrderStore, stats: Counter[str]) -> Recorder:
    return Recorder(store, working=0, stats=stats, who="test desk", log=logging.getLogger(CALLER))


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == CALLER]


def test_record_all_appends_what_it_stores_to_the_callers_list_in_order(
    recorder: Recorder, store: OrderStore
) -> None:
    buy = order("b1")
    recorder.add_order(buy)
    into: list[ReportRecord] = []

    recorder.record_all([accepted(buy), filled(buy, 1, trade_id="T1")], into)
    recorder.record_all([filled(buy, 1, trade_id="T2")], into)

    assert [(type(r.report), r.seq) for r in into] == [(OrderAccepted, 1), (Fill, 2), (Fill, 3)]
    assert into == store.reports("alpha")
    assert recorder.working == 0  # filled: no longer working


def test_a_report_the_orders_state_refuses_is_counted_and_logged_as_the_callers_and_the_next_stored(
    recorder: Recorder, stats: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=CALLER)
    buy = order("b1")
    recorder.add_order(buy)
    into: list[ReportRecord] = []

    recorder.record_all([accepted(buy), accepted(buy), filled(buy, 1, trade_id="T1")], into)

    assert [type(r.report) for r in into] == [OrderAccepted, Fill]
    assert stats["store_refused"] == 1
    [line] = refusal_lines(caplog)
    assert line.startswith("test desk: the store refused OrderAccepted(")
    assert "order b1 cannot go from accepted to accepted" in line


def test_a_fill_under_another_fills_trade_id_is_counted_and_logged_and_not_stored(
    recorder: Recorder, store: OrderStore, stats: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=CALLER)
    first, second = order("b1"), order("b2")
    for buy in (first, second):
        recorder.add_order(buy)
    recorder.record_all([accepted(first), accepted(second)], [])
    into: list[ReportRecord] = []

    recorder.record_all([filled(first, 1, trade_id="T1"), filled(second, 1, trade_id="T1")], into)

    assert [r.report.client_order_id for r in into] == ["b1"]
    assert stats["store_refused"] == 1
    [line] = refusal_lines(caplog)
    assert "Trade id T1 is already stored for another fill" in line
    record = store.order("b2")
    assert record is not None
    assert record.filled_qty == 0


def test_the_same_fill_again_stores_nothing_and_is_no_refusal(
    recorder: Recorder, stats: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=CALLER)
    buy = order("b1")
    recorder.add_order(buy)
    fill = filled(buy, 1, trade_id="T1")
    recorder.record_all([accepted(buy), fill], [])
    into: list[ReportRecord] = []

    recorder.record_all([fill], into)

    assert into == []
    assert stats["store_refused"] == 0
    assert refusal_lines(caplog) == []


def test_every_refusal_is_counted_but_a_flood_of_them_is_logged_rate_limited(
    recorder: Recorder, stats: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger=CALLER)
    buy = order("b1")
    recorder.add_order(buy)
    recorder.record_all([accepted(buy)], [])
    into: list[ReportRecord] = []

    recorder.record_all([accepted(buy)] * (LOG_FIRST + 5), into)

    assert into == []
    assert stats["store_refused"] == LOG_FIRST + 5
    assert len(refusal_lines(caplog)) == LOG_FIRST


def test_a_recorder_told_no_name_logs_as_the_order_gateway(
    store: OrderStore, stats: Counter[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="gateways.recording")
    recorder = Recorder(store, working=0, stats=stats)
    buy = order("b1")
    recorder.add_order(buy)

    recorder.record_all([accepted(buy), accepted(buy)], [])

    lines = [r.getMessage() for r in caplog.records if r.name == "gateways.recording"]
    assert [line.split(" OrderAccepted(")[0] for line in lines] == [
        "order gateway: the store refused"
    ]
