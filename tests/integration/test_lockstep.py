"""Market time: ``yard run`` at full speed gives the same run every time (issue 14, item 1).

The runs are the real thing, in process (:func:`run_all`: feed, paced gateway, host,
robots, SQLite store): the same day twice must print the same summary table and leave
the same orders and fills in the two stores. Wall-clock ids and times (run folders,
the seconds a run took) are the only things allowed to differ. The paced gateway's
rules (:mod:`gateways.paced`) are checked on a real gateway with raw sockets.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import zmq

from gateways.order_gateway import OrderGateway
from gateways.paced import Pacer
from gateways.paper import PaperConfig, PaperExchange
from gateways.store import open_store
from yard_actors.app.config_file import system_settings
from yard_actors.app.yard_run import fresh_run_dir, in_run_dir, run_all
from yard_actors.testing import quote
from yard_actors.wire.codec import decode, encode
from yard_actors.wire.events import Fill, NewOrder, OrderAccepted, Side

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

TS = 1_764_226_800_000_000_000  # 2025-11-27T07:00:00Z
SAMPLE_DAY_EVENTS = 20_000  # of the sample day's ~156,000: its first hours, trading all along


# --- the paced gateway ---------------------------------------------------------------------


class PacedRig:
    """A paced OrderGateway on inproc with a feed (XPUB), an order PUSH and a trades SUB."""

    def __init__(self, tmp_path: Path) -> None:
        self.context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.feed = self._socket(zmq.XPUB)
        self.feed.bind("inproc://paced-data")
        self.store = open_store(f"sqlite:///{tmp_path / 'orders.db'}")
        self.gateway = OrderGateway(
            store=self.store,
            exchange=PaperExchange(PaperConfig(require_session=False)),
            orders="inproc://paced-orders",
            trades="inproc://paced-trades",
            data="inproc://paced-data",
            symbols=["Si"],
            context=self.context,
            paced=True,
        )
        self.pacer: Pacer = self.gateway.pacer()
        self.push = self._socket(zmq.PUSH)
        self.push.connect("inproc://paced-orders")
        self.trades = self._socket(zmq.SUB)
        self.trades.subscribe(b"")
        self.trades.connect("inproc://paced-trades")
        assert self.feed.poll(10_000), "the gateway did not subscribe to the feed"
        self.feed.recv()
        self._releases = 0
        self._warm_up()

    def _socket(self, kind: int) -> zmq.Socket[bytes]:
        socket = self.context.socket(kind)
        socket.setsockopt(zmq.LINGER, 0)
        return socket

    def _warm_up(self) -> None:
        """Until the trades SUB hears the gateway (a PUB drops what goes before that)."""
        for n in range(100):
            self.send(order(f"warm-up-{n}", robot="warm-up", ts=0, price="1"))  # never fills
            self.release()
            if self.trades.poll(100):
                break
        else:
            pytest.fail("the trades subscription never reached the gateway")
        while self.trades.poll(50):
            self.trades.recv_multipart()

    def publish(self, event: Any) -> None:
        taken = self.paced.market_taken
        self.feed.send_multipart([event.symbol.encode(), encode(event)])
        until(lambda: self.paced.market_taken > taken, "the gateway to take the quote")

    def send(self, command: NewOrder) -> None:
        taken = self.paced.commands_taken
        self.push.send_multipart([command.robot.encode(), encode(command)])
        until(lambda: self.paced.commands_taken > taken, "the gateway to take the order")

    def release(self) -> None:
        self._releases += 1
        self.pacer.release()
        until(lambda: self.paced.releases >= self._releases, "the gateway to release")

    def reports(self, seconds: float = 0.3) -> list[Any]:
        """The reports that come on trades until ``seconds`` pass without one."""
        found = []
        while self.trades.poll(int(seconds * 1000)):
            topic, payload = self.trades.recv_multipart()
            if not topic.startswith(b"$"):  # the gateway's heartbeats
                found.append(decode(payload))
        return found

    @property
    def paced(self) -> Any:
        return self.gateway.paced

    def close(self) -> None:
        self.pacer.close()
        self.gateway.stop()
        self.store.close()
        for socket in (self.feed, self.push, self.trades):
            socket.close()
        self.context.term()


def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.001)


def order(cid: str, *, robot: str, ts: int, price: str = "90001") -> NewOrder:
    """A buy of one lot of Si: marketable against the quotes below."""
    return NewOrder(
        ts=ts, client_order_id=cid, robot=robot, symbol="Si", side=Side.BUY, qty=1,
        price=Decimal(price),
    )  # fmt: skip


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[PacedRig]:
    rig = PacedRig(tmp_path)
    yield rig
    rig.close()


def test_a_paced_gateway_holds_an_order_until_its_data_reaches_the_orders_ts(
    rig: PacedRig,
) -> None:
    rig.publish(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    rig.release()
    rig.send(order("ahead", robot="r", ts=TS + 10))  # a reaction to data not yet applied

    rig.release()
    held = rig.reports()
    rig.publish(quote("Si", 90000, 90001, ts=TS + 10, bid_size=5, ask_size=5))
    rig.release()
    applied = rig.reports()

    assert held == []
    assert [type(r) for r in applied] == [OrderAccepted, Fill]
    assert applied[1].ts == TS + 10
    assert applied[1].price == Decimal(90001)


def test_a_paced_gateway_takes_nothing_before_it_is_released(rig: PacedRig) -> None:
    rig.publish(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=5))
    rig.send(order("o-1", robot="r", ts=TS))

    before = rig.reports()
    rig.release()
    after = rig.reports()

    assert before == []
    assert [type(r) for r in after] == [OrderAccepted, Fill]


def test_a_paced_gateway_applies_a_rounds_orders_by_robot_whatever_their_arrival(
    rig: PacedRig,
) -> None:
    rig.publish(quote("Si", 90000, 90001, ts=TS, bid_size=5, ask_size=1))  # one lot for one
    for robot in ("zed", "amy", "bob"):  # arrival order: not the order they are applied in
        rig.send(order(f"{robot}-1", robot=robot, ts=TS))

    rig.release()
    reports = rig.reports()

    fills = [r.client_order_id for r in reports if isinstance(r, Fill)]
    accepted = [r.client_order_id for r in reports if isinstance(r, OrderAccepted)]
    assert fills == ["amy-1"]
    assert accepted == ["amy-1", "bob-1", "zed-1"]


# --- yard run, twice -----------------------------------------------------------------------


def run_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: dict[str, Any], limit: int | None
) -> list[dict[str, Any]]:
    """Run ``config`` twice as ``yard run`` does, each in a run folder of its own."""
    return [run_once(tmp_path, capsys, config, limit) for _ in range(2)]


def run_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: dict[str, Any], limit: int | None
) -> dict[str, Any]:
    """``yard run`` at full speed with the default clock: the summary table and the store."""
    settings = in_run_dir(system_settings(config, source="<test>"), fresh_run_dir(tmp_path))
    capsys.readouterr()
    code = run_all(settings, speed=None, live=False, limit=limit)
    printed = capsys.readouterr().out
    table = printed[: printed.index(" events in ")]  # then its seconds and its run folder
    with open_store(settings.store) as store:
        names = [robot.name for robot in settings.host.robots]
        orders = {
            name: [
                (o.client_order_id, o.side, o.price, o.qty, o.state, o.filled_qty, o.created_ts)
                for o in store.orders(robot=name)
            ]
            for name in names
        }
        fills = {
            name: [
                (f.client_order_id, f.trade_id, f.price, f.qty, f.ts, f.seq)
                for f in (t.fill for t in store.trades(robot=name))
            ]
            for name in names
        }
    return {"code": code, "table": table, "orders": orders, "fills": fills}


def assert_same_runs(first: dict[str, Any], second: dict[str, Any]) -> None:
    assert first["code"] == second["code"] == 0
    traded = {name: len(fills) for name, fills in first["fills"].items()}
    assert sum(traded.values()) > 20, f"too few fills to tell runs apart: {traded}"
    assert first["table"] == second["table"]
    for name in first["orders"]:
        assert first["orders"][name] == second["orders"][name], f"{name}'s orders differ"
        assert first["fills"][name] == second["fills"][name], f"{name}'s fills differ"


def test_yard_run_gives_the_same_table_orders_and_fills_twice_on_the_sample_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = run_twice(tmp_path, capsys, {}, SAMPLE_DAY_EVENTS)

    assert_same_runs(first, second)


def test_yard_run_gives_the_same_table_orders_and_fills_twice_on_a_finam_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_finam_ticks(tmp_path / "si-rts.txt", ticks=6_000)
    robots = [  # the example robots trade on quotes, which Finam files have none of
        {"class": "tests.integration.tick_robots:TickTrend", "name": "trend-si"},
        {"class": "tests.integration.tick_robots:TickFader", "name": "fader"},
    ]
    config = {"feed": {"files": [str(data)]}, "robots": robots}

    first, second = run_twice(tmp_path, capsys, config, None)

    assert_same_runs(first, second)


def write_finam_ticks(path: Path, *, ticks: int) -> Path:
    """Finam ticks of Si and RTS from 10:00 Moscow time, a seeded walk on each one's tick."""
    rng = random.Random(14)
    prices = {"SPFB.Si": 90_000, "SPFB.RTS": 110_000}
    steps = {"SPFB.Si": 1, "SPFB.RTS": 10}
    rows = ["<TICKER>;<PER>;<DATE>;<TIME>;<LAST>;<VOL>"]
    for n in range(ticks):
        ticker = "SPFB.Si" if n % 3 else "SPFB.RTS"
        prices[ticker] += steps[ticker] * rng.choice((-2, -1, 0, 0, 1, 2))
        ms = 100 * n  # ten ticks a second
        clock = f"{10 + ms // 3_600_000:02d}{ms // 60_000 % 60:02d}{ms // 1000 % 60:02d}"
        rows.append(
            f"{ticker};0;20251127;{clock}{ms % 1000:03d};{prices[ticker]};{rng.randint(1, 9)}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
