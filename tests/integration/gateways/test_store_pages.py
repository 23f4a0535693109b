"""``OrderStore.report_payloads``: a robot's reports a page at a time, as the wire carries them.

Run against every backend (the ``store`` fixture: a SQLite file, a database on
the MongoDB server), like the store's contract tests.
"""

from __future__ import annotations

from gateways.store import OrderStore
from yard_actors.wire.codec import decode
from yard_actors.wire.events import OrderAccepted, OrderRejected

TS = 1_700_000_000_000_000_000


def _fill(store: OrderStore, robot: str, count: int) -> None:
    with store.batch():
        for n in range(count):
            report = OrderAccepted(
                ts=TS + n, client_order_id=f"{robot}-{n}", robot=robot, exchange_order_id=f"X{n}"
            )
            store.add_report(robot, report)


def test_pages_of_a_history_hold_each_report_once_in_seq_order(store: OrderStore) -> None:
    _fill(store, "r", 25)
    _fill(store, "other", 3)

    pages, after = [], 0
    while page := store.report_payloads("r", after_seq=after, limit=10):
        pages.append(page)
        after = page[-1][0]

    assert [len(page) for page in pages] == [10, 10, 5]
    rows = [row for page in pages for row in page]
    assert [seq for seq, _ in rows] == list(range(1, 26))
    assert [decode(payload) for _, payload in rows] == [r.report for r in store.reports("r")]


def test_a_page_holds_the_bytes_the_gateway_published(store: OrderStore) -> None:
    rejected = OrderRejected(ts=TS, client_order_id="r-1", robot="r", reason="price off the grid")
    record = store.add_report("r", rejected)

    [(seq, payload)] = store.report_payloads("r", after_seq=0, limit=5)

    assert seq == record.seq == 1
    assert decode(payload) == record.report


def test_a_page_past_the_end_or_of_an_unknown_robot_is_empty(store: OrderStore) -> None:
    _fill(store, "r", 2)

    assert store.report_payloads("r", after_seq=2, limit=5) == []
    assert store.report_payloads("nobody", after_seq=0, limit=5) == []
