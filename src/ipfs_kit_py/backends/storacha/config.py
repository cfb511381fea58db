"""StorachaConfig: credentials and endpoints, from arguments > config file > environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE
from ipfs_kit_py.config import Secret, Sources, parse_bool, parse_number, require
from ipfs_kit_py.errors import ConfigurationError

__all__ = ["DEFAULT_GATEWAY_URL", "DEFAULT_SERVICE_DID", "DEFAULT_SERVICE_URL", "StorachaConfig"]

DEFAULT_SERVICE_URL = "https://up.storacha.network"
DEFAULT_SERVICE_DID = "did:web:up.storacha.network"
DEFAULT_GATEWAY_URL = "https://storacha.link"
NOT_CONFIGURED = (
    "Storacha not configured: set STORACHA_KEY and STORACHA_PROOF (the agent key from "
    "'storacha key create' and the proof from 'storacha delegation create --base64'), "
    "or key/proof in the [storacha] section of the config file"
)

_ENV = {
    "key": ["STORACHA_KEY"],
    "proof": ["STORACHA_PROOF"],
    "service_url": ["STORACHA_SERVICE_URL"],
    "service_did": ["STORACHA_SERVICE_DID"],
    "service_key": ["STORACHA_SERVICE_KEY"],
    "receipts_url": ["STORACHA_RECEIPTS_URL"],
    "gateway_url": ["STORACHA_GATEWAY_URL"],
    "space": ["STORACHA_SPACE"],
    "shard_size": ["STORACHA_SHARD_SIZE"],
    "filecoin_offer": ["STORACHA_FILECOIN_OFFER"],
}


@dataclass(frozen=True)
class StorachaConfig:
    """Everything the client needs; secrets are masked in repr."""

    key: Secret | None = None
    proof: Secret | None = None
    service_url: str = DEFAULT_SERVICE_URL
    service_did: str = DEFAULT_SERVICE_DID
    service_key: str | None = None  # the service's did:key; else resolved from did.json
    receipts_url: str | None = None  # default: <service_url>/receipt/
    gateway_url: str = DEFAULT_GATEWAY_URL
    space: str | None = None
    shard_size: int = SHARD_SIZE
    filecoin_offer: bool = True
    timeout: float = 120.0
    receipt_timeout: float = 120.0

    @property
    def configured(self) -> bool:
        return bool(self.key) and bool(self.proof)

    def require_credentials(self) -> tuple[str, str]:
        """Return (key, proof) or raise :class:`NotConfiguredError`."""
        key = require(self.key.value if self.key else None, NOT_CONFIGURED)
        return key, require(self.proof.value if self.proof else None, NOT_CONFIGURED)

    @property
    def receipts_endpoint(self) -> str:
        base = self.receipts_url or self.service_url.rstrip("/") + "/receipt/"
        return base if base.endswith("/") else base + "/"

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> StorachaConfig:
        """Build from explicit args > the [storacha] config section > environment."""
        sources = Sources.of(args, section, env)

        def get(name: str, default: Any = None) -> Any:
            return sources.get(name, *_ENV.get(name, ()), default=default)

        key, proof = get("key"), get("proof")
        try:
            return cls(
                key=Secret(str(key).strip()) if key else None,
                proof=Secret(str(proof).strip()) if proof else None,
                service_url=str(get("service_url", DEFAULT_SERVICE_URL)).rstrip("/"),
                service_did=str(get("service_did", DEFAULT_SERVICE_DID)),
                service_key=get("service_key"),
                receipts_url=get("receipts_url"),
                gateway_url=str(get("gateway_url", DEFAULT_GATEWAY_URL)).rstrip("/"),
                space=get("space"),
                shard_size=parse_number("storacha shard_size", get("shard_size", SHARD_SIZE), int),
                filecoin_offer=parse_bool("storacha filecoin_offer", get("filecoin_offer", True)),
                timeout=_seconds("timeout", get("timeout", 120.0)),
                receipt_timeout=_seconds("receipt_timeout", get("receipt_timeout", 120.0)),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [storacha] setting: {exc}") from exc


def _seconds(name: str, value: Any) -> float:
    return parse_number(f"storacha {name}", value, float, positive=True)
