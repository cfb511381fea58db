"""storacha_kit: the seed's dict-returning face over :mod:`ipfs_kit_py.backends.storacha`.

Every method returns ``{"success": True, ...}`` or ``{"success": False, "error": ...,
"error_type": ...}``; the typed API is :class:`StorachaBackend`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ipfs_kit_py.backends.storacha.agent import StorachaAgent
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.upload import UploadResult
from ipfs_kit_py.config import from_config_file
from ipfs_kit_py.content.cid import CID, cid_key, parse_cid
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from ipfs_kit_py.results import DictKit, dict_result

__all__ = ["StorachaKit", "storacha_kit"]


def _upload_fields(result: UploadResult, space: str) -> dict[str, Any]:
    return {
        "cid": cid_key(result.root),
        "shards": [cid_key(s) for s in result.shards],
        "index": cid_key(result.index),
        "pieces": [cid_key(p) for p in result.pieces],
        "car_bytes": result.size,
        "space": space,
    }


def _plain(value: Any) -> Any:
    """Turn CIDs and bytes inside service records into strings."""
    if isinstance(value, CID):
        return cid_key(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class StorachaKit(DictKit):
    """Upload, list, remove and retrieve content in a Storacha space; a context manager."""

    config_class = StorachaConfig
    config: StorachaConfig

    def __init__(
        self, config: StorachaConfig | None = None, backend: StorachaBackend | None = None
    ) -> None:
        super().__init__(config or StorachaConfig.from_sources())
        self._backend = backend
        self._agent: StorachaAgent | None = None

    @classmethod
    def from_backend(cls, backend: StorachaBackend) -> StorachaKit:
        """The dict face over an existing typed backend (sharing its connections)."""
        return cls(backend.config, backend)

    @property
    def backend(self) -> StorachaBackend:
        """The typed backend (credentials checked on every use: NotConfiguredError)."""
        self.config.require_credentials()
        if self._backend is None:
            self._backend = StorachaBackend(self.config)
        return self._backend

    @property
    def agent(self) -> StorachaAgent:
        """The typed core of the agent store: login, accounts, spaces, sharing."""
        if self._agent is None:
            self._agent = StorachaAgent(self.config)
        return self._agent

    def close(self) -> None:
        """Close connections; idempotent."""
        if self._backend is not None:
            self._backend.close()
        if self._agent is not None:
            self._agent.close()

    # -- uploads ---------------------------------------------------------------------

    @dict_result
    def upload_file(self, path: str | os.PathLike[str], resume: bool = True) -> dict[str, Any]:
        """Upload one file; returns its root ``cid``, ``shards``, ``index``, ``space``.

        From ``ipfs_kit()``, an interrupted upload of the same unchanged file resumes
        (only the shards not stored yet are sent); ``resume=False`` starts over.
        """
        if not os.path.isfile(path):
            raise InputPathError(f"no such file: {path}")
        result = self.backend.upload_file(path, resume=bool(resume))
        return {**_upload_fields(result, self.backend.space), "size": os.path.getsize(path)}

    @dict_result
    def upload_bytes(self, data: bytes) -> dict[str, Any]:
        """Upload a bytes value as a file."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidInputError("upload_bytes needs bytes")
        result = self.backend.upload_file([bytes(data)])
        return {**_upload_fields(result, self.backend.space), "size": len(data)}

    @dict_result
    def upload_directory(
        self, path: str | os.PathLike[str], hidden: bool = False, resume: bool = True
    ) -> dict[str, Any]:
        """Upload a directory tree as one UnixFS DAG (resumed as :meth:`upload_file` is)."""
        result = self.backend.upload_directory(path, hidden=hidden, resume=bool(resume))
        return _upload_fields(result, self.backend.space)

    @dict_result
    def list_uploads(self, cursor: str | None = None, size: int | None = None) -> dict[str, Any]:
        """One page of uploads: ``uploads`` and the ``cursor`` of the next page (or None)."""
        page = self.backend.list_uploads(cursor, size)
        return {"uploads": _plain(page.uploads), "cursor": page.cursor, "count": len(page.uploads)}

    @dict_result
    def remove_upload(self, cid: str, blobs: bool = False) -> dict[str, Any]:
        """Remove an upload (and its shard blobs with ``blobs=True``)."""
        root = parse_cid(cid)
        record = self.backend.remove_upload(root, blobs=blobs)
        return {"cid": cid_key(root), "removed": _plain(record)}

    # -- spaces ----------------------------------------------------------------------

    @dict_result
    def list_spaces(self) -> dict[str, Any]:
        """The spaces our credentials reach, the selected one, and which the service knows."""
        backend = self.backend
        known = backend.known_spaces()
        return {
            "spaces": backend.spaces(),
            "current": backend.space,
            "agent": backend.agent,
            "known": [s for s, k in known.items() if k],
            "unknown": [s for s, k in known.items() if not k],
        }

    @dict_result
    def select_space(self, did: str) -> dict[str, Any]:
        """Select the space later calls use."""
        return {"space": self.backend.select_space(did)}

    @dict_result
    def create_space(self) -> dict[str, Any]:
        """Make a new space locally and delegate it to our agent (then provision it).

        Returns the space DID, its private key (``space_key``: keep it secret, it is the
        space's root credential) and the ``proof`` delegating it to our agent, which is
        added to this kit's proofs. Provision the space with an account before uploading.
        """
        space, delegation = self.backend.create_space()
        return {"space": space.did, "space_key": space.format(), "proof": delegation.format()}

    @dict_result
    def space_info(self, space: str | None = None) -> dict[str, Any]:
        """space/info (providers) of a space."""
        return {
            "info": _plain(self.backend.space_info(space)),
            "space": space or self.backend.space,
        }

    @dict_result
    def usage(self, space: str | None = None) -> dict[str, Any]:
        """usage/report of a space for the current month."""
        return {"usage": _plain(self.backend.usage(space)), "space": space or self.backend.space}

    # -- the agent store: identity, accounts, spaces, sharing -------------------------

    @dict_result
    def whoami(self) -> dict[str, Any]:
        """Our agent's DID (an agent store is created on first use)."""
        return {"agent": self.agent.whoami(), "store": str(self.agent.store.path)}

    @dict_result
    def login(self, email: str, timeout: float = 900.0) -> dict[str, Any]:
        """Log in by e-mail: the service sends a link; returns once it is clicked."""
        return {"account": self.agent.login(email, timeout=timeout), "agent": self.agent.whoami()}

    @dict_result
    def list_accounts(self) -> dict[str, Any]:
        """The accounts this agent is logged in to."""
        return {"accounts": self.agent.accounts()}

    @dict_result
    def new_space(
        self,
        name: str,
        provision: bool = True,
        recovery: bool = True,
        authorize_gateway: bool = True,
        account: str | None = None,
    ) -> dict[str, Any]:
        """Create a space in the agent store, provision it and select it for uploads.

        ``space_key`` is the space's root key: keep it secret (the account's recovery
        delegation is the other way back in).
        """
        made = self.agent.create_space(
            name,
            account=account,
            provision=provision,
            recovery=recovery,
            authorize_gateway=authorize_gateway,
        )
        fields = {k: v for k, v in made.__dict__.items() if k != "key"}
        return {"space": made.did, **fields, "space_key": made.key.value}

    @dict_result
    def provision_space(
        self, space: str | None = None, account: str | None = None
    ) -> dict[str, Any]:
        """provider/add: the account (default: the logged-in one) pays for the space."""
        did = space or self.agent.state().current_space
        authorized = self.agent.provision(did, account)
        return {"space": did, "provisioned": True, "gateway_authorized": authorized}

    @dict_result
    def use_space(self, did: str) -> dict[str, Any]:
        """Select the agent store's space for later uploads."""
        return {"space": self.agent.use_space(did)}

    @dict_result
    def agent_spaces(self) -> dict[str, Any]:
        """The agent store's spaces, and whether the service knows each."""
        rows = self.agent.spaces(ask_service=True)
        return {"spaces": [dict(r.__dict__, providers=list(r.providers)) for r in rows]}

    @dict_result
    def plan(self, account: str | None = None) -> dict[str, Any]:
        """plan/get of the account."""
        return {"plan": _plain(self.agent.plan(account))}

    @dict_result
    def create_delegation(
        self,
        audience: str,
        abilities: list[str],
        space: str | None = None,
        expiration: int | None = None,
    ) -> dict[str, Any]:
        """Delegate ``abilities`` on a space to ``audience``; ``proof``: the base64 form."""
        made = self.agent.create_delegation(audience, abilities, space=space, expiration=expiration)
        return {"cid": cid_key(made.cid), "proof": made.format(), "audience": audience}

    @dict_result
    def list_delegations(self) -> dict[str, Any]:
        """Delegations held and issued by this agent."""
        return {"delegations": [dict(d.__dict__) for d in self.agent.delegations()]}

    @dict_result
    def revoke_delegation(self, cid: str) -> dict[str, Any]:
        """ucan/revoke a delegation (by CID)."""
        return {"revoked": self.agent.revoke(cid)}

    @dict_result
    def import_proof(self, proof: str, key: str | None = None) -> dict[str, Any]:
        """Add a ``delegation create --base64`` proof (and its agent ``key``, for a new store)."""
        made = self.agent.import_proof(proof, key=key)
        return {"cid": cid_key(made.cid), "spaces": made.spaces(), "agent": self.agent.whoami()}

    # -- retrieval -------------------------------------------------------------------

    @dict_result
    def retrieve(self, cid: str, path: str | os.PathLike[str], raw: bool = False) -> dict[str, Any]:
        """Fetch ``cid`` through the gateway (verified CAR, or one raw block) into ``path``."""
        root = parse_cid(cid)
        size = self.backend.retrieve(root, path, raw=raw)
        return {"cid": cid_key(root), "path": os.fspath(path), "size": size}

    @dict_result
    def cat(self, cid: str) -> dict[str, Any]:
        """Fetch ``cid`` through the gateway into memory (small content only)."""
        root = parse_cid(cid)
        data = b"".join(self.backend.get(root))
        return {"cid": cid_key(root), "data": data, "size": len(data)}


def storacha_kit(**overrides: Any) -> StorachaKit:
    """The seed's constructor name: a kit from overrides, the config file and environment."""
    return from_config_file(StorachaKit.from_sources, "storacha", overrides)
