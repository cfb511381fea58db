"""The backend registry: a name -> the class that implements it, imported on first use.

fsspec's ``registry.py`` is the model. :data:`known_implementations` maps each name to
its class path, the config-file section it reads, and a hint (what to set or install
when it is missing); :func:`register_implementation` adds a third party's backend.
Every backend is built the same way, by ``cls.from_sources(args, section, env)``::

    from ipfs_kit_py.backends.registry import build_backend, register_implementation

    register_implementation("mystore", "my_pkg.store.MyStoreBackend", section="mystore")
    backend = build_backend("mystore", {"root": "/srv/store"})

The facade builds every configured tier through :func:`build_backends`, so the tier
manager, the index and the facade never import a backend module.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.errors import ConfigurationError, NotConfiguredError

__all__ = [
    "Implementation",
    "available_backends",
    "build_backend",
    "build_backends",
    "get_backend_class",
    "known_implementations",
    "register_implementation",
]


@dataclass(frozen=True, slots=True)
class Implementation:
    """Where a backend class lives, which config section it reads, and what to set."""

    class_path: str
    section: str
    hint: str = ""


known_implementations: dict[str, Implementation] = {
    "memory": Implementation(
        "ipfs_kit_py.backends.memory.MemoryBackend", "cache", "set [cache] memory_bytes"
    ),
    "disk": Implementation(
        "ipfs_kit_py.backends.disk.DiskBackend", "cache", "set [cache] cache_dir / disk_bytes"
    ),
    "kubo": Implementation(
        "ipfs_kit_py.backends.kubo.backend.KuboBackend",
        "kubo",
        "set [kubo] api_url in the config file or IPFS_API_URL",
    ),
    "s3": Implementation(
        "ipfs_kit_py.backends.s3.backend.S3Backend",
        "s3",
        "set [s3] in the config file or AWS_* env",
    ),
    "storacha": Implementation(
        "ipfs_kit_py.backends.storacha.backend.StorachaBackend",
        "storacha",
        "set [storacha] in the config file or STORACHA_KEY / STORACHA_PROOF",
    ),
    "gateway": Implementation(
        "ipfs_kit_py.backends.gateway.GatewayBackend",
        "gateway",
        "set [gateway] urls in the config file or IPFS_KIT_GATEWAYS",
    ),
}

_classes: dict[str, type[BaseBackend]] = {}
_lock = threading.Lock()


def register_implementation(
    name: str,
    cls: str | type[BaseBackend],
    *,
    section: str | None = None,
    hint: str = "",
    clobber: bool = False,
) -> None:
    """Register backend ``name``: a ``BaseBackend`` subclass, or its dotted class path.

    ``section`` is the config-file section it reads (default: ``name``). Replacing a
    registered name needs ``clobber=True``; otherwise that raises ``ConfigurationError``.
    """
    if not name or not name.isidentifier():
        raise ConfigurationError(f"a backend name must be an identifier, got {name!r}")
    if isinstance(cls, type) and not issubclass(cls, BaseBackend):
        raise ConfigurationError(f"{cls.__name__} does not derive from BaseBackend")
    path = cls if isinstance(cls, str) else f"{cls.__module__}.{cls.__qualname__}"
    with _lock:
        if name in known_implementations and not clobber:
            current = known_implementations[name].class_path
            if current != path:
                raise ConfigurationError(f"backend {name!r} is already {current}")
        known_implementations[name] = Implementation(path, section or name, hint)
        _classes.pop(name, None)
        if isinstance(cls, type):
            _classes[name] = cls


def available_backends() -> list[str]:
    """Registered backend names, in registration order (the built-ins first)."""
    return list(known_implementations)


def get_backend_class(name: str) -> type[BaseBackend]:
    """The class registered as ``name``, imported on first use.

    Raises ``ConfigurationError`` for an unknown name or a class that is not a
    ``BaseBackend``, and its subclass ``NotConfiguredError`` for one that cannot be
    imported (a missing optional dependency; the message carries the registered hint).
    """
    if name in _classes:
        return _classes[name]
    impl = implementation(name)
    module_name, _, cls_name = impl.class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError) as exc:
        raise NotConfiguredError(
            f"backend {name!r} ({impl.class_path}) cannot be loaded: {exc}"
            + (f"; {impl.hint}" if impl.hint else "")
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, BaseBackend)):
        raise ConfigurationError(f"backend {name!r}: {impl.class_path} is not a BaseBackend")
    with _lock:
        _classes[name] = cls
    return cls


def implementation(name: str) -> Implementation:
    """The registration of ``name``; ``ConfigurationError`` if it is not registered."""
    try:
        return known_implementations[name]
    except KeyError as exc:
        known = ", ".join(known_implementations)
        raise ConfigurationError(f"unknown backend {name!r} (known: {known})") from exc


def build_backend(
    name: str,
    args: Mapping[str, Any] | None = None,
    section: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> BaseBackend:
    """``from_sources(args, section, env)`` of backend ``name`` (``env=None``: os.environ).

    Raises ``NotConfiguredError`` when the sources do not ask for it.
    """
    return get_backend_class(name).from_sources(args, section, env)


def build_backends(
    name: str,
    args: Mapping[str, Any] | None = None,
    section: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[BaseBackend]:
    """Every instance of backend ``name`` one section asks for (gateways: one per URL)."""
    return list(get_backend_class(name).all_from_sources(args, section, env))
