"""Policy workers: find content short of its replication policy and repair it, as a fleet.

A worker scans the index for CIDs with bad or missing copies, or fewer good copies than
their policy asks (every node's copies count), and queues them in the shared
:class:`~ipfs_kit_py.repair_queue.RepairQueue`. Then it claims small batches under a lease
and, for each CID, plans again (the queue may be stale: another worker may have done it)
and repairs or replicates. Any number of workers on any number of nodes split the queue
through the index; one killed mid-copy loses its lease and another finishes its CIDs.
One paused past its lease (stopped, starved of CPU) records nothing when it resumes if
another worker took the CID over meanwhile: its copies are fenced by its lease.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ipfs_kit_py import debris
from ipfs_kit_py.debris import process_owner
from ipfs_kit_py.errors import BackendError, ContentNotFoundError, IpfsKitError, LeaseLostError
from ipfs_kit_py.repair_queue import Lease, RepairQueue
from ipfs_kit_py.replication import plan_known, policy_of, repair, replicate
from ipfs_kit_py.replication_policy import PolicySet
from ipfs_kit_py.tiers.manager import TieredCacheManager

__all__ = ["EnforceReport", "PolicyWorker", "ShortSummary", "summarize_short"]

logger = logging.getLogger(__name__)

_PAGE = 500


@dataclass
class EnforceReport:
    """What one pass of a worker did."""

    scanned: int = 0  # CIDs looked at
    queued: int = 0  # found short or damaged and queued
    repaired: int = 0  # brought up to their policy by this worker
    already: int = 0  # claimed, but nothing was left to do (another worker did it)
    unmet: int = 0  # short of their policy by copies no tier of this node can make
    lost: int = 0  # taken over by another worker before this one recorded a copy
    failed: dict[str, str] = field(default_factory=dict)  # cid -> why
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class ShortSummary:
    """CIDs short of one policy: how many, and how many copies they lack together."""

    policy: str
    cids: int
    copies_lacking: int


class PolicyWorker:
    """One worker of the fleet, on this node's tiers and the shared index."""

    def __init__(
        self,
        tiers: TieredCacheManager,
        policies: PolicySet,
        *,
        owner: str | None = None,
        lease_s: float = 60.0,
        batch: int = 8,
        retry_after_s: float = 300.0,
        poll_s: float = 0.5,
    ) -> None:
        self.tiers = tiers
        self.policies = policies
        self.queue = RepairQueue(tiers.index)
        node = tiers.index.node_id
        self.owner = owner or (f"{node}/{process_owner()}" if node else process_owner())
        self.lease_s, self.batch = lease_s, batch
        self.retry_after_s, self.poll_s = retry_after_s, poll_s

    def __repr__(self) -> str:
        return f"PolicyWorker({self.owner!r})"

    def needs_work(self, cid: str) -> bool:
        """True if ``cid`` has a bad or missing copy here, or a copy its policy lacks."""
        return bool(self._short([cid]))

    def _short(self, page: list[str], report: EnforceReport | None = None) -> list[str]:
        """The keys of ``page`` that need work (read in a few queries for the whole page);
        ``report.unmet`` counts those short by copies no tier here can make."""
        mine = ("", self.tiers.index.node_id)
        out = []
        for key, (record, known) in self.tiers.index.page(page).items():
            damaged = any(loc.state != "good" and loc.node in mine for loc in known)
            plan = plan_known(self.tiers, key, known, record, policies=self.policies)
            if damaged or plan.targets:
                out.append(key)
            if report is not None and plan.shortfall:
                report.unmet += 1
        return out

    def scan(self, report: EnforceReport) -> None:
        """Queue every file CID that needs work (directories are repaired by ``repair``)."""
        for page in _content_pages(self.tiers):
            report.scanned += len(page)
            short = self._short(page, report)
            self.queue.enqueue(short)
            report.queued += len(short)

    def run_once(self, progress: Callable[[EnforceReport], None] | None = None) -> EnforceReport:
        """Sweep this node's debris, scan, then work the queue until it is empty and no
        other worker holds a lease.

        A CID that fails waits ``retry_after_s`` before any worker tries it again.
        """
        started = time.monotonic()
        report = EnforceReport()
        debris.sweep()  # temp paths of this node's workers that were killed mid-copy
        self.scan(report)
        while True:
            leases = self.queue.claim_leases(self.owner, self.batch, self.lease_s)
            for lease in leases:
                self._work(lease, report)
            if progress is not None and leases:
                progress(report)
            if not leases:
                if not self.queue.held_by_others(self.owner):
                    break
                time.sleep(self.poll_s)  # a lease elsewhere: done soon, or expires
        report.seconds = time.monotonic() - started
        return report

    def run(
        self,
        interval_s: float = 60.0,
        progress: Callable[[EnforceReport], None] | None = None,
        passes: int | None = None,
    ) -> Iterator[EnforceReport]:
        """Pass after pass (``passes`` of them, or forever), ``interval_s`` apart."""
        done = 0
        while passes is None or done < passes:
            yield self.run_once(progress)
            done += 1
            if passes is None or done < passes:
                time.sleep(interval_s)

    def _work(self, lease: Lease, report: EnforceReport) -> None:
        cid = lease.cid
        if not self.queue.renew(self.owner, cid, self.lease_s):
            return  # lost the lease: another worker has it now
        try:
            # a copy longer than the lease keeps it; one paused past it records nothing
            with self._lease_kept(cid), self.tiers.fenced(self.queue.fence(lease)):
                did = self._repair(cid)
        except LeaseLostError as exc:
            report.lost += 1
            logger.warning("policy: %s", exc)
            return
        except (IpfsKitError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            report.failed[cid] = why
            logger.warning("policy: %s not repaired: %s", cid, why)
            self.queue.fail(self.owner, cid, why, self.retry_after_s)
            return
        if did:
            report.repaired += 1
        else:
            report.already += 1
            if self._theirs_to_repair(cid):
                return  # the lease runs out and that node's worker takes the CID
        self.queue.finish(self.owner, cid)

    def _theirs_to_repair(self, cid: str) -> bool:
        """True if another node's copy of ``cid`` is bad or missing: only that node can
        rewrite it, so the queue entry stays for its worker."""
        index = self.tiers.index
        return any(
            loc.state != "good" and loc.node not in ("", index.node_id)
            for loc in index.locations(cid, include_bad=True, all_nodes=True)
        )

    @contextlib.contextmanager
    def _lease_kept(self, cid: str) -> Iterator[None]:
        """Renew the lease on ``cid`` every third of its length while the body runs."""
        done = threading.Event()

        def beat() -> None:
            while not done.wait(self.lease_s / 3):
                try:
                    if not self.queue.renew(self.owner, cid, self.lease_s):
                        logger.warning("policy: lost the lease on %s to another worker", cid)
                        return
                except IpfsKitError as exc:  # the index is down: the lease may run out
                    logger.warning("policy: could not renew the lease on %s: %s", cid, exc)

        thread = threading.Thread(target=beat, name=f"lease {cid[:16]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _repair(self, cid: str) -> bool:
        """Bring ``cid`` up to its policy; False if there was nothing left to do (or
        the content was removed from the ledger since it was queued: ``rm``, ``forget``)."""
        index = self.tiers.index
        if index.content(cid) is None and not index.locations(cid, include_bad=True):
            return False
        if any(loc.state != "good" for loc in index.locations(cid, include_bad=True)):
            result = repair(self.tiers, cid, policies=self.policies)
        else:
            result = replicate(self.tiers, cid, policies=self.policies)  # plans again
            if not result.copied and not result.failed:
                return False  # another worker made the copies meanwhile
        if result.failed:
            first = next(iter(result.failed.items()))
            raise BackendError(f"copy to {first[0]} failed: {first[1]}")
        if not result.copied and not result.already:
            raise ContentNotFoundError(f"{cid}: no copy readable from this node")
        return bool(result.copied)


def _content_pages(tiers: TieredCacheManager) -> Iterator[list[str]]:
    """Every file CID of the index, in pages of keys (keyset pagination)."""
    after = ""
    while page := tiers.index.file_cids(after, _PAGE):
        yield page
        after = page[-1]


def summarize_short(tiers: TieredCacheManager, policies: PolicySet) -> list[ShortSummary]:
    """What is short of its policy, by policy (``min_copies=2 required=s3``)."""
    counts: dict[str, list[int]] = {}
    for page in _content_pages(tiers):
        for key, (record, known) in tiers.index.page(page).items():
            policy = policy_of(record, policies)
            plan = plan_known(tiers, key, known, record, policy=policy)
            lacking = len(plan.targets) + plan.shortfall
            if lacking:
                name = f"min_copies={policy.min_copies}" + (
                    f" required={','.join(policy.required)}" if policy.required else ""
                )
                entry = counts.setdefault(name, [0, 0])
                entry[0] += 1
                entry[1] += lacking
    return [ShortSummary(name, n, lack) for name, (n, lack) in sorted(counts.items())]
