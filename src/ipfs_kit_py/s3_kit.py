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

from ipfs_kit_py.backends.s3.backend import (
    CID_METADATA,
    PROFILE_METADATA,
    S3Backend,
    content_metadata,
    object_key,
    verifier_for,
)
from ipfs_kit_py.backends.s3.client import ObjectInfo, S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import validate_bucket, validate_key
from ipfs_kit_py.backends.s3.transfer import Subscribers, UploadSource
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.content.verify import verify_stream
from ipfs_kit_py.errors import InputPathError, InvalidInputError
from ipfs_kit_py.outfile import output_path
from ipfs_kit_py.results import DictKit, Result, dict_result

__all__ = ["S3Kit"]

logger = logging.getLogger(__name__)


class S3Kit(DictKit):
    """Upload, download, list, inspect and delete S3 objects; results as dicts."""

    config_class = S3Config
    config: S3Config

    def __init__(self, config: S3Config) -> None:
        super().__init__(config)
        self.client = S3Client(config)
        self.backend = S3Backend(config, self.client)

    def __repr__(self) -> str:
        return f"S3Kit(bucket={self.config.bucket!r}, endpoint={self.config.endpoint_url!r})"

    def close(self) -> None:
        """Release connections and threads (idempotent)."""
        self.client.close()

    def _target(self, bucket: str | None, key: str | None = None) -> tuple[str, str]:
        self.config.require()
        chosen = validate_bucket(self.config.require_bucket(bucket))
        return chosen, validate_key(key) if key is not None else ""

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
        bucket, key = self._target(bucket, key if key is not None else path.name)
        return self._upload(bucket, key, path, cid, profile, subscribers)

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
        bucket, key = self._target(bucket, _required_key(key))
        return self._upload(bucket, key, data, cid, None, ())

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
        bucket, key = self._target(bucket, _required_key(key))
        return self._upload(bucket, key, stream, cid, None, subscribers)

    def _upload(
        self,
        bucket: str,
        key: str,
        source: UploadSource,
        cid: str | CID | None,
        profile: str | None,
        subscribers: Subscribers,
    ) -> dict[str, Any]:
        parsed = parse_cid(cid) if cid is not None else None
        metadata = (
            content_metadata(parsed, ImportProfile.parse(profile) if profile else None)
            if parsed is not None
            else {}
        )
        info = self.client.put(bucket, key, source, metadata=metadata, subscribers=subscribers)
        return _fields(info, cid=str(parsed) if parsed else None)

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
        bucket, key = self._target(bucket, _required_key(key))
        dest = output_path(local_path if local_path is not None else ".", Path(key).name)
        wanted = parse_cid(cid) if cid is not None else None
        used: list[CID] = []

        def sink_for(info: ObjectInfo) -> Any:
            found = wanted or _recorded_cid(info)
            if found is None:
                return None
            used.append(found)
            return verifier_for(found, info.metadata)

        info = self.client.download(bucket, key, dest, sink_for=sink_for, subscribers=subscribers)
        return {
            **_fields(info, cid=str(used[0]) if used else None),
            "local_path": str(dest),
            "verified": bool(used),
        }

    @dict_result
    def download_bytes(
        self, bucket: str | None = None, key: str | None = None, *, cid: str | CID | None = None
    ) -> dict[str, Any]:
        """Return the object's bytes under ``"data"`` (verified when a CID is known)."""
        info, found, chunks = self._open_verified(bucket, key, cid)
        data = b"".join(chunks)
        return {**_fields(info, cid=str(found) if found else None), "data": data}

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
        info, found, chunks = self._open_verified(bucket, key, cid)
        for chunk in chunks:
            stream.write(chunk)
        return {**_fields(info, cid=str(found) if found else None), "verified": found is not None}

    def _open_verified(
        self, bucket: str | None, key: str | None, cid: str | CID | None
    ) -> tuple[ObjectInfo, CID | None, Iterator[bytes]]:
        """Stream an object (parallel ranges), verified against ``cid`` or its recorded CID."""
        bucket, key = self._target(bucket, _required_key(key))
        info, chunks = self.client.open_parallel(bucket, key)
        found = parse_cid(cid) if cid is not None else _recorded_cid(info)
        if found is not None:
            chunks = verify_stream(found, chunks, _recorded_profile(info))
        return info, found, chunks

    @dict_result
    def upload_objects(
        self, objects: Mapping[str, bytes], bucket: str | None = None
    ) -> dict[str, Any]:
        """Upload many small objects (key -> bytes) concurrently, one PUT each."""
        bucket = self._target(bucket)[0]
        infos = self.client.put_many(bucket, objects.items())
        return {
            "bucket": bucket,
            "objects": [{"key": i.key, "size": i.size, "etag": i.etag} for i in infos],
            "count": len(infos),
        }

    @dict_result
    def download_objects(self, keys: Iterable[str], bucket: str | None = None) -> dict[str, Any]:
        """Read many small objects concurrently: ``{"data": {key: bytes}}``."""
        bucket = self._target(bucket)[0]
        found = self.client.get_many(bucket, keys)
        return {"bucket": bucket, "data": {info.key: data for info, data in found}}

    # -- inspection and deletion ----------------------------------------------------------

    @dict_result
    def head_object(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """Size, ETag, last modified, metadata and CID of one object."""
        bucket, key = self._target(bucket, _required_key(key))
        info = self.client.head(bucket, key)
        found = _recorded_cid(info)
        return {**_fields(info, cid=str(found) if found else None), "metadata": info.metadata}

    @dict_result
    def exists(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """``{"exists": bool}``; a missing bucket is an error, not False."""
        bucket, key = self._target(bucket, _required_key(key))
        return {"bucket": bucket, "key": key, "exists": self.client.exists(bucket, key)}

    @dict_result
    def delete_object(self, bucket: str | None = None, key: str | None = None) -> dict[str, Any]:
        """Delete one object; deleting an absent key succeeds."""
        bucket, key = self._target(bucket, _required_key(key))
        self.client.delete(bucket, key)
        return {"bucket": bucket, "key": key, "deleted": True}

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
            "bucket": self._target(bucket)[0],
            "prefix": prefix,
            "objects": objects,
            "count": len(objects),
        }

    def iter_objects(self, bucket: str | None = None, prefix: str = "") -> Iterator[dict[str, Any]]:
        """Yield one dict per object under ``prefix``; raises typed errors (no dicts)."""
        bucket = self._target(bucket)[0]
        for info in self.client.list(bucket, prefix):
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
            "key": object_key(parsed, self.config.key_prefix),
            "exists": self.backend.has(parsed),
        }


def _required_key(key: str | None) -> str:
    if not key:
        raise InvalidInputError("an S3 key is required")
    return key


def _recorded_cid(info: ObjectInfo) -> CID | None:
    recorded = info.metadata.get(CID_METADATA)
    return parse_cid(recorded) if recorded else None


def _recorded_profile(info: ObjectInfo) -> ImportProfile | None:
    recorded = info.metadata.get(PROFILE_METADATA)
    return ImportProfile.parse(recorded) if recorded else None


def _fields(info: ObjectInfo, *, cid: str | None) -> Result:
    return {
        "bucket": info.bucket,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "cid": cid,
    }
