"""How the facade finds its backends: configuration -> the registry -> typed backends.

Nothing here touches the network: backends are built from configuration only, through
:mod:`ipfs_kit_py.backends.registry`; :func:`probe` is the one call that asks a tier
whether it answers. :class:`UnconfiguredKit` stands in for a dict kit whose backend
could not be built.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ipfs_kit_py.backends.base import BaseBackend
from ipfs_kit_py.backends.registry import (
    available_backends,
    build_configured,
    get_backend_class,
    implementation,
)
from ipfs_kit_py.config import as_section
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.errors import (
    ConfigurationError,
    IpfsKitError,
    MissingDependencyError,
    NotConfiguredError,
)
from ipfs_kit_py.results import dict_result

__all__ = [
    "LOCAL",
    "REMOTE_ORDER",
    "KitSources",
    "RemoteBackends",
    "TierStatus",
    "UnconfiguredKit",
    "backend_sections",
    "build_kit",
    "probe",
    "tier_aliases",
    "tier_statuses",
]

PROBE_CONTENT = b"ipfs-kit reachability probe"  # its CID is asked for by `backends`
LOCAL = ("memory", "disk")
# remote tiers in read order after the local ones; third-party backends come last
REMOTE_ORDER = ("kubo", "s3", "storacha", "gateway")


@dataclass(frozen=True, slots=True)
class TierStatus:
    """One configured (or unconfigured) backend, and whether it answers."""

    name: str
    kind: str
    configured: bool
    reachable: bool
    reason: str = ""
    aliases: tuple[str, ...] = ()  # other names the tier answers to (``kubo`` for ``ipfs``)


class UnconfiguredKit:
    """Stands in for a kit whose backend could not be built: its methods say so.

    Its methods answer ``{"success": False, "error_type": "NotConfiguredError", ...}``;
    its properties raise ``NotConfiguredError``; names the real kit class does not have
    raise ``AttributeError`` (a typo such as ``uplaod_file`` is not "not configured").
    With no class known, any public name answers. ``missing``: the kit's optional
    dependencies are not installed, and the error is ``MissingDependencyError`` (``hint``
    names the extra to install).
    """

    def __init__(
        self, name: str, hint: str, kit_class: type | None = None, *, missing: bool = False
    ) -> None:
        self._name, self._hint, self._kit_class = name, hint, kit_class
        self._missing = missing

    def _error(self) -> IpfsKitError:
        if self._missing:
            return MissingDependencyError(self._hint)
        if "not configured" in self._hint:  # a backend's own reason, said as it is
            return NotConfiguredError(self._hint)
        return NotConfiguredError(f"{self._name} is not configured: {self._hint}")

    def __repr__(self) -> str:
        return f"<{self._name} (not configured)>"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)
        if self._kit_class is not None:
            if not hasattr(self._kit_class, attr):
                raise AttributeError(f"{self._kit_class.__name__} has no attribute {attr!r}")
            if not callable(getattr(self._kit_class, attr)):  # a property of the real kit
                raise self._error()

        @dict_result
        def not_configured(*args: Any, **kwargs: Any) -> None:
            raise self._error()

        return not_configured


@dataclass(frozen=True, slots=True)
class KitSources:
    """What the facade was given: the config file, keyword sections, the environment."""

    # the config file, keyword sections and environment hold credentials: never in a repr
    file: Mapping[str, Any] = field(repr=False)
    sections: Mapping[str, Mapping[str, Any]] = field(repr=False)
    env: Mapping[str, str] = field(repr=False)

    def file_section(self, name: str) -> dict[str, Any]:
        return as_section(name, self.file.get(name))

    def merged(self, name: str) -> dict[str, Any]:
        """Section ``name`` of the config file, overridden by the keyword section."""
        return {**self.file_section(name), **as_section(name, self.sections.get(name))}

    def build(self, name: str, args: Mapping[str, Any] | None = None) -> list[BaseBackend]:
        """The instances of registered backend ``name`` these sources configure."""
        given = {**as_section(name, self.sections.get(name)), **(args or {})}
        return build_configured(name, given, self.file, self.env)

    def remote_backends(self) -> RemoteBackends:
        """Build every registered remote backend (no I/O); note why others are missing."""
        remote = RemoteBackends()
        extra = [n for n in available_backends() if n not in LOCAL and n not in REMOTE_ORDER]
        try:
            for name in (*REMOTE_ORDER, *extra):
                self._add_remote(remote, name)
        except BaseException:
            remote.close()  # an invalid setting further on: release what was built
            raise
        return remote

    def _add_remote(self, remote: RemoteBackends, name: str) -> None:
        try:
            built = self.build(name)
        except NotConfiguredError as exc:
            remote.missing[name] = str(exc)
            return
        remote.built[name] = built
        try:
            for backend in built:
                backend.check_configured()
        except ConfigurationError as exc:  # not set, or its own store damaged: the tier's why
            remote.missing[name] = str(exc)


@dataclass(slots=True)
class RemoteBackends:
    """The remote backends the configuration built, and why the rest are missing."""

    built: dict[str, list[BaseBackend]] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def tiers(self) -> list[BaseBackend]:
        """The backends ready to serve as tiers, in read order."""
        return [b for name, group in self.built.items() if name not in self.missing for b in group]

    def first(self, name: str) -> BaseBackend:
        """The (first) backend built as ``name``; NotConfiguredError saying why if none."""
        if name in self.built:
            return self.built[name][0]
        get_backend_class(name)  # asked for by name: a missing extra says so first
        raise NotConfiguredError(self.missing.get(name) or f"{name} is not configured")

    def unconfigured(self) -> dict[str, str]:
        """Why each missing backend is missing, by its registry and its tier name."""
        names = {name: _tier_name(name) for name in self.missing}
        return {alias: self.missing[name] for name, tier in names.items() for alias in (name, tier)}

    def close(self) -> None:
        """Close every backend built (each ``close`` is idempotent)."""
        for group in self.built.values():
            for backend in group:
                backend.close()


def backend_sections(sections: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keyword sections by remote backend name; ConfigurationError for a name none has."""
    known = [n for n in available_backends() if n not in LOCAL]
    unknown = sorted(set(sections) - set(known))
    if unknown:
        raise ConfigurationError(f"no backend named {unknown} (known: {', '.join(known)})")
    return {name: as_section(name, section) for name, section in sections.items()}


