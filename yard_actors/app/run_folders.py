"""Where ``yard run`` keeps a run's journal and store: a run folder of its own each time.

The config's ``journal_dir`` and SQLite ``store`` name a *base*; each run of ``--role all``
puts them in ``run-NNNN`` inside their base folder, one more than the last run there::

    journal_dir = "yard-data/journal"          ->  yard-data/run-0003/journal
    store = "sqlite:///yard-data/yard.db"      ->  sqlite:///yard-data/run-0003/yard.db
    store = "mongodb://db1,db2/yard?..."       ->  mongodb://db1,db2/yard_run_0003?...

So a second run of one config never continues the first by accident: its events do not
double, its robots do not carry the last run's positions and clock, and a robot whose
code changed starts as the code now says. ``--resume`` continues the last run folder (or
a named one) instead (:func:`resumed_run`): the host restores every robot from its
journal, refusing one that replays it differently (its code or params changed). The
embedded demo (no config) is the same with the base ``--data-dir``. ``--role host`` has no
run folders: a host always continues its ``--journal-dir``, which is how it recovers
from a crash.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import attrs

from yard_actors.app.config_file import SystemSettings, with_journal_dir
from yard_actors.app.wording import count
from yard_actors.errors import ConfigError, DecodeError
from yard_actors.host.stores import without_credentials
from yard_actors.journal import iter_records
from yard_actors.wire.codec import decode
from yard_actors.wire.events import Control

__all__ = [
    "RunFolder",
    "at_run",
    "choose_run",
    "fresh_run",
    "fresh_run_dir",
    "in_data_dir",
    "in_run_dir",
    "resumed_run",
]

_SQLITE = "sqlite:///"
_MONGO = ("mongodb://", "mongodb+srv://")
_RUN = re.compile(r"run-(\d{4,})")
_CLAIM_TRIES = 100  # another yard run may take the same number at the same moment
_NAMED_ROBOTS = 6  # a resume line names this many robots, then says how many more
_LAST_EVENTS = 64  # the tail of a journal looked at for its last data time (controls skipped)


@attrs.frozen(kw_only=True)
class RunFolder:
    """A run's folder, the settings that put its journal and store there, and a line
    for the user: what this run is, printed before it starts."""

    path: Path
    settings: SystemSettings
    resumed: bool
    announcement: str
    # A resumed run's last data time: the feed publishes only what comes after it.
    resume_after: int | None = None


def choose_run(settings: SystemSettings, *, data_dir: str | None, resume: str | None) -> RunFolder:
    """``yard run``'s run folder: ``--data-dir`` applied, then a fresh one (``resume`` None),
    the last one (``resume`` empty) or the one ``resume`` names. A resumed run's host refuses
    a robot that replays the journal differently (``Host(refuse_divergence=True)``)."""
    if data_dir is not None:
        settings = in_data_dir(settings, data_dir)
    if resume is None:
        return fresh_run(settings)
    run = resumed_run(settings, resume or None)
    kwargs = {**run.settings.host.host_kwargs, "refuse_divergence": True}
    host = attrs.evolve(run.settings.host, host_kwargs=kwargs)
    return attrs.evolve(run, settings=attrs.evolve(run.settings, host=host))


def fresh_run(settings: SystemSettings) -> RunFolder:
    """Make the next ``run-NNNN`` beside the journal (and beside the SQLite store, if that
    lies elsewhere) and return the settings pointing into it.

    Raises ConfigError if no folder can be made there.
    """
    bases = _bases(settings)
    for _ in range(_CLAIM_TRIES):
        name = f"run-{_last_number(bases) + 1:04d}"
        try:
            for base in bases:
                (base / name).mkdir(parents=True)
        except FileExistsError:
            continue  # taken meanwhile by another run: the next number
        except OSError as exc:
            msg = f"cannot make the run folder {bases[0] / name}: {exc}"
            raise ConfigError(msg) from exc
        run = at_run(settings, name)
        return RunFolder(
            path=bases[0] / name,
            settings=run,
            resumed=False,
            announcement=f"yard run: a new run in {bases[0] / name}{_store_apart(run, name)} "
            "(--resume: continue the last)",
        )
    msg = f"cannot claim a run folder in {bases[0]}: others kept taking the next number"
    raise ConfigError(msg)


def resumed_run(settings: SystemSettings, given: str | None) -> RunFolder:
    """The run folder ``--resume`` names (``given``), or the last one; and what it holds.

    Reads the journal once to say how many events it holds and of which robots. Raises
    ConfigError if there is no run to resume, ``given`` is not one of this config's run
    folders, or the run's SQLite store is missing while its journal is not.
    """
    base = _bases(settings)[0]
    name = _last_run(base) if given is None else _named_run(base, given)
    run = at_run(settings, name)
    journal = Path(str(run.host.host_kwargs["journal_dir"]))
    store = _sqlite_path(run.store)
    events, robots, last_ts = _journaled(journal)
    if events and store is not None and store != Path(":memory:") and not store.exists():
        msg = (
            f"--resume {base / name}: its journal holds {count(events, 'event')} but its "
            f"order store {store} is missing; a run continues only with both"
        )
        raise ConfigError(msg)
    held = (
        f"{count(events, 'event')} journaled, robots {_names(robots)}"
        if robots
        else "nothing journaled yet"
    )
    after = "" if last_ts is None else f"; market data after {_utc(last_ts)}"
    return RunFolder(
        path=base / name,
        settings=run,
        resumed=True,
        announcement=f"yard run: resuming {base / name}{_store_apart(run, name)}: {held}{after}",
        resume_after=last_ts,
    )


def in_data_dir(settings: SystemSettings, data_dir: str | Path) -> SystemSettings:
    """``--data-dir``: the journal and a SQLite store with their runs in ``data_dir``."""
    folder = Path(data_dir)
    journal = Path(str(settings.host.host_kwargs["journal_dir"]))
    moved = with_journal_dir(settings, folder / journal.name)
    store = _sqlite_path(settings.store)
    if store is None or store == Path(":memory:"):
        return moved
    return _with_store(moved, f"{_SQLITE}{folder / store.name}")


def at_run(settings: SystemSettings, name: str) -> SystemSettings:
    """``settings`` with the journal and the store of run ``name`` (``run-0003``)."""
    journal = Path(str(settings.host.host_kwargs["journal_dir"]))
    run = with_journal_dir(settings, journal.parent / name / journal.name)
    return _with_store(run, _store_at_run(settings.store, name))


def fresh_run_dir(data_dir: Path) -> Path:
    """``data_dir/run-NNNN``, one more than the last: no run overwrites another's."""
    run_dir = data_dir / f"run-{_last_number([data_dir]) + 1:04d}"
    run_dir.mkdir(parents=True)
    return run_dir


