"""UCAN 0.9.1 as dag-ucan writes it: dag-cbor blocks, signed over the JWT form."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.backends.storacha.did import Signer, Verifier, b64url, decode_did, encode_did
from ipfs_kit_py.content.cid import CID, DAG_CBOR, sha256_cid
from ipfs_kit_py.errors import AuthenticationError, ProtocolError

__all__ = ["UCAN", "Capability", "dag_json", "issue", "link_str"]

VERSION = "0.9.1"
_HEADER = {"alg": "EdDSA", "typ": "JWT", "ucv": VERSION}

Capability = dict[str, Any]  # {"with": str, "can": str, "nb"?: {...}}


def link_str(cid: CID) -> str:
    """The string form dag-json and JS use: base58btc for v0, base32 for v1."""
    return str(cid.encode() if cid.version == 0 else cid.encode("base32"))


def _json_value(value: Any) -> Any:
    if isinstance(value, CID):
        return {"/": link_str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"/": {"bytes": base64.b64encode(bytes(value)).rstrip(b"=").decode()}}
    if isinstance(value, Mapping):
        return {k: _json_value(value[k]) for k in sorted(value, key=lambda k: k.encode())}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, float):
        raise ProtocolError("floats are not supported in UCAN payloads", backend="storacha")
    return value


def dag_json(value: Any) -> bytes:
    """Encode ``value`` as canonical dag-json (sorted keys, compact, links and bytes tagged)."""
    return json.dumps(_json_value(value), separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class UCAN:
    """One UCAN 0.9.1: its fields, signature, block bytes and CID."""

    iss: str
    aud: str
    att: list[Capability]
    exp: int | None
    prf: list[CID] = field(default_factory=list)
    fct: list[Any] = field(default_factory=list, repr=False)  # may carry keys (http/put)
    nnc: str | None = None
    nbf: int | None = None
    s: bytes = field(default=b"", repr=False)  # with the fields, it rebuilds a proof

    def signing_input(self) -> bytes:
        """The bytes that are signed: ``b64url(header) + "." + b64url(payload)``."""
        payload: dict[str, Any] = {
            "iss": self.iss,
            "aud": self.aud,
            "att": self.att,
            "exp": self.exp,
            "prf": [link_str(p) for p in self.prf],
        }
        if self.fct:
            payload["fct"] = self.fct
        if self.nnc:
            payload["nnc"] = self.nnc
        if self.nbf:
            payload["nbf"] = self.nbf
        return f"{b64url(dag_json(_HEADER))}.{b64url(dag_json(payload))}".encode()

    def to_ipld(self) -> dict[str, Any]:
        """The dag-cbor data model of the block."""
        data: dict[str, Any] = {
            "v": VERSION,
            "iss": encode_did(self.iss),
            "aud": encode_did(self.aud),
            "att": self.att,
            "exp": self.exp,
            "prf": list(self.prf),
            "s": self.s,
        }
        if self.fct:
            data["fct"] = self.fct
        if self.nnc is not None:
            data["nnc"] = self.nnc
        if self.nbf is not None:
            data["nbf"] = self.nbf
        return data

    def encode(self) -> bytes:
        """The dag-cbor block bytes."""
        return bytes(dag_cbor.encode(self.to_ipld()))

    @property
    def cid(self) -> CID:
        return sha256_cid(DAG_CBOR, self.encode())

    @classmethod
    def decode(cls, data: bytes) -> UCAN:
        """Decode a dag-cbor UCAN block; raise :class:`ProtocolError` if it is not one."""
        try:
            raw = dag_cbor.decode(data)
        except TimeoutError:  # an enclosing exchange's deadline passed: not a bad block
            raise
        except Exception as exc:
            raise ProtocolError(f"UCAN block is not dag-cbor: {exc}", backend="storacha") from exc
        return cls.from_ipld(raw)

    @classmethod
    def from_ipld(cls, raw: Any) -> UCAN:
        """Build from the decoded data model."""
        if not isinstance(raw, dict) or raw.get("v") != VERSION:
            raise ProtocolError("block is not a UCAN 0.9.1", backend="storacha")
        try:
            return cls(
                iss=decode_did(raw["iss"]),
                aud=decode_did(raw["aud"]),
                att=_capabilities(raw["att"]),
                exp=_seconds(raw.get("exp"), "exp"),
                prf=_links(raw.get("prf", [])),
                fct=_typed(raw.get("fct", []), list, "fct"),
                nnc=_typed(raw.get("nnc"), str, "nnc"),
                nbf=_seconds(raw.get("nbf"), "nbf"),
                s=dag_cbor.byte_string(raw["s"], "s"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"malformed UCAN: {exc}", backend="storacha") from exc

    def verify_signature(self, verifier: Verifier) -> None:
        """Raise :class:`AuthenticationError` unless ``verifier`` signed this UCAN."""
        verifier.verify(self.signing_input(), self.s)

    def check_time(self, now: float | None = None) -> None:
        """Raise :class:`AuthenticationError` if expired or not yet valid."""
        now = time.time() if now is None else now
        if self.exp is not None and self.exp < now:
            raise AuthenticationError(f"UCAN {self.cid} expired at {self.exp}", backend="storacha")
        if self.nbf is not None and self.nbf > now:
            raise AuthenticationError(
                f"UCAN {self.cid} is not valid before {self.nbf}", backend="storacha"
            )


def _typed(value: Any, kind: type, name: str) -> Any:
    """``value`` if it is None or a ``kind``; TypeError otherwise."""
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")
    return value


def _seconds(value: Any, name: str) -> int | None:
    """A UCAN time (whole Unix seconds) or None; a string, float or bool is refused: every
    check of the time window would fail on it, untyped, long after it was stored."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{name} must be whole seconds, not {type(value).__name__}")
    return value


