"""One component's security settings: its key pair, whom it trusts, its message size limit.

Every endpoint a component binds on ``tcp://`` (loopback included: any local user can
reach it) requires CURVE: the peer must hold a key whose public half is in
``public_keys``; every endpoint it connects to on ``tcp://`` must prove it holds the
server's key. A component given no keys refuses ``tcp://`` (ConfigError, saying how to
make keys) unless ``allow_insecure_tcp``. ``inproc://`` and ``ipc://`` (a socket file
only its owner may open) need no keys. The same value is ``[security]`` in yard.toml,
the ``--secret-key``/``--public-keys``/... flags of ``yard feed`` and ``yard gateway``,
and ``Host(security=...)`` in code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from yard_actors.errors import ConfigError
from yard_actors.net.keys import PUBLIC_SUFFIX, SECRET_SUFFIX, KeyPair, load_key_pair
from yard_actors.net.keys import load_public_key as _load_public_key

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "FEED",
    "GATEWAY",
    "LOCAL_ONLY",
    "Security",
    "security_from_config",
]

FEED: Final = "feed"
"""The name of the feed's key: a client of ``data`` finds ``feed.key`` in its public keys."""

GATEWAY: Final = "gateway"
"""The name of the order gateway's key (``orders``, ``trades``, ``recovery``)."""

DEFAULT_MAX_MESSAGE_SIZE: Final = 512 * 1024
"""The largest frame a yard socket takes by default: 8 times a payload's 64 KiB limit, with
room for the ``$seqs`` heartbeat of some 20,000 robots (wire.md 4a)."""


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def _server_paths(value: Mapping[str, str | os.PathLike[str]]) -> Mapping[str, Path]:
    return {str(name): Path(path) for name, path in value.items()}


@attrs.frozen(kw_only=True)
class Security:
    """How a component's sockets authenticate; immutable, shared by all its sockets.

    ``secret_key``: the component's ``NAME.key_secret`` (``yard keys``); NAME is who it is
    to its peers. ``public_keys``: the directory of public keys (``NAME.key``) it trusts,
    where it also finds its servers' keys by name (``feed.key``, ``gateway.key``, a host's
    ``host-a.key``) unless ``server_keys`` maps a server's name to another file. The two
    go together. ``allow_insecure_tcp``: with no keys, bind and connect ``tcp://`` anyway,
    with a warning (a lab, never money). ``max_message_size``: the largest frame in bytes
    any of its sockets accepts; a peer that sends a larger one is disconnected by ZeroMQ
    before the frame is read.
    """

    secret_key: Path | None = attrs.field(default=None, converter=_path)
    public_keys: Path | None = attrs.field(default=None, converter=_path)
    server_keys: Mapping[str, Path] = attrs.field(factory=dict, converter=_server_paths, hash=False)
    allow_insecure_tcp: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE

    def __attrs_post_init__(self) -> None:
        if (self.secret_key is None) != (self.public_keys is None):
            given, missing = (
                ("secret_key", "public_keys")
                if self.public_keys is None
                else ("public_keys", "secret_key")
            )
            msg = (
                f"{given} is given without {missing}; a component with keys needs both, "
                "its own key pair and the directory of public keys it trusts"
            )
            raise ConfigError(msg)
        size = self.max_message_size
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            msg = f"max_message_size must be a positive number of bytes, was {size!r}"
            raise ConfigError(msg)

    @classmethod
    def from_keys(cls, directory: str | os.PathLike[str], name: str, **options: Any) -> Security:
        """The settings of ``name`` when ``yard keys DIRECTORY`` made every key in one place:
        its secret ``DIRECTORY/NAME.key_secret``, trusting the public keys beside it."""
        keys = Path(directory)
        return cls(secret_key=keys / f"{name}{SECRET_SUFFIX}", public_keys=keys, **options)

    @property
    def keyed(self) -> bool:
        """Whether this component has keys (and so speaks CURVE on ``tcp://``)."""
        return self.secret_key is not None

    @property
    def name(self) -> str | None:
        """The component's key name (the stem of its secret key file), None without keys."""
        if self.secret_key is None:
            return None
        return self.secret_key.name.removesuffix(SECRET_SUFFIX)

    def key_pair(self) -> KeyPair:
        """Read the component's key pair; ConfigError if there is none or it is unusable."""
        if self.secret_key is None:
            msg = "this component has no keys (security.secret_key)"
            raise ConfigError(msg)
        return load_key_pair(self.secret_key)

    def server_key(self, server: str) -> bytes:
        """The public key (Z85) of the server named ``server``: its ``server_keys`` file, or
        ``NAME.key`` in ``public_keys``."""
        path = self.server_keys.get(server)
        if path is None:
            if self.public_keys is None:
                msg = "this component has no keys (security.public_keys)"
                raise ConfigError(msg)
            path = self.public_keys / f"{server}{PUBLIC_SUFFIX}"
        try:
            return _load_public_key(path)
        except ConfigError as exc:
            msg = f"the {server} server's public key: {exc}; or name another file in server_keys"
            raise ConfigError(msg) from exc

    def in_one_process(self) -> Security:
        """These settings for a process that is feed, gateway and host at once (``yard run``):
        its own key is the server key of each, unless ``server_keys`` says otherwise."""
        if self.secret_key is None:
            return self
        own = {FEED: self.secret_key, GATEWAY: self.secret_key}  # its public half is read
        return attrs.evolve(self, server_keys={**own, **self.server_keys})


