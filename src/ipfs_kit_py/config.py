"""Configuration as data: explicit arguments > TOML config file > environment.

Each backend owns its frozen config dataclass (e.g. ``S3Config`` in ``backends/s3/``)
and builds it with one convention: ``from_sources(args, section, env=None)``, where
``env=None`` always means ``os.environ``. :class:`Sources` resolves a setting from the
three; :func:`parse_bool` and :func:`parse_number` turn text into values (an unknown
value raises a ``ConfigurationError`` naming the setting); :func:`require` says what to
set when a needed value is missing. Secrets are wrapped in :class:`Secret` so no repr or
log line shows them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError

__all__ = [
    "ENV_PREFIXES",
    "Configured",
    "Environment",
    "Secret",
    "SourcedConfig",
    "Sources",
    "as_section",
    "config_file_path",
    "from_config_file",
    "load_config_file",
    "mask_url",
    "parse_bool",
    "parse_number",
    "parse_url",
    "require",
    "resolve",
    "split_userinfo",
    "xdg_dir",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})

T = TypeVar("T")


class Secret:
    """A credential whose repr, str and ``dataclasses.asdict`` never show the value.

    Not a dataclass on purpose: ``asdict`` recurses into dataclasses and would copy the
    value out; it deep-copies this object instead, which stays masked.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str) -> None:
        object.__setattr__(self, "_value", value)

    @property
    def value(self) -> str:
        return str(self._value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self

    def __reduce__(self) -> tuple[object, ...]:
        return (Secret, (self._value,))


def split_userinfo(url: str) -> tuple[str, str | None]:
    """Return ``url`` without ``user:pass@`` and that userinfo (percent-decoded), if any."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, sep, password = userinfo.partition(":")
    decoded = unquote(user) + (sep + unquote(password) if sep else "")
    return urlunsplit(parts._replace(netloc=host)), decoded


def mask_url(url: str) -> str:
    """``url`` with any ``user:pass@`` shown as ``***@``."""
    bare, userinfo = split_userinfo(url)
    if userinfo is None:
        return url
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc))


# prefixes of the environment variables any part of the kit reads
ENV_PREFIXES = ("AWS_", "S3_", "IPFS_", "STORACHA_", "XDG_")


class Environment(Mapping[str, str]):
    """The part of the environment the kit reads (by prefix); its repr hides the values."""

    def __init__(self, env: Mapping[str, str], prefixes: Sequence[str] = ENV_PREFIXES) -> None:
        self._env = {k: v for k, v in env.items() if k.startswith(tuple(prefixes))}

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return f"Environment({sorted(self._env)})"


def xdg_dir(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """Return ``$XDG_<KIND>_HOME/ipfs-kit`` (kind: CONFIG, CACHE, DATA) with XDG defaults."""
    env = os.environ if env is None else env
    defaults = {"CONFIG": ".config", "CACHE": ".cache", "DATA": ".local/share"}
    base = env.get(f"XDG_{kind}_HOME") or str(Path.home() / defaults[kind])
    return Path(base) / "ipfs-kit"


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    """Return the config file path: ``$IPFS_KIT_CONFIG`` or the XDG config path."""
    env = os.environ if env is None else env
    explicit = env.get("IPFS_KIT_CONFIG")
    return Path(explicit) if explicit else xdg_dir("CONFIG", env) / "config.toml"


def load_config_file(path: Path | None = None) -> dict[str, Any]:
    """Load the TOML config file; a missing file is an empty config."""
    path = config_file_path() if path is None else path
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc
    import tomllib  # only once a file exists: its import is a few ms of every start-up

    with f:
        try:
            return tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            # chained: tomllib names the line and column, never the file's text (its secrets)
            raise ConfigurationError(f"cannot read config file {path}: {exc}") from exc


def resolve(
    key: str,
    *,
    args: Mapping[str, Any],
    section: Mapping[str, Any],
    env: Mapping[str, str],
    env_names: Sequence[str] = (),
    default: Any = None,
) -> Any:
    """Return the first value set for ``key``: argument, config-file section, env vars."""
    if args.get(key) is not None:
        return args[key]
    if section.get(key) is not None:
        return section[key]
    for name in env_names:
        if env.get(name):
            return env[name]
    return default


@dataclass(frozen=True, slots=True)
class Sources:
    """The three places a setting can come from: ``args`` > config ``section`` > ``env``."""

    args: Mapping[str, Any]
    section: Mapping[str, Any]
    env: Mapping[str, str]

    @classmethod
    def of(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Sources:
        """The sources as given; ``env=None`` means ``os.environ``."""
        return cls(args or {}, section or {}, os.environ if env is None else env)

    def get(self, key: str, *env_names: str, default: Any = None) -> Any:
        """The first value set for ``key``: argument, section, then ``env_names`` in order."""
        return resolve(
            key,
            args=self.args,
            section=self.section,
            env=self.env,
            env_names=env_names,
            default=default,
        )

    def given(self, *env_names: str) -> bool:
        """True if an argument, a section value or one of ``env_names`` is set."""
        values = [*self.args.values(), *self.section.values()]
        return any(v is not None for v in values) or any(self.env.get(n) for n in env_names)


def parse_bool(name: str, value: Any) -> bool:
    """A bool, or ``1/0, true/false, yes/no, on/off`` in any case; else ConfigurationError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {value!r}")


def parse_number(
    name: str,
    value: Any,
    kind: Callable[[Any], T],
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    positive: bool = False,
) -> T:
    """``kind(value)`` (int or float) within [minimum, maximum] (and > 0 if ``positive``).

    Anything else (text that is not a number, a bool, NaN, infinity, out of range) raises a
    ``ConfigurationError`` naming the setting.
    """
    if isinstance(value, bool):
        raise ConfigurationError(f"{name} must be a number, got {value!r}")
    try:
        number = kind(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(number):  # type: ignore[arg-type]  # NaN or infinity: no setting
        raise ConfigurationError(f"{name} must be a number, got {value!r} (not finite)")
    if positive and number <= 0:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be positive, got {value!r}")
    if minimum is not None and number < minimum:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value!r}")
    if maximum is not None and number > maximum:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be at most {maximum}, got {value!r}")
    return number


def parse_url(name: str, value: Any) -> tuple[str, str | None]:
    """An ``http(s)://host[:port][/path]`` URL without its userinfo, and that userinfo.

    The userinfo (``user:password@``) is returned apart so no message, locator or repr
    built from the URL can show it. Anything else (another scheme, no host, a port out
    of range, spaces or control characters) raises a ``ConfigurationError`` naming the
    setting and never quoting the password.
    """
    text = str(value).strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ConfigurationError(f"{name} is not a valid URL: {exc}") from None  # may quote it
    userinfo, _, hostport = parts.netloc.rpartition("@")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # not quoted: what failed to parse may hold a password outside the netloc
        raise ConfigurationError(
            f"{name} must be an http:// or https:// URL with a host (scheme {parts.scheme!r})"
        )
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in text):
        raise ConfigurationError(f"{name} must not contain spaces or control characters")
    return clean, unquote(userinfo) if userinfo else None


def as_section(name: str, value: Any) -> dict[str, Any]:
    """Config section ``name`` as a dict (None: empty); ConfigurationError if not a table."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"[{name}] must be a table of settings, got {type(value).__name__}"
        )
    return dict(value)


def require(value: T | None, what: str) -> T:
    """Return ``value``, or raise ``NotConfiguredError`` with ``what`` (what to set)."""
    if value is None or value == "":
        raise NotConfiguredError(what)
    return value


def from_config_file(
    build: Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, str]], T],
    section: str,
    args: Mapping[str, Any],
) -> T:
    """``build(args, [section] of the default config file, os.environ)``."""
    return build(args, load_config_file().get(section) or {}, os.environ)


class SourcedConfig(Protocol):
    """A frozen config class that resolves itself from args > config-file section > env."""

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Any: ...


class Configured:
    """Base of a class built from one config object: gives it ``from_sources``.

    Subclasses set ``config_class`` and take the config as their first argument.
    """

    config_class: ClassVar[type[SourcedConfig]]

    def __init__(self, config: Any) -> None:
        self.config = config

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """Build from explicit ``args`` > config file ``section`` > ``env``; no I/O."""
        return cls(cls.config_class.from_sources(args, section, env))
