"""Configuration as data: explicit arguments > TOML config file > environment.

Each backend owns its frozen config dataclass (e.g. ``S3Config`` in ``backends/s3.py``)
and builds it with :func:`resolve` from the three sources this module loads.
Secrets are wrapped in :class:`Secret` so no repr or log line shows them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from ipfs_kit_py.errors import ConfigurationError

__all__ = [
    "ENV_PREFIXES",
    "Configured",
    "Environment",
    "Secret",
    "SourcedConfig",
    "config_file_path",
    "from_config_file",
    "load_config_file",
    "mask_url",
    "resolve",
    "split_userinfo",
    "xdg_dir",
]

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
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read config file {path}: {exc}") from None


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
