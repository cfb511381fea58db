"""Delegations: parse the ``m...`` proofs that ``storacha delegation create --base64`` prints."""

from __future__ import annotations

import base64
import binascii
import io
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from multiformats import varint

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.backends.storacha.did import verifier_for
from ipfs_kit_py.backends.storacha.ucan import UCAN
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CAR_CODEC, CID, DAG_CBOR, decode_cid_bytes, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    CARFormatError,
    ConfigurationError,
    ContentMismatchError,
    ProtocolError,
)

__all__ = ["Delegation", "parse_proof"]

ARCHIVE_TAG = "ucan@0.9.1"
_IDENTITY = 0x00
_MAX_PROOF_BYTES = 256 * 1024  # a proof is an identity CID far longer than a content CID
MAX_PROOF_BYTES = _MAX_PROOF_BYTES  # the largest archive parse_proof reads back
MAX_PROOF_CHARS = (_MAX_PROOF_BYTES + 16) * 8 // 5 + 8  # base32 of the largest proof


# Bounds on a proof chain: real ones are a handful of UCANs a few levels deep.
MAX_PROOF_DEPTH = 16
MAX_PROOFS = 256


@dataclass(frozen=True)
class Delegation:
    """A root UCAN and every block of its proof chain."""

    ucan: UCAN
    blocks: dict[CID, bytes] = field(repr=False)

    @cached_property
    def cid(self) -> CID:  # re-encoding the UCAN each time made a store load quadratic
        return self.ucan.cid

    @cached_property
    def _chain(self) -> tuple[UCAN, ...]:
        return tuple(walk_chain(self.ucan, self.blocks))

    def chain(self) -> list[UCAN]:
        """The root and every distinct proof UCAN carried with it, breadth first.

        Each proof is decoded once however many UCANs cite it; raises
        :class:`AuthenticationError` past :data:`MAX_PROOF_DEPTH` levels or
        :data:`MAX_PROOFS` distinct proofs, :class:`ConfigurationError` if one is malformed.
        """
        return list(self._chain)

    def spaces(self) -> list[str]:
        """The space DIDs (did:key resources) this delegation grants abilities on."""
        for ucan in self._chain:
            found: list[str] = []
            for cap in ucan.att:
                with_ = str(cap.get("with", "")) if isinstance(cap, dict) else ""
                if with_.startswith("did:key:") and with_ not in found:
                    found.append(with_)
            if found:
                return found
        return []

    def abilities(self) -> list[str]:
        """The abilities the root UCAN grants."""
        return [str(c.get("can")) for c in self.ucan.att]

    def check(self, audience: str, now: float | None = None) -> None:
        """Raise :class:`AuthenticationError` if not for ``audience``, expired, not yet
        valid (``nbf``), or forged; each distinct UCAN of the chain is checked once."""
        if self.ucan.aud != audience:
            raise AuthenticationError(
                f"the proof is delegated to {self.ucan.aud}, not to this agent {audience}",
                backend="storacha",
            )
        now = time.time() if now is None else now
        for ucan in self._chain:
            check_ucan(ucan, now)

    def check_links(self) -> None:
        """Raise :class:`AuthenticationError` unless the chain links: each carried proof is
        delegated to the issuer of the UCAN citing it, and a UCAN granting abilities on
        another ``did:key`` (a space) than its issuer cites a proof. The service refuses
        every invocation such a chain backs; it is refused before it is stored."""
        by_cid = {u.cid: u for u in self._chain}
        for ucan in self._chain:
            for link in ucan.prf:
                proof = by_cid.get(link)
                if proof is not None and proof.aud != ucan.iss:
                    raise AuthenticationError(
                        f"the proof chain does not link: UCAN {ucan.cid} cites a proof "
                        f"delegated to {proof.aud}, not to its issuer {ucan.iss}",
                        backend="storacha",
                    )
            foreign = [c["with"] for c in ucan.att if _foreign_key(c["with"], ucan.iss)]
            if foreign and not ucan.prf:
                raise AuthenticationError(
                    f"the proof (UCAN {ucan.cid}) by {ucan.iss} grants abilities on "
                    f"{foreign[0]} without any proof of its own",
                    backend="storacha",
                )

    def archive(self) -> bytes:
        """Encode as a CAR whose root is ``{"ucan@0.9.1": cid}`` (the ucanto archive)."""
        root = bytes(dag_cbor.encode({ARCHIVE_TAG: self.cid}))
        root_cid = sha256_cid(DAG_CBOR, root)
        parts = [encode_car_header([root_cid])]
        parts += [encode_car_block(c, d) for c, d in self.blocks.items()]
        parts.append(encode_car_block(root_cid, root))
        return b"".join(parts)

    def format(self) -> str:
        """The ``m...`` text form: base64 of an identity CID wrapping the archive.

        Encoded with the standard library: multiformats' base64 takes quadratic time (a
        200 KB proof took 98 s, holding the agent store's lock).
        """
        car = self.archive()
        cid = b"\x01" + _varint(CAR_CODEC) + bytes([_IDENTITY]) + _varint(len(car)) + car
        return "m" + base64.b64encode(cid).decode("ascii").rstrip("=")

    def pruned(self) -> Delegation:
        """This delegation with only the blocks of its proof chain (a claim's CAR may
        carry blocks of other delegations, or junk, which must not be stored with it)."""
        keep = {u.cid for u in self._chain}
        return Delegation(self.ucan, {c: d for c, d in self.blocks.items() if c in keep})


