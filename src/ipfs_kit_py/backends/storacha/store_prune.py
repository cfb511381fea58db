"""Which stored delegations are dead weight: expired ones, and login grants a newer login
for the same account and abilities superseded (with the attestations vouching for them).

Each login adds two delegations (the account's grant and the service's ``ucan/attest``
of it) and nothing ever removed them: hundreds of logins made every store load decode
hundreds of UCANs. A delegation still usable and not superseded is never dropped; a
revoked one stays (``delegation ls`` shows it) until it expires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.backends.storacha.delegation import Delegation, check_ucan
from ipfs_kit_py.backends.storacha.delegations import attested
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.errors import IpfsKitError

__all__ = ["expired", "superseded", "usable"]


def expired(delegation: Delegation, now: float) -> bool:
    """True once the delegation or any proof of its chain is past its ``exp`` (one not
    valid *yet* is kept: it will be)."""
    return any(u.exp is not None and u.exp < now for u in delegation.chain())


def superseded(held: Sequence[Delegation], revoked: Iterable[CID], now: float) -> set[CID]:
    """CIDs of account grants (``did:mailto`` issuer) that a later-stored grant from the
    same account to the same audience with the same abilities replaces, and of the
    attestations of those grants. Only a grant usable now and attested by an attestation
    usable now replaces older ones."""
    dead = set(revoked)
    vouched = {attested(d) for d in held if d.cid not in dead and usable(d, now)}
    grants = [d for d in held if d.ucan.iss.startswith("did:mailto:")]
    newest: dict[tuple[str, str, bytes], int] = {}  # key -> position of its newest grant
    for at, grant in enumerate(grants):
        if grant.cid in vouched and grant.cid not in dead and usable(grant, now):
            newest[_key(grant)] = at  # later in the store: a later login
    gone = {
        g.cid for at, g in enumerate(grants) if at < newest.get(_key(g), -1) and g.cid not in dead
    }
    return gone


def _key(grant: Delegation) -> tuple[str, str, bytes]:
    return grant.ucan.iss, grant.ucan.aud, bytes(dag_cbor.encode(grant.ucan.att))


def usable(delegation: Delegation, now: float) -> bool:
    """Whether every UCAN of ``delegation``'s chain is valid at ``now``."""
    try:
        for ucan in delegation.chain():
            check_ucan(ucan, now)
    except IpfsKitError:
        return False
    return True
