"""Accounts: ``did:mailto`` identities, login by e-mail, and the proofs an account lends us.

Login is the official client's flow: ``access/authorize`` asks the service to e-mail the
account a confirmation link; once it is clicked, ``access/claim`` returns a delegation
from the account to our agent (with no signature of its own) and the service's
``ucan/attest`` vouching for it. Both carry the fact ``{"access/request": <CID of our
access/authorize>}``, which is how we tell them from older grants.
"""

from __future__ import annotations

import math
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.delegations import (
    attestations_for,
    attested,
    delegations_from_claim,
    has_fact,
)
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendTimeoutError,
    BackendUnavailableError,
    InvalidInputError,
    IpfsKitError,
)

if TYPE_CHECKING:
    from ipfs_kit_py.backends.storacha.client import StorachaClient
    from ipfs_kit_py.backends.storacha.did import Verifier

__all__ = ["account_proofs", "accounts", "email_of", "login", "mailto_did"]

# local@domain, no spaces or control characters; the service checks deliverability
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z0-9-]{2,63}$")
LOGIN_TIMEOUT = 15 * 60.0  # the service's confirmation link lives 15 minutes

Progress = Callable[[float], None]


def mailto_did(email: str) -> str:
    """``alice@example.com`` -> ``did:mailto:example.com:alice`` (InvalidInputError if bad)."""
    text = email.strip()
    if text.startswith("did:mailto:"):
        text = email_of(text)
    if not _EMAIL.match(text):
        raise InvalidInputError(f"not an e-mail address: {email[:100]!r}")
    local, domain = text.rsplit("@", 1)

    def quote(text: str) -> str:  # as JS encodeURIComponent (the official did-mailto)
        return urllib.parse.quote(text, safe="!~*'()")

    return f"did:mailto:{quote(domain)}:{quote(local)}"


def email_of(did: str) -> str:
    """``did:mailto:example.com:alice`` -> ``alice@example.com``."""
    parts = did.split(":")
    if len(parts) != 4 or parts[:2] != ["did", "mailto"] or not parts[2] or not parts[3]:
        raise InvalidInputError(f"not a did:mailto: {did[:100]!r}")
    unquote = urllib.parse.unquote
    return f"{unquote(parts[3])}@{unquote(parts[2])}"


def accounts(delegations: Iterable[Delegation]) -> list[str]:
    """The ``did:mailto`` accounts that delegated to us and whose grant is attested."""
    pool = list(delegations)
    found: list[str] = []
    for delegation in pool:
        iss = delegation.ucan.iss
        if (
            iss.startswith("did:mailto:")
            and iss not in found
            and attestations_for([delegation], pool)
        ):
            found.append(iss)
    return found


def account_proofs(account: str, delegations: Iterable[Delegation]) -> list[Delegation]:
    """The delegations from ``account`` and their attestations; AuthenticationError if none."""
    pool = list(delegations)
    chosen = [d for d in pool if d.ucan.iss == account]
    chosen += attestations_for(chosen, pool)
    if not chosen:
        raise AuthenticationError(
            f"not logged in as {account}: run 'ipfs-kit storacha login {email_of(account)}'",
            backend="storacha",
            locator=account,
        )
    return chosen


def _granted(
    claimed: list[Delegation], account: str, request: CID, service: Verifier
) -> list[Delegation]:
    """The delegations from ``account`` answering ``request``, with their attestations;
    a grant from any other account (a confused or hostile service) is not taken.

    An account's grant has no signature: the service's ``ucan/attest`` is what makes it
    usable. Raises :class:`AuthenticationError` for a grant that no attestation by the
    service (its DID, signed with its key) vouches for: stored, it would say we are
    logged in while every call it backs is refused.
    """
    ours = [d for d in claimed if d.ucan.iss == account and has_fact(d, "access/request", request)]
    if not ours:
        return []
    vouched = [a for a in attestations_for(ours, claimed) if _by_service(a, service)]
    for grant in ours:
        if not any(attested(a) == grant.cid for a in vouched):
            raise AuthenticationError(
                f"the service granted {account} access without its attestation (ucan/attest "
                f"signed by {service.did}): refused",
                backend="storacha",
                locator=account,
            )
    return [d.pruned() for d in ours + vouched]


def _by_service(attestation: Delegation, service: Verifier) -> bool:
    """True if the service issued and signed ``attestation``."""
    if attestation.ucan.iss != service.did:
        return False
    try:
        attestation.ucan.verify_signature(service)
    except IpfsKitError:
        return False
    return True


def _seconds(value: object) -> bool:
    """True for a finite positive number of seconds (not a bool, not a string)."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def login(
    client: StorachaClient,
    email: str,
    *,
    timeout: float = LOGIN_TIMEOUT,
    interval: float = 1.0,
    progress: Progress | None = None,
) -> list[Delegation]:
    """Ask the account ``email`` for access; poll until confirmed; return the grant.

    ``progress(seconds_waited)`` is called before each poll. A poll the service fails
    to answer (unreachable, a 5xx, too slow) is retried at the next interval until
    ``timeout``: the link in the e-mail stays valid. Raises :class:`BackendTimeoutError`
    if the e-mail is not confirmed within ``timeout``.
    """
    account = mailto_did(email)
    if not (_seconds(timeout) and _seconds(interval)):
        raise InvalidInputError("the login timeout and poll interval must be positive seconds")
    agent = client.signer.did
    ok = client.invoke_ok(
        "access/authorize", agent, {"iss": account, "att": [{"can": "*"}]}, nonce=True
    )
    request = ok.get("request") if isinstance(ok, dict) else None
    if not isinstance(request, CID):
        raise AuthenticationError("access/authorize answered without a request", backend="storacha")
    start = time.monotonic()
    while True:
        waited = time.monotonic() - start
        if progress is not None:
            progress(waited)
        try:
            granted = _claim(client, account, request)
        except BackendUnavailableError:  # a 5xx, a reset, a stall: the e-mail link still waits
            if waited > timeout:
                raise
            granted = []
        if granted:
            return granted
        if waited > timeout:
            raise BackendTimeoutError(
                f"the login e-mail to {email_of(account)} was not confirmed within {timeout:g}s",
                backend="storacha",
                locator=account,
            )
        time.sleep(interval)


def _claim(client: StorachaClient, account: str, request: CID) -> list[Delegation]:
    """One ``access/claim``: the checked grant answering ``request`` (none yet: [])."""
    agent = client.signer.did
    claimed = delegations_from_claim(client.invoke_ok("access/claim", agent, {}, nonce=True))
    granted = _granted(claimed, account, request, client.service_verifier())
    for delegation in granted:
        delegation.check(agent)
        delegation.check_links()
    return granted
