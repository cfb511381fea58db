"""S3 multipart uploads in flight, recorded in the metadata index (table ``s3_uploads``).

The S3 client notes each multipart upload before it starts and forgets it once the
upload completed or its parts were aborted. An entry left behind belongs to an upload
whose abort failed (server down) or whose process was killed; the client sweeps such
entries on its next use of that bucket, and ``ipfs-kit s3 cleanup`` lists and aborts
them. The index is only written here, never by the backend itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ipfs_kit_py.debris import owner_alive, process_owner
from ipfs_kit_py.index import MetadataIndex

if TYPE_CHECKING:
    from ipfs_kit_py.backends.s3.config import S3Config

__all__ = ["InflightUpload", "UploadLedger", "upload_endpoint"]


def upload_endpoint(config: S3Config) -> str:
    """The name of an S3 endpoint in the ledger: its URL, or AWS and the region."""
    return config.endpoint_url.rstrip("/") if config.endpoint_url else f"aws:{config.region}"


@dataclass(frozen=True, slots=True)
class InflightUpload:
    """One multipart upload that was started and not yet known to be finished."""

    bucket: str
    key: str
    started: float
    owner: str  # ``pid-starttime`` of the process that started it


class UploadLedger:
    """The ``s3_uploads`` table of one index, for one S3 endpoint.

    ``index`` is the index or a function returning it, so the index opens only when the
    first multipart upload starts.
    """

    def __init__(self, index: MetadataIndex | Callable[[], MetadataIndex], endpoint: str) -> None:
        self._index = index
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"UploadLedger({self.endpoint!r})"

    @property
    def index(self) -> MetadataIndex:
        return self._index if isinstance(self._index, MetadataIndex) else self._index()

    def begin(self, bucket: str, key: str) -> InflightUpload:
        """Record that a multipart upload of ``bucket/key`` starts now."""
        upload = InflightUpload(bucket, key, time.time(), process_owner())
        with self.index.transaction() as db:
            db.execute(
                "INSERT INTO s3_uploads VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (self.endpoint, bucket, key, upload.started, upload.owner),
            )
        return upload

    def end(self, upload: InflightUpload) -> None:
        """Forget ``upload``: it completed, or its parts are gone."""
        with self.index.transaction() as db:
            db.execute(
                "DELETE FROM s3_uploads WHERE endpoint = ? AND bucket = ? AND key = ? "
                "AND started = ? AND owner = ?",
                (self.endpoint, upload.bucket, upload.key, upload.started, upload.owner),
            )

    def recorded(self, bucket: str | None = None) -> list[InflightUpload]:
        """Every recorded upload of this endpoint (in ``bucket``, if given)."""
        sql = "SELECT bucket, key, started, owner FROM s3_uploads WHERE endpoint = ?"
        params: list[object] = [self.endpoint]
        if bucket is not None:
            sql += " AND bucket = ?"
            params.append(bucket)
        with self.index.transaction() as db:
            rows = db.execute(sql + " ORDER BY started", params).fetchall()
        return [InflightUpload(str(b), str(k), float(s), str(o)) for b, k, s, o in rows]

    def stale(self, bucket: str | None, active: set[InflightUpload]) -> list[InflightUpload]:
        """Recorded uploads nobody is running: their process died, or (ours) not ``active``."""
        me = process_owner()
        return [
            u
            for u in self.recorded(bucket)
            if u not in active and (u.owner == me or not owner_alive(u.owner))
        ]