def _links(value: Any) -> list[CID]:
    if not isinstance(value, list) or not all(isinstance(v, CID) for v in value):
        raise TypeError("prf must be a list of links")
    return list(value)


def _capabilities(value: Any) -> list[Capability]:
    """``att`` as UCAN 0.9.1 has it: capabilities ``{"with": str, "can": str, "nb"?: map}``.

    Anything else is refused when the block is read, not later where every caller reads
    ``cap.get("can")`` (a stored proof whose ``att`` held a string broke every upload)."""
    if not isinstance(value, list):
        raise TypeError("att must be a list")
    for cap in value:
        if not isinstance(cap, dict):
            raise TypeError("a capability must be a map")
        if not isinstance(cap.get("with"), str) or not isinstance(cap.get("can"), str):
            raise TypeError("a capability needs string 'with' and 'can'")
        if not isinstance(cap.get("nb", {}), dict):
            raise TypeError("a capability's nb must be a map")
    return list(value)


def issue(
    signer: Signer,
    audience: str,
    capabilities: Sequence[Capability],
    *,
    expiration: int | None = None,
    lifetime: int | None = 30,
    proofs: Sequence[CID] = (),
    facts: Sequence[Any] = (),
    nonce: str | None = None,
    not_before: int | None = None,
) -> UCAN:
    """Build and sign a UCAN; ``expiration`` defaults to now + ``lifetime`` seconds.

    With neither (``lifetime=None``) the UCAN never expires (``exp`` null, JS Infinity).
    """
    exp = expiration
    if exp is None and lifetime is not None:
        exp = int(time.time()) + lifetime
    unsigned = UCAN(
        iss=signer.did,
        aud=audience,
        att=[dict(c) for c in capabilities],
        exp=exp,
        prf=list(proofs),
        fct=list(facts),
        nnc=nonce,
        nbf=not_before,
    )
    return dataclasses.replace(unsigned, s=signer.sign(unsigned.signing_input()))
