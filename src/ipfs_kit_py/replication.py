"""Replication: how many copies where, and replicate / verify / repair to get there.

A :class:`ReplicationPolicy` says ``min_copies`` (durable copies: every tier but the
per-process memory tier) and ``required`` backends. :class:`PolicySet` picks the policy
of a CID: a default, strengthened by the policy of each of its tags and by its own
(``metadata["replication"]`` in the index, set by ``ipfs_kit.keep``); both live in
:mod:`ipfs_kit_py.replication_policy` and are re-exported here. Every operation
plans first (what is missing where) and then transfers, like dvc's ``plan``/``transfer``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.content.unixfs import ImportProfile
from ipfs_kit_py.directory_copies import NodeStore, check_node_copy
from ipfs_kit_py.directory_store import restore_tree
from ipfs_kit_py.errors import (
    BackendError,
    ConfigurationError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    NotConfiguredError,
)
from ipfs_kit_py.replication_policy import PolicySet, ReplicationPolicy
from ipfs_kit_py.tiers.manager import TieredCacheManager

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.index_schema import ContentRecord, Location

__all__ = [
    "CopyCheck",
    "PolicySet",
    "ReplicationPlan",
    "ReplicationPolicy",
    "ReplicationReport",
    "plan_known",
    "plan_replication",
    "policy_of",
    "repair",
    "replicate",
    "verify",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplicationPlan:
    """What :func:`replicate` will do for one CID."""

    cid: str
    have: tuple[str, ...]
    targets: tuple[str, ...]
    shortfall: int  # copies still lacking after the targets: no tier here can make them


@dataclass(frozen=True, slots=True)
class ReplicationReport:
    """What a replicate or repair did."""

    cid: str
    copied: tuple[str, ...]
    already: tuple[str, ...]
    failed: Mapping[str, str]
    short: int = 0  # durable copies the policy asks for that no configured tier can add


@dataclass(frozen=True, slots=True)
class CopyCheck:
    """The result of re-reading every known copy of one CID."""

    cid: str
    good: tuple[str, ...]
    bad: tuple[str, ...]
    missing: tuple[str, ...]
    unreachable: Mapping[str, str]
    short: int = 0  # good copies still needed by its replication policy

    @property
    def ok(self) -> bool:
        """At least one good copy, none bad or missing, and as many as its policy asks."""
        return bool(self.good) and not self.bad and not self.missing and not self.short


def _durable_names(tiers: TieredCacheManager) -> list[str]:
    """Tiers that count as homes: not the per-process memory tier, not read-only ones."""
    read_only = set(tiers.policy.read_only)
    return [t.name for t in tiers.tiers if t.durable and t.name not in read_only]


def _good_copies(tiers: TieredCacheManager, known: Sequence[Location]) -> list[str]:
    """Good durable copies: this node's and shared tiers' by name, other nodes' local
    copies as ``tier@node`` (they count towards a policy; this node never reads them).

    A copy in a shared tier this node has no configuration for (another node's S3
    bucket, a backend only other nodes install) counts too: it is there for the nodes
    that can reach it, and a policy counts copies, not what one node can read.
    """
    durable = _durable_names(tiers)
    node_id, local = tiers.index.node_id, tiers.index.local_tiers
    here = {t.name for t in tiers.tiers}
    have = []
    for loc in known:
        if loc.state != "good":
            continue
        if loc.node in ("", node_id):
            elsewhere = loc.node == "" and loc.backend not in here and loc.backend not in local
            if loc.backend in durable or elsewhere:
                have.append(loc.backend)
        elif loc.backend != "memory":
            have.append(f"{loc.backend}@{loc.node}")
    return have


def plan_replication(
    tiers: TieredCacheManager,
    cid: CID | str,
    to: Sequence[str] = (),
    policy: ReplicationPolicy | None = None,
    policies: PolicySet | None = None,
) -> ReplicationPlan:
    """Plan the copies needed: every tier in ``to``, then the policy's requirements.

    Without an explicit ``policy`` the CID's comes from ``policies`` (its tags and its
    own ``metadata["replication"]``).
    """
    cid = parse_cid(cid)
    known = tiers.index.locations(cid, all_nodes=True)
    record = tiers.index.content(cid) if policy is None else None
    return plan_known(tiers, str(cid), known, record, to, policy, policies)


def plan_known(
    tiers: TieredCacheManager,
    cid: str,
    known: Sequence[Location],
    record: ContentRecord | None,
    to: Sequence[str] = (),
    policy: ReplicationPolicy | None = None,
    policies: PolicySet | None = None,
) -> ReplicationPlan:
    """:func:`plan_replication` from the copies and record already read (a page of many)."""
    durable = _durable_names(tiers)
    to = [tiers.tier(name).name for name in to]  # raises on an unknown tier; no aliases
    have = _good_copies(tiers, known)
    if policy is None:
        policy = policy_of(record, policies)
    wanted = list(dict.fromkeys([*to, *map(tiers.tier_name, policy.required)]))
    lacking = [name for name in wanted if name not in have]
    # a required tier this node has no configuration for is another node's to fill:
    # it counts as short here, never as a copy this node would try (and fail) to make
    here = {t.name for t in tiers.tiers}
    targets = [name for name in lacking if name in here]
    elsewhere = len(lacking) - len(targets)
    spare = [n for n in durable if n not in have and n not in targets]
    while len(have) + len(targets) + elsewhere < policy.min_copies and spare:
        targets.append(spare.pop(0))
    shortfall = elsewhere + max(0, policy.min_copies - len(have) - len(targets) - elsewhere)
    return ReplicationPlan(cid, tuple(have), tuple(targets), shortfall)


def policy_of(record: ContentRecord | None, policies: PolicySet | None) -> ReplicationPolicy:
    """The policy of the content of ``record``: its tags' and its own, over the default."""
    own = record.metadata.get("replication") if record else None
    return (policies or PolicySet()).policy_for(record.tags if record else (), own)


