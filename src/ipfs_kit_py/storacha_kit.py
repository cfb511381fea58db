"""storacha_kit: the seed's dict-returning face over :mod:`ipfs_kit_py.backends.storacha`.

Every method returns ``{"success": True, ...}`` or ``{"success": False, "error": ...,
"error_type": ...}``; the typed API is :class:`StorachaBackend`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

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

    def close(self) -> None:
        """Close connections; idempotent."""
        if self._backend is not None:
            self._backend.close()

    # -- uploads ---------------------------------------------------------------------

    @dict_result
    def upload_file(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Upload one file; returns its root ``cid``, ``shards``, ``index``, ``space``."""
        if not os.path.isfile(path):
            raise InputPathError(f"no such file: {path}")
        result = self.backend.upload_file(path)
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
        self, path: str | os.PathLike[str], hidden: bool = False
    ) -> dict[str, Any]:
        """Upload a directory tree as one UnixFS DAG."""
        result = self.backend.upload_directory(path, hidden=hidden)
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
        """The spaces our credentials reach and the selected one."""
        backend = self.backend
        return {"spaces": backend.spaces(), "current": backend.space, "agent": backend.agent}

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
