"""nx-27017 on a fixed port and data directory, so that a test can stop it and start it again.

:func:`yard_actors.testing.mongo.nx_server` picks a new port each time and stops for
good; an outage test needs the server back where its clients left it, with its files.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from pathlib import Path

from yard_actors.testing import wait_until

__all__ = ["NxServer"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class NxServer:
    """nx-27017 with its files in ``directory``; :meth:`start` and :meth:`stop` as often as needed.

    ``url`` names the server (no database); :meth:`database_url` one database on it,
    with ``serverSelectionTimeoutMS`` (a client waits that long, not 30 s, while it is down).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = _free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self._process: subprocess.Popen[bytes] | None = None

    def database_url(self, database: str, *, selection_ms: int = 1000) -> str:
        return self.url.replace("/?", f"/{database}?") + f"&serverSelectionTimeoutMS={selection_ms}"

    def start(self) -> None:
        start = "import sys; from nx_27017 import main; sys.exit(main())"
        command = [
            *(sys.executable, "-c", start),
            *("--data-dir", str(self.directory / "data")),
            *("-p", str(self.port)),
            *("--pid-file", str(self.directory / "nx-27017.pid")),
            *("--log-file", str(self.directory / "nx-27017.log")),
        ]
        with (self.directory / "output.txt").open("ab") as output:
            self._process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        wait_until(self._answers, timeout=30, what=f"nx-27017 on port {self.port}")

    def stop(self) -> None:
        """SIGTERM, and wait for it to go (SIGKILL after 10 s); idempotent."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None

    def _answers(self) -> bool:
        assert self._process is not None
        assert self._process.poll() is None, "nx-27017 exited"
        with contextlib.closing(socket.socket()) as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0
