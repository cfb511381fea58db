"""Making and reading delegations: new UCANs with their proof chains, CARs of delegations,
and the session proofs (``ucan/attest``) that make an account's delegation usable."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.ucan import UCAN, Capability, issue
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.errors import (
    CARFormatError,
    ContentMismatchError,
    InvalidInputError,
    ProtocolError,
)

__all__ = [
    "attestations_for",
    "delegate",
    "delegations_from_car",
    "delegations_from_claim",
    "has_fact",
    "is_attestation",
    "parse_abilities",
]

MAX_DELEGATIONS = 256  # roots of one delegation CAR (one, from the service)
# An access/claim answer holds every delegation the service keeps for the agent: two per
# login so far, and those of spaces shared with it. Bounds on the whole answer:
MAX_CLAIM_DELEGATIONS = 4096
MAX_CLAIM_BLOCKS = 16384


def delegate(
    issuer: Signer,
    audience: str,
    capabilities: Sequence[Capability],
    *,
    proofs: Sequence[Delegation] = (),
    expiration: int | None = None,
    facts: Sequence[Any] = (),
) -> Delegation:
    """A signed delegation from ``issuer`` to ``audience`` carrying its proofs' blocks.

    ``expiration`` None: never expires (as the official client's default ``Infinity``).
    """
    ucan = issue(
        issuer,
        audience,
        capabilities,
        expiration=expiration,
        lifetime=None,
        proofs=[p.cid for p in proofs],
        facts=facts,
    )
    blocks: dict[CID, bytes] = {}
    for proof in proofs:
        blocks.update(proof.blocks)
    blocks[ucan.cid] = ucan.encode()
    return Delegation(ucan, blocks)


def delegations_from_car(car: bytes, *, max_blocks: int = MAX_CLAIM_BLOCKS) -> list[Delegation]:
    """The delegations of a CAR whose roots are UCANs (an ``access/claim`` answer's values).

    The delegations share the CAR's blocks (no copy per root: 256 roots over 20,000
    blocks made 5 million dict entries); :meth:`Delegation.pruned` keeps one's own.
    Raises :class:`ProtocolError` for a malformed CAR, a root that is not a UCAN, more
    than :data:`MAX_DELEGATIONS` roots or ``max_blocks`` blocks.
    """
    roots, blocks = _read_car(car, max_blocks)
    return [Delegation(UCAN.decode(blocks[root]), blocks) for root in roots]


def _read_car(car: bytes, max_blocks: int) -> tuple[list[CID], dict[CID, bytes]]:
    """(distinct roots, blocks) of a delegation CAR, every root among the blocks."""
    try:
        reader = CarReader(io.BytesIO(car), verify=True)
        roots = list(dict.fromkeys(reader.roots))
        if len(roots) > MAX_DELEGATIONS:
            raise ProtocolError(f"more than {MAX_DELEGATIONS} delegations", backend="storacha")
        blocks: dict[CID, bytes] = {}
        for block in reader:
            blocks[block.cid] = block.data
            if len(blocks) > max_blocks:
                raise ProtocolError(
                    f"delegation CARs of more than {MAX_CLAIM_BLOCKS} blocks", backend="storacha"
                )
    except (CARFormatError, ContentMismatchError) as exc:
        raise ProtocolError(f"bad delegation CAR: {exc}", backend="storacha") from exc
    for root in roots:
        if root not in blocks:
            raise ProtocolError(f"delegation CAR lacks its root {root}", backend="storacha")
    return roots, blocks


def delegations_from_claim(ok: Any) -> list[Delegation]:
    """The delegations of an ``access/claim`` result: ``{"delegations": {cid: CAR bytes}}``.

    Every entry is read (a grant past a cut-off would never be found, and the login
    would wait out its timeout); at most :data:`MAX_CLAIM_DELEGATIONS` delegations and
    :data:`MAX_CLAIM_BLOCKS` blocks in all, else :class:`ProtocolError`.
    """
    table = ok.get("delegations") if isinstance(ok, Mapping) else None
    if not isinstance(table, Mapping):
        raise ProtocolError("access/claim answered without delegations", backend="storacha")
    if len(table) > MAX_CLAIM_DELEGATIONS:
        raise ProtocolError(
            f"access/claim answered more than {MAX_CLAIM_DELEGATIONS} delegations",
            backend="storacha",
        )
    found: list[Delegation] = []
    budget = MAX_CLAIM_BLOCKS
    for car in table.values():
        if not isinstance(car, bytes):
            raise ProtocolError("access/claim delegation is not bytes", backend="storacha")
        roots, blocks = _read_car(car, budget)
        budget -= len(blocks)
        found += [Delegation(UCAN.decode(blocks[root]), blocks) for root in roots]
        if len(found) > MAX_CLAIM_DELEGATIONS:
            raise ProtocolError(
                f"access/claim answered more than {MAX_CLAIM_DELEGATIONS} delegations",
                backend="storacha",
            )
    return found


def is_attestation(delegation: Delegation) -> bool:
    """True for a service's ``ucan/attest`` vouching for another delegation."""
    att = delegation.ucan.att
    return bool(att) and att[0].get("can") == "ucan/attest"


def attested(delegation: Delegation) -> CID | None:
    """The CID a ``ucan/attest`` delegation vouches for, or None."""
    if not is_attestation(delegation):
        return None
    proof = (delegation.ucan.att[0].get("nb") or {}).get("proof")
    return proof if isinstance(proof, CID) else None


def attestations_for(chosen: Iterable[Delegation], pool: Iterable[Delegation]) -> list[Delegation]:
    """The attestations in ``pool`` of delegations in ``chosen`` that lack a signature of
    their own (issued by a ``did:mailto`` account), not already chosen."""
    chosen = list(chosen)
    wanted = {d.cid for d in chosen if d.ucan.iss.startswith("did:mailto:")}
    have = {d.cid for d in chosen}
    return [d for d in pool if attested(d) in wanted and d.cid not in have]


def has_fact(delegation: Delegation, key: str, value: Any) -> bool:
    """True if one of the delegation's facts maps ``key`` to ``value``."""
    return any(isinstance(f, Mapping) and f.get(key) == value for f in delegation.ucan.fct)


def parse_abilities(values: Iterable[str]) -> list[str]:
    """Abilities as ``ns/verb``, ``ns/*`` or ``*``, each given once; InvalidInputError else."""
    found: list[str] = []
    for raw in [values] if isinstance(values, str) else values:  # one ability, not its letters
        for can in (c.strip() for c in raw.split(",")):
            if not can:
                continue
            parts = can.split("/")
            printable = can.isascii() and can.isprintable() and " " not in can
            if can != "*" and (len(parts) < 2 or not all(parts) or not printable):
                raise InvalidInputError(f"not an ability: {can[:80]!r} (e.g. upload/add, space/*)")
            if can not in found:
                found.append(can)
    if not found:
        raise InvalidInputError("name at least one ability (--can upload/add ...)")
    return found
