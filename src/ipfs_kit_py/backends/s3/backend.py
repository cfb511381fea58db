"""The S3 backend: content addressed by CID in any S3-compatible bucket.

One rule maps a CID to its key (:func:`object_key`): ``<prefix><cid_key(cid)>``, so the
v0 and v1 forms of the same content share one object. The object's metadata carries the
CID and, when known, the import profile that made it; reads by CID are verified against
the CID before the bytes are handed over (streams raise after the last chunk, downloads
never leave an unverified file).

A directory is its files (each under its own CID) plus one object under the root's key:
a CAR of the directory's nodes (directories, HAMT shards, symlink nodes), marked by the
metadata ``dag: directory-nodes`` (:meth:`S3Backend.put_tree_nodes`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from ipfs_kit_py.backends.base import BaseBackend, Holding, StoredObject
from ipfs_kit_py.backends.s3.client import ObjectInfo, S3Client
from ipfs_kit_py.backends.s3.config import DEFAULT_KEY_PREFIX, S3Config
from ipfs_kit_py.backends.s3.objects import (
    CID_METADATA,
    PROFILE_METADATA,
    S3Objects,
    _recorded,
    content_metadata,
    verifier_for,
)
from ipfs_kit_py.backends.s3.transfer import UploadSource
from ipfs_kit_py.config import Configured
from ipfs_kit_py.content.cid import CID, cid_key
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.content.verify import verify_stream
from ipfs_kit_py.errors import ContentNotFoundError, InvalidInputError, ResourceLimitError
from ipfs_kit_py.progress import Subscribers

__all__ = [
    "CID_METADATA",
    "DAG_METADATA",
    "DIRECTORY_NODES",
    "PROFILE_METADATA",
    "S3Backend",
    "S3Config",
    "layout_key",
    "object_key",
]

logger = logging.getLogger(__name__)

DAG_METADATA = "dag"  # what a non-file object under a CID's key holds
DIRECTORY_NODES = "directory-nodes"  # a CAR of a directory's nodes, rooted at the CID


def object_key(cid: CID, prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """The one CID -> S3 key rule: ``<prefix><CIDv1 base32>``."""
    return f"{prefix}{cid_key(cid)}"


def layout_key(cid: CID, prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """Where the DAG layout of ``cid`` lives: ``<prefix without />.dag/<CIDv1 base32>``,
    beside the content prefix and not under it, so listings of content never see it."""
    return f"{prefix.rstrip('/')}.dag/{cid_key(cid)}"


class S3Backend(Configured, BaseBackend):
    """Content by CID in one bucket (``config.bucket``), keys under ``config.key_prefix``."""

    name = "s3"
    verifies_reads = True  # get() checks the bytes against the CID before its end
    reads_with_profile = True  # get() and download() take the index's import profile
    config_class = S3Config
    config: S3Config

    def __init__(self, config: S3Config, client: S3Client | None = None) -> None:
        super().__init__(config)
        self.client = client if client is not None else S3Client(config)
        self.objects = S3Objects(config, self.client)  # bucket-level calls, any bucket

    def __repr__(self) -> str:
        return f"S3Backend(bucket={self.config.bucket!r}, endpoint={self.config.endpoint_url!r})"

    def close(self) -> None:
        """Release connections and threads (idempotent)."""
        self.client.close()

    def check_configured(self) -> None:
        """NotConfiguredError unless credentials and a default bucket are set."""
        self.config.require()
        self.config.require_bucket()

    @property
    def bucket(self) -> str:
        return self.config.require_bucket()

    def key_for(self, cid: CID) -> str:
        return object_key(cid, self.config.key_prefix)

    def locator(self, cid: CID) -> str:
        return f"s3://{self.bucket}/{self.key_for(cid)}"

    def has(self, cid: CID) -> bool:
        """True if the bucket holds an object for ``cid``."""
        return self.client.exists(self.bucket, self.key_for(cid))

    def stat(self, cid: CID) -> StoredObject:
        """Describe the stored copy of ``cid``; ContentNotFoundError if absent."""
        info = self.client.head(self.bucket, self.key_for(cid))
        return StoredObject(cid, info.size, self.locator(cid))

    def get(self, cid: CID, *, profile: ImportProfile | None = None) -> Iterator[bytes]:
        """Stream the content of ``cid``, verified: raises ContentMismatchError at the end
        (InvalidInputError if the object holds a directory's nodes).

        Verified with ``profile`` (what the index recorded), else the object's metadata,
        else every profile that could have made ``cid``.
        """
        info, chunks = self.client.open_parallel(self.bucket, self.key_for(cid))
        try:
            metadata = _file_metadata(cid, info)
        except InvalidInputError:
            getattr(chunks, "close", lambda: None)()
            raise
        return verify_stream(cid, chunks, profile or _recorded(metadata))

    # -- ranges (RangeReader): verified above, by tiers/span_layout.py ------------------

    def read_range(self, cid: CID, start: int, end: int) -> Iterator[bytes]:
        """The stored bytes ``[start, end)`` of ``cid``, unverified, in one ranged GET
        (an empty range, such as an empty leaf's, is no bytes and no request: S3 has no
        empty range to ask for)."""
        if start == end >= 0:
            return iter(())
        return self.client.read_range(self.bucket, self.key_for(cid), start, end)

    def read_unverified(self, cid: CID) -> Iterator[bytes]:
        """All stored bytes of ``cid`` (parallel ranged GETs), unverified."""
        return self.client.open_parallel(self.bucket, self.key_for(cid))[1]

    def get_layout(self, cid: CID, max_bytes: int) -> bytes | None:
        """The stored DAG layout of ``cid``, or None; ResourceLimitError past ``max_bytes``."""
        key = layout_key(cid, self.config.key_prefix)
        try:
            chunks = self.client.iter_bytes(self.bucket, key)
            buffer = bytearray()
            for chunk in chunks:
                buffer += chunk
                if len(buffer) > max_bytes:
                    raise ResourceLimitError(f"the layout at {key} has over {max_bytes} bytes")
        except ContentNotFoundError:
            return None
        return bytes(buffer)

    def put_layout(self, cid: CID, data: bytes) -> None:
        """Store the DAG layout of ``cid`` beside its object."""
        self.client.put(self.bucket, layout_key(cid, self.config.key_prefix), data)

    def read(self, cid: CID) -> bytes:
        """Return the whole content of ``cid`` once verified (for small content)."""
        return b"".join(self.get(cid))

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes] | UploadSource,
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
        subscribers: Subscribers = (),
    ) -> StoredObject:
        """Store ``chunks`` (or a path, bytes or binary file) as the content of ``cid``."""
        info = self.client.put(
            self.bucket,
            self.key_for(cid),
            chunks,
            metadata=content_metadata(cid, profile),
            size=size,
            subscribers=subscribers,
        )
        return StoredObject(cid, info.size, self.locator(cid))

    def put_tree_nodes(
        self, root: CID, car: Iterable[bytes], metadata: dict[str, str]
    ) -> StoredObject:
        """Store the CAR of directory ``root``'s nodes under the root's key."""
        meta = {**metadata, **content_metadata(root), DAG_METADATA: DIRECTORY_NODES}
        info = self.client.put(self.bucket, self.key_for(root), car, metadata=meta)
        return StoredObject(root, info.size, self.locator(root))

    def open_tree_nodes(self, root: CID) -> tuple[dict[str, str], Iterator[bytes]] | None:
        """The metadata and CAR of directory ``root``'s nodes; None if its object is
        something else (a file). Raises ContentNotFoundError if there is no object."""
        info = self.client.head(self.bucket, self.key_for(root))
        if info.metadata.get(DAG_METADATA) != DIRECTORY_NODES:
            return None
        found, chunks = self.client.open_parallel(self.bucket, self.key_for(root))
        return dict(found.metadata), chunks

    def download(
        self,
        cid: CID,
        dest: str | Path,
        *,
        profile: ImportProfile | None = None,
        subscribers: Subscribers = (),
    ) -> StoredObject:
        """Download ``cid`` to ``dest`` in parallel; ``dest`` appears only once verified."""
        info = self.client.download(
            self.bucket,
            self.key_for(cid),
            dest,
            sink_for=lambda found: verifier_for(cid, _file_metadata(cid, found), profile),
            subscribers=subscribers,
        )
        return StoredObject(cid, info.size, self.locator(cid))

    def put_many(
        self, items: Iterable[tuple[CID, bytes]], *, profile: ImportProfile | None = None
    ) -> list[StoredObject]:
        """Store many small contents concurrently (one PUT each, connections reused)."""
        by_key: dict[str, CID] = {}
        pairs: list[tuple[str, bytes]] = []
        for cid, data in items:
            key = self.key_for(cid)
            by_key[key] = cid
            pairs.append((key, data))
        infos = self.client.put_many(
            self.bucket, pairs, metadata_for=lambda key: content_metadata(by_key[key], profile)
        )
        return [StoredObject(by_key[i.key], i.size, self.locator(by_key[i.key])) for i in infos]

    def get_many(self, cids: Iterable[CID]) -> list[bytes]:
        """Read many small contents concurrently, each verified against its CID."""
        wanted = list(cids)
        found = self.client.get_many(self.bucket, [self.key_for(cid) for cid in wanted])
        results: list[bytes] = []
        for cid, (info, data) in zip(wanted, found, strict=True):
            verifier = verifier_for(cid, info.metadata)
            verifier.update(data)
            verifier.finish()
            results.append(data)
        return results

    def delete(self, cid: CID) -> None:
        """Remove ``cid``; removing an absent CID is not an error."""
        self.client.delete(self.bucket, self.key_for(cid))

    def holdings(self) -> Iterator[Holding]:
        """Every object under the CID prefix, by the CID its key names."""
        prefix = self.config.key_prefix
        for info in self.list():
            yield info.key[len(prefix) :], f"s3://{info.bucket}/{info.key}", info.size

    def list(self) -> Iterator[ObjectInfo]:
        """Every object under the key prefix."""
        return self.client.list(self.bucket, self.config.key_prefix)


def _file_metadata(cid: CID, info: ObjectInfo) -> Mapping[str, str]:
    """The metadata of a file object; InvalidInputError for a directory's node object
    (read as a file it would not match the CID, yet it is no copy gone bad)."""
    if info.metadata.get(DAG_METADATA) == DIRECTORY_NODES:
        raise InvalidInputError(f"{cid} is a directory in S3: get it with get_to_path")
    return info.metadata