def replicate(
    tiers: TieredCacheManager,
    cid: CID | str,
    to: Sequence[str] = (),
    policy: ReplicationPolicy | None = None,
    policies: PolicySet | None = None,
) -> ReplicationReport:
    """Copy ``cid`` (read and verified once) into the planned tiers; record each copy."""
    plan = plan_replication(tiers, cid, to, policy, policies)
    failed: dict[str, str] = {}
    copied: list[str] = []
    for target in plan.targets:
        try:
            tiers.put(
                plan.cid, tiers.get(plan.cid), profile=tiers.profile_of(plan.cid), to=[target]
            )
        except (BackendError, OSError) as exc:
            failed[target] = f"{type(exc).__name__}: {exc}"
            logger.warning("replicating %s to %s failed: %s", plan.cid, target, exc)
        else:
            copied.append(target)
    return ReplicationReport(plan.cid, tuple(copied), plan.have, failed, plan.shortfall)


def verify(
    tiers: TieredCacheManager, cid: CID | str, policies: PolicySet | None = None
) -> CopyCheck:
    """Check every copy the index lists: held by its tier, and matching the CID.

    A copy its tier no longer holds (an S3 object deleted, a kubo pin removed) is marked
    missing, a copy that does not match is marked bad (each with when and why); good
    ones are stamped verified. Read-only tiers (gateways) are not copies and are skipped.
    ``short`` counts the good copies the CID's policy (from ``policies``) still lacks.
    """
    cid = parse_cid(cid)
    profile = tiers.profile_of(cid)
    found: dict[str, list[str]] = {"good": [], "bad": [], "missing": []}
    unreachable: dict[str, str] = {}
    for loc in tiers.index.locations(cid, include_bad=True):
        if loc.backend in tiers.policy.read_only:
            continue
        try:
            state = _check_copy(tiers, loc.backend, cid, profile)
        except (BackendError, ConfigurationError, OSError) as exc:
            unreachable[loc.backend] = f"{type(exc).__name__}: {exc}"
            continue
        found[state].append(loc.backend)
    good, bad, missing = (tuple(found[k]) for k in ("good", "bad", "missing"))
    short = _shortfall(tiers, cid, good, policies) if policies is not None else 0
    return CopyCheck(str(cid), good, bad, missing, unreachable, short)


