"""The policy workers' shared work list: CIDs to repair, each leased to one worker at a time.

A row of ``repair_queue`` is a CID some worker found short of its policy (or with bad or
missing copies). A worker claims a batch by writing its name and a lease expiry into the
rows, in one transaction: on PostgreSQL the rows are picked ``FOR UPDATE SKIP LOCKED``
(workers never wait on each other's rows); SQLite's ``BEGIN IMMEDIATE`` serializes the
claim the same way. A worker finishes a CID by deleting its row (only while it still
holds the lease); a worker killed mid-copy simply stops renewing, and once its lease
expires another worker claims the CID and finishes the job. Lease times are read from
the database server's clock on PostgreSQL, so workers whose clocks disagree never take
each other's live leases.

Every claim is a :class:`Lease` with a token (the row's claim count, which each claim
raises). A worker paused past its lease (stopped, swapped out, starved of CPU) may find
another worker has claimed the CID meanwhile: the :class:`LeaseFence` of its lease,
checked in the very transaction that would record its copy, refuses it, so only the
current holder's copy is ever recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.index import MetadataIndex

__all__ = ["Lease", "LeaseFence", "QueueStatus", "RepairQueue"]

# "now" in Unix seconds: the server's clock on PostgreSQL (one clock for every worker);
# SQLite's file is on one machine, whose clock every worker shares anyway
_NOW = {
    "postgresql": "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """How much work the queue holds."""

    queued: int  # waiting for a worker
    leased: int  # claimed by a live lease
    retrying: int  # failed at least once, waiting for its retry


@dataclass(frozen=True, slots=True)
class Lease:
    """One claim of one CID: whose, and which claim (its token)."""

    cid: str
    owner: str
    token: int  # the row's claim count after this claim: a later claim changes it


class RepairQueue:
    """The ``repair_queue`` table of one index."""

    def __init__(self, index: MetadataIndex) -> None:
        self.index = index
        self._now = _NOW.get(index.dialect, _NOW["sqlite"])

    def __repr__(self) -> str:
        return f"RepairQueue({self.index.location!r})"

    def enqueue(self, cids: Iterable[str]) -> None:
        """Add CID keys to the queue (one already queued keeps its place and lease)."""
        now = time.time()
        rows = [(cid, now) for cid in cids]
        if rows:
            with self.index.transaction() as db:
                db.executemany(
                    "INSERT INTO repair_queue (cid, queued_at) VALUES (?, ?) "
                    "ON CONFLICT DO NOTHING",
                    rows,
                )

    def claim(self, owner: str, limit: int, lease_s: float) -> list[str]:
        """Lease up to ``limit`` CIDs no live lease holds to ``owner`` for ``lease_s``."""
        return [lease.cid for lease in self.claim_leases(owner, limit, lease_s)]

    def claim_leases(self, owner: str, limit: int, lease_s: float) -> list[Lease]:
        """:meth:`claim`, with each claim's token (for :meth:`fence`)."""
        if limit < 1 or not lease_s > 0:
            raise InvalidInputError("claim needs limit >= 1 and a lease > 0 seconds")
        skip = " FOR UPDATE SKIP LOCKED" if self.index.dialect == "postgresql" else ""
        with self.index.transaction() as db:
            rows = db.execute(
                f"SELECT cid, attempts FROM repair_queue WHERE lease_expires < {self._now} "
                f"ORDER BY lease_expires, queued_at, cid LIMIT {int(limit)}{skip}"
            ).fetchall()
            leases = [Lease(str(cid), owner, int(attempts) + 1) for cid, attempts in rows]
            db.executemany(  # the rows are locked (SQLite: the write lock): + 1 is exact
                f"UPDATE repair_queue SET lease_owner = ?, lease_expires = {self._now} + ?, "
                "attempts = attempts + 1 WHERE cid = ?",
                [(owner, lease_s, lease.cid) for lease in leases],
            )
        return leases

    def fence(self, lease: Lease) -> LeaseFence:
        """The fence of ``lease``, for the transactions that record its copies."""
        return LeaseFence(self, lease)

    def _holder(self, cid: str) -> tuple[str, int, bool] | None:
        """In the caller's transaction: who holds ``cid``'s row (owner, token, live),
        None if it is gone; the row stays locked until the transaction ends (PostgreSQL:
        ``FOR UPDATE``; SQLite: its write lock), so no claim takes it meanwhile."""
        lock = " FOR UPDATE" if self.index.dialect == "postgresql" else ""
        with self.index.transaction() as db:
            row = db.execute(
                "SELECT coalesce(lease_owner, ''), attempts, "
                f"CASE WHEN lease_expires >= {self._now} THEN 1 ELSE 0 END "
                f"FROM repair_queue WHERE cid = ?{lock}",
                (cid,),
            ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]), bool(row[2]))

    def renew(self, owner: str, cid: str, lease_s: float) -> bool:
        """Extend ``owner``'s lease on ``cid``; False if it lost the lease meanwhile."""
        with self.index.transaction() as db:
            cur = db.execute(
                f"UPDATE repair_queue SET lease_expires = {self._now} + ? "
                "WHERE cid = ? AND lease_owner = ?",
                (lease_s, cid, owner),
            )
            return bool(cur.rowcount)

    def finish(self, owner: str, cid: str) -> bool:
        """Drop ``cid`` from the queue: done. False if ``owner`` no longer held it."""
        with self.index.transaction() as db:
            cur = db.execute(
                "DELETE FROM repair_queue WHERE cid = ? AND lease_owner = ?", (cid, owner)
            )
            return bool(cur.rowcount)

    def fail(self, owner: str, cid: str, error: str, retry_after_s: float) -> None:
        """Give ``cid`` back with the reason; any worker may retry it after ``retry_after_s``."""
        with self.index.transaction() as db:
            db.execute(
                f"UPDATE repair_queue SET lease_owner = NULL, lease_expires = {self._now} + ?, "
                "last_error = ? WHERE cid = ? AND lease_owner = ?",
                (retry_after_s, error[:2000], cid, owner),
            )

    def held_by_others(self, owner: str) -> bool:
        """True while another worker holds (or held, until it expires) a lease."""
        rows = self.index.fetch(
            "SELECT 1 FROM repair_queue WHERE lease_owner IS NOT NULL AND lease_owner != ? LIMIT 1",
            (owner,),
        )
        return bool(rows)

    def status(self) -> QueueStatus:
        """Counts of waiting, leased and retrying entries."""
        rows = self.index.fetch(
            f"SELECT coalesce(sum(CASE WHEN lease_expires < {self._now} THEN 1 ELSE 0 END), 0), "
            f"coalesce(sum(CASE WHEN lease_expires >= {self._now} AND lease_owner IS NOT NULL "
            "THEN 1 ELSE 0 END), 0), "
            "coalesce(sum(CASE WHEN last_error IS NOT NULL THEN 1 ELSE 0 END), 0) "
            "FROM repair_queue"
        )
        queued, leased, retrying = (int(n) for n in rows[0])
        return QueueStatus(queued, leased, retrying)


class LeaseFence:
    """A lease's check for the transaction that records a copy of its CID
    (:meth:`~ipfs_kit_py.tiers.manager.TieredCacheManager.fenced`)."""

    def __init__(self, queue: RepairQueue, lease: Lease) -> None:
        self.queue, self.lease = queue, lease
        self.cid = lease.cid

    def __repr__(self) -> str:
        return f"LeaseFence({self.lease.cid!r}, {self.lease.owner!r}, {self.lease.token})"

    def held(self) -> bool:
        """True while no other claim took the CID (an expired lease nobody took is still
        held); locks the queue row until the caller's transaction ends."""
        holder = self.queue._holder(self.cid)
        return holder is not None and holder[:2] == (self.lease.owner, self.lease.token)

    def others_may_write(self) -> bool:
        """True while another claim's live lease holds the CID: its worker may be
        writing the same object now; locks the row like :meth:`held`."""
        holder = self.queue._holder(self.cid)
        if holder is None or not holder[0] or not holder[2]:
            return False
        return holder[:2] != (self.lease.owner, self.lease.token)
