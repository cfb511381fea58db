"""Storacha uploads in progress, recorded in the metadata index (tables ``storacha_uploads``
and ``storacha_shards``).

The uploader opens a state before it encodes, notes each shard the service accepted
(from the transfer threads, as they finish), each piece offered and the index once
registered, and forgets the state when ``upload/add`` succeeded. A run after an
interruption (failure, Ctrl-C, SIGKILL) finds the state and skips what it lists. The
index is only written here, never by the backend itself.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable

from ipfs_kit_py.backends.storacha.resume import SavedShard, UploadSource, UploadState, upload_id
from ipfs_kit_py.debris import owner_alive, process_owner
from ipfs_kit_py.index import MetadataIndex

__all__ = ["StorachaUploadLedger"]

logger = logging.getLogger(__name__)


class StorachaUploadLedger:
    """The Storacha upload states of one index.

    ``index`` is the index or a function returning it, so the index opens only when the
    first upload starts.
    """

    def __init__(self, index: MetadataIndex | Callable[[], MetadataIndex]) -> None:
        self._index = index

    def __repr__(self) -> str:
        return "StorachaUploadLedger()"

    @property
    def index(self) -> MetadataIndex:
        return self._index if isinstance(self._index, MetadataIndex) else self._index()

    def begin(self, space: str, source: UploadSource, *, resume: bool = True) -> UploadState | None:
        """The state of this upload, taken over by this process (new if none, if the source
        changed, or unless ``resume``); None while another live process runs it."""
        key, me = upload_id(space, source), process_owner()
        with self.index.transaction() as db:
            row = db.execute(
                "SELECT stamp, owner, index_cid FROM storacha_uploads WHERE id = ?", (key,)
            ).fetchone()
            if row is not None and row[1] != me and owner_alive(str(row[1])):
                logger.info("%s is being uploaded by process %s: not resumable", source, row[1])
                return None
            if row is not None and (row[0] != source.stamp or not resume):
                if row[0] != source.stamp:
                    logger.info("%s changed since its interrupted upload: starting over", source)
                row = None
            if row is None:
                self._forget(db, key)  # and any shard a finished twin run noted late
                db.execute(
                    "INSERT INTO storacha_uploads (id, space, source, options, stamp, started, "
                    "owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, space, source.source, source.options, source.stamp, time.time(), me),
                )
                return UploadState(key, self)
            db.execute("UPDATE storacha_uploads SET owner = ? WHERE id = ?", (me, key))
            rows = db.execute(
                "SELECT position, cid, size, piece FROM storacha_shards WHERE upload = ?", (key,)
            ).fetchall()
        shards = {int(p): SavedShard(int(p), str(c), int(s), pc) for p, c, s, pc in rows}
        logger.info("resuming the upload of %s: %d shard(s) stored", source.source, len(shards))
        return UploadState(key, self, shards, row[2])

    @staticmethod
    def _forget(db: sqlite3.Connection, key: str) -> None:
        db.execute("DELETE FROM storacha_shards WHERE upload = ?", (key,))
        db.execute("DELETE FROM storacha_uploads WHERE id = ?", (key,))

    def shard_stored(self, upload: str, shard: SavedShard) -> None:
        with self.index.transaction() as db:
            db.execute(
                "INSERT INTO storacha_shards (upload, position, cid, size) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (upload, position) DO UPDATE SET cid = excluded.cid, "
                "size = excluded.size, piece = NULL",
                (upload, shard.position, shard.cid, shard.size),
            )

    def piece_offered(self, upload: str, position: int, piece: str) -> None:
        with self.index.transaction() as db:
            db.execute(
                "UPDATE storacha_shards SET piece = ? WHERE upload = ? AND position = ?",
                (piece, upload, position),
            )

    def indexed(self, upload: str, index: str) -> None:
        with self.index.transaction() as db:
            db.execute("UPDATE storacha_uploads SET index_cid = ? WHERE id = ?", (index, upload))

    def finish(self, upload: str) -> None:
        with self.index.transaction() as db:
            self._forget(db, upload)

    def in_progress(self) -> list[tuple[str, str, int]]:
        """(space, source, shards stored) of every recorded upload, oldest first."""
        with self.index.transaction() as db:
            rows = db.execute(
                "SELECT u.space, u.source, COUNT(s.position) FROM storacha_uploads u "
                "LEFT JOIN storacha_shards s ON s.upload = u.id "
                "GROUP BY u.id, u.space, u.source, u.started ORDER BY u.started"
            ).fetchall()
        return [(str(a), str(b), int(c)) for a, b, c in rows]
