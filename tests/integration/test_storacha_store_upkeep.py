"""Agent store upkeep against the local Storacha service: repeated logins are pruned to
the newest (``delegation ls`` shows what is kept, uploads still work), and import-proof
errors name what the user gave (a file, an argument, stdin), not STORACHA_PROOF."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.integration.test_storacha_agent import IPFS_KIT, Agent, email
from tests.servers.storacha import StorachaService, make_credentials


def test_relogins_are_pruned_and_uploads_still_work(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    user = Agent(storacha_service, tmp_path / "u")
    address = email()
    user.ok("login", address)
    first = {d["cid"] for d in user.ok("delegation", "ls")["delegations"]}
    assert len(first) == 2  # the account's grant and the service's attestation of it
    user.ok("space", "create", "photos")
    for _ in range(3):
        user.ok("login", address)
    held = [d for d in user.ok("delegation", "ls")["delegations"] if not d["issued"]]
    account = [d for d in held if d["issuer"].startswith("did:mailto:")]
    assert len(account) == 1 and account[0]["cid"] not in first  # the newest login's
    store = json.loads(Path(user.ok("whoami")["store"]).read_text())
    assert len(store["delegations"]) == len(user.ok("delegation", "ls")["delegations"])
    (user.home / "f.txt").write_text("after pruning")
    up = user.ok("up", "f.txt")
    assert up["cid"] in {u["root"] for u in user.ok("ls")["uploads"]}
    assert user.ok("plan", "get")["plan"]  # an account call: its proof was kept


def import_error(user: Agent, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [str(IPFS_KIT), "storacha", "import-proof", *argv, "--json"],
        env=user.env,
        cwd=user.home,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode != 0 and answer["error_type"] == "ConfigurationError", answer
    assert "STORACHA_PROOF" not in answer["error"] and "STORACHA_KEY" not in answer["error"]
    return str(answer["error"])


def test_import_proof_errors_name_what_was_given(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    user = Agent(storacha_service, tmp_path / "u")
    (user.home / "bad.txt").write_text("mAYIEAJMOb3RhY2Fy")  # base64, not a CAR
    assert "the proof file bad.txt" in import_error(user, "bad.txt")
    assert "the proof argument" in import_error(user, "mnot base64!")
    assert "the proof on stdin" in import_error(user, "-", stdin="garbage\n")
    creds = make_credentials(storacha_service, tmp_path / "cli")
    (user.home / "proof.txt").write_text(creds.proof)
    (user.home / "key.txt").write_text("Mgnot-a-key")
    said = import_error(user, "proof.txt", "--key-file", "key.txt")
    assert "the key file key.txt" in said
    (user.home / "key.txt").write_text(creds.key)
    assert user.ok("import-proof", "proof.txt", "--key-file", "key.txt")["spaces"]


def test_dict_face_import_proof_names_the_proof_given(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    from ipfs_kit_py.storacha_kit import StorachaKit

    env = {**Agent(storacha_service, tmp_path / "home").env}
    env["STORACHA_AGENT_STORE"] = str(tmp_path / "store.json")
    with StorachaKit.from_sources({}, {}, env) as kit:
        answer = kit.import_proof("mAAAA")
    assert answer["success"] is False and answer["error_type"] == "ConfigurationError"
    assert answer["error"].startswith("the proof given") and "STORACHA_PROOF" not in answer["error"]
