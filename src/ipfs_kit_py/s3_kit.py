"""``s3_kit``: the seed's dict-returning face over the typed S3 core.

Every method returns ``{"success": True, ...}`` or ``{"success": False, "error": ...,
"error_type": ...}`` and never raises (see :func:`ipfs_kit_py.results.dict_result`)::

    kit.s3_kit.upload_file(local_path="f.dat", bucket="my-ipfs-bucket", key=f"ipfs/{cid}")
    kit.s3_kit.download_file(bucket="my-ipfs-bucket", key=f"ipfs/{cid}", local_path="out.dat")

Pass ``cid=`` to record a CID with an upload; downloads of objects that carry a CID
are verified against it before the file appears.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from ipfs_kit_py.backends.s3 import S3Backend, S3Config, S3Objects
from ipfs_kit_py.backends.s3.objects import object_fields
from ipfs_kit_py.backends.s3.transfer import Subscribers
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.errors import InputPathError
from ipfs_kit_py.results import DictKit, dict_result

__all__ = ["S3Kit"]

logger = logging.getLogger(__name__)


class S3Kit(DictKit):
    """Upload, download, list, inspect and delete S3 objects; results as dicts."""

    config_class = S3Config
    config: S3Config

    def __init__(self, config: S3Config, backend: S3Backend | None = None) -> None:
        super().__init__(config)
        self.backend = backend if backend is not None else S3Backend(config)
        self.client = self.backend.client

    @classmethod
    def from_backend(cls, backend: S3Backend) -> S3Kit:
        """The dict face over an existing typed backend (sharing its connections)."""
        return cls(backend.config, backend)

    def __repr__(self) -> str:
        return f"S3Kit(bucket={self.config.bucket!r}, endpoint={self.config.endpoint_url!r})"

    def close(self) -> None:
        """Release connections and threads (idempotent)."""
        self.backend.close()

    @property
    def objects(self) -> S3Objects:
        """The typed bucket-level calls this dict face wraps."""
        return self.backend.objects

    # -- uploads --------------------------------------------------------------------------

    @dict_result
    def upload_file(
        self,
        local_path: str | Path,
        bucket: str | None = None,
        key: str | None = None,
        *,
        cid: str | CID | None = None,
        profile: str | None = None,
        subscribers: Subscribers = (),
    ) -> dict[str, Any]:
        """Upload a local file (multipart, parallel parts for large files)."""
        path = Path(local_path)
        if not path.is_file():
            raise InputPathError(f"not a readable file: {path}")
        key = key if key is not None else path.name
        done = self.objects.upload(
            bucket, key, path, cid=cid, profile=profile, subscribers=subscribers
        )
        return done.fields()

    @dict_result
    def upload_bytes(
        self,
        data: bytes,
        bucket: str | None = None,
        key: str | None = None,
        *,
        cid: str | CID | None = None,
    ) -> dict[str, Any]:
        """Upload ``data`` as one object."""
        return self.objects.upload(bucket, key, data, cid=cid).fields()

    @dict_result
    def upload_stream(
        self,
        stream: IO[bytes] | Iterable[bytes],
        bucket: str | None = None,
        key: str | None = None,
        *,
        cid: str | CID | None = None,
        subscribers: Subscribers = (),
    ) -> dict[str, Any]:
        """Upload a binary file object or an iterable of byte chunks, streamed."""
        return self.objects.upload(bucket, key, stream, cid=cid, subscribers=subscribers).fields()

    # -- downloads ------------------------------------------------------------------------

    @dict_result
    def download_file(
        self,
        bucket: str | None = None,
        key: str | None = None,
        local_path: str | Path | None = None,
        *,
        cid: str | CID | None = None,
        subscribers: Subscribers = (),
    ) -> dict[str, Any]:
        """Download to ``local_path`` (parallel ranges); verified when a CID is known.

        The file appears only when complete and verified; nothing is left on failure.
        """
        done = self.objects.download_file(bucket, key, local_path, cid=cid, subscribers=subscribers)
        return done.fields()

    @dict_result
    def download_bytes(
        self, bucket: str | None = None, key: str | None = None, *, cid: str | CID | None = None
    ) -> dict[str, Any]:
        """Return the object's bytes under ``"data"`` (verified when a CID is known)."""
        info, found, chunks = self.objects.open_verified(bucket, key, cid)
        data = b"".join(chunks)
        return {**object_fields(info, found), "cid": str(found) if found else None, "data": data}

    @dict_result
    def download_stream(
        self,
        stream: IO[bytes],
        bucket: str | None = None,
        key: str | None = None,
        *,
        cid: str | CID | None = None,
    ) -> dict[str, Any]:
        """Write the object into a binary file object; raises at the end on a CID mismatch."""
        info, found, chunks = self.objects.open_verified(bucket, key, cid)
        for chunk in chunks:
            stream.write(chunk)
        return {
            **object_fields(info, found),
            "cid": str(found) if found else None,
            "verified": found is not None,
        }

    @dict_result
    def upload_objects(
        self, objects: Mapping[str, bytes], bucket: str | None = None
    ) -> dict[str, Any]:
        """Upload many small objects (key -> bytes) concurrently, one PUT each."""
        infos = self.objects.put_objects(bucket, objects)
        return {
            "bucket": self.objects.target(bucket)[0],
            "objects": [{"key": i.key, "size": i.size, "etag": i.etag} for i in infos],
            "count": len(infos),
        }

    @dict_result
    def download_objects(self, keys: Iterable[str], bucket: str | None = None) -> dict[str, Any]:
        """Read many small objects concurrently: ``{"data": {key: bytes}}``."""
        data = self.objects.get_objects(bucket, keys)
        return {"bucket": self.objects.target(bucket)[0], "data": data}

    # -- inspection and deletion ----------------------------------------------------------

    @dict_result
    def head_object(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """Size, ETag, last modified, metadata and CID of one object."""
        info = self.objects.head(bucket, key)
        return {**object_fields(info), "metadata": info.metadata}

    @dict_result
    def exists(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """``{"exists": bool}``; a missing bucket is an error, not False."""
        found = self.objects.exists(bucket, key)
        return {"bucket": self.objects.target(bucket)[0], "key": key, "exists": found}

    @dict_result
    def delete_object(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """Delete one object; deleting an absent key succeeds."""
        self.objects.delete(bucket, key)
        return {"bucket": self.objects.target(bucket)[0], "key": key, "deleted": True}

    @dict_result
    def list_objects(
        self, bucket: str | None = None, prefix: str = "", max_keys: int | None = None
    ) -> dict[str, Any]:
        """List objects under ``prefix`` (all pages, or the first ``max_keys``)."""
        objects: list[dict[str, Any]] = []
        for item in self.iter_objects(bucket, prefix):
            if max_keys is not None and len(objects) >= max_keys:
                break
            objects.append(item)
        return {
            "bucket": self.objects.target(bucket)[0],
            "prefix": prefix,
            "objects": objects,
            "count": len(objects),
        }

    def iter_objects(self, bucket: str | None = None, prefix: str = "") -> Iterator[dict[str, Any]]:
        """Yield one dict per object under ``prefix``; raises typed errors (no dicts)."""
        for info in self.objects.list_objects(bucket, prefix):
            yield {
                "key": info.key,
                "size": info.size,
                "etag": info.etag,
                "last_modified": info.last_modified.isoformat() if info.last_modified else None,
            }

    # -- content addressed ----------------------------------------------------------------

    @dict_result
    def put_content(
        self,
        cid: str | CID,
        source: str | Path | bytes | IO[bytes],
        *,
        profile: str | None = None,
        subscribers: Subscribers = (),
    ) -> dict[str, Any]:
        """Store content under the one key its CID maps to (``<prefix><CIDv1>``)."""
        self.config.require()
        parsed = parse_cid(cid)
        stored = self.backend.put(
            parsed,
            source,
            profile=ImportProfile.parse(profile) if profile else None,
            subscribers=subscribers,
        )
        return {
            "cid": str(parsed),
            "size": stored.size,
            "locator": stored.locator,
            "bucket": self.backend.bucket,
            "key": self.backend.key_for(parsed),
        }

    @dict_result
    def get_content(
        self, cid: str | CID, local_path: str | Path, *, subscribers: Subscribers = ()
    ) -> dict[str, Any]:
        """Download content by CID to ``local_path``, verified before it appears."""
        self.config.require()
        parsed = parse_cid(cid)
        stored = self.backend.download(parsed, local_path, subscribers=subscribers)
        return {
            "cid": str(parsed),
            "size": stored.size,
            "locator": stored.locator,
            "local_path": str(local_path),
            "verified": True,
        }

    @dict_result
    def has_content(self, cid: str | CID) -> dict[str, Any]:
        """``{"exists": bool}`` for content ``cid`` in the configured bucket."""
        self.config.require()
        parsed = parse_cid(cid)
        return {
            "cid": str(parsed),
            "key": self.backend.key_for(parsed),
            "exists": self.backend.has(parsed),
        }
