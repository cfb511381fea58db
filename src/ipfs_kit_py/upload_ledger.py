"""S3 multipart uploads in flight, recorded in the metadata index (table ``s3_uploads``).

The S3 client notes each multipart upload before it starts and forgets it once the
upload completed or its parts were aborted. An entry left behind belongs to an upload
whose abort failed (server down) or whose process was killed; the client sweeps such
entries on its next use of that bucket, and ``ipfs-kit s3 cleanup`` lists and aborts
them. The index is only written here, never by the backend itself.

On an index shared by many machines an entry names its node too (``pid-start@node``): a
process id means nothing on another machine, so a node judges only its own entries by
their process; another node's entry is stale once it is :data:`FOREIGN_STALE_S` old.
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

__all__ = ["FOREIGN_STALE_S", "InflightUpload", "UploadLedger", "upload_endpoint"]

FOREIGN_STALE_S = 24 * 3600.0  # another node's upload older than this is abandoned


def upload_endpoint(config: S3Config) -> str:
    """The name of an S3 endpoint in the ledger: its URL, or AWS and the region."""
    return config.endpoint_url.rstrip("/") if config.endpoint_url else f"aws:{config.region}"


@dataclass(frozen=True, slots=True)
class InflightUpload:
    """One multipart upload that was started and not yet known to be finished."""

    bucket: str
    key: str
    started: float
    owner: str  # ``pid-starttime`` of the process that started it (``@node`` if it has one)


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
        upload = InflightUpload(bucket, key, time.time(), self._owner())
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

    def running(self, bucket: str, key: str, active: set[InflightUpload]) -> set[InflightUpload]:
        """The recorded uploads of ``bucket/key`` that are not stale: someone runs them."""
        stale = set(self.stale(bucket, active))
        return {u for u in self.recorded(bucket) if u.key == key and u not in stale}

    def _owner(self) -> str:
        """This process, and its node when the index has one (``pid-start@node``)."""
        node = self.index.node_id
        return f"{process_owner()}@{node}" if node else process_owner()

    def stale(self, bucket: str | None, active: set[InflightUpload]) -> list[InflightUpload]:
        """Recorded uploads nobody is running: their process died, or (ours) not ``active``.

        Only this node's processes can be checked; another node's upload is stale once
        :data:`FOREIGN_STALE_S` old (its process may be running on its machine).
        """
        me, node = self._owner(), self.index.node_id
        old = time.time() - FOREIGN_STALE_S
        out = []
        for u in self.recorded(bucket):
            process, _, where = u.owner.partition("@")
            if u in active:
                continue
            if where != node:
                if u.started < old:
                    out.append(u)
            elif u.owner == me or not owner_alive(process):
                out.append(u)
        return out