def _shortfall(
    tiers: TieredCacheManager, cid: CID, good: Sequence[str], policies: PolicySet
) -> int:
    """Good durable copies the CID's policy still needs (count, or required tiers lacking).

    Other nodes' good local copies count too (``disk@node-a``), as they do for a plan.
    """
    policy = policy_of(tiers.index.content(cid), policies)
    held = [name for name in good if name in _durable_names(tiers)]
    index = tiers.index
    here = {t.name for t in tiers.tiers}
    for loc in index.locations(cid, all_nodes=True):
        if loc.node not in ("", index.node_id) and loc.backend != "memory":
            held.append(f"{loc.backend}@{loc.node}")
        elif loc.node == "" and loc.backend not in here and loc.backend not in index.local_tiers:
            held.append(loc.backend)  # a shared tier only other nodes reach: as a plan counts
    lacking = [name for name in policy.required if name not in held]
    return max(policy.min_copies - len(held), len(lacking), 0)


def _check_copy(
    tiers: TieredCacheManager, name: str, cid: CID, profile: ImportProfile | None
) -> str:
    """Check one copy and record the outcome; return good, bad or missing."""
    index = tiers.index
    try:
        tier = tiers.tier(name)
    except InvalidInputError:
        if index.node_id and name not in index.local_tiers:
            # a shared copy in a tier only other nodes have: not this node's to judge
            raise NotConfiguredError(f"no tier named {name!r} on node {index.node_id}") from None
        index.mark_missing(cid, name, f"no tier named {name!r} is configured")
        return "missing"
    record = index.content(cid)
    try:
        if not tier.has(cid):
            raise ContentNotFoundError(f"{name} does not hold it")
        if record is not None and record.kind == "dir" and isinstance(tier, NodeStore):
            check_node_copy(tiers, tier, cid)
        elif record is not None and record.kind == "dir":
            _check_dag(tier, cid)
        else:
            for _ in tiers.verified_chunks(tier, cid, profile):
                pass
    except (ContentMismatchError, InvalidInputError) as exc:  # invalid: kubo's "no file"
        if record is not None and record.kind != "dir" and _intact_dag(tier, cid):
            index.mark_verified(cid, name, ok=True)
            return "good"  # a directory the record does not describe (a pin found by rebuild)
        index.mark_verified(cid, name, ok=False, reason=f"verify: {exc}")
        return "bad"
    except ContentNotFoundError as exc:
        index.mark_missing(cid, name, f"verify: {exc}")  # repair knows to restore it
        return "missing"
    index.mark_verified(cid, name, ok=True)
    return "good"


def _intact_dag(tier: Any, cid: CID) -> bool:
    """True if ``tier`` exports a DAG under ``cid`` whose every block matches its CID.

    A copy that is no file (a directory kubo pins, recorded as a file by ``index
    rebuild``, which cannot tell) is not bad for that; a damaged file fails here too.
    """
    if getattr(tier, "export_car", None) is None:
        return False
    try:
        _check_dag(tier, cid)
    except (IpfsKitError, OSError) as exc:
        logger.debug("the DAG of %s in %s is not intact either: %s", cid, tier.name, exc)
        return False
    return True


def _check_dag(tier: Any, cid: CID) -> None:
    """Export the whole DAG under ``cid`` from ``tier`` and check every block of it."""
    from ipfs_kit_py.content.archive import verify_car  # only DAG checks need CARs

    export = getattr(tier, "export_car", None)
    if export is None:
        raise ContentNotFoundError(f"{tier.name} cannot export the DAG of {cid}")
    with tempfile.TemporaryFile() as spool:
        for chunk in export(cid):
            spool.write(chunk)
        spool.seek(0)
        summary = verify_car(spool)
    if [cid_key(root) for root in summary.roots] != [cid_key(cid)]:
        raise ContentMismatchError(f"{tier.name} exported {summary.roots} for {cid}", cid=str(cid))


def repair(
    tiers: TieredCacheManager,
    cid: CID | str,
    policy: ReplicationPolicy | None = None,
    policies: PolicySet | None = None,
) -> ReplicationReport:
    """Verify ``cid``, then rewrite bad and missing copies from a good one.

    A directory is rebuilt from its files' good copies (checked against its CID) and
    written again where its copy is bad or missing.
    """
    check = verify(tiers, cid)
    lost = (*check.bad, *check.missing)
    record = tiers.index.content(cid)
    if record is not None and record.kind == "dir" and lost:
        failed = restore_tree(tiers, parse_cid(cid), lost)
        copied = tuple(t for t in lost if t not in failed)
        return ReplicationReport(check.cid, copied, check.good, failed)
    if not check.good:
        raise ContentNotFoundError(f"{cid}: no good copy left to repair from")
    return replicate(tiers, cid, [*check.bad, *check.missing], policy, policies)
