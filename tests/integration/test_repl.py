"""``yard repl`` as a person uses it: a real process on a real pseudo-terminal (pexpect).

Each test starts ``yard repl`` on the sample system (no config: the sample day, the
example robots, a run folder of its own) with the feed at 20 times real time, types
into the console, reads what it prints (ANSI escapes stripped: IPython redraws the
line as it is typed), ends it with Ctrl-D and checks the summary, the exit code,
that no process of its session is left, and the run folder's SQLite store.

Values are read back by printing them between markers made at run time
(``"<" + "<"``), so the echo of the typed line never matches.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateways.store import open_store
from yard_actors.host.host import Host

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.slow

_SPEED = "20"  # the sample day at 20x: ~60 events/s, orders within a second, alive 45 min
_ROBOTS = ("trend-si", "mm-si", "mm-rts", "spread")
_WAIT_S = 60.0  # every wait is bounded; a loaded 2-core machine gets wide margins
_INTERRUPTS = 3  # Ctrl-C sent at most this often to clear a completed line
_ANSI = re.compile(
    r"\x1b\[[0-9;?<=>]*[ -/]*[@-~]"  # CSI: colours, cursor moves, erases
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: the window title
    r"|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\r"
)
_PROMPTS = {"plain": r">>> ", "ipython": r"In \[\d+\]: "}
_SUPERVISION = ("pause", "resume", "set_params", "halt")
_MISSING = [name for name in _SUPERVISION if not callable(getattr(Host, name, None))]


class Console:
    """A ``yard repl`` child; ``expect`` searches its output with the escapes stripped."""

    def __init__(self, child: Any, kind: str) -> None:
        self.child = child
        self.kind = kind
        self.seen = ""
        self.banner = ""

    def expect(self, pattern: str, timeout: float = _WAIT_S) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.seen)
            if match is not None:
                self.seen = self.seen[match.end() :]
                return match
            if time.monotonic() > deadline:
                msg = (
                    f"no {pattern!r} within {timeout} s; the console showed: {self.seen[-3000:]!r}"
                )
                raise AssertionError(msg)
            try:
                chunk = self.child.read_nonblocking(65536, timeout=0.5)
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                if re.search(pattern, self.seen) is None:
                    msg = f"the console ended without {pattern!r}; it showed: {self.seen[-3000:]!r}"
                    raise AssertionError(msg) from None
                continue
            self.seen += _ANSI.sub("", chunk)

    def prompt(self) -> None:
        self.expect(_PROMPTS[self.kind])

    def run(self, line: str) -> None:
        """Type ``line``, Enter, and wait for the next prompt."""
        self.child.sendline(line)
        self.prompt()

    def value(self, expression: str) -> str:
        """What ``expression`` evaluates to in the console, as printed."""
        self.child.sendline(f'print("<" + "<", {expression}, ">" + ">")')
        found = self.expect(r"<< (.*?) >>").group(1)
        self.prompt()
        return found

    def complete(self, typed: str, completed: str) -> None:
        """Type ``typed`` and Tab; ``completed`` must appear on the line; then Ctrl-C it."""
        self.child.send(typed + "\t")
        self.expect(re.escape(completed))
        self.child.sendintr()  # both consoles drop the line
        if self.kind == "plain":  # after a KeyboardInterrupt; IPython only clears the line
            # readline drops a KeyboardInterrupt raised while its completer still runs (slow
            # on a loaded machine), as a person's Ctrl-C is then lost: they press it again.
            for _ in range(_INTERRUPTS - 1):
                with contextlib.suppress(AssertionError):
                    self.expect(_PROMPTS[self.kind], timeout=_WAIT_S / _INTERRUPTS)
                    return
                self.child.sendintr()
            self.prompt()

    def number(self, expression: str) -> int:
        return int(self.value(expression))

    def wait_for(self, expression: str, expected: str, timeout: float = _WAIT_S) -> None:
        """Until ``expression`` prints ``expected`` (rows change asynchronously)."""
        deadline = time.monotonic() + timeout
        while (got := self.value(expression)) != expected:
            assert time.monotonic() < deadline, f"{expression} stayed {got!r}, not {expected!r}"
            time.sleep(0.2)

    def exit_with_ctrl_d(self) -> str:
        """Ctrl-D at the prompt; the summary's last lines, once the process has exited."""
        self.child.sendcontrol("d")
        return self.summary()

    def summary(self) -> str:
        self.expect(r"yard run: per-robot summary")
        tail = self.expect(
            r"(?s)events in [\d.]+ s; journal: .*?replay a robot: yard replay \S+ \S+"
        )
        self.child.expect(pexpect.EOF, timeout=_WAIT_S)
        self.child.close()
        return tail.group(0)


