"""Configuration as data: explicit arguments > TOML config file > environment.

Each backend owns its frozen config dataclass (e.g. ``S3Config`` in ``backends/s3.py``)
and builds it with :func:`resolve` from the three sources this module loads.
Secrets are wrapped in :class:`Secret` so no repr or log line shows them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from ipfs_kit_py.errors import ConfigurationError

__all__ = [
    "Configured",
    "Secret",
    "SourcedConfig",
    "config_file_path",
    "from_config_file",
    "load_config_file",
    "resolve",
    "xdg_dir",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential whose repr and str never show the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self.value)


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
