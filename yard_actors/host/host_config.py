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
    max_workers = 9           # the most workers the hand-off monitor may grow it to
                              # (default: workers + 8; = workers turns the monitor off)

    [mailbox]                 # market data that may wait for one robot (docs/runtime.md)
    conflate_at = 10000       # events waiting from which its quotes are conflated
    overrun_at = 50000        # events waiting at which it is halted, its ticks withheld

    reply_timeout = 5         # seconds an order may go unanswered before the gateway
                              # is asked about it (on recovery; docs/wire.md 4a)

    [supervision]             # a failed robot restarted from its journal (docs/supervision.md)
    max_restarts = 3          # at most this many restarts ...
    within_s = 60             # ... within this many seconds; then it stays failed

    journal_dir = "yard-data/journal"
    [journal]
    flush = "every_event"   # or "every_n" / "interval"

    [security]                # CURVE keys for tcp:// endpoints; paths relative to the file
    secret_key = "keys/host-a.key_secret"   # this host's key pair (yard keys keys --name host-a)
    public_keys = "keys"      # the public keys it trusts: feed.key, gateway.key, controllers'
    # server_keys = { gateway = "keys/gw-2.key" }   # a server's key by another name
    # allow_insecure_tcp = false                    # true: plain tcp, with a warning
    # max_message_size = 524288                     # bytes; a larger frame disconnects its peer

    [risk]                    # each robot's limits; a key left out keeps yard's default
    max_order_qty = 10        # lots in one order
    max_position = 10         # lots of one symbol, working orders included
    max_orders_per_second = 10  # new orders in any second of event time

    [[robots]]
    class = "robots.trend:TrendFollower"
    name = "trend-si"
    symbols = ["Si"]
    params = { fast = 5, slow = 20 }
    risk = { max_order_qty = 2 }  # this robot's own, over [risk]

Without ``[risk]`` every robot gets :data:`~yard_actors.robot.risk.DEFAULT_LIMITS`,
conservative ones: a config is how yard is deployed, and one silent about risk
must not trade hundreds of lots. (A :class:`~yard_actors.host.host.Host` built in
code has the limits it is given, none by default, and says so as it starts.)

Every problem is a :class:`ConfigError` naming the source, the key and what
is wrong, so an operator fixes it without reading code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from yard_actors.errors import ConfigError, RobotError
from yard_actors.host.backlog import CONFLATE_AT, OVERRUN_AT, MailboxLimits
from yard_actors.host.robot_checks import robot_problem
from yard_actors.host.runtimes import HOST_WORKERS, RUNTIMES
from yard_actors.host.supervision_config import supervision_config
from yard_actors.journal import FlushPolicy, JournalConfig
from yard_actors.net import security_from_config
from yard_actors.robot.loader import load_robot_class
from yard_actors.robot.risk import DEFAULT_LIMITS, RiskLimits
from yard_actors.wire.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentTable

__all__ = ["TOP_KEYS", "HostSettings", "RobotSettings", "host_settings"]

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
    "mailbox",
    "reply_timeout",
    "security",
    "supervision",
}
TOP_KEYS = frozenset(_TOP_KEYS)
"""The top-level keys a host config may have; ``yard.toml`` adds its own sections to them."""
_ENDPOINTS = ("data", "orders", "trades", "control")
_OPTIONAL_ENDPOINTS = ("recovery",)
_STORE_SCHEMES = ("sqlite:///", "mongodb://")
_URL_SCHEMES = ("inproc://", "ipc://", "tcp://")
_ROBOT_KEYS = {"class", "name", "symbols", "params", "risk"}
_RISK_KEYS = {field.name: field.metadata["unit"] for field in attrs.fields(RiskLimits)}


@attrs.frozen(kw_only=True)
class RobotSettings:
    class_path: str
    name: str
    symbols: tuple[str, ...] | None
    params: Mapping[str, Any]
    limits: RiskLimits = DEFAULT_LIMITS  # [risk], then the robot's own risk = {...}


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


def host_settings(
    config: Mapping[str, Any],
    *,
    source: str = "<config>",
    instruments: Mapping[str, Instrument] = DEFAULT_INSTRUMENTS,
) -> HostSettings:
    """Check ``config`` completely and turn it into Host arguments and robot settings.

    Each robot is built once (:func:`.robot_checks.robot_problem`): its params
    checked against their declared types and its class, its symbols against
    ``instruments``, its ``on_start`` run. The host gets ``instruments`` too (its
    robots' tick grids and :meth:`~yard_actors.robot.robot.Robot.instrument`).
    """
    _unknown(source, "", config, _TOP_KEYS)
    kwargs = _endpoints(source, _typed(source, "endpoints", config.get("endpoints", {}), Mapping))
    if "store" in config:
        store = _typed(source, "store", config["store"], str)
        if not store.startswith(_STORE_SCHEMES):
            raise _fail(source, "store", f"{store!r} is not a sqlite:/// or mongodb:// URL")
        kwargs["store"] = store
    risk = _risk(source, "risk", _typed(source, "risk", config.get("risk", {}), Mapping))
    kwargs["risk"] = risk
    kwargs.update(_runtime(source, config))
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
    if "supervision" in config:  # [supervision]: restarts of failed robots (supervision_config.py)
        table = _typed(source, "supervision", config["supervision"], Mapping)
        kwargs["supervision"] = supervision_config(table, source=source)
    if "security" in config:
        table = _typed(source, "security", config["security"], Mapping)
        kwargs["security"] = security_from_config(table, source=source)
    robots = _typed(source, "robots", config.get("robots", []), Sequence)
    robot_settings = _robots(source, robots, risk, instruments)
    kwargs["instruments"] = InstrumentTable(instruments.values())
    return HostSettings(host_kwargs=kwargs, robots=robot_settings)


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