def _session_processes(sid: int) -> list[int]:
    """Processes of the session ``sid`` (pexpect makes its child a session leader)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[3]) == sid:  # state, ppid, pgrp, session
            found.append(int(stat.parent.name))
    return found


@contextlib.contextmanager
def _spawn(tmp_path: Path, kind: str, *args: str) -> Iterator[Console]:
    """``yard repl ARGS`` on a pseudo-terminal; killed on the way out if still running."""
    if kind == "ipython":
        pytest.importorskip("IPython")
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "IPYTHONDIR": str(tmp_path / ".ipython"),
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",  # no cursor-position queries a pexpect pty would not answer
        "YARD_REPL_PLAIN": "1" if kind == "plain" else "0",
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "yard_actors.app.cli", "repl", *args],
        cwd=str(tmp_path),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        dimensions=(50, 250),
        timeout=_WAIT_S,
    )
    try:
        yield Console(child, kind)
    finally:
        if child.isalive():
            child.terminate(force=True)
        child.close(force=True)


@pytest.fixture(params=["plain", "ipython"])
def repl(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Console]:
    """``yard repl`` on the sample system, at its first prompt; ``banner`` holds the banner."""
    with _spawn(tmp_path, request.param, "--speed", _SPEED) as console:
        console.banner = console.expect(r"(?s)yard repl: the sample day.*?Tab completes").group(0)
        console.prompt()
        yield console


def test_the_console_lists_the_robots_completes_names_and_exits_with_the_summary(
    repl: Console, tmp_path: Path
) -> None:
    repl.child.sendline("robots()")
    table = repl.expect(r"(?s)robot .*?spread.*?\n")
    repl.prompt()
    for robot in _ROBOTS:
        assert robot in table.group(0)
    repl.wait_for('len(robots()) == 4 and robots().by_name("mm-si")["events_in"] > 0', "True")

    repl.complete("robo", "robots")  # the calls' names
    repl.complete('snapshot("mm-r', "mm-rts")  # robot names inside them
    repl.child.sendline('snapshot("no-such-robot")')
    repl.expect(r"RobotError: no robot named 'no-such-robot' on this host \(robots: ")
    repl.prompt()
    session = repl.child.pid

    tail = repl.exit_with_ctrl_d()

    assert repl.child.exitstatus == 0
    assert "journal: yard-data/run-0001/journal" in tail
    assert _session_processes(session) == []
    assert (tmp_path / "yard-data" / "run-0001" / "repl.log").stat().st_size > 0


@pytest.mark.skipif(
    bool(_MISSING),
    reason=f"Host has no {', '.join(_MISSING)} yet (issue 13, engineer A): runs once they land",
)
def test_pause_holds_orders_while_events_count_then_params_resume_and_halt(
    repl: Console, tmp_path: Path
) -> None:
    robot = 'robots().by_name("mm-si")'
    repl.wait_for(f'{robot}["commands_out"] > 0', "True")  # it quotes: it has orders

    assert repl.value('pause("mm-si")').startswith("mm-si paused")
    repl.wait_for(f'{robot}["status"]', "paused")
    events, commands = repl.number(f'{robot}["events_in"]'), repl.number(f'{robot}["commands_out"]')
    repl.wait_for(f'{robot}["events_in"] > {events + 50}', "True")  # events still handled

    assert repl.number(f'{robot}["commands_out"]') == commands  # none sent while paused
    assert repl.number(f'{robot}["held"]') > 0  # what it would send: held, and shown

    repl.run('set_params("mm-si", half_spread_ticks=4)')
    repl.wait_for('snapshot("mm-si")["params"]["half_spread_ticks"]', "4")
    repl.run('resume("mm-si")')
    repl.wait_for(f'{robot}["status"]', "running")
    repl.wait_for(f'{robot}["commands_out"] > {commands}', "True")

    repl.run("report = halt()")
    assert repl.number("report.unconfirmed") == 0  # every cancel confirmed by the gateway
    assert repl.number("report.robots") == 4
    session = repl.child.pid

    repl.exit_with_ctrl_d()

    assert repl.child.exitstatus == 0
    assert _session_processes(session) == []
    store_url = f"sqlite:///{tmp_path / 'yard-data' / 'run-0001' / 'yard.db'}"
    with open_store(store_url) as store:
        assert store.orders(robot="mm-si")  # it did trade before the halt
        assert store.open_orders() == []  # and nothing is left working after it


@pytest.mark.parametrize(
    ("repl", "line"), [("plain", "exit()"), ("ipython", "stop()")], indirect=["repl"]
)
def test_exit_and_stop_end_the_console_with_the_summary(repl: Console, line: str) -> None:
    session = repl.child.pid

    repl.child.sendline(line)
    tail = repl.summary()

    assert repl.child.exitstatus == 0
    assert "journal: yard-data/run-0001/journal" in tail
    assert _session_processes(session) == []


@pytest.mark.parametrize("repl", ["plain"], indirect=True)
def test_a_console_connected_to_a_running_host_supervises_it_and_leaves_it_running(
    repl: Console, tmp_path: Path
) -> None:
    control = re.search(r"control: (ipc://\S+)", repl.banner)
    assert control is not None, repl.banner

    with _spawn(tmp_path, "plain", "--connect", control.group(1)) as remote:
        remote.expect(r"connected to the host at ipc://\S+ \(4 robots\)")
        remote.prompt()
        remote.child.sendline("robots()")
        table = remote.expect(r"(?s)robot .*?spread.*?\n")
        remote.prompt()
        name = remote.value('snapshot("mm-rts")["name"]')
        remote.child.sendcontrol("d")
        remote.expect(r"disconnected from ipc://")
        remote.child.expect(pexpect.EOF, timeout=_WAIT_S)
        remote.child.close()

    assert remote.child.exitstatus == 0
    for robot in _ROBOTS:
        assert robot in table.group(0)
    assert name == "mm-rts"
    assert repl.value('robots().by_name("mm-rts")["status"]') == "running"  # left running
    repl.exit_with_ctrl_d()
    assert repl.child.exitstatus == 0
