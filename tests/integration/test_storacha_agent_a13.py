"""Attack findings on issue 13 (a13) against the local Storacha service, in-process."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.servers.storacha import StorachaService

from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.storacha_kit import StorachaKit

SHARED = ["space/blob/add", "space/index/add", "upload/add", "upload/list", "filecoin/offer"]


def kit(service: StorachaService, store: Path, **extra: Any) -> StorachaKit:
    args = {
        "agent_store": str(store),
        "service_url": service.url,
        "service_did": service.did,
        "service_key": service.did_key,
        "receipts_url": service.receipts_url,
        "gateway_url": service.gateway_url,
        "gateway_did": service.did,  # the local service stands in for the gateway service
        "gateway_service_url": service.url,
        **extra,
    }
    return StorachaKit(StorachaConfig.from_sources(args, env={}))


def ok(result: dict[str, Any]) -> dict[str, Any]:
    assert result["success"], result
    return result


def test_a_share_whose_issuers_proof_expired_does_not_break_other_spaces(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    """Bob holds a lasting share from Carol (whose own proof lapses) and a grant to another
    space: once Carol's proof expires, Bob still uploads to the other space."""
    owner = kit(storacha_service, tmp_path / "owner.json")
    ok(owner.login(f"owner-{uuid.uuid4().hex[:8]}@example.com"))
    lapsing = ok(owner.new_space("lapsing"))["space"]
    lasting = ok(owner.new_space("lasting"))["space"]
    carol = kit(storacha_service, tmp_path / "carol.json")
    bob_store = tmp_path / "bob.json"
    carol_did, bob_did = (
        ok(carol.whoami())["agent"],
        ok(kit(storacha_service, bob_store).whoami())["agent"],
    )
    soon = int(time.time()) + 4
    to_carol = ok(owner.create_delegation(carol_did, SHARED, space=lapsing, expiration=soon))
    ok(kit(storacha_service, tmp_path / "carol.json").import_proof(to_carol["proof"]))
    carol = kit(storacha_service, tmp_path / "carol.json")
    to_bob = ok(carol.create_delegation(bob_did, SHARED, space=lapsing))  # never expires itself
    ok(kit(storacha_service, bob_store).import_proof(to_bob["proof"]))
    ok(
        kit(storacha_service, bob_store).import_proof(
            ok(owner.create_delegation(bob_did, SHARED, space=lasting))["proof"]
        )
    )
    while time.time() <= soon + 1:
        time.sleep(0.5)
    bob = kit(storacha_service, bob_store, space=lasting)
    uploaded = ok(bob.upload_bytes(b"still works after a share lapsed"))
    assert uploaded["space"] == lasting
    spaces = [row["did"] for row in ok(kit(storacha_service, bob_store).agent_spaces())["spaces"]]
    assert spaces == [lasting]  # the lapsed share is no longer offered


def test_a_space_whose_gateway_authorization_fails_says_it_exists(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    store = tmp_path / "agent.json"
    ok(kit(storacha_service, store).login(f"gw-{uuid.uuid4().hex[:8]}@example.com"))
    down = kit(storacha_service, store, gateway_service_url="http://127.0.0.1:9")
    failed = down.new_space("photos")
    assert failed["error_type"] == "BackendUnavailableError", failed
    did = ok(kit(storacha_service, store).agent_spaces())["spaces"][0]["did"]
    assert f"space {did} (photos) was created and selected" in failed["error"]
    assert f"ipfs-kit storacha space provision {did}" in failed["error"]
    done = ok(kit(storacha_service, store).provision_space(did))  # the advice works
    assert done["gateway_authorized"] is True
    assert ok(kit(storacha_service, store).upload_bytes(b"into the finished space"))["space"] == did
