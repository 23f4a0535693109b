"""A whole yard setup from one TOML file: the host, the paper exchange, the feed.

``yard run yard.toml`` reads it; ``yard run`` without a file uses the same
settings with their defaults (everything in one process over ``inproc://``,
SQLite store and journals under ``./yard-data/``). The host part is checked by
:func:`yard_actors.host.host_config.host_settings`; this module adds the sections the
other roles read, and reads the file, so every problem names the file, the key
and what is wrong. ``[security]`` (keys for ``tcp://`` endpoints) is the host's
and, in one process, every role's. A config that names no control endpoint gets
:func:`default_control`: ``ipc://`` beside the journal (in ``yard run``'s run folder).
``[paper]`` becomes a :class:`gateways.paper.PaperConfig`, with that class's defaults
for what it leaves out: ``yard gateway`` uses them too. ``[instruments]`` (the built-in
table changed and added to, and the dollar rate: :mod:`.instrument_config`) goes to the
host, the paper exchange and the feed alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from gateways.pacing import check_speed
from gateways.paper import PaperConfig
from gateways.readers import time_zone
from yard_actors.app.config_read import read_config
from yard_actors.app.import_path import config_folder_first
from yard_actors.app.instrument_config import instrument_table
from yard_actors.errors import ConfigError, YardError
from yard_actors.host.host_config import TOP_KEYS, HostSettings, host_settings
from yard_actors.net import LOCAL_ONLY, Security
from yard_actors.wire.instruments import InstrumentTable

__all__ = [
    "DEFAULT_ENDPOINTS",
    "FeedSettings",
    "SystemSettings",
    "check_reachable",
    "default_control",
    "load_settings",
    "system_settings",
    "with_journal_dir",
]

DEFAULT_ENDPOINTS: Mapping[str, str] = {
    "data": "inproc://yard-data",
    "orders": "inproc://yard-orders",
    "trades": "inproc://yard-trades",
    "recovery": "inproc://yard-recovery",
}
DEFAULT_ROBOTS: tuple[Mapping[str, Any], ...] = (
    {
        "class": "robots.trend:TrendFollower",
        "name": "trend-si",
        "symbols": ["Si"],
        "params": {"fast": 20, "slow": 120, "qty": 1},
    },
    {
        "class": "robots.market_maker:MarketMaker",
        "name": "mm-si",
        "symbols": ["Si"],
        "params": {"half_spread_ticks": 3, "max_position": 5, "requote_ticks": 3},
    },
    {
        "class": "robots.market_maker:MarketMaker",
        "name": "mm-rts",
        "symbols": ["RTS"],
        "params": {
            "half_spread_ticks": 2,
            "max_position": 3,
            "requote_ticks": 2,
        },
    },
    {
        "class": "robots.spread:SpreadTrader",
        "name": "spread",
        "symbols": ["Si", "RTS"],
        "params": {},
    },
)
_SECTIONS = {"paper", "feed", "instruments"}


@attrs.frozen(kw_only=True)
class FeedSettings:
    """Where the data comes from: files (CSV or Finam), or the bundled sample session."""

    files: tuple[str, ...] = ()
    speed: float | None = None  # None: as fast as possible; 1.0: real time; N: N times
    sessions: bool = True
    seed: int = 7
    tz: tzinfo = UTC  # of CSV timestamps written without a zone (Finam's are Moscow time)


@attrs.frozen(kw_only=True)
class SystemSettings:
    source: str
    host: HostSettings
    store: str
    paper: PaperConfig
    feed: FeedSettings
    control_given: bool = True  # False: the control endpoint follows the journal_dir
    instruments: InstrumentTable = attrs.field(factory=InstrumentTable)  # [instruments]

    def endpoint(self, name: str) -> str:
        return str(self.host.host_kwargs.get(name, DEFAULT_ENDPOINTS[name]))

    @property
    def security(self) -> Security:
        """``[security]``: the keys of this process, whatever roles it plays."""
        security = self.host.host_kwargs.get("security", LOCAL_ONLY)
        assert isinstance(security, Security)
        return security


def load_settings(path: str | Path | None) -> SystemSettings:
    """Read and check a config file; None gives the embedded defaults.

    The file's folder goes first on ``sys.path`` (:mod:`.import_path`), so the
    robot modules beside it import from any working directory.
    """
    if path is None:
        return system_settings({}, source="<defaults>")
    file = Path(path)
    config = read_config(file)
    config_folder_first(file)
    return system_settings(config, source=str(file))


def system_settings(config: Mapping[str, Any], *, source: str) -> SystemSettings:
    """Check every section of ``config``; endpoints and robots get defaults where absent."""
    for key in config:  # here, not in host_settings: the allowed keys include [paper] and [feed]
        if key not in TOP_KEYS | _SECTIONS:
            allowed = ", ".join(sorted(TOP_KEYS | _SECTIONS))
            raise _fail(source, key, f"unknown key (allowed: {allowed})")
    host_part = {k: v for k, v in config.items() if k not in _SECTIONS}
    endpoints = dict(DEFAULT_ENDPOINTS)
    given = host_part.get("endpoints", {})
    if isinstance(given, Mapping):
        endpoints.update(given)
    host_part["endpoints"] = endpoints if isinstance(given, Mapping) else given
    host_part.setdefault("robots", list(DEFAULT_ROBOTS))
    store = host_part.pop("store", "sqlite:///yard-data/yard.db")
    host_part.setdefault("journal_dir", "yard-data/journal")
    control_given = not isinstance(given, Mapping) or "control" in given
    if not control_given and isinstance(host_part["journal_dir"], str):
        endpoints["control"] = default_control(host_part["journal_dir"])
    instruments = instrument_table(config.get("instruments", {}), source=source)
    host = host_settings(
        {**host_part, "store": store}, source=source, instruments=instruments.by_symbol()
    )
    return SystemSettings(
        source=source,
        host=host,
        store=str(host.host_kwargs["store"]),
        paper=_paper(source, config.get("paper", {})),
        feed=_feed(source, config.get("feed", {})),
        control_given=control_given,
        instruments=instruments,
    )


def check_reachable(settings: SystemSettings) -> None:
    """Refuse, for a host of its own (``--role host``), endpoints no other process reaches.

    It connects to the feed's ``data`` and the gateway's ``orders`` and ``trades``; on
    ``inproc://`` (the defaults) it would wait for ever, as only a feed and a gateway in
    its own process could bind them. Raises ConfigError naming them.
    """
    inside = [
        f"endpoints.{name} = {url!r}"
        for name in ("data", "orders", "trades")
        if (url := settings.endpoint(name)).startswith("inproc://")
    ]
    if inside:
        msg = (
            f"{settings.source}: --role host runs a host in a process of its own, but "
            f"{', '.join(inside)}: inproc:// reaches only this process, so the feed and the "
            "gateway could never be heard; name theirs in [endpoints] (tcp://HOST:PORT or "
            "ipc:///PATH; yard init --deployment writes such a config)"
        )
        raise ConfigError(msg)


def default_control(journal_dir: str | Path) -> str:
    """The control endpoint of a host whose config names none: ``ipc://``, a socket file
    its owner's only, so ``yard ctl --endpoint`` reaches it from the same machine without
    keys. Beside a journal folder named ``journal`` (``yard run``'s run folder:
    ``run-0003/control``), else inside the journal folder (``--journal-dir yard-data/host-a``:
    ``yard-data/host-a/control``), so two hosts of one config never share one."""
    journal = Path(journal_dir).resolve()
    folder = journal.parent if journal.name == "journal" else journal
    return f"ipc://{folder / 'control'}"


def with_journal_dir(settings: SystemSettings, journal_dir: str | Path) -> SystemSettings:
    """``settings`` with another ``journal_dir``, and the control endpoint beside it where
    the config named none (each host of one config gets its own)."""
    kwargs = {**settings.host.host_kwargs, "journal_dir": str(journal_dir)}
    if not settings.control_given:
        kwargs["control"] = default_control(journal_dir)
    return attrs.evolve(settings, host=attrs.evolve(settings.host, host_kwargs=kwargs))


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")


def _section(source: str, name: str, value: Any, known: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(source, name, f"must be a table, was {type(value).__name__} {value!r}")
    for key in value:
        if key not in known:
            raise _fail(
                source, f"{name}.{key}", f"unknown key (allowed: {', '.join(sorted(known))})"
            )
    return value


def _number(source: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, key, f"must be a number, was {type(value).__name__} {value!r}")
    if not 0 <= value < math.inf:  # NaN fails this too
        raise _fail(source, key, f"must be zero or more, and finite, was {value}")
    return float(value)


def _paper(source: str, value: Any) -> PaperConfig:
    section = _section(source, "paper", value, {"latency_ms", "fee_per_lot", "require_session"})
    given: dict[str, Any] = {}  # only what the file sets: PaperConfig has the defaults
    if "latency_ms" in section:
        latency_ms = _number(source, "paper.latency_ms", section["latency_ms"])
        given["latency_ns"] = PaperConfig.ns_from_ms(latency_ms)
    if "fee_per_lot" in section:
        fee = section["fee_per_lot"]
        try:
            parsed = Decimal(str(fee)) if isinstance(fee, int | float | str) else None
        except InvalidOperation:
            parsed = None
        if parsed is None or isinstance(fee, bool) or not parsed.is_finite() or parsed < 0:
            raise _fail(
                source, "paper.fee_per_lot", f'must be a decimal ≥ 0 such as "0.5", was {fee!r}'
            )
        given["fee_per_lot"] = parsed
    if "require_session" in section:
        flag = section["require_session"]
        if not isinstance(flag, bool):
            raise _fail(source, "paper.require_session", f"must be true or false, was {flag!r}")
        given["require_session"] = flag
    return PaperConfig(**given)


def _feed(source: str, value: Any) -> FeedSettings:
    section = _section(source, "feed", value, {"files", "speed", "sessions", "seed", "tz"})
    settings = FeedSettings()
    if "files" in section:
        files = section["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
            raise _fail(source, "feed.files", f"must be a list of file paths, was {files!r}")
        base = Path(source).parent if not source.startswith("<") else Path()
        for file in files:
            if not (base / file).exists():
                raise _fail(source, "feed.files", f"{file} does not exist (relative to {base})")
        settings = attrs.evolve(settings, files=tuple(str(base / f) for f in files))
    if "speed" in section:
        speed = check_speed(section["speed"], source=f"{source}: feed.speed")
        settings = attrs.evolve(settings, speed=speed)
    if "sessions" in section:
        if not isinstance(section["sessions"], bool):
            raise _fail(
                source, "feed.sessions", f"must be true or false, was {section['sessions']!r}"
            )
        settings = attrs.evolve(settings, sessions=section["sessions"])
    if "seed" in section:
        seed = section["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise _fail(source, "feed.seed", f"must be an integer, was {seed!r}")
        settings = attrs.evolve(settings, seed=seed)
    if "tz" in section:
        name = section["tz"]
        if not isinstance(name, str):
            raise _fail(source, "feed.tz", f'must be a time zone name such as "UTC", was {name!r}')
        try:
            settings = attrs.evolve(settings, tz=time_zone(name, source=f"{source}: feed.tz"))
        except YardError as exc:
            raise ConfigError(str(exc)) from exc
    return settings