def in_run_dir(settings: SystemSettings, run_dir: Path) -> SystemSettings:
    """The same settings with the journal and a SQLite store inside ``run_dir`` (and the
    control endpoint, where the config names none), whatever store the config names."""
    run = with_journal_dir(settings, run_dir / "journal")
    return _with_store(run, f"{_SQLITE}{run_dir / 'yard.db'}")


def _bases(settings: SystemSettings) -> list[Path]:
    """The folders a run gets a ``run-NNNN`` in: the journal's first, a SQLite store's."""
    bases = [Path(str(settings.host.host_kwargs["journal_dir"])).parent]
    store = _sqlite_path(settings.store)
    if store is not None and store != Path(":memory:") and store.parent != bases[0]:
        bases.append(store.parent)
    return bases


def _last_number(bases: Sequence[Path]) -> int:
    numbers = [
        int(match[1])
        for base in bases
        if base.is_dir()
        for path in base.iterdir()
        if (match := _RUN.fullmatch(path.name)) and path.is_dir()
    ]
    return max(numbers, default=0)


def _last_run(base: Path) -> str:
    last = _last_number([base])
    if last == 0:
        msg = f"--resume: there is no run to resume in {base}/ (a run without --resume makes one)"
        raise ConfigError(msg)
    return f"run-{last:04d}"


def _named_run(base: Path, given: str) -> str:
    folder = Path(given)
    if folder.parent == Path() and (base / given).is_dir():  # a bare name: run-0003
        folder = base / given
    if not _RUN.fullmatch(folder.name) or not folder.is_dir():
        msg = f"--resume {given}: not a run folder (run-NNNN, such as {base / 'run-0001'})"
        raise ConfigError(msg)
    if folder.resolve().parent != base.resolve():
        msg = (
            f"--resume {given}: not a run of this config, whose runs are in {base}/; "
            "give the config (or --data-dir) that made it"
        )
        raise ConfigError(msg)
    return folder.name


def _journaled(journal: Path) -> tuple[int, list[str], int | None]:
    """The events journaled in ``journal``, its robots (first added first), and the data time
    the run reached: the ``ts`` of its last event that is not a control (a control carries
    its sender's wall clock); 0, [], None if there is none."""
    if not journal.is_dir():
        return 0, [], None
    events = 0
    robots: dict[str, None] = {}
    last: deque[bytes] = deque(maxlen=_LAST_EVENTS)
    for record in iter_records(journal):
        if record.kind == "event":
            events += 1
            last.append(cast(bytes, record.payload))
        elif record.kind == "robot" and record.robot is not None:
            robots.setdefault(record.robot)
    for payload in reversed(last):
        try:
            event = decode(payload)
        except DecodeError:  # one a robot could not take either: its ts tells nothing
            continue
        if type(event) is not Control:
            return events, list(robots), event.ts
    return events, list(robots), None


def _utc(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _names(robots: Sequence[str]) -> str:
    shown = ", ".join(robots[:_NAMED_ROBOTS])
    more = len(robots) - _NAMED_ROBOTS
    return shown if more <= 0 else f"{shown} and {more:,} more"


def _store_at_run(url: str, name: str) -> str:
    """The store URL of run ``name``: a SQLite file in ``run-NNNN`` beside where the config
    has it, a MongoDB database with ``_run_NNNN`` added; an in-memory one as it is."""
    path = _sqlite_path(url)
    if path is not None:
        return url if path == Path(":memory:") else f"{_SQLITE}{path.parent / name / path.name}"
    if url.startswith(_MONGO):
        parts = urlsplit(url)
        database = parts.path.strip("/") or "yard"  # open_store's default database
        suffix = name.replace("-", "_")
        return urlunsplit(parts._replace(path=f"/{database}_{suffix}"))
    return url


def _store_apart(settings: SystemSettings, name: str) -> str:
    """`` (store ...)`` when the run's store is not a file in its folder, else nothing."""
    store = _sqlite_path(settings.store)
    journal = Path(str(settings.host.host_kwargs["journal_dir"]))
    if store is not None and store.parent == journal.parent:
        return ""
    return f" (store {without_credentials(settings.store)})"


def _sqlite_path(url: str) -> Path | None:
    """A SQLite store's file (``:memory:`` for a private one), or None for another store."""
    if url.startswith(_SQLITE) and len(url) > len(_SQLITE):
        return Path(url[len(_SQLITE) :])
    return None


def _with_store(settings: SystemSettings, store: str) -> SystemSettings:
    kwargs = {**settings.host.host_kwargs, "store": store}
    return attrs.evolve(settings, host=attrs.evolve(settings.host, host_kwargs=kwargs), store=store)
