"""A hostile Storacha service for login: a :class:`HostileProxy` rule in front of the real one.

:class:`HostileService` forwards every agent message to the real local service and
answers with the same receipts re-signed by its own key (under the service's DID): a
client configured with that key trusts it as it would trust the service. It may rewrite
the delegations an ``access/claim`` answers (``claim``), which a real service cannot be
made to do: grants without attestation, attested by another key, for another agent,
expired, padded with junk blocks, or thousands of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.delegations import delegate, delegations_from_claim
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import AgentMessage
from ipfs_kit_py.backends.storacha.ucan import UCAN, link_str
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, DAG_CBOR, RAW, sha256_cid
from tests.servers.hostile import Exchange, Reply
from tests.servers.hostile_storacha import CAR_TYPE, encode_message

# (the service, the real claim's delegations, our agent's DID) -> the claim's new table
Claim = Callable[["HostileService", list[Delegation], str], dict[str, bytes]]


def car_of(roots: list[CID], blocks: dict[CID, bytes]) -> bytes:
    """A CAR of ``blocks`` naming ``roots``."""
    parts = [encode_car_header(roots)]
    parts += [encode_car_block(c, d) for c, d in blocks.items()]
    return b"".join(parts)


def table(delegations: list[Delegation]) -> dict[str, bytes]:
    """An access/claim table: one CAR per delegation, as the service answers."""
    return {link_str(d.cid): car_of([d.cid], d.blocks) for d in delegations}


def grants(delegations: list[Delegation]) -> list[Delegation]:
    """The account's grants among a claim's delegations (issued by a did:mailto)."""
    return [d for d in delegations if d.ucan.iss.startswith("did:mailto:")]


class HostileService:
    """Plays the service with its own ``key``; ``claim`` rewrites access/claim answers."""

    def __init__(
        self,
        service_did: str,
        claim: Claim | None = None,
        outs: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
    ) -> None:
        self.key = Signer.generate()
        self.service_did = service_did
        self.claim = claim
        self.outs = outs or {}  # ability -> rewrite of its receipt's ``out``
        self.claims = 0

    def attest(self, grant: Delegation, signer: Signer | None = None) -> Delegation:
        """A ``ucan/attest`` of ``grant`` by ``signer`` (default: this service's key)."""
        issuer = signer or self.key.with_did(self.service_did)
        caps = [{"with": issuer.did, "can": "ucan/attest", "nb": {"proof": grant.cid}}]
        return delegate(issuer, grant.ucan.aud, caps, facts=grant.ucan.fct)

    def __call__(self, exchange: Exchange) -> Reply:
        real = exchange.forward()
        if exchange.method != "POST" or real.status != 200 or not isinstance(real.body, bytes):
            return real
        asked = AgentMessage.decode(exchange.body)
        message = AgentMessage.decode(real.body)
        blocks = dict(message.blocks)
        report: dict[str, CID] = {}
        for task, rcid in message.report.items():
            raw = _cbor.decode(blocks[rcid])
            self._rewrite(raw["ocm"], asked.invocation(raw["ocm"]["ran"]))
            raw["ocm"]["iss"] = self.service_did
            raw["sig"] = self.key.sign(_cbor.encode(raw["ocm"]))
            data = _cbor.encode(raw)
            report[task] = sha256_cid(DAG_CBOR, data)
            blocks[report[task]] = data
        return Reply(200, {"content-type": CAR_TYPE}, encode_message(blocks, report))

    def _rewrite(self, ocm: dict[str, Any], invocation: UCAN | None) -> None:
        if invocation is not None and invocation.att[0]["can"] in self.outs:
            ocm["out"] = self.outs[invocation.att[0]["can"]](ocm["out"])
        if self.claim is None or invocation is None:
            return
        if invocation.att[0]["can"] != "access/claim" or "ok" not in ocm["out"]:
            return
        self.claims += 1
        real = delegations_from_claim(ocm["out"]["ok"])
        ocm["out"] = {"ok": {"delegations": self.claim(self, real, invocation.iss)}}


# -- claim rewrites -------------------------------------------------------------------------


def attested_by_us(service: HostileService, real: list[Delegation], agent: str) -> dict[str, bytes]:
    """The real grants, attested by this service's key (what a client trusting it takes)."""
    return table([*grants(real), *(service.attest(g) for g in grants(real))])


def unattested(service: HostileService, real: list[Delegation], agent: str) -> dict[str, bytes]:
    """The grants alone: nothing vouches for them."""
    return table(grants(real))


def attested_by_another_key(
    service: HostileService, real: list[Delegation], agent: str
) -> dict[str, bytes]:
    """Attestations under the service's DID, signed by some other key."""
    impostor = Signer.generate().with_did(service.service_did)
    return table([*grants(real), *(service.attest(g, impostor) for g in grants(real))])


def attested_by_a_stranger(
    service: HostileService, real: list[Delegation], agent: str
) -> dict[str, bytes]:
    """Attestations by a did:key that is not the service (validly self-signed)."""
    stranger = Signer.generate()
    return table([*grants(real), *(service.attest(g, stranger) for g in grants(real))])


def _remade(grant: Delegation, **fields: Any) -> Delegation:
    ucan = UCAN(**{**grant.ucan.__dict__, **fields})
    return Delegation(ucan, {ucan.cid: ucan.encode()})


def for_another_agent(
    service: HostileService, real: list[Delegation], agent: str
) -> dict[str, bytes]:
    """The grants re-addressed to another agent, attested."""
    moved = [_remade(g, aud=Signer.generate().did) for g in grants(real)]
    return table([*moved, *(service.attest(g) for g in moved)])


def expired(service: HostileService, real: list[Delegation], agent: str) -> dict[str, bytes]:
    """The grants expired a minute ago, attested."""
    import time

    old = [_remade(g, exp=int(time.time()) - 60) for g in grants(real)]
    return table([*old, *(service.attest(g) for g in old)])


def with_junk_blocks(
    service: HostileService, real: list[Delegation], agent: str
) -> dict[str, bytes]:
    """Attested grants whose CARs also carry 400 KB of blocks nobody cites."""
    out = {}
    for d in [*grants(real), *(service.attest(g) for g in grants(real))]:
        blocks = dict(d.blocks)
        for _ in range(40):
            data = os.urandom(10_000)
            blocks[sha256_cid(RAW, data)] = data
        out[link_str(d.cid)] = car_of([d.cid], blocks)
    return out


def after_others(count: int) -> Claim:
    """``count`` attested grants of another account to the agent, then ours (a claim of
    an agent logged in many times holds all of its grants)."""

    def claim(service: HostileService, real: list[Delegation], agent: str) -> dict[str, bytes]:
        other = Signer.generate()  # stands for another account's grants
        padding = [
            delegate(other, agent, [{"with": other.did, "can": f"x/{i}"}]) for i in range(count)
        ]
        return {**table(padding), **attested_by_us(service, real, agent)}

    return claim


def block_bomb(roots: int, blocks: int, cars: int) -> Claim:
    """``cars`` copies of one CAR of ``roots`` delegations over ``blocks`` tiny blocks."""

    def claim(service: HostileService, real: list[Delegation], agent: str) -> dict[str, bytes]:
        signer = Signer.generate()
        made = [
            delegate(signer, agent, [{"with": signer.did, "can": f"x/{i}"}]) for i in range(roots)
        ]
        pool: dict[CID, bytes] = {}
        for d in made:
            pool.update(d.blocks)
        for i in range(blocks):
            data = i.to_bytes(4, "big")
            pool[sha256_cid(RAW, data)] = data
        car = car_of([d.cid for d in made], pool)
        return {f"copy-{i}": car for i in range(cars)}

    return claim


class FailingClaims:
    """Answer the first ``failures`` access/claim polls with ``status`` (a 5xx), then pass
    everything to ``then`` (a :class:`HostileService`, or the real service)."""

    def __init__(self, failures: int, status: int, then: Callable[[Exchange], Reply]) -> None:
        self.failures, self.status, self.then = failures, status, then
        self.failed = 0

    def __call__(self, exchange: Exchange) -> Reply:
        if exchange.method == "POST" and self.failed < self.failures:
            asked = AgentMessage.decode(exchange.body)
            ucans = [asked.invocation(cid) for cid in asked.execute]
            if any(u is not None and u.att[0]["can"] == "access/claim" for u in ucans):
                self.failed += 1
                return Reply(self.status, {"content-type": "text/plain"}, b"overloaded")
        return self.then(exchange)