LOCAL_ONLY: Final = Security()
"""No keys: ``inproc://`` and ``ipc://`` only; the default of every component."""


_TABLE_KEYS: Final = (
    "secret_key",
    "public_keys",
    "server_keys",
    "allow_insecure_tcp",
    "max_message_size",
)


def security_from_config(table: Mapping[str, Any], *, source: str) -> Security:
    """``[security]`` of the config file ``source``, checked now, keys read once.

    Paths are relative to the file's directory (to the working directory for a
    ``<...>`` source). Every problem is a ConfigError naming the source and the key.
    """

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"{source}: security.{key}: {problem}")

    for key in table:
        if key not in _TABLE_KEYS:
            raise fail(key, f"unknown key (allowed: {', '.join(sorted(_TABLE_KEYS))})")
    base = Path() if source.startswith("<") else Path(source).parent
    given: dict[str, Any] = {}
    for key in ("secret_key", "public_keys"):
        if key in table:
            given[key] = base / _file(table[key], key, fail)
    servers = table.get("server_keys", {})
    if not isinstance(servers, Mapping):
        raise fail("server_keys", f"must be a table of key files by server name, was {servers!r}")
    given["server_keys"] = {
        name: base / _file(path, f"server_keys.{name}", fail) for name, path in servers.items()
    }
    if "allow_insecure_tcp" in table:
        if not isinstance(table["allow_insecure_tcp"], bool):
            raise fail(
                "allow_insecure_tcp", f"must be true or false, was {table['allow_insecure_tcp']!r}"
            )
        given["allow_insecure_tcp"] = table["allow_insecure_tcp"]
    if "max_message_size" in table:
        size = table["max_message_size"]
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise fail("max_message_size", f"must be a positive number of bytes, was {size!r}")
        given["max_message_size"] = size
    try:
        security = Security(**given)
    except ConfigError as exc:
        raise ConfigError(f"{source}: security: {exc}") from exc
    _check_keys(security, fail)
    return security


def _file(value: Any, key: str, fail: Callable[[str, str], ConfigError]) -> str:
    if not isinstance(value, str):
        raise fail(key, f"must be a file path (a string), was {value!r}")
    return value


def _check_keys(security: Security, fail: Callable[[str, str], ConfigError]) -> None:
    """Read every key the settings name, so a bad one stops start-up, naming its key."""
    if security.keyed:
        try:
            security.key_pair()
        except ConfigError as exc:
            raise fail("secret_key", str(exc)) from exc
        if security.public_keys is not None and not security.public_keys.is_dir():
            raise fail("public_keys", f"{security.public_keys} is not a directory of public keys")
    for name, path in security.server_keys.items():
        try:
            _load_public_key(path)
        except ConfigError as exc:
            raise fail(f"server_keys.{name}", str(exc)) from exc
