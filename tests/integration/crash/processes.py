"""The crash rig's processes: one ``yard`` command each, started again at will, killed at will.

Apart from :mod:`.deployment` because a process knows nothing of feeds, gateways or hosts:
it starts, waits for its ready line, is SIGKILLed or SIGTERMed, and keeps each run's output
in numbered logs. The small waits every part of the rig shares (:func:`poll`, :func:`note`,
:func:`free_port`) are here too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "POLL_S",
    "REPO",
    "START_S",
    "STOP_S",
    "YardProcess",
    "free_port",
    "note",
    "poll",
    "start_together",
    "yard_process",
]

REPO = Path(__file__).resolve().parents[3]

START_S = 30.0  # a process must print its ready line within this
STOP_S = 20.0  # a process told to stop (SIGTERM) must be gone within this
POLL_S = 0.05


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def note(logs: Path, text: str) -> None:
    """Append a timestamped line to ``logs/rig.log``: what the rig did, and when."""
    now = time.time()
    stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
    with (logs / "rig.log").open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {text}\n")


def poll(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(POLL_S)
    return True


class YardProcess:
    """One command as a process of its own, started again at will; output in numbered logs.

    ``ready`` is the start of the line it prints once it serves (None: it is ready
    at once). Run ``n`` writes ``{name}.{n}.out`` and ``{name}.{n}.err`` in ``logs``.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        logs: Path,
        *,
        ready: str | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.command = list(command)
        self.logs = logs
        self.ready = ready
        self.runs = 0
        self.kills = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._killed = False  # SIGKILL sent by signal_kill, not yet reaped
        self._launched = 0.0

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def output(self, run: int | None = None) -> str:
        return self._log(run, "out")

    def errors(self, run: int | None = None) -> str:
        return self._log(run, "err")

    def _log(self, run: int | None, kind: str) -> str:
        path = self.logs / f"{self.name}.{run or self.runs}.{kind}"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, timeout: float = START_S) -> None:
        """Start it and wait for its ready line; raise RuntimeError with its logs if none comes."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start it and return at once: :meth:`wait_ready` waits for it to serve."""
        if self.running:
            msg = f"{self.name} is already running (pid {self.pid}); stop or kill it first"
            raise RuntimeError(msg)
        self.runs += 1
        with (
            (self.logs / f"{self.name}.{self.runs}.out").open("wb") as out,
            (self.logs / f"{self.name}.{self.runs}.err").open("wb") as err,
        ):
            self._process = subprocess.Popen(
                self.command, cwd=self.logs, env=self.env, stdout=out, stderr=err
            )
        self._launched = time.monotonic()

    def wait_ready(self, timeout: float = START_S) -> None:
        """Wait for the ready line; raise RuntimeError with its stderr if it exits or none comes."""
        assert self._process is not None
        process = self._process
        poll(lambda: self._is_ready() or process.poll() is not None, timeout)
        ready = self._is_ready()
        waited = time.monotonic() - self._launched
        note(
            self.logs,
            f"{self.name} run {self.runs} (pid {self.pid}) ready: {ready}, {waited:.2f} s",
        )
        if not ready:
            code = process.poll()
            self.kill(count=False)
            msg = (
                f"{self.name} (run {self.runs}) printed no {self.ready!r} line within "
                f"{timeout} s (exit code {code}); its stderr:\n{self.errors()[-3000:]}"
            )
            raise RuntimeError(msg)

    def _is_ready(self) -> bool:
        if self.ready is None:
            return True
        return any(line.startswith(self.ready) for line in self.output().splitlines())

    def signal_kill(self) -> None:
        """Send SIGKILL without waiting: :meth:`kill` then counts and reaps it."""
        if self.running:
            assert self._process is not None
            self._process.send_signal(signal.SIGKILL)
            self._killed = True

    def kill(self, *, count: bool = True) -> None:
        """SIGKILL it (a crash: nothing runs after it) and reap it."""
        process = self._process
        if process is None:
            return
        if process.poll() is None or self._killed:
            process.send_signal(signal.SIGKILL)
            self.kills += count
        self._killed = False
        process.wait(timeout=STOP_S)
        note(self.logs, f"{self.name} run {self.runs} killed (exit {process.returncode})")
        self._process = None

    def stop(self, timeout: float = STOP_S) -> str | None:
        """SIGTERM it and wait; a sentence if it had died, would not stop or exited non-zero."""
        process = self._process
        if process is None:
            return None
        if process.poll() is not None:
            self._process = None
            return (
                f"{self.name} (run {self.runs}) had exited by itself with code {process.returncode}"
            )
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(count=False)
            return f"{self.name} (run {self.runs}) did not stop within {timeout} s of SIGTERM"
        self._process = None
        note(self.logs, f"{self.name} run {self.runs} stopped (exit {process.returncode})")
        if process.returncode != 0:
            tail = self.errors().strip().splitlines()[-1:] or ["(no stderr)"]
            return f"{self.name} (run {self.runs}) exited with code {process.returncode}: {tail[0]}"
        return None

    def tracebacks(self) -> list[str]:
        """A sentence for each run whose stderr holds a Python traceback."""
        found = []
        for run in range(1, self.runs + 1):
            err = self.errors(run)
            if "Traceback (most recent call last)" in err:
                last = [line for line in err.splitlines() if line and not line[0].isspace()]
                found.append(
                    f"{self.name} (run {run}) logged a traceback; its last line: {last[-1]!r}"
                )
        return found


def start_together(processes: Sequence[YardProcess], timeout: float = START_S) -> None:
    """Launch them all at once (in the order given), then wait until each serves."""
    for process in processes:
        process.launch()
    for process in processes:
        process.wait_ready(timeout)


def yard_process(
    name: str,
    args: Sequence[str],
    logs: Path,
    ready: str | None,
    env: Mapping[str, str] | None = None,
) -> YardProcess:
    """A :class:`YardProcess` running ``yard <args>`` with this interpreter."""
    command = [sys.executable, "-m", "yard_actors.app.cli", *args]
    return YardProcess(name, command, logs, ready=ready, env=env)
