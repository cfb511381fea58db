"""Bucket-level S3 calls, typed: any bucket and key, verified whenever a CID is known.

:class:`S3Objects` is the typed service the seed's ``S3Kit`` and the ``ipfs-kit s3``
commands both sit on (reached as ``S3Backend.objects``): uploads record a CID (and
its import profile) in the object's metadata; downloads and reads are checked against
the CID given or recorded, and a download's file appears only once verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipfs_kit_py.backends.s3.client import ObjectInfo, S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.errors import validate_bucket, validate_key
from ipfs_kit_py.backends.s3.transfer import UploadSource
from ipfs_kit_py.content.cid import CID, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.content.verify import ContentVerifier, verify_stream
from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.outfile import output_path
from ipfs_kit_py.progress import Subscribers

__all__ = [
    "CID_METADATA",
    "PROFILE_METADATA",
    "S3Objects",
    "Transfer",
    "content_metadata",
    "object_fields",
    "recorded_cid",
    "verifier_for",
]

CID_METADATA = "cid"
PROFILE_METADATA = "import-profile"


def content_metadata(cid: CID, profile: ImportProfile | None = None) -> dict[str, str]:
    """The object metadata recorded for content ``cid``."""
    metadata = {CID_METADATA: str(cid)}
    if profile is not None:
        metadata[PROFILE_METADATA] = profile.key()
    return metadata


def verifier_for(
    cid: CID, metadata: Mapping[str, str], profile: ImportProfile | None = None
) -> ContentVerifier:
    """A verifier for ``cid``: ``profile`` (the index's), else the one in ``metadata``."""
    return ContentVerifier(cid, profile or _recorded(metadata))


def _recorded(metadata: Mapping[str, str]) -> ImportProfile | None:
    recorded = metadata.get(PROFILE_METADATA)
    return ImportProfile.parse(recorded) if recorded else None


@dataclass(frozen=True, slots=True)
class Transfer:
    """What an upload or download did: the object, its CID (if known), verified or not."""

    info: ObjectInfo
    cid: CID | None = None
    local_path: Path | None = None
    verified: bool = False

    def fields(self) -> dict[str, Any]:
        """``bucket, key, size, etag, cid`` (and ``local_path, verified`` for downloads)."""
        fields = object_fields(self.info, self.cid)
        if self.local_path is not None:
            fields.update(local_path=str(self.local_path), verified=self.verified)
        return fields


class S3Objects:
    """Upload, download, read, list, inspect and delete objects; raises typed errors."""

    def __init__(self, config: S3Config, client: S3Client) -> None:
        self.config = config
        self.client = client

    def __repr__(self) -> str:
        return f"S3Objects(endpoint={self.config.endpoint_url!r})"

    def target(self, bucket: str | None, key: str | None = None) -> tuple[str, str]:
        """The bucket (given or default) and the key, checked; NotConfiguredError if unset."""
        self.config.require()
        chosen = validate_bucket(self.config.require_bucket(bucket))
        return chosen, validate_key(key) if key is not None else ""

    def upload(
        self,
        bucket: str | None,
        key: str | None,
        source: UploadSource,
        *,
        cid: str | CID | None = None,
        profile: str | ImportProfile | None = None,
        subscribers: Subscribers = (),
    ) -> Transfer:
        """Upload a path, bytes, binary file or byte iterable (multipart when large)."""
        bucket, key = self.target(bucket, required_key(key))
        parsed = parse_cid(cid) if cid is not None else None
        if isinstance(profile, str):
            profile = ImportProfile.parse(profile)
        metadata = content_metadata(parsed, profile) if parsed is not None else {}
        info = self.client.put(bucket, key, source, metadata=metadata, subscribers=subscribers)
        return Transfer(info, parsed)

    def download_file(
        self,
        bucket: str | None,
        key: str | None,
        dest: str | Path | None = None,
        *,
        cid: str | CID | None = None,
        subscribers: Subscribers = (),
    ) -> Transfer:
        """Download to ``dest`` (default: the key's name) in parallel ranges.

        Verified against ``cid`` or the CID recorded in the object's metadata; the file
        appears only when complete and verified, and nothing is left on failure.
        """
        bucket, key = self.target(bucket, required_key(key))
        path = output_path(dest if dest is not None else ".", Path(key).name)  # dir/: inside
        wanted = parse_cid(cid) if cid is not None else None
        used: list[CID] = []

        def sink_for(info: ObjectInfo) -> ContentVerifier | None:
            found = wanted or recorded_cid(info)
            if found is None:
                return None
            used.append(found)
            return verifier_for(found, info.metadata)

        info = self.client.download(bucket, key, path, sink_for=sink_for, subscribers=subscribers)
        return Transfer(info, used[0] if used else None, path, bool(used))

    def open_verified(
        self, bucket: str | None, key: str | None, cid: str | CID | None = None
    ) -> tuple[ObjectInfo, CID | None, Iterator[bytes]]:
        """Stream an object (parallel ranges), verified against ``cid`` or its recorded CID.

        The stream raises ContentMismatchError at the end if the bytes are wrong.
        """
        bucket, key = self.target(bucket, required_key(key))
        info, chunks = self.client.open_parallel(bucket, key)
        found = parse_cid(cid) if cid is not None else recorded_cid(info)
        if found is not None:
            chunks = verify_stream(found, chunks, recorded_profile(info))
        return info, found, chunks

    @staticmethod
    def describe(info: ObjectInfo) -> dict[str, Any]:
        """``bucket, key, size, etag, cid`` of a listed or inspected object."""
        return object_fields(info)

    def head(self, bucket: str | None, key: str | None) -> ObjectInfo:
        """Size, ETag, last modified and metadata of one object."""
        return self.client.head(*self.target(bucket, required_key(key)))

    def exists(self, bucket: str | None, key: str | None) -> bool:
        """True if the object exists; a missing bucket raises BucketNotFoundError."""
        return self.client.exists(*self.target(bucket, required_key(key)))

    def delete(self, bucket: str | None, key: str | None) -> None:
        """Delete one object; deleting an absent key succeeds."""
        self.client.delete(*self.target(bucket, required_key(key)))

    def list_objects(self, bucket: str | None, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object under ``prefix`` (all pages, lazily)."""
        return self.client.list(self.target(bucket)[0], prefix)

    def put_objects(self, bucket: str | None, objects: Mapping[str, bytes]) -> list[ObjectInfo]:
        """Upload many small objects (key -> bytes) concurrently, one PUT each."""
        return self.client.put_many(self.target(bucket)[0], objects.items())

    def get_objects(self, bucket: str | None, keys: Iterable[str]) -> dict[str, bytes]:
        """Read many small objects concurrently: key -> bytes."""
        found = self.client.get_many(self.target(bucket)[0], keys)
        return {info.key: data for info, data in found}


def required_key(key: str | None) -> str:
    """``key``, or InvalidInputError when it is missing or empty."""
    if not key:
        raise InvalidInputError("an S3 key is required")
    return key


def recorded_cid(info: ObjectInfo) -> CID | None:
    """The CID recorded in the object's metadata, if any."""
    recorded = info.metadata.get(CID_METADATA)
    return parse_cid(recorded) if recorded else None


def recorded_profile(info: ObjectInfo) -> ImportProfile | None:
    """The import profile recorded in the object's metadata, if any."""
    recorded = info.metadata.get(PROFILE_METADATA)
    return ImportProfile.parse(recorded) if recorded else None


def object_fields(info: ObjectInfo, cid: CID | None = None) -> dict[str, Any]:
    """``bucket, key, size, etag, cid`` of one object (``cid``: given, else recorded)."""
    found = cid or recorded_cid(info)
    return {
        "bucket": info.bucket,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "cid": str(found) if found else None,
    }
