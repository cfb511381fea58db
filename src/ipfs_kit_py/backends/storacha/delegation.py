"""Delegations: parse the ``m...`` proofs that ``storacha delegation create --base64`` prints."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field

from multiformats import multibase, varint

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.backends.storacha.did import verifier_for
from ipfs_kit_py.backends.storacha.ucan import UCAN
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CAR_CODEC, CID, DAG_CBOR, parse_cid, sha256_cid
from ipfs_kit_py.errors import (
    AuthenticationError,
    CARFormatError,
    ConfigurationError,
    ContentMismatchError,
    InvalidCIDError,
)

__all__ = ["Delegation", "parse_proof"]

ARCHIVE_TAG = "ucan@0.9.1"
_IDENTITY = 0x00
_MAX_PROOF_BYTES = 256 * 1024  # a proof is an identity CID far longer than a content CID


@dataclass(frozen=True)
class Delegation:
    """A root UCAN and every block of its proof chain."""

    ucan: UCAN
    blocks: dict[CID, bytes] = field(repr=False)

    @property
    def cid(self) -> CID:
        return self.ucan.cid

    def chain(self) -> list[UCAN]:
        """The root and every proof UCAN carried with it, depth first."""
        out: list[UCAN] = []
        todo = [self.ucan]
        while todo:
            ucan = todo.pop()
            out.append(ucan)
            todo.extend(UCAN.decode(self.blocks[p]) for p in ucan.prf if p in self.blocks)
        return out

    def spaces(self) -> list[str]:
        """The space DIDs (did:key resources) this delegation grants abilities on."""
        found: list[str] = []
        for ucan in self.chain():
            for cap in ucan.att:
                with_ = str(cap.get("with", ""))
                if with_.startswith("did:key:") and with_ not in found:
                    found.append(with_)
            if found:
                break
        return found

    def abilities(self) -> list[str]:
        """The abilities the root UCAN grants."""
        return [str(c.get("can")) for c in self.ucan.att]

    def check(self, audience: str, now: float | None = None) -> None:
        """Raise :class:`AuthenticationError` if not for ``audience``, expired, or forged."""
        if self.ucan.aud != audience:
            raise AuthenticationError(
                f"the proof is delegated to {self.ucan.aud}, not to this agent {audience}",
                backend="storacha",
            )
        now = time.time() if now is None else now
        for ucan in self.chain():
            if ucan.exp is not None and ucan.exp < now:
                raise AuthenticationError(
                    f"the proof (UCAN {ucan.cid}) expired at {ucan.exp}", backend="storacha"
                )
            if ucan.iss.startswith("did:key:"):
                ucan.verify_signature(verifier_for(ucan.iss))

    def archive(self) -> bytes:
        """Encode as a CAR whose root is ``{"ucan@0.9.1": cid}`` (the ucanto archive)."""
        root = bytes(dag_cbor.encode({ARCHIVE_TAG: self.cid}))
        root_cid = sha256_cid(DAG_CBOR, root)
        parts = [encode_car_header([root_cid])]
        parts += [encode_car_block(c, d) for c, d in self.blocks.items()]
        parts.append(encode_car_block(root_cid, root))
        return b"".join(parts)

    def format(self) -> str:
        """The ``m...`` text form: base64 of an identity CID wrapping the archive."""
        car = self.archive()
        mh = bytes([_IDENTITY]) + _varint(len(car)) + car
        cid = CID("base64", 1, CAR_CODEC, mh)
        return str(cid.encode("base64"))


def _varint(n: int) -> bytes:
    return bytes(varint.encode(n))


def _unwrap(text: str) -> bytes:
    """Return the archive CAR bytes carried by ``text`` (identity CID or raw CAR, base64)."""
    try:
        cid = parse_cid(text, max_bytes=_MAX_PROOF_BYTES)
    except InvalidCIDError:
        cid = None
    if cid is not None:
        if cid.codec.code != CAR_CODEC or cid.hashfun.code != _IDENTITY:
            raise ConfigurationError("STORACHA_PROOF is a CID but not an identity CID of a CAR")
        return bytes(cid.raw_digest)
    try:
        return bytes(multibase.decode(text))
    except Exception:
        # not chained: the decoder's message may quote the proof, a credential
        raise ConfigurationError(
            "STORACHA_PROOF is not a delegation (expected the base64 'm...' output of "
            "'storacha delegation create --base64')"
        ) from None


def parse_proof(text: str) -> Delegation:
    """Parse a ``storacha delegation create --base64`` proof; raise ConfigurationError."""
    car = _unwrap(text.strip())
    try:
        reader = CarReader(io.BytesIO(car), verify=True)
        blocks = {b.cid: b.data for b in reader}
        roots = reader.roots
    except (CARFormatError, ContentMismatchError) as exc:
        raise ConfigurationError(f"STORACHA_PROOF holds a bad CAR: {exc}") from exc
    if len(roots) != 1 or roots[0] not in blocks:
        raise ConfigurationError("STORACHA_PROOF archive has no root block")
    root = dag_cbor.decode(blocks.pop(roots[0]))
    if isinstance(root, dict) and ARCHIVE_TAG in root:
        cid = root[ARCHIVE_TAG]
    else:  # an older archive whose root is the delegation itself
        cid = roots[0]
        blocks[cid] = bytes(dag_cbor.encode(root))
    if cid not in blocks:
        raise ConfigurationError("STORACHA_PROOF archive lacks its delegation block")
    try:
        ucan = UCAN.decode(blocks[cid])
    except Exception as exc:
        raise ConfigurationError(f"STORACHA_PROOF is not a UCAN delegation: {exc}") from exc
    return Delegation(ucan, blocks)
