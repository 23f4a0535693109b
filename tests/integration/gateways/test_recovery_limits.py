"""The recovery endpoint's bounds, on an order gateway in this process over real sockets.

A peer that does not read is dropped and a reading one is answered meanwhile;
a peer's requests past its limit are refused; replays for one robot merge; a
peer dropped once is dropped at once the next time; the recovery thread failing
stops the gateway; a gateway stopping as a silent peer mid-reply disconnects
does not take its process down. Every count is in the gateway's stats.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from gateways.recovery_limits import RecoveryLimits
from gateways.store import SQLiteOrderStore
from tests.integration.gateways.flood_rig import (
    REPO,
    LocalGateway,
    fill_history,
    read_replies,
    silent_peer,
)
from yard_actors.errors import GatewayError
from yard_actors.testing import wait_until
from yard_actors.wire.codec import decode
from yard_actors.wire.events import CancelReply, Event, Fill, OrderAccepted, OrderRejected
from yard_actors.wire.names import RECOVERY_REPLAY

HISTORY = 10_000  # 50 pages: far more than a silent peer's queue and socket buffers take


@pytest.fixture
def context() -> Iterator[zmq.Context[zmq.Socket[bytes]]]:
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    yield context
    context.destroy(linger=0)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    store = tmp_path / "orders.db"
    fill_history(store, "big", HISTORY)
    return store


def _seq(event: Event) -> int:
    """The seq of ``event``, which must be a report: only reports carry one."""
    assert isinstance(event, OrderAccepted | OrderRejected | CancelReply | Fill), event
    return event.seq


def _replay(peer: zmq.Socket[bytes], robot: str, after_seq: int = 0) -> None:
    peer.send_multipart([RECOVERY_REPLAY, robot.encode(), str(after_seq).encode()])


def test_a_reading_peer_gets_its_whole_answer_while_a_silent_one_is_dropped(
    context: zmq.Context[zmq.Socket[bytes]], history: Path
) -> None:
    rig = LocalGateway(context, history, recovery_limits=RecoveryLimits(stall_s=0.5))
    silent = silent_peer(context, rig.urls["recovery"])
    reader = context.socket(zmq.DEALER)
    reader.setsockopt(zmq.LINGER, 0)
    try:
        reader.connect(rig.urls["recovery"])
        _replay(silent, "big")
        _replay(reader, "big")
        replies = read_replies(reader, HISTORY)
        stats = rig.gateway.stats
        wait_until(lambda: stats["dropped_recovery_not_reading"] == 1, timeout=10)
    finally:
        reader.close()
        silent.close()
        rig.close()

    seqs = [_seq(decode(payload)) for reply in replies for payload in reply[2:]]
    assert seqs == list(range(1, HISTORY + 1))
    assert stats["recovery_requests_discarded"] == 1
    assert stats["replays"] == 2


def test_a_peers_requests_past_its_limit_are_refused_and_replays_for_one_robot_merge(
    context: zmq.Context[zmq.Socket[bytes]], history: Path
) -> None:
    limits = RecoveryLimits(peer_requests=3, stall_s=60)
    rig = LocalGateway(context, history, recovery_limits=limits)
    silent = silent_peer(context, rig.urls["recovery"])
    try:
        _replay(silent, "big")  # under way, and stuck: the peer never reads
        stats = rig.gateway.stats
        wait_until(lambda: stats["replays"] == 1)
        _replay(silent, "big", 7)  # waits: the one under way may have read its last page
        _replay(silent, "big", 3)  # merged into the one waiting, from seq 3
        _replay(silent, "a", 5)  # waits: 3 requests in all
        _replay(silent, "a", 2)  # merged: no more requests than before
        for robot in ("b", "c"):
            _replay(silent, robot)  # one too many
        wait_until(lambda: stats["dropped_recovery_peer_busy"] == 2)
        health = rig.gateway.health()
    finally:
        silent.close()
        rig.close()

    assert stats["recovery_merged"] == 2
    assert (health["recovery_peers"], health["recovery_waiting"]) == (1, 2)


def test_a_peer_dropped_for_not_reading_is_dropped_at_once_the_next_time(
    context: zmq.Context[zmq.Socket[bytes]], history: Path
) -> None:
    stall_s = 3.0
    rig = LocalGateway(context, history, recovery_limits=RecoveryLimits(stall_s=stall_s))
    silent = silent_peer(context, rig.urls["recovery"])
    try:
        stats = rig.gateway.stats
        _replay(silent, "big")
        wait_until(lambda: stats["dropped_recovery_not_reading"] == 1, timeout=stall_s + 10)
        _replay(silent, "big")  # its queue is as full as it was: no second grace
        wait_until(lambda: stats["dropped_recovery_not_reading"] == 2, timeout=stall_s - 0.5)
    finally:
        silent.close()
        rig.close()

    assert stats["recovery_requests_discarded"] == 2


class _UnreadablePages(SQLiteOrderStore):
    """A store whose page reads fail with an error no store may raise: a bug."""

    def report_payloads(self, robot: str, *, after_seq: int, limit: int) -> list[tuple[int, bytes]]:
        msg = f"page of {robot} after {after_seq}"
        raise RuntimeError(msg)


def test_the_recovery_thread_failing_stops_the_gateway_with_its_error(
    context: zmq.Context[zmq.Socket[bytes]], tmp_path: Path
) -> None:
    rig = LocalGateway(context, tmp_path / "orders.db", store_class=_UnreadablePages)
    reader = context.socket(zmq.DEALER)
    reader.setsockopt(zmq.LINGER, 0)
    try:
        reader.connect(rig.urls["recovery"])
        _replay(reader, "big")
        stopped = rig.gateway.wait(10)
    finally:
        reader.close()
        rig.close()

    assert stopped
    assert isinstance(rig.gateway.failure, GatewayError)
    assert "recovery thread stopped on an unexpected error: RuntimeError: page of big after 0" in (
        str(rig.gateway.failure)
    )


STOP_ROUNDS = 24  # half with the peer closing first; before the fix 2 runs in 3 aborted


def test_a_gateway_stopping_as_a_silent_peer_mid_reply_disconnects_lives_on(
    tmp_path: Path,
) -> None:
    """In a child process (libzmq asserting aborts it): see :mod:`.stop_race`.

    With ``LINGER`` 0 the recovery ROUTER let go of a half-written reply as it
    closed, and the peer's disconnect made libzmq abort (``session_base.cpp:233``);
    and the gateway's thread could hang for good in sending its recovery thread a
    stop the thread had stopped listening for.
    """
    store = tmp_path / "orders.db"
    fill_history(store, "big", 2_000)
    command = [sys.executable, "-m", "tests.integration.gateways.stop_race", str(store)]
    child = subprocess.run(
        [*command, str(STOP_ROUNDS)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )

    assert (child.returncode, child.stdout.count("round")) == (0, STOP_ROUNDS), child.stderr[-2000:]
    assert "did not end" not in child.stderr
