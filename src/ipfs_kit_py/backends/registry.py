"""The backend registry: a name -> the class that implements it, imported on first use.

fsspec's ``registry.py`` is the model. :data:`known_implementations` maps each name to
its class path, the config-file section it reads, and a hint (what to set or install
when it is missing); :func:`register_implementation` adds a third party's backend.
Every backend is built the same way, by ``cls.from_sources(args, section, env)``::

    from ipfs_kit_py.backends.registry import build_backend, register_implementation

    register_implementation("mystore", "my_pkg.store.MyStoreBackend", section="mystore")
    backend = build_backend("mystore", {"root": "/srv/store"})

The facade builds every configured tier through :func:`build_backends`, so the tier
manager, the index and the facade never import a backend module. A built-in backend that
no argument, config section or environment variable of its own (``env_prefixes``)
mentions is not imported at all: it answers ``NotConfiguredError(unconfigured)`` at once,
so a command that uses no remote tier never loads an HTTP client or a crypto library.
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.config import as_section, xdg_dir
from ipfs_kit_py.errors import ConfigurationError, IpfsKitError, NotConfiguredError

if TYPE_CHECKING:
    from ipfs_kit_py.index import MetadataIndex

__all__ = [
    "Implementation",
    "available_backends",
    "build_backend",
    "build_backends",
    "build_configured",
    "config_file_of",
    "get_backend_class",
    "known_implementations",
    "register_implementation",
]


@dataclass(frozen=True, slots=True)
class Implementation:
    """Where a backend class lives, which config section it reads, and what to set.

    ``env_prefixes``: the environment variables (by prefix) the backend reads; when set
    and neither they, the arguments nor the config section say anything, the backend is
    not configured and ``unconfigured`` says what to set, without importing the class.
    ``config_file``: (variable, name) of a file that configures the backend when it exists
    (``$variable``, else ``name`` in the XDG config dir), e.g. Storacha's agent store.
    ``tier``: the tier name the class declares, known without importing it (None: ask
    the class); a test holds each built-in's to its class.
    """

    class_path: str
    section: str
    hint: str = ""
    env_prefixes: tuple[str, ...] = ()
    unconfigured: str = ""
    tier: str | None = None
    # (env var, file name in the XDG config dir): a file that configures it when present
    config_file: tuple[str, str] | None = None


# what the S3 and Storacha configs say when nothing is set (a test holds them equal)
S3_NOT_CONFIGURED = (
    "S3 not configured: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
    "IPFS_KIT_S3_BUCKET, and S3_ENDPOINT_URL for a store other than AWS; or access_key_id, "
    "secret_access_key, bucket and endpoint_url in the [s3] section of config.toml"
)
STORACHA_NOT_CONFIGURED = (
    "Storacha not configured: set STORACHA_KEY and STORACHA_PROOF (the agent key from "
    "'storacha key create' and the proof from 'storacha delegation create --base64'), "
    "or key/proof in the [storacha] section of the config file"
)

known_implementations: dict[str, Implementation] = {
    "memory": Implementation(
        "ipfs_kit_py.backends.memory.MemoryBackend",
        "cache",
        "set [cache] memory_bytes",
        tier="memory",
    ),
    "disk": Implementation(
        "ipfs_kit_py.backends.disk.DiskBackend",
        "cache",
        "set [cache] cache_dir / disk_bytes",
        tier="disk",
    ),
    "kubo": Implementation(
        "ipfs_kit_py.backends.kubo.backend.KuboBackend",
        "kubo",
        "set [kubo] api_url in the config file or IPFS_API_URL",
        ("IPFS_API_URL", "IPFS_PATH"),
        "kubo is not configured: set [kubo] api_url in the config file or IPFS_API_URL",
        tier="ipfs",
    ),
    "s3": Implementation(
        "ipfs_kit_py.backends.s3.backend.S3Backend",
        "s3",
        "set [s3] in the config file or AWS_* env",
        (
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_PROFILE",
            "S3_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "IPFS_KIT_S3_",
        ),
        S3_NOT_CONFIGURED,
        tier="s3",
    ),
    "storacha": Implementation(
        "ipfs_kit_py.backends.storacha.backend.StorachaBackend",
        "storacha",
        "set [storacha] in the config file or STORACHA_KEY / STORACHA_PROOF",
        ("STORACHA_",),
        STORACHA_NOT_CONFIGURED,
        tier="storacha",
        config_file=("STORACHA_AGENT_STORE", "storacha-agent.json"),  # the agent store
    ),
    "gateway": Implementation(
        "ipfs_kit_py.backends.gateway.GatewayBackend",
        "gateway",
        "set [gateway] urls in the config file or IPFS_KIT_GATEWAYS",
        ("IPFS_KIT_GATEWAYS",),
        "no gateway configured: set [gateway] urls in the config file or IPFS_KIT_GATEWAYS",
        tier="gateway",
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
    if not isinstance(cls, str | type):
        raise ConfigurationError(f"a backend is a class or a dotted class path, got {cls!r}")
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


def build_peer_tier(index: Callable[[], MetadataIndex]) -> BaseBackend:
    """The ``peer`` tier: other nodes' copies through the gateways they advertise in
    ``index`` (no section configures it: every kit with a node id has one)."""
    from ipfs_kit_py.backends.peer import PeerBackend

    return PeerBackend(index)


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
    """Every instance of backend ``name`` one section asks for (gateways: one per URL).

    Raises ``NotConfiguredError`` when the sources do not ask for it.
    """
    impl = implementation(name)
    mentioned = _mentioned(impl.env_prefixes, args, section, env) or _discovered(impl, env)
    if impl.env_prefixes and not mentioned:
        raise NotConfiguredError(impl.unconfigured or f"{name} is not configured: {impl.hint}")
    return list(get_backend_class(name).all_from_sources(args, section, env))


def build_configured(
    name: str, args: Mapping[str, Any], file: Mapping[str, Any], env: Mapping[str, str]
) -> list[BaseBackend]:
    """:func:`build_backends` of ``name`` from ``args`` and its section of the config
    file ``file``; a backend failing otherwise than with an ``IpfsKitError`` (a third
    party's ``from_sources``) raises ``ConfigurationError`` naming it."""
    impl = implementation(name)
    section = as_section(impl.section, file.get(impl.section))
    try:
        return build_backends(name, args, section, env)
    except IpfsKitError:
        raise
    except Exception as exc:
        raise ConfigurationError(
            f"backend {name!r} could not be built: {type(exc).__name__}: {exc}"
        ) from exc


def config_file_of(name: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Where backend ``name`` keeps a file that configures it (``$VAR`` or the XDG config
    dir), or None if it keeps none."""
    return _config_path(implementation(name), env)


def _config_path(impl: Implementation, env: Mapping[str, str] | None) -> Path | None:
    if impl.config_file is None:
        return None
    env = os.environ if env is None else env
    var, file_name = impl.config_file
    return Path(env[var]) if env.get(var) else xdg_dir("CONFIG", env) / file_name


def _discovered(impl: Implementation, env: Mapping[str, str] | None) -> bool:
    """True if the implementation's own configuration file exists."""
    path = _config_path(impl, env)
    return path is not None and path.is_file()


def _mentioned(
    prefixes: tuple[str, ...],
    args: Mapping[str, Any] | None,
    section: Mapping[str, Any] | None,
    env: Mapping[str, str] | None,
) -> bool:
    """True if an argument, a section value or a variable named ``prefix...`` is set."""
    if any(v is not None for v in (args or {}).values()) or section:
        return True
    env = os.environ if env is None else env
    return any(value and key.startswith(prefixes) for key, value in env.items())