def _risk(
    source: str, key: str, risk: Mapping[str, Any], base: RiskLimits = DEFAULT_LIMITS
) -> RiskLimits:
    """``base`` with the limits the table ``key`` sets; a limit it leaves out stays."""
    _unknown(source, f"{key}.", risk, set(_RISK_KEYS))
    for name, value in risk.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _fail(
                source,
                f"{key}.{name}",
                f"must be a positive whole number of {_RISK_KEYS[name]}, was {value!r}",
            )
    return attrs.evolve(base, **risk)


def _runtime(source: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """``runtime``, ``[pool]`` and ``[mailbox]``: how the host runs its robots."""
    kwargs: dict[str, Any] = {}
    if "runtime" in config:
        runtime = _typed(source, "runtime", config["runtime"], str)
        if runtime not in RUNTIMES:
            raise _fail(source, "runtime", f"{runtime!r} is not one of {', '.join(RUNTIMES)}")
        kwargs["runtime"] = runtime
    if "pool" in config:
        kwargs.update(_pool(source, _typed(source, "pool", config["pool"], Mapping)))
    if "mailbox" in config:
        mailbox = _typed(source, "mailbox", config["mailbox"], Mapping)
        kwargs["mailbox"] = _mailbox(source, mailbox)
    return kwargs


def _pool(source: str, pool: Mapping[str, Any]) -> dict[str, int]:
    _unknown(source, "pool.", pool, {"workers", "batch", "max_workers"})
    kwargs = {}
    for key in ("workers", "batch", "max_workers"):
        if key in pool:
            value = _typed(source, f"pool.{key}", pool[key], int)
            if value <= 0:
                raise _fail(source, f"pool.{key}", f"must be positive, was {value}")
            kwargs[f"pool_{key}"] = value
    workers = kwargs.get("pool_workers", HOST_WORKERS)
    if kwargs.get("pool_max_workers", workers) < workers:
        problem = (
            f"is the most workers the pool may grow to and must be at least "
            f"pool.workers = {workers}, was {kwargs['pool_max_workers']}"
        )
        raise _fail(source, "pool.max_workers", problem)
    return kwargs


def _mailbox(source: str, mailbox: Mapping[str, Any]) -> MailboxLimits:
    _unknown(source, "mailbox.", mailbox, {"conflate_at", "overrun_at"})
    limits = {"conflate_at": CONFLATE_AT, "overrun_at": OVERRUN_AT}
    for key in limits:
        if key in mailbox:
            value = _typed(source, f"mailbox.{key}", mailbox[key], int)
            if value <= 0:
                problem = f"must be a positive number of events, was {value}"
                raise _fail(source, f"mailbox.{key}", problem)
            limits[key] = value
    if limits["overrun_at"] <= limits["conflate_at"]:
        problem = (
            f"must be above mailbox.conflate_at = {limits['conflate_at']} (a robot is "
            f"halted only past the point its quotes are conflated), was {limits['overrun_at']}"
        )
        raise _fail(source, "mailbox.overrun_at", problem)
    return MailboxLimits(**limits)


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


def _robots(
    source: str, robots: Sequence[Any], risk: RiskLimits, instruments: Mapping[str, Instrument]
) -> tuple[RobotSettings, ...]:
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
            if not symbols:  # the feed and the gateway would read it as the class's
                own = ", ".join(repr(symbol) for symbol in cls.symbols) or "none"
                why = f"names no symbol; leave it out to trade the class's ({own})"
                raise _fail(source, f"{where}.symbols", why)
        params = _typed(source, f"{where}.params", robot.get("params", {}), Mapping)
        limits = risk
        if "risk" in robot:
            own = _typed(source, f"{where}.risk", robot["risk"], Mapping)
            limits = _risk(source, f"{where}.risk", own, risk)
        # built once now, so bad params (or over a limit, or an unknown symbol) stop start-up
        problem = robot_problem(
            cls, name, params=params, symbols=symbols, limits=limits, instruments=instruments
        )
        if problem is not None:
            raise _fail(source, f"{where}{problem[0]}", problem[1])
        out.append(
            RobotSettings(
                class_path=class_path,
                name=name,
                symbols=None if symbols is None else tuple(symbols),
                params=dict(params),
                limits=limits,
            )
        )
    return tuple(out)