# the seed's dict kits over the typed backends: registry name -> kit class path
KITS = {"s3": "ipfs_kit_py.s3_kit.S3Kit", "storacha": "ipfs_kit_py.storacha_kit.StorachaKit"}


def build_kit(name: str, remote: RemoteBackends) -> Any:
    """The dict kit over backend ``name`` as built, or an :class:`UnconfiguredKit`."""
    module_name, _, cls_name = KITS[name].rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except MissingDependencyError as exc:  # the kit's extra is not installed
        return UnconfiguredKit(name, str(exc), missing=True)
    except ImportError:
        return UnconfiguredKit(name, implementation(name).hint)
    try:
        backend = remote.first(name)
    except NotConfiguredError as exc:
        return UnconfiguredKit(name, str(exc), cls)
    return cls.from_backend(backend)


def tier_statuses(tiers: Sequence[BaseBackend], missing: Mapping[str, str]) -> list[TierStatus]:
    """Every tier, reachable or not and why; plus the backends left unconfigured."""
    statuses = [probe(tier) for tier in tiers]
    present = {tier.name for tier in tiers}
    for name, reason in missing.items():
        tier_name = _tier_name(name)
        if tier_name not in present:
            kind = implementation(name).class_path.rpartition(".")[2]
            statuses.append(TierStatus(tier_name, kind, False, False, reason))
    aliases: dict[str, tuple[str, ...]] = {}
    for alias, tier_name in tier_aliases().items():
        aliases[tier_name] = (*aliases.get(tier_name, ()), alias)
    return [replace(s, aliases=aliases[s.name]) if s.name in aliases else s for s in statuses]


def tier_aliases() -> dict[str, str]:
    """Registry names that differ from their tier's name (``kubo`` -> ``ipfs``): aliases."""
    tiers = {name: _tier_name(name) for name in available_backends()}
    return {name: tier for name, tier in tiers.items() if tier != name}


def _tier_name(name: str) -> str:
    """The tier name backend ``name`` declares (kubo's is ``ipfs``); ``name`` if unloadable.

    A registration that states it (every built-in) is not imported to ask.
    """
    known = implementation(name).tier
    if known is not None:
        return known
    try:
        return get_backend_class(name).name
    except ConfigurationError:
        return name


def probe(tier: BaseBackend) -> TierStatus:
    """Ask ``tier`` whether it holds a probe CID: reachable, or not and why."""
    kind = type(tier).__name__
    try:
        tier.has(sha256_cid(RAW, PROBE_CONTENT))
    except IpfsKitError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    return TierStatus(tier.name, kind, True, True)
