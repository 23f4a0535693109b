"""A child process for the stop race test: a gateway stops as a peer mid-reply disconnects.

``python -m tests.integration.gateways.stop_race STORE ROUNDS`` makes, ROUNDS
times, an order gateway on ``STORE`` (a SQLite file holding robot ``big``'s
history) and a peer that asks for that history and never reads, so the
gateway's connection to it holds a reply half-written; then closes the peer
and stops the gateway, in one order on even rounds and the other on odd ones,
and ends the context. libzmq asserting kills this process (SIGABRT), which is
why it is a process of its own; the test reads its exit code and its stderr.
Prints ``round N`` after each round.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import zmq

from gateways.recovery_limits import RecoveryLimits
from tests.integration.gateways.flood_rig import LocalGateway, silent_peer
from yard_actors.testing import wait_until
from yard_actors.wire.names import RECOVERY_REPLAY

ROBOT = "big"


def one_round(store: Path, *, peer_first: bool) -> None:
    """A silent peer gets two pages in; then both sides close, in the order given."""
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    try:
        rig = LocalGateway(context, store, recovery_limits=RecoveryLimits(stall_s=60))
        silent = silent_peer(context, rig.urls["recovery"])
        silent.send_multipart([RECOVERY_REPLAY, ROBOT.encode(), b"0"])
        wait_until(lambda: rig.gateway.stats["recovery_pages"] >= 2, timeout=10)
        time.sleep(0.02)  # the connection's writer runs into the peer's full buffers
        if peer_first:
            silent.close()
            rig.close()
        else:
            rig.close()
            silent.close()
    finally:
        context.destroy(linger=0)


def main() -> None:
    store, rounds = Path(sys.argv[1]), int(sys.argv[2])
    for n in range(rounds):
        one_round(store, peer_first=n % 2 == 0)
        print(f"round {n}", flush=True)


if __name__ == "__main__":
    main()