def _foreign_key(resource: str, issuer: str) -> bool:
    """True for a ``did:key`` resource that is not ``issuer`` itself."""
    return resource.startswith("did:key:") and resource != issuer


def check_ucan(ucan: UCAN, now: float) -> None:
    """One UCAN of a proof chain: in its time window, and signed by its did:key issuer."""
    if ucan.exp is not None and ucan.exp < now:
        raise AuthenticationError(
            f"the proof (UCAN {ucan.cid}) expired at {ucan.exp}", backend="storacha"
        )
    if ucan.nbf is not None and ucan.nbf > now:
        raise AuthenticationError(
            f"the proof (UCAN {ucan.cid}) is not valid before {ucan.nbf}", backend="storacha"
        )
    if ucan.iss.startswith("did:key:"):
        try:
            ucan.verify_signature(verifier_for(ucan.iss))
        except ProtocolError as exc:
            raise AuthenticationError(
                f"the proof (UCAN {ucan.cid}): {exc}", backend="storacha"
            ) from exc


def walk_chain(
    root: UCAN,
    blocks: Mapping[CID, bytes],
    *,
    max_depth: int = MAX_PROOF_DEPTH,
    max_proofs: int = MAX_PROOFS,
) -> Iterator[UCAN]:
    """Yield ``root`` and each distinct proof it reaches in ``blocks``, breadth first.

    A proof cited by many UCANs is visited once, so the walk is linear in the distinct
    UCANs, not in the paths to them. Raises :class:`AuthenticationError` if a proof
    lies more than ``max_depth`` links from the root (shortest path) or more than
    ``max_proofs`` UCANs are reached.
    """
    seen: set[CID] = {root.cid}
    todo: deque[tuple[UCAN, int]] = deque([(root, 0)])
    while todo:
        ucan, depth = todo.popleft()
        yield ucan
        for link in ucan.prf:
            if link in seen or link not in blocks:
                continue  # a proof not carried here may be one the service holds
            if depth + 1 > max_depth:
                raise AuthenticationError(
                    f"the proof chain is deeper than {max_depth}", backend="storacha"
                )
            seen.add(link)
            if len(seen) > max_proofs:
                raise AuthenticationError(
                    f"the proof chain has more than {max_proofs} UCANs", backend="storacha"
                )
            todo.append((_decode_proof(link, blocks[link]), depth + 1))


