"""How the facade finds its backends: the optional kits, kubo and gateways, and their status.

Nothing here touches the network: kits and backends are built from configuration only;
:func:`probe` is the one call that asks a tier whether it answers.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ipfs_kit_py.backends.base import Backend
from ipfs_kit_py.config import resolve
from ipfs_kit_py.content.cid import RAW, sha256_cid
from ipfs_kit_py.errors import IpfsKitError, NotConfiguredError
from ipfs_kit_py.results import dict_result

__all__ = ["KIT_HINTS", "KitSources", "TierStatus", "UnconfiguredKit", "probe", "tier_statuses"]

PROBE_CID = sha256_cid(RAW, b"ipfs-kit reachability probe")
SECTIONS = frozenset({"s3", "storacha", "kubo", "gateway", "replication"})


@dataclass(frozen=True, slots=True)
class TierStatus:
    """One configured (or unconfigured) backend, and whether it answers."""

    name: str
    kind: str
    configured: bool
    reachable: bool
    reason: str = ""


class UnconfiguredKit:
    """Stands in for a kit whose backend has no configuration: every call says so."""

    def __init__(self, name: str, hint: str) -> None:
        self._name, self._hint = name, hint

    def __repr__(self) -> str:
        return f"<{self._name} (not configured)>"

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_"):
            raise AttributeError(attr)

        @dict_result
        def not_configured(*args: Any, **kwargs: Any) -> None:
            raise NotConfiguredError(f"{self._name} is not configured: {self._hint}")

        return not_configured


# attribute -> (module, class, config section, what to set when it is missing)
KIT_HINTS = {
    "s3_kit": ("ipfs_kit_py.s3_kit", "S3Kit", "s3", "set [s3] in the config file or AWS_* env"),
    "storacha_kit": (
        "ipfs_kit_py.storacha_kit",
        "StorachaKit",
        "storacha",
        "set [storacha] in the config file or STORACHA_KEY / STORACHA_PROOF",
    ),
}


@dataclass(frozen=True, slots=True)
class KitSources:
    """What the facade was given: the config file, keyword sections, the environment."""

    file: Mapping[str, Any]
    sections: Mapping[str, Mapping[str, Any]]
    env: Mapping[str, str]

    def file_section(self, name: str) -> dict[str, Any]:
        return dict(self.file.get(name) or {})

    def merged(self, name: str) -> dict[str, Any]:
        """Section ``name`` of the config file, overridden by the keyword section."""
        return {**self.file_section(name), **self.sections[name]}

    def build_kit(self, attr: str) -> Any:
        module_name, cls_name, section, hint = KIT_HINTS[attr]
        try:
            cls = getattr(importlib.import_module(module_name), cls_name)
        except ImportError:
            return UnconfiguredKit(section, hint)
        args = self.sections[section]
        file_section = self.file_section(section)
        try:
            return cls.from_sources(args, file_section, self.env)
        except NotConfiguredError as exc:
            return UnconfiguredKit(section, str(exc))

    def remote_backends(self, kits: Iterable[Any]) -> list[Backend]:
        """Remote tiers in order: kubo, S3, Storacha, gateways (if configured); no I/O."""
        backends: list[Backend] = []
        kubo = self.kubo_backend()
        if kubo is not None:
            backends.append(kubo)
        for kit in kits:
            if isinstance(kit, UnconfiguredKit) or not is_configured(kit):
                continue
            backend = kit.backend  # only touched once configured: it may check credentials
            if isinstance(backend, Backend):
                backends.append(backend)
        return backends + self.gateway_backends()

    def gateway_backends(self) -> list[Backend]:
        """Read-only trustless gateways: ``[gateway] urls``, ``gateway=``, IPFS_KIT_GATEWAYS."""
        section = self.file_section("gateway")
        urls = resolve(
            "urls",
            args=self.sections["gateway"],
            section=section,
            env=self.env,
            env_names=["IPFS_KIT_GATEWAYS"],
            default=[],
        )
        if isinstance(urls, str):
            urls = [u.strip() for u in urls.split(",") if u.strip()]
        if not urls:
            return []
        gateway = importlib.import_module("ipfs_kit_py.backends.gateway")
        backends: list[Backend] = []
        for n, url in enumerate(urls):
            backend = gateway.GatewayBackend(str(url))
            backend.name = "gateway" if n == 0 else f"gateway{n + 1}"
            backends.append(backend)
        return backends

    def kubo_config(self) -> Any:
        """kubo's config when kubo is asked for: ``[kubo]``, ``kubo=`` or IPFS_API_URL."""
        args = self.sections["kubo"]
        section = self.file_section("kubo")
        if not (args or section or self.env.get("IPFS_API_URL") or self.env.get("IPFS_PATH")):
            return None
        try:
            kubo = importlib.import_module("ipfs_kit_py.backends.kubo.backend")
        except ImportError:
            return None
        return kubo.KuboConfig.from_sources(args, file={"kubo": section}, env=self.env)

    def kubo_backend(self) -> Backend | None:
        """kubo joins the tiers only when asked for (see :meth:`kubo_config`)."""
        config = self.kubo_config()
        if config is None:
            return None
        kubo = importlib.import_module("ipfs_kit_py.backends.kubo.backend")
        backend: Backend = kubo.KuboBackend.from_config(config)
        return backend


def tier_statuses(tiers: Sequence[Backend], kits: Mapping[str, Any]) -> list[TierStatus]:
    """Every tier, reachable or not and why; plus the backends left unconfigured."""
    statuses = [probe(tier) for tier in tiers]
    present = {tier.name for tier in tiers}
    if "ipfs" not in present:
        hint = "set [kubo] api_url in the config file or IPFS_API_URL"
        statuses.append(TierStatus("ipfs", "KuboBackend", False, False, hint))
    for attr, (_, _, section, hint) in KIT_HINTS.items():
        kit = kits[attr]
        if section not in present:
            kind = "remote" if isinstance(kit, UnconfiguredKit) else type(kit).__name__
            statuses.append(TierStatus(section, kind, False, False, why_unconfigured(kit, hint)))
    return statuses


def probe(tier: Backend) -> TierStatus:
    kind = type(tier).__name__
    try:
        tier.has(PROBE_CID)
    except IpfsKitError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        return TierStatus(tier.name, kind, True, False, f"{type(exc).__name__}: {exc}")
    return TierStatus(tier.name, kind, True, True)


def why_unconfigured(kit: Any, hint: str) -> str:
    """The kit's own explanation of what is missing, else ``hint``."""
    if isinstance(kit, UnconfiguredKit):
        return kit._hint
    config = getattr(kit, "config", None)
    try:
        for check in ("require", "require_bucket", "require_credentials"):
            method = getattr(config, check, None)
            if callable(method):
                method()
    except NotConfiguredError as exc:
        return str(exc)
    return hint


def is_configured(kit: Any) -> bool:
    """A kit whose config says it lacks credentials (or a bucket) is left out."""
    config = getattr(kit, "config", None)
    if config is None:
        return True
    has_bucket = getattr(config, "bucket", True) is not None
    return bool(getattr(config, "configured", True)) and has_bucket
