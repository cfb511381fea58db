"""Reading space/blob/add effects: allocation, http/put (done or not), blob/accept."""

from __future__ import annotations

from typing import Any

import pytest

from ipfs_kit_py.backends.storacha.client import StorachaClient
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import AgentMessage, Receipt, issue_receipt
from ipfs_kit_py.backends.storacha.ucan import UCAN, issue
from ipfs_kit_py.backends.storacha.upload import _blob_effects
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.errors import ProtocolError

SERVICE = Signer(bytes([9]) * 32).with_did("did:web:test.example")
NODE = Signer(bytes([8]) * 32)
BLOB = Signer(bytes([7]) * 32)  # the key the service derives from the blob digest


CLIENT = StorachaClient(
    StorachaConfig(service_did=SERVICE.did, service_key=SERVICE.verifier.key_did)
)


def task(signer: Signer, can: str, aud: Signer | None = None, **kw: Any) -> UCAN:
    audience = (aud or signer).did
    return issue(signer, audience, [{"with": signer.did, "can": can, "nb": {}}], **kw)


def blob_add_message(
    *, exists: bool, allocator: Signer = NODE, ran: CID | None = None
) -> tuple[Receipt, AgentMessage, dict[str, CID]]:
    """What the service answers to space/blob/add (as upload-api 2.8.4 does)."""
    blocks: dict[CID, bytes] = {}
    keys = {"id": BLOB.did, "keys": {BLOB.did: BLOB.archive()}}
    tasks = {
        "allocate": task(SERVICE, "blob/allocate", NODE),
        "put": task(BLOB, "http/put", facts=[{"keys": keys}], expiration=None),
        "accept": task(SERVICE, "blob/accept", NODE),
    }
    address = None if exists else {"url": "http://node/blob", "headers": {"x": "y"}}
    results = [(allocator, ran or tasks["allocate"].cid, {"size": 5, "address": address})]
    if exists:
        results.append((BLOB, tasks["put"].cid, {}))
    fork = [t.cid for t in tasks.values()]
    for signer, ran, ok in results:
        rcid, rblock = issue_receipt(signer, ran, ok)
        conclude = issue(
            SERVICE,
            SERVICE.did,
            [{"with": SERVICE.did, "can": "ucan/conclude", "nb": {"receipt": rcid}}],
        )
        blocks[rcid], blocks[conclude.cid] = rblock, conclude.encode()
        fork.append(conclude.cid)
    for t in tasks.values():
        blocks[t.cid] = t.encode()
    added = Receipt(fork[0], fork[0], {"ok": {}}, fork, None, SERVICE.did, b"", b"")
    return added, AgentMessage(blocks, [], {}), {k: t.cid for k, t in tasks.items()}


def test_fresh_blob_needs_a_put_and_a_conclude() -> None:
    receipt, message, cids = blob_add_message(exists=False)
    fx = _blob_effects(receipt, message, CLIENT)
    assert fx.put_cid == cids["put"] and fx.accept_cid == cids["accept"]
    assert not fx.put_done and fx.accept is None
    assert fx.allocate is not None and fx.allocate.ok["address"]["url"] == "http://node/blob"
    keys = fx.put_task.fct[0]["keys"]
    assert Signer.from_archive(keys["keys"][keys["id"]]).did == BLOB.did


def test_existing_blob_skips_the_put() -> None:
    receipt, message, _ = blob_add_message(exists=True)
    fx = _blob_effects(receipt, message, CLIENT)
    assert fx.put_done
    assert fx.allocate is not None and fx.allocate.ok["address"] is None


def test_missing_effects_are_a_protocol_error() -> None:
    receipt, message, cids = blob_add_message(exists=False)
    del message.blocks[cids["accept"]]
    with pytest.raises(ProtocolError, match="lacks effects"):
        _blob_effects(receipt, message, CLIENT)


def test_allocation_signed_by_a_stranger_is_refused() -> None:
    """A node the service did not assign the task to cannot name the PUT URL."""
    receipt, message, _ = blob_add_message(exists=False, allocator=Signer.generate())
    with pytest.raises(ProtocolError, match="not by the service"):
        _blob_effects(receipt, message, CLIENT)


def test_allocation_answering_another_task_is_not_used() -> None:
    other = task(SERVICE, "blob/allocate", NODE, nonce="another").cid
    receipt, message, _ = blob_add_message(exists=False, ran=other)
    assert _blob_effects(receipt, message, CLIENT).allocate is None  # add_blob then refuses