def _decode_proof(cid: CID, data: bytes) -> UCAN:
    try:
        return UCAN.decode(data)
    except ProtocolError as exc:
        raise ConfigurationError(f"the proof holds a malformed UCAN {cid}: {exc}") from exc


def _varint(n: int) -> bytes:
    return bytes(varint.encode(n))


def _unwrap(text: str, source: str) -> bytes:
    """Return the archive CAR bytes carried by ``text`` (identity CID or raw CAR, base64)."""
    data = multibase_bytes(text, source=source)
    if data[:1] != b"\x01":  # not a CIDv1: the CAR itself (its header length comes first)
        return data
    try:
        cid = decode_cid_bytes(data, max_bytes=_MAX_PROOF_BYTES + 16)
    except Exception:  # InvalidCIDError, or multiformats' untyped errors for malformed ones
        raise ConfigurationError(f"{source} holds an unreadable CID") from None
    if cid.codec.code != CAR_CODEC or cid.hashfun.code != _IDENTITY:
        raise ConfigurationError(f"{source} is a CID but not an identity CID of a CAR")
    return bytes(cid.raw_digest)


def multibase_bytes(text: str, *, source: str = "STORACHA_PROOF") -> bytes:
    """Decode a base64 (``m M u U``) or base32 (``b B``) multibase string in linear time.

    At most :data:`MAX_PROOF_CHARS` characters; ConfigurationError otherwise, naming
    ``source`` (where the text came from). The message never quotes ``text`` (a credential).
    """
    if len(text) > MAX_PROOF_CHARS:
        raise ConfigurationError(
            f"{source} is longer than {MAX_PROOF_CHARS} characters (the limit)"
        )
    prefix, body = text[:1], text[1:]
    try:
        if prefix in ("m", "M", "u", "U"):
            alt = b"-_" if prefix in ("u", "U") else None
            if (prefix.islower() and "=" in body) or len(body) % 4 == 1:
                raise ValueError("bad padding")
            padded = body + "=" * (-len(body) % 4)
            return base64.b64decode(padded.encode("ascii"), altchars=alt, validate=True)
        if prefix in ("b", "B"):
            if "=" in body:
                raise ValueError("padding in unpadded base32")
            padded = body.upper() + "=" * (-len(body) % 8)
            return base64.b32decode(padded.encode("ascii"))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        pass
    raise ConfigurationError(
        f"{source} is not a delegation (expected the base64 'm...' output of "
        "'storacha delegation create --base64')"
    )


def parse_proof(text: str, *, source: str = "STORACHA_PROOF") -> Delegation:
    """Parse a ``storacha delegation create --base64`` proof; raise ConfigurationError
    whose message names ``source``, where the proof came from (a variable, a file...)."""
    car = _unwrap(text.strip(), source)
    try:
        reader = CarReader(io.BytesIO(car), verify=True)
        blocks = {b.cid: b.data for b in reader}
        roots = reader.roots
    except (CARFormatError, ContentMismatchError) as exc:
        raise ConfigurationError(f"{source} holds a bad CAR: {exc}") from exc
    if len(roots) != 1 or roots[0] not in blocks:
        raise ConfigurationError(f"{source} archive has no root block")
    try:
        root = dag_cbor.decode(blocks.pop(roots[0]))
    except ValueError:
        raise ConfigurationError(f"{source} archive root is not dag-cbor") from None
    if isinstance(root, dict) and ARCHIVE_TAG in root:
        cid = root[ARCHIVE_TAG]
    else:  # an older archive whose root is the delegation itself
        cid = roots[0]
        blocks[cid] = bytes(dag_cbor.encode(root))
    if cid not in blocks:
        raise ConfigurationError(f"{source} archive lacks its delegation block")
    try:
        ucan = UCAN.decode(blocks[cid])
    except Exception as exc:
        raise ConfigurationError(f"{source} is not a UCAN delegation: {exc}") from exc
    return Delegation(ucan, blocks)
