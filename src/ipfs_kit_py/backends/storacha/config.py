"""StorachaConfig: credentials and endpoints, from arguments > config file > environment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ipfs_kit_py.backends.registry import STORACHA_NOT_CONFIGURED
from ipfs_kit_py.backends.storacha.agent_store import agent_store_path, stored_credentials
from ipfs_kit_py.backends.storacha.did import did_key_public_key
from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE
from ipfs_kit_py.config import Secret, Sources, parse_bool, parse_number, parse_url, require
from ipfs_kit_py.errors import ConfigurationError, ProtocolError
from ipfs_kit_py.net import Timeouts
from ipfs_kit_py.tls import parse_ca_bundle

__all__ = ["DEFAULT_GATEWAY_URL", "DEFAULT_SERVICE_DID", "DEFAULT_SERVICE_URL", "StorachaConfig"]

DEFAULT_SERVICE_URL = "https://up.storacha.network"
DEFAULT_SERVICE_DID = "did:web:up.storacha.network"
DEFAULT_GATEWAY_URL = "https://storacha.link"
# the content-serve service that gets space/content/serve/* at space creation
DEFAULT_GATEWAY_DID = "did:web:w3s.link"
DEFAULT_GATEWAY_SERVICE_URL = "https://gateway.storacha.network"
NOT_CONFIGURED = STORACHA_NOT_CONFIGURED  # said once, in the registry
# an agent key without a usable proof: often an agent store whose delegations all expired
_NO_PROOF = (
    "Storacha has an agent key but no usable proof: set STORACHA_PROOF, or give the agent "
    "store a delegation that has not expired ('ipfs-kit storacha space create', "
    "'ipfs-kit storacha import-proof')"
)

MAX_CONCURRENCY = 4  # shards in flight: each is a temp file and a connection
MIN_SHARD = 1024  # the smallest shard the CAR writer takes (sharding.ShardWriter)

_ENV = {
    "key": ["STORACHA_KEY"],
    "proof": ["STORACHA_PROOF"],
    "service_url": ["STORACHA_SERVICE_URL"],
    "service_did": ["STORACHA_SERVICE_DID"],
    "service_key": ["STORACHA_SERVICE_KEY"],
    "receipts_url": ["STORACHA_RECEIPTS_URL"],
    "gateway_url": ["STORACHA_GATEWAY_URL"],
    "gateway_did": ["STORACHA_GATEWAY_DID"],
    "gateway_service_url": ["STORACHA_GATEWAY_SERVICE_URL"],
    "agent_store": ["STORACHA_AGENT_STORE"],
    "space": ["STORACHA_SPACE"],
    "shard_size": ["STORACHA_SHARD_SIZE"],
    "filecoin_offer": ["STORACHA_FILECOIN_OFFER"],
    "upload_concurrency": ["STORACHA_UPLOAD_CONCURRENCY"],
    "ca_bundle": ["STORACHA_CA_BUNDLE"],
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
    gateway_did: str = DEFAULT_GATEWAY_DID
    gateway_service_url: str = DEFAULT_GATEWAY_SERVICE_URL
    agent_store: str | None = None  # default: the XDG path (agent_store.agent_store_path)
    space: str | None = None
    shard_size: int = SHARD_SIZE
    filecoin_offer: bool = True
    upload_concurrency: int = 2  # shards transferred at once (1-4)
    timeouts: Timeouts = field(default_factory=Timeouts)  # network waits (ipfs_kit_py.net)
    receipt_timeout: float = 120.0
    ca_bundle: str | None = None  # a PEM file of CAs to trust besides the system's
    # why the agent store could not be read (damaged, refused): the kit still builds, the
    # Storacha tier reports this as its reason, and every Storacha call raises it
    store_error: str | None = None
    # where the proof came from, for messages (derived: not a setting, not summarized)
    proof_source: str = field(default="STORACHA_PROOF", metadata={"derived": True})

    @property
    def configured(self) -> bool:
        return bool(self.key) and bool(self.proof)

    def require_credentials(self) -> tuple[str, str]:
        """Return (key, proof); :class:`ConfigurationError` if the agent store they would
        come from is damaged, :class:`NotConfiguredError` if none are set."""
        if self.store_error is not None and not self.configured:
            raise ConfigurationError(self.store_error)
        key = require(self.key.value if self.key else None, NOT_CONFIGURED)
        return key, require(self.proof.value if self.proof else None, _NO_PROOF)

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

        key, proof, space = get("key"), get("proof"), get("space")
        store = get("agent_store")
        store_error = None
        given_in = (
            "the [storacha] proof" if "proof" in {**sources.section, **sources.args} else None
        )
        proof_source = given_in or "STORACHA_PROOF"
        if not key and not proof:  # env and config win; else the agent store, if any
            proof_source = f"the agent store {store or agent_store_path(sources.env)}"
            try:
                key, proof, stored_space = stored_credentials(store, sources.env)
            except ConfigurationError as exc:  # raised by Storacha calls, not by the kit
                stored_space, store_error = None, _store_damage(exc)
            space = space or stored_space
        try:
            return cls(
                key=Secret(str(key).strip()) if key else None,
                proof=Secret(str(proof).strip()) if proof else None,
                service_url=_url("service_url", get("service_url", DEFAULT_SERVICE_URL)),
                service_did=_did("service_did", get("service_did", DEFAULT_SERVICE_DID)),
                service_key=_service_key(get("service_key")),
                receipts_url=_url("receipts_url", get("receipts_url")),
                gateway_url=_url("gateway_url", get("gateway_url", DEFAULT_GATEWAY_URL)),
                gateway_did=_did("gateway_did", get("gateway_did", DEFAULT_GATEWAY_DID)),
                gateway_service_url=_url(
                    "gateway_service_url",
                    get("gateway_service_url", DEFAULT_GATEWAY_SERVICE_URL),
                ),
                agent_store=str(store) if store else None,
                space=_did("space", space, key_only=True),
                shard_size=parse_number(
                    "storacha shard_size", get("shard_size", SHARD_SIZE), int, minimum=MIN_SHARD
                ),
                filecoin_offer=parse_bool("storacha filecoin_offer", get("filecoin_offer", True)),
                upload_concurrency=_concurrency(get("upload_concurrency", 2)),
                timeouts=_timeouts(sources, get("timeout")),
                receipt_timeout=_seconds("receipt_timeout", get("receipt_timeout", 120.0)),
                ca_bundle=parse_ca_bundle("storacha ca_bundle", get("ca_bundle")),
                store_error=store_error,
                proof_source=proof_source,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid [storacha] setting: {exc}") from exc


def _store_damage(exc: ConfigurationError) -> str:
    return (
        f"the Storacha agent store cannot be used: {exc} (repair or move it away, or set "
        "STORACHA_KEY and STORACHA_PROOF; other tiers are unaffected)"
    )


def _url(name: str, value: Any) -> Any:
    """``value`` checked as an http(s) URL without ``user:password@``; None stays None."""
    if value is None or (name == "receipts_url" and not str(value).strip()):
        return None
    url, userinfo = parse_url(f"storacha {name}", value)
    if userinfo is not None:
        raise ConfigurationError(f"storacha {name} must not carry user:password@")
    return url.rstrip("/") if name != "receipts_url" else url


def _did(name: str, value: Any, *, key_only: bool = False) -> Any:
    """``value`` checked as a DID (``did:key:``, or ``did:web:`` unless ``key_only``).

    The message never quotes the value: an agent key (``Mg...``) pasted into the wrong
    field is a secret, and an invocation's audience or a space travels to the service.
    """
    if value is None:
        return None
    text = str(value).strip()
    prefixes = ("did:key:",) if key_only else ("did:key:", "did:web:")
    if not text.startswith(prefixes) or not _DID_TEXT.fullmatch(text):
        hint = " (it looks like a private key: that is `key`)" if text.startswith("Mg") else ""
        kinds = " or ".join(p + "..." for p in prefixes)
        raise ConfigurationError(f"storacha {name} must be a {kinds} DID{hint}")
    return text


def _service_key(value: Any) -> str | None:
    """The service's Ed25519 ``did:key``; ConfigurationError (never quoting it) otherwise."""
    text = _did("service_key", value, key_only=True)
    if text is None:
        return None
    try:
        did_key_public_key(text)
    except ProtocolError:
        raise ConfigurationError(
            "storacha service_key must be an Ed25519 did:key (did:key:z6Mk...)"
        ) from None
    return str(text)


_DID_TEXT = re.compile(r"did:(key|web):[A-Za-z0-9._%:-]{1,200}")


def _concurrency(value: Any) -> int:
    return parse_number(
        "storacha upload_concurrency", value, int, minimum=1, maximum=MAX_CONCURRENCY
    )


def _seconds(name: str, value: Any) -> float:
    return parse_number(f"storacha {name}", value, float, positive=True)


def _timeouts(sources: Sources, legacy_idle: Any) -> Timeouts:
    """The [storacha] network waits; the older ``timeout`` key is the idle timeout only
    (``deadline`` is its own key: the whole of one exchange with the service)."""
    defaults = {}
    if legacy_idle is not None:
        defaults = {"idle_timeout": _seconds("timeout", legacy_idle)}
    return Timeouts.from_sources("storacha", sources.args, sources.section, sources.env, **defaults)
