"""CURVE key pairs on disk, in the certificate format of ``zmq.auth``.

``yard keys DIR --name NAME`` writes two files: ``NAME.key``, the public key, which every
peer that must trust NAME gets a copy of, and ``NAME.key_secret``, the key pair, which
stays with NAME, readable by its owner only. A key's *name* is its file's stem: it is who
the peer is to the components that trust it (the ``User-Id`` of its messages, see
:mod:`.authenticator`), so the same name must not mean two keys.

:class:`TrustedKeys` is a directory of public keys; it is read again when the directory
changes, so a key added or removed takes effect at the next connection, with no restart.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import attrs
import zmq
import zmq.auth

from yard_actors.errors import ConfigError

__all__ = [
    "PUBLIC_SUFFIX",
    "SECRET_SUFFIX",
    "KeyPair",
    "TrustedKeys",
    "load_key_pair",
    "load_public_key",
    "make_keys",
]

logger = logging.getLogger(__name__)

PUBLIC_SUFFIX: Final = ".key"
SECRET_SUFFIX: Final = ".key_secret"  # noqa: S105 - a file name, not a password
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_Z85_KEY_LENGTH: Final = 40  # a 32-byte CURVE key in Z85 text


@attrs.frozen(kw_only=True)
class KeyPair:
    """A component's CURVE key pair, as Z85 text; ``name`` is the stem of its files."""

    name: str
    public: bytes
    secret: bytes = attrs.field(repr=False)


def make_keys(directory: Path, names: Sequence[str]) -> list[Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` (mode 0600) into ``directory`` for each name.

    Overwrites nothing: if any of the files exists, raises ConfigError before writing
    one. A directory it creates is its owner's only (0700). Returns the files written.
    """
    if not names:
        msg = "name at least one key pair to make (--name gateway, say)"
        raise ConfigError(msg)
    for name in names:
        if not _NAME.fullmatch(name):
            msg = (
                f"key name {name!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit: it becomes the key's file name"
            )
            raise ConfigError(msg)
    if len(set(names)) != len(names):
        msg = f"key names repeat: {', '.join(names)}"
        raise ConfigError(msg)
    targets = [directory / f"{name}{suffix}" for name in names for suffix in _SUFFIXES]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        msg = f"{', '.join(existing)} already exist; yard keys never overwrites a key"
        raise ConfigError(msg)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        written += _make_pair(directory, name)
    return written


_SUFFIXES: Final = (PUBLIC_SUFFIX, SECRET_SUFFIX)


def _make_pair(directory: Path, name: str) -> list[Path]:
    # zmq.auth writes the secret file with the umask's mode (0644 as a rule): make it in a
    # scratch directory only we can enter, then copy it out created 0600 from the start.
    with tempfile.TemporaryDirectory(prefix="yard-keys-") as scratch:
        made = [Path(path) for path in zmq.auth.create_certificates(scratch, name)]
        texts = {path.name: path.read_bytes() for path in made}
    secret = directory / f"{name}{SECRET_SUFFIX}"
    public = directory / f"{name}{PUBLIC_SUFFIX}"
    _write_new(secret, texts[secret.name], 0o600)
    try:
        _write_new(public, texts[public.name], 0o644)
    except BaseException:
        secret.unlink()  # no secret without its public key
        raise
    return [public, secret]


def _write_new(path: Path, text: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        msg = f"{path} already exists; yard keys never overwrites a key"
        raise ConfigError(msg) from None
    with os.fdopen(fd, "wb") as file:
        file.write(text)


def load_key_pair(path: Path) -> KeyPair:
    """Read a ``NAME.key_secret`` file; ConfigError says what is wrong and how to fix it.

    A secret file that other users can read is refused, as ssh refuses such a key.
    """
    if not path.name.endswith(SECRET_SUFFIX):
        msg = (
            f"{path} is not a secret key file: give the {SECRET_SUFFIX} file that "
            "`yard keys` made (the .key file is the public half)"
        )
        raise ConfigError(msg)
    name = path.name.removesuffix(SECRET_SUFFIX)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        msg = f"{path} does not exist; make it with `yard keys {path.parent} --name {name}`"
        raise ConfigError(msg) from None
    except OSError as exc:
        msg = f"cannot read the secret key {path}: {exc}"
        raise ConfigError(msg) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = (
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):04o}); "
            f"make it yours alone: chmod 600 {path}"
        )
        raise ConfigError(msg)
    public, secret = _read_certificate(path)
    if secret is None:
        msg = f"{path} holds no secret key; it is a public certificate renamed"
        raise ConfigError(msg)
    return KeyPair(name=name, public=public, secret=secret)


def load_public_key(path: Path) -> bytes:
    """The public key (Z85) in a ``NAME.key`` file (or the public half of a secret one)."""
    if not path.exists():
        msg = (
            f"{path} does not exist; copy it from where its key pair was made "
            f"(`yard keys DIR --name {path.name.removesuffix(PUBLIC_SUFFIX)}` writes it)"
        )
        raise ConfigError(msg)
    return _read_certificate(path)[0]


def _read_certificate(path: Path) -> tuple[bytes, bytes | None]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        msg = f"cannot read the key certificate {path}: {exc}"
        raise ConfigError(msg) from exc
    for key in (public, secret):
        if key is not None and len(key) != _Z85_KEY_LENGTH:
            msg = (
                f"{path} holds a key of {len(key)} characters, "
                f"not a {_Z85_KEY_LENGTH}-character Z85 CURVE key"
            )
            raise ConfigError(msg)
    return public, secret


class TrustedKeys:
    """The public keys of a directory (``NAME.key``), by key: whom a server lets in.

    ``own``, the component's own pair, is trusted too: whoever holds its secret is it.
    Built on the caller's thread (ConfigError if the directory or a key in it cannot be
    read), then asked by the authenticator's thread only. Each question lists the
    directory (a connection's handshake is rare enough to afford it) and reads the keys
    again when a key file came, went or changed; a key that cannot be read then is
    logged and left out.
    """

    def __init__(self, directory: Path, own: KeyPair | None = None) -> None:
        self.directory = directory
        self._own = own
        self._stamp = self._listing()
        self._names = self._read(strict=True)

    def name_of(self, public: bytes) -> str | None:
        """The name of the trusted key ``public`` (Z85), or None if it is not trusted."""
        stamp = self._listing()
        if stamp != self._stamp:
            self._stamp = stamp
            self._names = self._read(strict=False)
        return self._names.get(public)

    def _listing(self) -> frozenset[tuple[str, int, int]] | None:
        """Each key file's name, modification time and size: what tells a change."""
        try:
            with os.scandir(self.directory) as entries:
                return frozenset(
                    (entry.name, info.st_mtime_ns, info.st_size)
                    for entry in entries
                    if entry.name.endswith(PUBLIC_SUFFIX)
                    for info in (entry.stat(),)
                )
        except OSError:
            return None

    def _read(self, *, strict: bool) -> dict[bytes, str]:
        names: dict[bytes, str] = {}
        if self._own is not None:
            names[self._own.public] = self._own.name
        if not self.directory.is_dir():
            msg = f"{self.directory} is not a directory of public keys (NAME.key files)"
            if strict:
                raise ConfigError(msg)
            logger.error("%s; trusting only the keys read before", msg)
            return self._names
        for path in sorted(self.directory.glob(f"*{PUBLIC_SUFFIX}")):
            try:
                public = _read_certificate(path)[0]
            except ConfigError as exc:
                if strict:
                    raise
                logger.error("%s; that key is not trusted", exc)
                continue
            names.setdefault(public, path.name.removesuffix(PUBLIC_SUFFIX))
        return names
