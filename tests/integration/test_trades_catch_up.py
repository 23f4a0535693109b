"""A host that falls behind on ``trades`` gets every report back, once each, in seq order.

The gateway's ``trades`` PUB queues at most :data:`~gateways.endpoints.TRADES_QUEUE`
reports per subscriber and drops the rest (``docs/wire.md`` 4a), and the host's trades
SUB at most :data:`~yard_actors.host.trades_intake.TRADES_RCVHWM`: a host that stops
reading for long loses them there, and must get them back from the ``$seqs`` heartbeat
and a replay on ``recovery``. Here a real ``yard gateway`` process (paper exchange,
SQLite, ``ipc://``) and a real :class:`Host` with both queues at their real sizes: its
robot sends IOC orders in bursts (each order an acceptance and a cancel), and the host's
trades intake is held still while the gateway answers the first burst, half as much
again as both queues hold, then let go as the robot sends a second burst, whose live
reports come while the gap is still being replayed.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import pytest

from gateways.endpoints import TRADES_QUEUE
from gateways.store import SQLiteOrderStore
from tests.integration.gateways.flood_rig import GatewayProcess
from yard_actors import CancelReply, Control, Host, OrderAccepted, OrderRejected, Robot, TimeInForce
from yard_actors.host.trades_intake import TRADES_RCVHWM, TradesIntake
from yard_actors.journal import read_robot
from yard_actors.robot.robot import HandlerResult
from yard_actors.testing import wait_until
from yard_actors.wire.codec import decode

ROBOT: Final = "burster"
# Two reports an order: the first burst is 1.5 times what the two queues hold together.
FIRST_BURST: Final = 3 * (TRADES_QUEUE + TRADES_RCVHWM) // 4
SECOND_BURST: Final = 2_000
REPORTS: Final = 2 * (FIRST_BURST + SECOND_BURST)


class Burster(Robot):
    """On ``set_params orders=N``, sends N IOC buys (no market: each accepted, then
    cancelled), and notes the seq of every report it handles."""

    symbols = ("Si",)

    def on_start(self) -> None:
        self.seqs: list[int] = []

    def on_control(self, control: Control) -> HandlerResult:
        count = int(control.params.get("orders", 0))
        return [self.buy("Si", 1, Decimal(100), tif=TimeInForce.IOC) for _ in range(count)]

    def on_order_update(self, reply: OrderAccepted | OrderRejected | CancelReply) -> HandlerResult:
        self.seqs.append(reply.seq)
        return None


class Gate:
    """Holds the trades intake's receive thread at its next delivery until :meth:`open`."""

    def __init__(self) -> None:
        self._open = threading.Event()
        self.held = threading.Event()

    def wait(self) -> None:
        if not self._open.is_set():
            self.held.set()
            self._open.wait(120)

    def open(self) -> None:
        self._open.set()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    made = Gate()
    deliver = TradesIntake._deliver

    def held_deliver(intake: TradesIntake, admitted: list[Any]) -> None:
        made.wait()
        deliver(intake, admitted)

    monkeypatch.setattr(TradesIntake, "_deliver", held_deliver)
    yield made
    made.open()  # never leave the receive thread stuck at teardown


def _host(gateway: GatewayProcess, journal: Path, sockets: Path) -> Host:
    return Host(
        data=f"ipc://{sockets}/data",  # no feed: the robot trades on controls alone
        orders=gateway.urls["orders"],
        trades=gateway.urls["trades"],
        recovery=gateway.urls["recovery"],
        control=f"ipc://{sockets}/control",
        journal_dir=journal,
        reply_timeout=120.0,  # the heartbeat and the replay bring them back, not resolve
        ask_timeout=30.0,
    )


def _handled(host: Host) -> list[int]:
    return list(host.snapshot(ROBOT)["state"]["seqs"])


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_host_that_fell_behind_the_trades_queues_gets_every_report_once_in_order(
    tmp_path: Path, gate: Gate
) -> None:
    sockets = Path(tempfile.mkdtemp(prefix="yc-", dir="/tmp"))
    store = tmp_path / "orders.db"
    with (
        GatewayProcess(store, tmp_path) as gateway,
        _host(gateway, tmp_path / "journal", sockets) as host,
    ):
        host.add_robot(Burster, name=ROBOT)
        time.sleep(0.5)  # the PUB drops what it sends before the SUB joins
        host.control(ROBOT, "set_params", {"orders": FIRST_BURST})
        assert gate.held.wait(30), "the trades intake never delivered a report"
        wait_until(lambda: gateway.health()["reports"] >= 2 * FIRST_BURST, timeout=120)

        gate.open()
        host.control(ROBOT, "set_params", {"orders": SECOND_BURST})
        wait_until(lambda: len(_handled(host)) >= REPORTS, timeout=120, what="every report handled")
        time.sleep(1.0)  # a few heartbeats more: nothing else may come
        handled = _handled(host)
        pages = gateway.health()["recovery_pages"]

    with SQLiteOrderStore(store, checkpoint_interval_s=None) as orders:
        stored = [record.seq for record in orders.reports(ROBOT)]
    events = [decode(e.payload) for e in read_robot(tmp_path / "journal", ROBOT).entries]
    journaled = [e.seq for e in events if isinstance(e, OrderAccepted | CancelReply)]
    assert stored == list(range(1, REPORTS + 1))
    assert pages > 50, "under 10,000 reports came by replay: the host's queue never overflowed"
    assert handled == stored, f"{len(handled)} handled; first out of place at {_first_off(handled)}"
    assert journaled == stored


def _first_off(seqs: list[int]) -> int | None:
    return next((n for n, seq in enumerate(seqs, 1) if seq != n), None)
