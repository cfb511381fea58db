"""ucanto agent messages (CARs of invocations and receipts) and receipt checks."""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ipfs_kit_py.backends.storacha import _cbor as dag_cbor
from ipfs_kit_py.backends.storacha.did import Signer, Verifier
from ipfs_kit_py.backends.storacha.ucan import UCAN, link_str
from ipfs_kit_py.content.car import CarReader, encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, DAG_CBOR, sha256_cid
from ipfs_kit_py.errors import CARFormatError, ContentMismatchError, ProtocolError
from ipfs_kit_py.net import check_deadline

__all__ = ["AgentMessage", "Invocation", "Receipt", "encode_request", "issue_receipt"]

MESSAGE_TAG = "ucanto/message@7.0.0"
MAX_MESSAGE_BLOCKS = 1024  # an answer holds receipts, effects, proofs (<= 256 UCANs): dozens


@dataclass(frozen=True)
class Invocation:
    """A signed UCAN to execute, with the blocks that travel with it (proofs, receipts)."""

    ucan: UCAN
    attached: Mapping[CID, bytes] = field(default_factory=dict, repr=False)  # proofs

    @property
    def cid(self) -> CID:
        return self.ucan.cid


@dataclass(frozen=True)
class Receipt:
    """A ucanto receipt: the outcome of the task ``ran``, signed by ``issuer``."""

    cid: CID
    ran: CID
    out: dict[str, Any] = field(repr=False)  # may name a presigned URL
    fork: list[CID]
    join: CID | None
    issuer: str | None
    ocm_bytes: bytes = field(repr=False)
    sig: bytes = field(repr=False)

    @property
    def ok(self) -> Any:
        return self.out.get("ok")

    @property
    def error(self) -> Any:
        return self.out.get("error")

    def error_text(self) -> str:
        """A short description of the error outcome."""
        err = self.error
        if isinstance(err, dict):
            name = err.get("name", "Error")
            return f"{name}: {err.get('message', '')}".strip()
        return str(err)

    @classmethod
    def decode(cls, cid: CID, data: bytes) -> Receipt:
        """Decode a receipt block; raise :class:`ProtocolError` if any field has a wrong type."""
        try:
            raw = dag_cbor.decode(data)
            ocm = raw["ocm"]
            fx = ocm.get("fx") or {}
            receipt = cls(
                cid=cid,
                ran=ocm["ran"],
                out=dict(ocm["out"]),
                fork=list(fx.get("fork", [])),
                join=fx.get("join"),
                issuer=ocm.get("iss"),
                ocm_bytes=dag_cbor.map_value(data, "ocm"),  # as signed: no re-encoding
                sig=dag_cbor.byte_string(raw["sig"], "sig"),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"malformed receipt {cid}: {exc}", backend="storacha") from exc
        if not isinstance(receipt.ran, CID) or not all(isinstance(c, CID) for c in receipt.fork):
            raise ProtocolError(
                f"malformed receipt {cid}: ran and fx.fork must be links", backend="storacha"
            )
        if receipt.issuer is not None and not isinstance(receipt.issuer, str):
            raise ProtocolError(
                f"malformed receipt {cid}: iss must be a DID string", backend="storacha"
            )
        return receipt

    def verify(self, verifier: Verifier) -> None:
        """Raise :class:`AuthenticationError` unless ``verifier`` signed this receipt."""
        verifier.verify(self.ocm_bytes, self.sig)


def issue_receipt(signer: Signer, ran: CID, ok: Any) -> tuple[CID, bytes]:
    """Sign a successful receipt for task ``ran`` (e.g. our http/put); return (cid, block)."""
    ocm = {
        "ran": ran,
        "out": {"ok": ok},
        "fx": {"fork": []},
        "meta": {},
        "iss": signer.did,
        "prf": [],
    }
    block = bytes(dag_cbor.encode({"ocm": ocm, "sig": signer.sign(bytes(dag_cbor.encode(ocm)))}))
    return sha256_cid(DAG_CBOR, block), block


def encode_request(invocations: Iterable[Invocation]) -> bytes:
    """Encode invocations as an agent-message CAR (attached blocks first, root last)."""
    invocations = list(invocations)
    root = bytes(dag_cbor.encode({MESSAGE_TAG: {"execute": [i.cid for i in invocations]}}))
    root_cid = sha256_cid(DAG_CBOR, root)
    parts = [encode_car_header([root_cid])]
    seen: set[CID] = set()
    for inv in invocations:
        for cid, data in [*inv.attached.items(), (inv.cid, inv.ucan.encode())]:
            if cid not in seen:
                seen.add(cid)
                parts.append(encode_car_block(cid, data))
    parts.append(encode_car_block(root_cid, root))
    return b"".join(parts)


@dataclass
class AgentMessage:
    """A decoded agent message: its blocks (all hash-verified) and its root."""

    blocks: dict[CID, bytes] = field(repr=False)
    execute: list[CID]
    report: dict[str, CID]

    @classmethod
    def decode(cls, body: bytes) -> AgentMessage:
        """Decode an agent-message CAR; every block is checked against its CID.

        At most :data:`MAX_MESSAGE_BLOCKS` blocks; under an enclosing
        :func:`ipfs_kit_py.net.deadline`, ``TimeoutError`` once it passes.
        """
        try:
            reader = CarReader(io.BytesIO(body), verify=True)
            blocks: dict[CID, bytes] = {}
            for count, block in enumerate(reader, start=1):
                check_deadline()
                blocks[block.cid] = block.data
                if count > MAX_MESSAGE_BLOCKS:  # sections, not distinct blocks: repeats count
                    raise ProtocolError(
                        f"agent message of more than {MAX_MESSAGE_BLOCKS} blocks",
                        backend="storacha",
                    )
            roots = reader.roots
        except (CARFormatError, ContentMismatchError) as exc:
            raise ProtocolError(f"bad agent message CAR: {exc}", backend="storacha") from exc
        if len(roots) != 1 or roots[0] not in blocks:
            raise ProtocolError(
                "agent message CAR must have exactly one root block", backend="storacha"
            )
        try:
            message = dag_cbor.decode(blocks[roots[0]])[MESSAGE_TAG]
            execute = list(message.get("execute", []))
            report = dict(message.get("report", {}))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProtocolError(f"not a {MESSAGE_TAG} root: {exc}", backend="storacha") from exc
        if not all(isinstance(c, CID) for c in [*execute, *report.values()]):
            raise ProtocolError(
                f"{MESSAGE_TAG} root: execute and report must hold links", backend="storacha"
            )
        return cls(blocks, execute, report)

    def block(self, cid: CID) -> bytes:
        """Return block ``cid``; raise :class:`ProtocolError` if the message lacks it."""
        try:
            return self.blocks[cid]
        except KeyError as exc:
            raise ProtocolError(f"agent message lacks block {cid}", backend="storacha") from exc

    def receipt_for(self, task: CID) -> Receipt:
        """Return the reported receipt of ``task``."""
        cid = self.report.get(link_str(task))
        if cid is None:
            raise ProtocolError(
                f"no receipt for task {link_str(task)} in the response", backend="storacha"
            )
        return Receipt.decode(cid, self.block(cid))

    def receipts(self) -> list[Receipt]:
        """All reported receipts."""
        return [Receipt.decode(cid, self.block(cid)) for cid in self.report.values()]

    def invocation(self, cid: CID) -> UCAN | None:
        """Decode the UCAN block ``cid`` if the message carries it."""
        data = self.blocks.get(cid)
        return UCAN.decode(data) if data is not None else None
