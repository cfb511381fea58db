"""StorachaClient: signs invocations, posts agent messages, checks receipts, polls receipts.

A receipt is acted on only if it answers the task we asked about (its ``ran``) and is
signed by the service, or by the audience of a task that a service-signed receipt lists
among its effects (a storage node's ``blob/allocate`` receipt, the ``http/put`` key).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.delegation import Delegation, parse_proof
from ipfs_kit_py.backends.storacha.delegations import attestations_for
from ipfs_kit_py.backends.storacha.did import Signer, Verifier, did_key_public_key, verifier_for
from ipfs_kit_py.backends.storacha.message import AgentMessage, Invocation, Receipt, encode_request
from ipfs_kit_py.backends.storacha.piece import register_piece_multihash
from ipfs_kit_py.backends.storacha.transport import MAX_REDIRECTS, Answer, ServiceHTTP
from ipfs_kit_py.backends.storacha.ucan import issue, link_str
from ipfs_kit_py.content.cid import CID, DAG_CBOR
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    ConfigurationError,
    ContentNotFoundError,
    InvalidInputError,
    ProtocolError,
    SpaceNotProvisionedError,
)
from ipfs_kit_py.net import deadline
from ipfs_kit_py.resource import Closeable

__all__ = ["StorachaClient"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

CAR_TYPE = "application/vnd.ipld.car"
USER_AGENT = "ipfs_kit_py (python; storacha)"
# What the JS client delegates from a new space to its agent (no expiry).
SPACE_ABILITIES = (
    "assert/*",
    "space/*",
    "blob/*",
    "index/*",
    "store/*",
    "upload/*",
    "access/*",
    "filecoin/*",
    "usage/*",
)
_DOC_BYTES = 64 * 1024  # did.json and /version
# Service keys learned on first use, by (service URL, service DID): for the process.
_PINS: dict[tuple[str, str], str] = {}
_PINS_LOCK = threading.Lock()
_AUTH_ERRORS = {
    "Unauthorized",
    "InvalidAudience",
    "Expired",
    "NotValidBefore",
    "InvalidSignature",
    "UnavailableProof",
    "InvalidClaim",
    "SpaceUnknown",
    "InsufficientStorage",
}


class StorachaClient(Closeable):
    """A ucanto client for the Storacha upload service; a context manager."""

    def __init__(self, config: StorachaConfig) -> None:
        self.config = config
        self._http = ServiceHTTP(
            config.timeouts.deadline,
            headers={"user-agent": USER_AGENT},
            ca_bundle=config.ca_bundle,
        )
        self._signer: Signer | None = None
        self._proofs: list[Delegation] | None = None
        self._space = config.space
        self._service_verifier: Verifier | None = None
        register_piece_multihash()

    def close(self) -> None:
        """Close the HTTP connections; idempotent."""
        self._http.close()

    @property
    def http(self) -> ServiceHTTP:
        return self._http

    # -- credentials -------------------------------------------------------------

    @property
    def signer(self) -> Signer:
        """The agent key (parsed on first use)."""
        if self._signer is None:
            key, _ = self.config.require_credentials()
            self._signer = Signer.parse(key)
        return self._signer

    @property
    def proofs(self) -> list[Delegation]:
        """The delegations from the configured proof, checked against the agent key."""
        if self._proofs is None:
            _, proof = self.config.require_credentials()
            source = self.config.proof_source
            parsed = [parse_proof(p, source=source) for p in proof.replace(",", " ").split()]
            for delegation in parsed:
                delegation.check(self.signer.did)
            self._proofs = parsed
        return self._proofs

    def use_agent(self, signer: Signer, proofs: Sequence[Delegation]) -> None:
        """Act as ``signer`` holding ``proofs`` (an agent store's), not the configured pair."""
        self._signer = signer
        self._proofs = list(proofs)

    def spaces(self) -> list[str]:
        """The space DIDs our proofs reach."""
        found: list[str] = []
        for delegation in self.proofs:
            found += [s for s in delegation.spaces() if s not in found]
        return found

    @property
    def space(self) -> str:
        """The selected space: configured, chosen with :meth:`select_space`, or the first."""
        spaces = self.spaces()
        if self._space is None:
            if not spaces:
                raise AuthenticationError(
                    "the proof grants no space (no did:key resource)", backend="storacha"
                )
            self._space = spaces[0]
        elif self._space not in spaces:
            raise AuthenticationError(
                f"the proof does not grant access to space {self._space}",
                backend="storacha",
                locator=self._space,
            )
        return self._space

    def select_space(self, did: str) -> str:
        """Select the space used by later calls; it must be one our proofs reach."""
        if did not in self.spaces():
            raise InvalidInputError(f"space {did} is not reachable with these credentials")
        self._space = did
        return did

    def create_space(self) -> tuple[Signer, Delegation]:
        """Make a space locally: a new Ed25519 key delegating every space ability to us.

        The space still has to be provisioned by an account (``storacha`` CLI or console)
        before the service accepts uploads to it. The returned key is the space's root
        credential: store it safely.
        """
        space = Signer.generate()
        caps = [{"with": space.did, "can": can} for can in SPACE_ABILITIES]
        ucan = issue(space, self.signer.did, caps, lifetime=None)
        delegation = Delegation(ucan, {ucan.cid: ucan.encode()})
        self._proofs = [*self.proofs, delegation]
        return space, delegation

    def proofs_for(self, space: str) -> list[Delegation]:
        """The delegations granting something on ``space``."""
        chosen = [d for d in self.proofs if space in d.spaces()]
        chosen += attestations_for(chosen, self.proofs)  # an account's grant needs its attest
        if not chosen:
            raise AuthenticationError(
                f"the proof does not grant access to space {space}",
                backend="storacha",
                locator=space,
            )
        return chosen

    # -- invocations -------------------------------------------------------------

    def invocation(
        self,
        can: str,
        with_: str,
        nb: Mapping[str, Any] | None = None,
        *,
        proofs: Sequence[Delegation] = (),
        facts: Sequence[Any] = (),
        attached: Mapping[CID, bytes] | None = None,
        nonce: bool = False,
        expiration: int | None = None,
        lifetime: int | None = 30,
    ) -> Invocation:
        """Build and sign one invocation for the service."""
        cap: dict[str, Any] = {"with": with_, "can": can, "nb": dict(nb or {})}
        blocks: dict[CID, bytes] = {}
        for delegation in proofs:
            blocks.update(delegation.blocks)
        blocks.update(attached or {})
        ucan = issue(
            self.signer,
            self.config.service_did,
            [cap],
            expiration=expiration,
            lifetime=lifetime,
            proofs=[d.cid for d in proofs],
            facts=facts,
            nonce=secrets.token_hex(8) if nonce else None,
        )
        return Invocation(ucan, blocks)

    def invoke(
        self, can: str, with_: str, nb: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> tuple[Receipt, AgentMessage]:
        """Invoke ``can`` on ``with_``; return its verified receipt and the response message."""
        if "proofs" not in kwargs and with_ != self.signer.did:
            kwargs["proofs"] = self.proofs_for(with_)
        inv = self.invocation(can, with_, nb, **kwargs)
        url = self.config.service_url + "/"
        with deadline(self._http.timeout):  # the receipt's decoding counts too
            message = self.execute([inv])
            receipt = self._within(url, lambda: message.receipt_for(inv.cid))
        self.verify_receipt(receipt, inv.cid)
        return receipt, message

    def invoke_ok(
        self, can: str, with_: str, nb: Mapping[str, Any] | None = None, **kw: Any
    ) -> Any:
        """Invoke and return ``out.ok``; raise a typed error for ``out.error``."""
        receipt, _ = self.invoke(can, with_, nb, **kw)
        raise_for_receipt(receipt, can, with_)
        return receipt.ok

    def execute(self, invocations: Sequence[Invocation]) -> AgentMessage:
        """POST an agent message; return the decoded response message.

        Redirects are not followed: the message carries our proofs, and a 3xx to
        another origin would hand them over.
        """
        body = encode_request(invocations)
        headers = {"content-type": CAR_TYPE, "accept": CAR_TYPE}
        url = self.config.service_url + "/"
        with deadline(self._http.timeout):  # the answer's decoding counts too
            answer = self.request("POST", url, content=body, headers=headers)
            return self._message(self._checked(answer, url), url)

    @staticmethod
    def _checked(answer: Answer, url: str) -> Answer:
        where = {"backend": "storacha", "locator": url}
        if answer.status in (401, 403):
            raise AuthenticationError(
                f"Storacha service refused the request: {answer.status}", **where
            )
        if 300 <= answer.status < 400:
            raise ProtocolError(
                f"Storacha service answered {answer.status} (a redirect): not followed, "
                "agent messages go only to the configured service URL",
                **where,
            )
        if answer.status >= 500:  # the service is down or overloaded: worth a retry
            raise BackendUnavailableError(
                f"Storacha service answered {answer.status}: {answer.text[:200]}", **where
            )
        if answer.status != 200:
            raise BackendError(
                f"Storacha service answered {answer.status}: {answer.text[:200]}", **where
            )
        return answer

    def _message(self, answer: Answer, url: str) -> AgentMessage:
        """Decode an answer within the exchange's deadline (a BackendTimeoutError past it)."""
        return self._within(url, lambda: AgentMessage.decode(answer.body))

    def _within(self, url: str, decode: Callable[[], T]) -> T:
        """Run ``decode`` under the enclosing deadline; BackendTimeoutError once it passes."""
        try:
            return decode()
        except TimeoutError as exc:
            raise BackendTimeoutError(
                f"the answer of {url} was not decoded within {self._http.timeout:g}s",
                backend="storacha",
                locator=url,
            ) from exc

    def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        """One bounded exchange with the service (see :class:`ServiceHTTP`)."""
        return self._http.exchange(method, url, **kwargs)

    # -- receipts ----------------------------------------------------------------

    def service_verifier(self) -> Verifier:
        """The service's key: configured, or resolved once (see :func:`key_source`)."""
        if self._service_verifier is None:
            did = self.config.service_did
            key = self.config.service_key
            if did.startswith("did:key:"):
                key = did
            if key is None:
                key = self._learned_key()
                self._service_verifier = Verifier(did_key_public_key(key), did)
            else:
                self._service_verifier = Verifier(_configured_key(key), did)
        return self._service_verifier

    @property
    def key_source(self) -> str:
        """Where the service key comes from, which decides whether it may ever change.

        ``configured`` (``service_key``, or a did:key ``service_did``): fixed. ``did:web``:
        resolved from the did:web's own domain (``https://<domain>/.well-known/did.json``,
        the configured ``service_url`` being that origin), re-resolved there once if a
        receipt's signature fails (a key rotation). ``pinned``: learned on first use from
        another ``service_url`` (a proxy, a local service), never replaced afterwards.
        """
        if self.config.service_key or self.config.service_did.startswith("did:key:"):
            return "configured"
        origin = did_web_origin(self.config.service_did)
        if origin is not None and origin == self.config.service_url.rstrip("/").lower():
            return "did:web"
        return "pinned"

    def _learned_key(self) -> str:
        """The resolved key; a pinned one is shared by every client of this process.

        Trust on first use holds for the process, not for one client: a second client of
        the same service (a new kit, a new backend) gets the key the first one learned,
        so an endpoint hijacked in between cannot hand it another.
        """
        if self.key_source != "pinned":
            return self._resolve_service_key()
        where = (self.config.service_url.rstrip("/"), self.config.service_did)
        with _PINS_LOCK:
            known = _PINS.get(where)
        if known is not None:
            return known
        key = self._resolve_service_key()
        with _PINS_LOCK:
            return _PINS.setdefault(where, key)

    def _resolve_service_key(self) -> str:
        base = self.config.service_url
        answer = self.request("GET", base + "/.well-known/did.json", max_bytes=_DOC_BYTES)
        if answer.status == 200:
            key = _key_from_did_doc(answer.body, self.config.service_did)
            if key is not None:
                return key
        if self.key_source == "pinned":  # /version: the local service's older answer
            answer = self.request("GET", base + "/version", max_bytes=_DOC_BYTES)
            if answer.status == 200:
                key = _key_from_version(answer.body, self.config.service_did)
                if key is not None:
                    return key
        raise ProtocolError(
            f"cannot resolve the key of {self.config.service_did} at {base}",
            backend="storacha",
            locator=base,
        )

    def verify_receipt(self, receipt: Receipt, ran: CID, delegates: Iterable[str] = ()) -> None:
        """Accept ``receipt`` only as the service's (or a delegate's) answer to task ``ran``.

        ``delegates`` are did:keys the service named as audiences of tasks it listed in
        a receipt it signed. Raises :class:`ProtocolError` for a receipt about another
        task, by another issuer, or with a bad signature.
        """
        if receipt.ran != ran:
            raise ProtocolError(
                f"receipt {receipt.cid} answers task {link_str(receipt.ran)}, not {link_str(ran)}",
                backend="storacha",
            )
        issuer = receipt.issuer or self.config.service_did
        if issuer == self.config.service_did or issuer == self.service_verifier().key_did:
            self._verify_by_service(receipt)
        elif issuer.startswith("did:key:") and issuer in set(delegates):
            try:
                receipt.verify(verifier_for(issuer))
            except AuthenticationError as exc:
                raise ProtocolError(
                    f"receipt {receipt.cid} has an invalid signature", backend="storacha"
                ) from exc
        else:
            raise ProtocolError(
                f"receipt {receipt.cid} is issued by {issuer[:100]}, not by the service "
                f"{self.config.service_did} or a task it assigned",
                backend="storacha",
            )

    def _verify_by_service(self, receipt: Receipt) -> None:
        """Check the service's signature; re-resolve a did:web key once from its domain."""
        try:
            receipt.verify(self.service_verifier())
            return
        except AuthenticationError as exc:
            if self.key_source != "did:web":
                hint = (
                    ""
                    if self.key_source == "configured"
                    else " (the key learned first is kept: set service_key if it changed)"
                )
                raise ProtocolError(
                    f"receipt {receipt.cid} has an invalid signature{hint}", backend="storacha"
                ) from exc
        old = self.service_verifier()
        self._service_verifier = None
        try:
            fresh = self.service_verifier()
        except BackendError:
            self._service_verifier = old
            raise
        if fresh.public_key != old.public_key:
            logger.info("the key of %s changed; re-resolved", self.config.service_did)
            try:
                receipt.verify(fresh)
                return
            except AuthenticationError:
                pass
        raise ProtocolError(f"receipt {receipt.cid} has an invalid signature", backend="storacha")

    def get_receipt(self, task: CID, delegates: Iterable[str] = ()) -> Receipt | None:
        """Fetch the receipt of ``task`` from the receipts endpoint; None if not there yet."""
        url = self.config.receipts_endpoint + link_str(task)
        with deadline(self._http.timeout):
            answer = self.request("GET", url, redirects=MAX_REDIRECTS)
            if answer.status == 404:
                return None
            if answer.status != 200:
                raise BackendError(
                    f"receipt endpoint answered {answer.status}", backend="storacha", locator=url
                )
            message = self._message(answer, url)
            receipt = self._within(url, lambda: self._find_receipt(message, task))
        if receipt is not None:
            self.verify_receipt(receipt, task, delegates)
        return receipt

    @staticmethod
    def _find_receipt(message: AgentMessage, task: CID) -> Receipt | None:
        if link_str(task) in message.report:
            return message.receipt_for(task)
        for receipt in message.receipts():
            if receipt.ran == task:
                return receipt
        for receipt in concluded_receipts(message):  # carried inside a ucan/conclude
            if receipt.ran == task:
                return receipt
        return None

    def poll_receipt(
        self, task: CID, timeout: float | None = None, delegates: Iterable[str] = ()
    ) -> Receipt:
        """Poll until the receipt of ``task`` exists; raise BackendTimeoutError on timeout."""
        deadline = time.monotonic() + (timeout or self.config.receipt_timeout)
        delay = 0.05
        while True:
            receipt = self.get_receipt(task, delegates)
            if receipt is not None:
                return receipt
            if time.monotonic() > deadline:
                raise BackendTimeoutError(
                    f"no receipt for task {task} within the timeout",
                    backend="storacha",
                    locator=self.config.receipts_endpoint + link_str(task),
                )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def _configured_key(key: str) -> bytes:
    """The configured service key's bytes; the message never quotes it (a misplaced
    agent key is a secret)."""
    try:
        return did_key_public_key(key)
    except ProtocolError:
        raise ConfigurationError(
            "storacha service_key (or a did:key service_did) must be an Ed25519 did:key"
        ) from None


def did_web_origin(did: str) -> str | None:
    """The ``https://`` origin a ``did:web`` names (``%3A`` a port), or None for another DID."""
    if not did.startswith("did:web:"):
        return None
    host = did[len("did:web:") :].split(":", 1)[0].replace("%3A", ":").replace("%3a", ":")
    if not host or not re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host):
        return None
    return "https://" + host.lower()


def _key_from_did_doc(body: bytes, did: str) -> str | None:
    try:
        doc = json.loads(body)  # 64 KiB at most, but "[[[..." recurses: RecursionError
        if doc.get("id") != did:
            return None
        for method in doc.get("verificationMethod", []):
            mb = method.get("publicKeyMultibase")
            if isinstance(mb, str) and mb:
                return "did:key:" + mb
    except (ValueError, AttributeError, TypeError, RecursionError):
        pass
    return None


def _key_from_version(body: bytes, did: str) -> str | None:
    try:
        info = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(info, dict) and info.get("did") == did and isinstance(info.get("publicKey"), str):
        return str(info["publicKey"])
    return None


def raise_for_receipt(receipt: Receipt, what: str, locator: str = "") -> None:
    """Raise a typed error if ``receipt`` reports a failure; ``locator``: the resource (space)."""
    if receipt.error is None:
        return
    err = receipt.error
    name = err.get("name", "") if isinstance(err, dict) else ""
    message = f"{what} failed: {receipt.error_text()}"
    if name == "InsufficientStorage":
        raise SpaceNotProvisionedError(
            f"{message}; provision the space: ipfs-kit storacha space provision {locator}".strip(),
            backend="storacha",
            locator=locator,
        )
    if name in _AUTH_ERRORS or "Unauthorized" in name:
        raise AuthenticationError(message, backend="storacha", locator=locator)
    if name.endswith("NotFound"):
        raise ContentNotFoundError(message, backend="storacha", locator=locator)
    raise BackendError(message, backend="storacha", locator=locator)


def concluded_receipts(message: AgentMessage, tasks: Sequence[CID] | None = None) -> list[Receipt]:
    """Receipts attached to the ``ucan/conclude`` invocations in ``message`` (or ``tasks``)."""
    found: list[Receipt] = []
    for cid in message.blocks if tasks is None else tasks:
        if cid.codec.code != DAG_CBOR:
            continue
        try:
            ucan = message.invocation(cid)
        except ProtocolError:
            continue
        if ucan is None or not ucan.att or ucan.att[0].get("can") != "ucan/conclude":
            continue
        rcid = (ucan.att[0].get("nb") or {}).get("receipt")
        if isinstance(rcid, CID) and rcid in message.blocks:
            found.append(Receipt.decode(rcid, message.blocks[rcid]))
    return found
