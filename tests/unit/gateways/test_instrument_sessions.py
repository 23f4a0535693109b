"""An instrument with a schedule of its own trades in its own session: the feed publishes
its changes under its symbol's name, and the paper exchange gates its orders on them
alone, while the FORTS instruments go on as before."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from gateways.feed import market_stream
from gateways.paper import PaperConfig, PaperExchange
from gateways.readers import read_file
from gateways.sessions import FORTS, schedule_of, with_instrument_sessions, with_sessions
from gateways.store.base import Report
from yard_actors.testing import quote
from yard_actors.wire.events import (
    NewOrder,
    OrderAccepted,
    OrderRejected,
    SessionState,
    SessionStatus,
    Side,
    SystemStatus,
)
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

NG = Instrument(symbol="NG", tick_size=Decimal("0.001"), schedule="10:00-14:00")
TABLE = InstrumentTable([*DEFAULT_INSTRUMENTS.values(), NG])
OPEN, CLOSED, CLEARING = SessionState.OPEN, SessionState.CLOSED, SessionState.CLEARING


def _msk(hhmm: str) -> int:
    """Wednesday 2024-03-06 at ``hhmm`` Moscow time (UTC+3), in UTC ns."""
    hours, minutes = map(int, hhmm.split(":"))
    moment = datetime(2024, 3, 6, hours - 3, minutes, tzinfo=UTC)
    return int(moment.timestamp()) * 10**9


def _order(symbol: str, price: str, ts: int, cid: str) -> NewOrder:
    return NewOrder(
        ts=ts,
        client_order_id=cid,
        robot="r1",
        symbol=symbol,
        side=Side.BUY,
        qty=1,
        price=Decimal(price),
    )


def _statuses(events: Sequence[object]) -> list[tuple[str, str, SessionState]]:
    return [
        (e.session, datetime.fromtimestamp(e.ts / 1e9, UTC).strftime("%H:%M"), e.state)
        for e in events
        if isinstance(e, SessionStatus)
    ]


def _write(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    lines = ["timestamp,symbol,bid,ask,bid_size,ask_size"]
    lines += [f"{ts},{symbol},{bid},{ask},5,5" for ts, symbol, bid, ask in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_instrument_schedule_is_open_in_its_stretches_on_weekdays_only() -> None:
    schedule = schedule_of(NG)

    assert [schedule.state_at(_msk(t)) for t in ("09:59", "10:00", "13:59", "14:00")] == [
        CLOSED,
        OPEN,
        OPEN,
        CLOSED,
    ]
    saturday = _msk("11:00") + 3 * 86_400 * 10**9
    assert schedule.state_at(saturday) is CLOSED
    assert schedule_of(DEFAULT_INSTRUMENTS["Si"]) is FORTS


def test_with_no_scheduled_instrument_the_stream_is_the_forts_one_event_for_event() -> None:
    events = [quote("Si", "90000", "90001", ts=_msk(t)) for t in ("13:00", "14:02", "15:00")]

    assert list(with_instrument_sessions(events, {})) == list(with_sessions(events, FORTS))


def test_a_scheduled_instrument_session_starts_at_its_first_event_and_follows_its_day() -> None:
    events = [
        quote("Si", "90000", "90001", ts=_msk("09:30")),
        quote("NG", "2.500", "2.501", ts=_msk("09:45")),
        quote("Si", "90000", "90001", ts=_msk("14:10")),
    ]

    stream = list(with_instrument_sessions(events, {"NG": ("NG", schedule_of(NG))}))

    assert _statuses(stream) == [
        ("FORTS", "06:30", OPEN),  # UTC: 09:30 Moscow, the morning session
        ("NG", "06:45", CLOSED),  # with NG's first quote, 09:45 Moscow
        ("NG", "07:00", OPEN),
        ("FORTS", "11:00", CLEARING),  # 14:00 Moscow: both change; FORTS started first
        ("NG", "11:00", CLOSED),
        ("FORTS", "11:05", OPEN),
    ]
    assert stream[-1] == events[-1]


def test_market_stream_gives_a_scheduled_instrument_its_own_session(tmp_path: Path) -> None:
    day = "2024-03-06T"
    si = _write(tmp_path / "si.csv", [(f"{day}07:00:00Z", "Si", "90000", "90001")])
    ng = _write(
        tmp_path / "ng.csv",
        [(f"{day}07:30:00Z", "NG", "2.500", "2.501"), (f"{day}12:00:00Z", "NG", "2.5", "2.501")],
    )
    files = [read_file(str(p), instruments=TABLE) for p in (si, ng)]

    stream = list(market_stream(files, seed=7, sessions=True, instruments=TABLE))

    assert _statuses(stream) == [
        ("FORTS", "07:00", OPEN),
        ("NG", "07:30", OPEN),
        ("FORTS", "11:00", CLEARING),
        ("NG", "11:00", CLOSED),
        ("FORTS", "11:05", OPEN),
    ]


def test_an_ng_order_at_15_00_is_refused_under_its_10_to_14_schedule_while_si_trades(
    tmp_path: Path,
) -> None:
    day = "2024-03-06T"
    market = _write(
        tmp_path / "day.csv",
        [
            (f"{day}08:00:00Z", "NG", "2.500", "2.501"),  # 11:00 Moscow
            (f"{day}08:00:00Z", "Si", "90000", "90001"),
            (f"{day}12:00:00Z", "NG", "2.500", "2.501"),  # 15:00 Moscow
            (f"{day}12:00:00Z", "Si", "90000", "90001"),
        ],
    )
    paper = PaperExchange(PaperConfig(fee_per_lot=Decimal(0)), TABLE)
    reports: list[Report] = []
    for event in market_stream(
        [read_file(str(market), instruments=TABLE)], seed=7, sessions=True, instruments=TABLE
    ):
        assert not isinstance(event, SystemStatus)  # a feed of files sends none
        reports += paper.on_market(event)

    ng = paper.submit(_order("NG", "2.501", _msk("15:00"), "ng1"))
    si = paper.submit(_order("Si", "90001", _msk("15:00"), "si1"))

    assert reports == []
    assert isinstance(ng[0], OrderRejected)
    assert ng[0].reason == "session NG is closed: orders are refused"
    assert isinstance(si[0], OrderAccepted)


def test_a_forts_status_under_any_name_gates_the_forts_instruments_but_not_a_scheduled_one() -> (
    None
):
    paper = PaperExchange(PaperConfig(fee_per_lot=Decimal(0)), TABLE)
    paper.on_market(SessionStatus(ts=_msk("11:00"), session="NG", state=OPEN))
    paper.on_market(SessionStatus(ts=_msk("11:00"), session="MOEX", state=CLEARING))

    si = paper.submit(_order("Si", "90001", _msk("11:00"), "si1"))
    ng = paper.submit(_order("NG", "2.501", _msk("11:00"), "ng1"))

    assert isinstance(si[0], OrderRejected)
    assert si[0].reason == "session MOEX is clearing: orders are refused"
    assert isinstance(ng[0], OrderAccepted)


def test_a_status_named_after_a_symbol_is_its_own_session_with_no_schedule_here() -> None:
    # A gateway started without the feed's [instruments.NG] schedule: NG's close must not
    # close the FORTS day for Si, and NG's own orders follow NG's session.
    unscheduled = Instrument(symbol="NG", tick_size=Decimal("0.001"))
    table = InstrumentTable([*DEFAULT_INSTRUMENTS.values(), unscheduled])
    paper = PaperExchange(PaperConfig(fee_per_lot=Decimal(0)), table)
    ng_quote = quote("NG", Decimal("2.500"), Decimal("2.501"), ts=_msk("11:00"))
    paper.on_market(SessionStatus(ts=_msk("11:00"), session="FORTS", state=OPEN))
    paper.on_market(SessionStatus(ts=_msk("11:00"), session="NG", state=OPEN))
    paper.on_market(ng_quote)
    paper.on_market(SessionStatus(ts=_msk("14:00"), session="NG", state=CLOSED))

    si = paper.submit(_order("Si", "90001", _msk("15:00"), "si1"))
    ng = paper.submit(_order("NG", "2.501", _msk("15:00"), "ng1"))

    assert isinstance(si[0], OrderAccepted)
    assert isinstance(ng[0], OrderRejected)
    assert ng[0].reason == "session NG is closed: orders are refused"
