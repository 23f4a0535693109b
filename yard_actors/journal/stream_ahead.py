"""Reading the journal on a second core: the stream in a child process, the replay in this one.

A replay spends about a quarter of its time reading: loading each segment and checking every
frame's crc, then sorting the records into robots' runs (:func:`~yard_actors.journal.stream.
stream_runs`). None of that needs the robots, so on a machine with a core to spare it runs
in a child process, a few batches ahead, while this process decodes the events and feeds
the robots: :func:`stream_runs_ahead` yields exactly the runs :func:`stream_runs` yields.

The child verifies each segment in parts of 1 MB and sends a part's runs before it goes
on, so the reader starts at once and never waits for a whole segment's check. What
crosses between them is the runs themselves, pickled in batches (the payloads are
small byte strings; pickling them is a copy), and the child's log lines (a torn tail's
warning), logged again here under their own logger. The pipe's buffer bounds how far
the child runs ahead, so memory stays flat however long the journal. A
:class:`~yard_actors.errors.JournalError` in the child is raised here with its message; a
child that dies is reported as a JournalError saying how. Closing the iterator early stops
the child.

The child is this interpreter run on this module (``python -m``): a fresh process, safe
whatever threads this one runs, and unlike :mod:`multiprocessing`'s ``spawn`` it never
imports the caller's ``__main__`` (a script without a main guard still replays). It costs
about 0.15 s to start, so :func:`reads_ahead` chooses it only for a journal large enough to
repay that, on a machine with two or more cores.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import pickle
import struct
import subprocess
import sys
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

from yard_actors.errors import JournalError
from yard_actors.journal._format import _segment_files
from yard_actors.journal.index import index_journal
from yard_actors.journal.stream import DEFAULT_WINDOW, RobotRun, stream_runs

__all__ = ["AHEAD_MIN_BYTES", "ReadAhead", "reads_ahead", "stream_runs_ahead"]

AHEAD_MIN_BYTES: Final = 64 << 20  # ~450k quotes, ~2 s of replay: the child's ~0.15 s start repays
_BATCH_EVENTS: Final = 2048  # events per message (~300 KB of quotes): few messages, little held
_STOP_S: Final = 5.0  # how long a closed read waits for its child before killing it
_LENGTH: Final = struct.Struct("<I")  # each message's length, before it
_PART_BYTES: Final = 1 << 20  # a segment verified in parts: the first runs go out at once
_PIPE_BYTES: Final = 1 << 20  # Linux's default most for a pipe (/proc/sys/fs/pipe-max-size)
_RUNS, _END, _ERROR, _LOG = range(4)  # message tags

logger = logging.getLogger(__name__)


def reads_ahead(directory: str | os.PathLike[str], ahead: bool | None = None) -> bool:
    """Whether to read ``directory`` with :func:`stream_runs_ahead`: ``ahead``, or if None,
    when the journal holds at least :data:`AHEAD_MIN_BYTES` and two cores are ours.

    ``YARD_REPLAY_AHEAD=0`` (or ``1``) in the environment overrides the automatic choice.
    """
    if ahead is not None:
        return ahead
    forced = os.environ.get("YARD_REPLAY_AHEAD")
    if forced in {"0", "1"}:
        return forced == "1"
    if _cores() < 2:
        return False
    total = 0
    for path in _segment_files(Path(directory)):
        try:
            total += path.stat().st_size
        except OSError:
            return False  # let the read itself say what is wrong
        if total >= AHEAD_MIN_BYTES:
            return True
    return False


def _cores() -> int:
    """The cores this process may run on (all the machine's where that cannot be asked)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def stream_runs_ahead(
    directory: str | os.PathLike[str],
    robots: Iterable[str],
    *,
    window: int = DEFAULT_WINDOW,
) -> Generator[RobotRun, None, None]:
    """Yield what :func:`~yard_actors.journal.stream.stream_runs` yields, read in a child process.

    Raises :class:`JournalError` as :func:`stream_runs` does (with its message), and when the
    child process dies. A child that cannot be started is logged and the journal read here.
    """
    reader = ReadAhead(directory, robots, window=window)
    try:
        yield from reader.runs()
    finally:
        reader.close()


