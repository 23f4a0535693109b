"""Validating a host configuration before anything starts.

A config is a mapping (parsed TOML or a dict in code)::

    store = "mongodb://db1,db2,db3/yard?replicaSet=rs0"   # optional: the change-stream path

    [endpoints]
    data = "tcp://127.0.0.1:5561"
    orders = "tcp://127.0.0.1:5562"
    trades = "tcp://127.0.0.1:5563"
    recovery = "tcp://127.0.0.1:5565"   # optional: the gateway's replay of missed reports
    control = "tcp://127.0.0.1:5564"

    runtime = "pooled"        # or "threads": a thread per robot
    [pool]                    # the pooled runtime's worker threads
    workers = 1
    batch = 64                # messages a worker handles for one robot before moving on

    reply_timeout = 5         # seconds an order may go unanswered before the gateway
                              # is asked about it (on recovery; docs/wire.md 4a)

    journal_dir = "yard-data/journal"
    [journal]
    flush = "every_event"   # or "every_n" / "interval"

    [[robots]]
    class = "robots.trend:TrendFollower"
    name = "trend-si"
    symbols = ["Si"]
    params = { fast = 5, slow = 20 }

Every problem is a :class:`ConfigError` naming the source, the key and what
is wrong, so an operator fixes it without reading code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from yard_actors.errors import ConfigError, RobotError
from yard_actors.host.runtimes import RUNTIMES
from yard_actors.journal import FlushPolicy, JournalConfig
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import RiskLimits

__all__ = ["HostSettings", "RobotSettings", "host_settings"]

_TOP_KEYS = {
    "endpoints",
    "journal_dir",
    "journal",
    "robots",
    "ask_timeout",
    "store",
    "risk",
    "runtime",
    "pool",
    "reply_timeout",
}
_ENDPOINTS = ("data", "orders", "trades", "control")
_OPTIONAL_ENDPOINTS = ("recovery",)
_STORE_SCHEMES = ("sqlite:///", "mongodb://")
_URL_SCHEMES = ("inproc://", "ipc://", "tcp://")
_ROBOT_KEYS = {"class", "name", "symbols", "params"}


@attrs.frozen(kw_only=True)
class RobotSettings:
    class_path: str
    name: str
    symbols: tuple[str, ...] | None
    params: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class HostSettings:
    host_kwargs: Mapping[str, Any]
    robots: tuple[RobotSettings, ...]


def _fail(source: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"{source}: {key}: {problem}")


def _unknown(source: str, prefix: str, given: Mapping[str, Any], known: set[str]) -> None:
    for key in given:
        if key not in known:
            allowed = ", ".join(sorted(known))
            raise _fail(source, f"{prefix}{key}", f"unknown key (allowed: {allowed})")


def _typed(source: str, key: str, value: Any, kind: type[Any] | tuple[type[Any], ...]) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _fail(source, key, f"must be of type {names}, was {type(value).__name__} {value!r}")
    return value


def host_settings(config: Mapping[str, Any], *, source: str = "<config>") -> HostSettings:
    """Check ``config`` completely and turn it into Host arguments and robot settings."""
    _unknown(source, "", config, _TOP_KEYS)
    kwargs = _endpoints(source, _typed(source, "endpoints", config.get("endpoints", {}), Mapping))
    if "store" in config:
        store = _typed(source, "store", config["store"], str)
        if not store.startswith(_STORE_SCHEMES):
            raise _fail(source, "store", f"{store!r} is not a sqlite:/// or mongodb:// URL")
        kwargs["store"] = store
    if "risk" in config:
        kwargs["risk"] = _risk(source, _typed(source, "risk", config["risk"], Mapping))
    if "runtime" in config:
        runtime = _typed(source, "runtime", config["runtime"], str)
        if runtime not in RUNTIMES:
            raise _fail(source, "runtime", f"{runtime!r} is not one of {', '.join(RUNTIMES)}")
        kwargs["runtime"] = runtime
    if "pool" in config:
        kwargs.update(_pool(source, _typed(source, "pool", config["pool"], Mapping)))
    if "journal_dir" in config:
        kwargs["journal_dir"] = _typed(source, "journal_dir", config["journal_dir"], str)
    if "journal" in config:
        kwargs["journal"] = _journal(source, _typed(source, "journal", config["journal"], Mapping))
    if "ask_timeout" in config:
        timeout = _typed(source, "ask_timeout", config["ask_timeout"], (int, float))
        if timeout <= 0:
            raise _fail(source, "ask_timeout", f"must be positive, was {timeout}")
        kwargs["ask_timeout"] = float(timeout)
    if "reply_timeout" in config:
        timeout = _typed(source, "reply_timeout", config["reply_timeout"], (int, float))
        if not timeout > 0:  # NaN too
            raise _fail(
                source, "reply_timeout", f"must be a positive number of seconds, was {timeout}"
            )
        kwargs["reply_timeout"] = float(timeout)
    robots = _typed(source, "robots", config.get("robots", []), Sequence)
    return HostSettings(host_kwargs=kwargs, robots=_robots(source, robots))


def _endpoints(source: str, endpoints: Mapping[str, Any]) -> dict[str, Any]:
    _unknown(source, "endpoints.", endpoints, {*_ENDPOINTS, *_OPTIONAL_ENDPOINTS})
    kwargs: dict[str, Any] = {}
    for name in (*_ENDPOINTS, *_OPTIONAL_ENDPOINTS):
        key = f"endpoints.{name}"
        if name not in endpoints:
            if name in _OPTIONAL_ENDPOINTS:
                continue
            raise _fail(source, key, "missing; every host needs data, orders, trades and control")
        url = _typed(source, key, endpoints[name], str)
        if not url.startswith(_URL_SCHEMES):
            raise _fail(source, key, f"{url!r} is not an inproc://, ipc:// or tcp:// URL")
        kwargs[name] = url
    return kwargs


def _risk(source: str, risk: Mapping[str, Any]) -> RiskLimits:
    _unknown(source, "risk.", risk, {"max_order_qty", "max_position"})
    try:
        return RiskLimits(**risk)
    except (TypeError, ValueError) as exc:
        raise _fail(source, "risk", str(exc)) from exc


def _pool(source: str, pool: Mapping[str, Any]) -> dict[str, int]:
    _unknown(source, "pool.", pool, {"workers", "batch"})
    kwargs = {}
    for key in ("workers", "batch"):
        if key in pool:
            value = _typed(source, f"pool.{key}", pool[key], int)
            if value <= 0:
                raise _fail(source, f"pool.{key}", f"must be positive, was {value}")
            kwargs[f"pool_{key}"] = value
    return kwargs


def _journal(source: str, journal: Mapping[str, Any]) -> JournalConfig:
    fields = {field.name for field in attrs.fields(JournalConfig)}
    _unknown(source, "journal.", journal, fields)
    values = dict(journal)
    if "flush" in values:
        flush = _typed(source, "journal.flush", values["flush"], str)
        try:
            values["flush"] = FlushPolicy(flush)
        except ValueError:
            allowed = ", ".join(p.value for p in FlushPolicy)
            raise _fail(source, "journal.flush", f"{flush!r} is not one of {allowed}") from None
    try:
        return JournalConfig(**values)
    except (TypeError, ValueError) as exc:
        raise _fail(source, "journal", str(exc)) from exc


def _robots(source: str, robots: Sequence[Any]) -> tuple[RobotSettings, ...]:
    seen: set[str] = set()
    out = []
    for index, robot in enumerate(robots):
        where = f"robots[{index}]"
        _typed(source, where, robot, Mapping)
        _unknown(source, f"{where}.", robot, _ROBOT_KEYS)
        for required in ("class", "name"):
            if required not in robot:
                raise _fail(source, f"{where}.{required}", "missing")
        name = _typed(source, f"{where}.name", robot["name"], str)
        if name in seen:
            raise _fail(source, f"{where}.name", f"{name!r} is used by an earlier robot")
        seen.add(name)
        class_path = _typed(source, f"{where}.class", robot["class"], str)
        try:
            cls = load_robot_class(class_path)
        except RobotError as exc:
            raise _fail(source, f"{where}.class", str(exc)) from exc
        symbols = robot.get("symbols")
        if symbols is not None:
            _typed(source, f"{where}.symbols", symbols, (list, tuple))
            for symbol in symbols:
                _typed(source, f"{where}.symbols", symbol, str)
        params = _typed(source, f"{where}.params", robot.get("params", {}), Mapping)
        try:  # build once now, so bad params stop start-up rather than a running host
            cls(name, params=params, symbols=symbols)
        except RobotError as exc:
            raise _fail(source, f"{where}.params", str(exc)) from exc
        out.append(
            RobotSettings(
                class_path=class_path,
                name=name,
                symbols=None if symbols is None else tuple(symbols),
                params=dict(params),
            )
        )
    return tuple(out)