class ReadAhead:
    """A read of the journal started in a child process at once, its runs taken later.

    Start it before the work that precedes the replay (the index pass, building the
    robots): the child's start, ~0.15 s, then costs nothing. ``robots``: whose runs to
    read; None: every robot the journal adds. Take the runs with :meth:`runs` (once);
    :meth:`close` stops the child, as does garbage collection of a reader never read.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        robots: Iterable[str] | None,
        *,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        self.directory = os.fspath(directory)
        self._robots = None if robots is None else list(robots)
        self._window = window
        self._child: subprocess.Popen[bytes] | None = None
        self._taken = False
        request = json.dumps(
            {"directory": self.directory, "robots": self._robots, "window": window}
        )
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path for path in sys.path if path))
        try:
            self._child = subprocess.Popen(  # noqa: S603  # our own interpreter, our own module
                [sys.executable, "-m", __name__, request],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                env=env,
            )
        except OSError as exc:
            logger.warning("cannot start a process to read the journal (%s); reading it here", exc)
            self._stopper = weakref.finalize(self, _nothing)
            return
        _widen(self._child.stdout)  # type: ignore[arg-type]  # stdout=PIPE
        self._stopper = weakref.finalize(self, functools.partial(_stop, self._child))

    def runs(self) -> Generator[RobotRun, None, None]:
        """The runs, as :func:`~yard_actors.journal.stream.stream_runs` yields them."""
        if self._taken:
            msg = f"the read ahead of the journal in {self.directory} was taken already"
            raise JournalError(msg)
        self._taken = True
        if self._child is None:  # no child: read here
            robots = _every_robot(self.directory) if self._robots is None else self._robots
            yield from stream_runs(self.directory, robots, window=self._window)
            return
        try:
            yield from _consume(self._child, self.directory)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (at once if it is done or blocked on a full pipe)."""
        self._stopper()


def _nothing() -> None:
    return None


def _every_robot(directory: str) -> list[str]:
    return list(index_journal(directory).robots)


def _widen(pipe: BinaryIO) -> None:
    """Give the pipe room for a few batches, so the child seldom waits on a full pipe
    and the reader seldom on the child (Linux; elsewhere the pipe keeps its size)."""
    resize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if resize is None:
        return
    with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: it keeps its size
        fcntl.fcntl(pipe.fileno(), resize, _PIPE_BYTES)


def _consume(child: subprocess.Popen[bytes], directory: str) -> Iterator[RobotRun]:
    read = child.stdout.read  # type: ignore[union-attr]  # stdout=PIPE
    while True:
        head = read(_LENGTH.size)
        length = _LENGTH.unpack(head)[0] if len(head) == _LENGTH.size else 0
        body = read(length) if length else b""
        if not body or len(body) != length:  # the child ended mid-message, or before one
            code = child.wait(_STOP_S)
            msg = (
                f"The process reading the journal in {directory} ended before the journal "
                f"did (exit code {code})."
            )
            raise JournalError(msg)
        tag, content = pickle.loads(body)  # noqa: S301  # from our own child process
        if tag == _RUNS:
            for robot, events, commands in content:
                yield RobotRun(robot=robot, events=events, commands=commands)
        elif tag == _LOG:
            name, level, message = content
            logging.getLogger(name).log(level, "%s", message)
        elif tag == _ERROR:
            raise JournalError(content)
        else:
            return


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Let the child go: it ends at once, or on its next write to the closed pipe."""
    child.stdout.close()  # type: ignore[union-attr]  # stdout=PIPE
    try:
        child.wait(_STOP_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _produce(out: BinaryIO, directory: str, robots: list[str] | None, window: int) -> None:
    """The child: read the journal, send its runs in batches, then an end (or the error)."""

    def send(tag: int, content: object) -> None:
        body = pickle.dumps((tag, content), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_LENGTH.pack(len(body)))
        out.write(body)

    home = logging.getLogger("yard_actors")
    home.addHandler(_Forward(send))
    home.setLevel(logging.INFO)
    home.propagate = False
    try:
        batch: list[tuple[str, tuple[tuple[int, bytes], ...], tuple[bytes, ...]]] = []
        size = 0
        if robots is None:
            robots = _every_robot(directory)
        for run in stream_runs(directory, robots, window=window, part_bytes=_PART_BYTES):
            batch.append((run.robot, run.events, run.commands))
            size += len(run.events) + 1
            if size >= _BATCH_EVENTS:
                send(_RUNS, batch)
                batch, size = [], 0
        if batch:
            send(_RUNS, batch)
        send(_END, None)
        out.flush()
    except JournalError as exc:
        send(_ERROR, str(exc))
        out.flush()
    except Exception as exc:  # anything else is a bug, said with its type, not lost
        send(_ERROR, f"reading the journal in {directory} failed: {type(exc).__name__}: {exc}")
        out.flush()


class _Forward(logging.Handler):
    """Sends the child's log records to the parent, which logs them again."""

    def __init__(self, send: Callable[[int, object], None]) -> None:
        super().__init__(logging.INFO)
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        self._send(_LOG, (record.name, record.levelno, record.getMessage()))


def _main() -> None:
    request = json.loads(sys.argv[1])
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but messages may go down the pipe
    try:
        _produce(out, request["directory"], request["robots"], request["window"])
    except (BrokenPipeError, ConnectionResetError):
        # the reader stopped early: nobody is left to tell, and nothing to flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())


if __name__ == "__main__":
    _main()
