"""Storacha from Python alone: login -> space create -> upload -> share -> revoke, by the
``ipfs-kit storacha`` CLI in a fresh HOME with no ``node`` on PATH, against the local service."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.servers.storacha import StorachaService, make_credentials, run_cli

from ipfs_kit_py.content.unixfs import STORACHA, import_file

PYTHON_BIN = Path(sys.executable).parent
IPFS_KIT = PYTHON_BIN / "ipfs-kit"
SHARED = ("space/blob/add", "space/index/add", "upload/add", "upload/list", "filecoin/offer")


class Agent:
    """One user: a fresh HOME (so a fresh agent store) and the service in the environment."""

    def __init__(self, service: StorachaService, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.env = {
            "HOME": str(home),
            "PATH": str(PYTHON_BIN),  # no node: everything here is Python
            "IPFS_KIT_CONFIG": str(home / "absent.toml"),
            "STORACHA_SERVICE_URL": service.url,
            "STORACHA_SERVICE_DID": service.did,
            "STORACHA_SERVICE_KEY": service.did_key,
            "STORACHA_RECEIPTS_URL": service.receipts_url,
            "STORACHA_GATEWAY_URL": service.gateway_url,
            # the local service stands in for the content-serve gateway service
            "STORACHA_GATEWAY_DID": service.did,
            "STORACHA_GATEWAY_SERVICE_URL": service.url,
        }
        assert shutil.which("node", path=self.env["PATH"]) is None

    def run(self, *argv: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            [str(IPFS_KIT), "storacha", *argv, "--json"],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        assert lines, f"no output from {argv}: {done.stderr[-2000:]}"
        return done.returncode, json.loads(lines[-1])

    def ok(self, *argv: str) -> dict[str, Any]:
        code, value = self.run(*argv)
        assert code == 0, (argv, value)
        return value


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.com"


def test_login_space_upload_share_revoke(storacha_service: StorachaService, tmp_path: Path) -> None:
    alice, bob = Agent(storacha_service, tmp_path / "a"), Agent(storacha_service, tmp_path / "b")
    address = email()
    logged = alice.ok("login", address)
    assert logged["account"] == "did:mailto:example.com:" + address.split("@")[0]
    assert alice.ok("account", "ls")["accounts"] == [logged["account"]]
    store = Path(alice.ok("whoami")["store"])
    assert store.is_relative_to(alice.home) and store.stat().st_mode & 0o777 == 0o600
    assert alice.ok("plan", "get")["plan"]["product"] == storacha_service.did

    made = alice.ok("space", "create", "photos")
    assert made["provisioned"] and made["recovery"] and made["gateway_authorized"]
    space = made["did"]
    assert "space_key" not in made and "key" not in made
    rows = alice.ok("space", "ls")["spaces"]
    assert [(r["did"], r["name"], r["current"], r["known"]) for r in rows] == [
        (space, "photos", True, True)
    ]

    data = os.urandom(1_500_000)
    (alice.home / "f.bin").write_bytes(data)
    (alice.home / "d" / "sub").mkdir(parents=True)
    (alice.home / "d" / "a.txt").write_text("alpha")
    (alice.home / "d" / "sub" / "b.txt").write_text("beta")
    up = alice.ok("up", "f.bin")
    assert (
        up["cid"] == str(import_file(alice.home / "f.bin", STORACHA).cid) and up["space"] == space
    )
    tree = alice.ok("up", "-r", "d")
    listed = alice.ok("ls")
    assert {u["root"] for u in listed["uploads"]} == {up["cid"], tree["cid"]}
    assert listed["cursor"] is None  # one page holds both
    got = alice.ok("get", up["cid"], "-o", "copy.bin")
    assert (alice.home / "copy.bin").read_bytes() == data and got["size"] == len(data)

    bob_did = bob.ok("whoami")["agent"]
    shared = alice.ok("delegation", "create", bob_did, *[a for c in SHARED for a in ("-c", c)])
    assert shared["proof"].startswith("m")
    (bob.home / "proof.txt").write_text(shared["proof"])
    assert bob.ok("import-proof", "proof.txt")["spaces"] == [space]
    (bob.home / "g.bin").write_bytes(b"from bob")
    bob_up = bob.ok("up", "g.bin")
    assert bob_up["space"] == space
    assert bob_up["cid"] in {u["root"] for u in alice.ok("ls")["uploads"]}

    issued = {d["audience"]: d for d in alice.ok("delegation", "ls")["delegations"] if d["issued"]}
    assert issued.keys() == {bob_did, logged["account"]}  # the share and the space's recovery
    assert issued[bob_did]["cid"] == shared["cid"] and issued[logged["account"]]["issuer"] == space
    assert alice.ok("delegation", "revoke", shared["cid"])["revoked"] == shared["cid"]
    marked = {d["cid"]: d["revoked"] for d in alice.ok("delegation", "ls")["delegations"]}
    assert [cid for cid, when in marked.items() if when is not None] == [shared["cid"]]
    listing = subprocess.run(
        [str(IPFS_KIT), "storacha", "delegation", "ls"],
        env=alice.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert [line for line in listing if "(revoked " in line] == [
        line for line in listing if line.startswith(shared["cid"])
    ]
    (bob.home / "h.bin").write_bytes(b"refused")
    code, refused = bob.run("up", "h.bin")
    assert code != 0 and refused["error_type"] == "AuthenticationError", refused


def test_unprovisioned_space_says_to_provision(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    user = Agent(storacha_service, tmp_path)
    user.ok("login", email())
    made = user.ok("space", "create", "later", "--no-provision")
    assert not made["provisioned"] and not made["gateway_authorized"] and made["recovery"]
    assert user.ok("space", "ls")["spaces"][0]["known"] is False
    (tmp_path / "f.bin").write_bytes(b"not yet")
    code, refused = user.run("up", "f.bin")
    assert code != 0 and refused["error_type"] == "SpaceNotProvisionedError"
    assert "space provision" in refused["error"]
    assert user.ok("space", "provision")["space"] == made["did"]
    assert user.ok("space", "ls")["spaces"][0]["known"] is True
    assert user.ok("up", "f.bin")["space"] == made["did"]


def test_commands_need_login_first(storacha_service: StorachaService, tmp_path: Path) -> None:
    user = Agent(storacha_service, tmp_path)
    code, refused = user.run("space", "create", "x")
    assert code != 0 and refused["error_type"] == "AuthenticationError"
    assert "login" in refused["error"]
    assert user.ok("account", "ls")["accounts"] == []
    code, refused = user.run("login", "not-an-address")
    assert code != 0 and refused["error_type"] == "InvalidInputError"


def test_official_cli_uses_our_space_and_proof(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    """A space we created, shared with an agent of the official CLI: it lists what we
    uploaded, uploads itself, and we see its upload."""
    alice = Agent(storacha_service, tmp_path / "a")
    alice.ok("login", email())
    space = alice.ok("space", "create", "shared")["did"]
    (alice.home / "f.bin").write_bytes(os.urandom(300_000))
    ours = alice.ok("up", "f.bin")["cid"]

    cli_env = storacha_service.cli_env(tmp_path / "cli", store_name=f"t-{uuid.uuid4().hex[:8]}")
    cli_agent = json.loads(run_cli(["key", "create", "--json"], cli_env).stdout)
    cli_env = {**cli_env, "STORACHA_PRINCIPAL": cli_agent["key"]}
    abilities = [*SHARED, "upload/remove", "space/info"]
    proof = alice.ok(
        "delegation", "create", cli_agent["did"], *[a for c in abilities for a in ("-c", c)]
    )
    run_cli(["space", "add", proof["proof"]], cli_env)  # the base64 form, as the CLI prints
    run_cli(["space", "use", space], cli_env)
    assert ours in run_cli(["ls"], cli_env).stdout
    (tmp_path / "theirs.txt").write_text("uploaded by the official CLI")
    theirs = run_cli(["up", str(tmp_path / "theirs.txt"), "--no-wrap", "--json"], cli_env)
    root = json.loads(theirs.stdout.strip().splitlines()[-1])["root"]["/"]
    assert root in {u["root"] for u in alice.ok("ls")["uploads"]}
    got = alice.ok("get", root, "-o", "theirs.txt")
    assert (alice.home / "theirs.txt").read_text() == "uploaded by the official CLI"
    assert got["size"] == len("uploaded by the official CLI")


def test_we_use_the_official_cli_space_and_proof(
    storacha_service: StorachaService, tmp_path: Path
) -> None:
    """A space and a delegation made by the official CLI, imported into our agent store."""
    creds = make_credentials(storacha_service, tmp_path / "cli")
    user = Agent(storacha_service, tmp_path / "us")
    (user.home / "proof.txt").write_text(creds.proof)
    (user.home / "key.txt").write_text(creds.key)
    imported = user.ok("import-proof", "proof.txt", "--key-file", "key.txt")
    assert imported["agent"] == creds.agent_did and imported["spaces"] == [creds.space_did]
    (user.home / "f.txt").write_text("ours, in the CLI's space")
    up = user.ok("up", "f.txt")
    assert up["space"] == creds.space_did
    assert up["cid"] in run_cli(["ls"], creds.cli_env).stdout


def test_dict_face_of_the_agent(storacha_service: StorachaService, tmp_path: Path) -> None:
    """storacha_kit's agent methods: the same flow in-process, errors as dicts."""
    from ipfs_kit_py.storacha_kit import StorachaKit

    env = {**Agent(storacha_service, tmp_path / "home").env}
    env["STORACHA_AGENT_STORE"] = str(tmp_path / "store.json")
    with StorachaKit.from_sources({}, {}, env) as kit:
        bad = kit.login("nobody")
        assert not bad["success"] and bad["error_type"] == "InvalidInputError"
        assert not kit.new_space("x")["success"]  # not logged in
        me = kit.whoami()
        assert me["success"] and me["store"] == env["STORACHA_AGENT_STORE"]
        address = email()
        assert kit.login(address)["account"] == kit.list_accounts()["accounts"][0]
        made = kit.new_space("docs")
        assert made["success"] and made["provisioned"] and made["space_key"].startswith("M")
        assert made["space_key"] not in repr(kit.agent.state())
        assert kit.plan()["plan"]["product"] == storacha_service.did
        rows = kit.agent_spaces()["spaces"]
        assert [(r["did"], r["known"]) for r in rows] == [(made["did"], True)]
        other = StorachaKit.from_sources(
            {}, {}, {**env, "STORACHA_AGENT_STORE": str(tmp_path / "b.json")}
        )
        past = kit.create_delegation(other.whoami()["agent"], ["upload/list"], expiration=1)
        assert past["error_type"] == "InvalidInputError"
        assert kit.create_delegation("did:key:zBad", ["upload/list"])["error_type"] == (
            "InvalidInputError"
        )
        shared = kit.create_delegation(other.whoami()["agent"], ["upload/list"])
        assert shared["success"] and other.import_proof(shared["proof"])["spaces"] == [made["did"]]
        assert not other.import_proof("m-not-a-proof")["success"]
        listed = kit.list_delegations()["delegations"]
        assert shared["cid"] in {d["cid"] for d in listed}
        assert kit.revoke_delegation(shared["cid"])["revoked"] == shared["cid"]
        revoked = {d["cid"]: d["revoked"] for d in kit.list_delegations()["delegations"]}
        assert revoked[shared["cid"]] is not None and revoked[shared["cid"]] > 0
        assert kit.revoke_delegation("bafynotthere")["error_type"] == "ContentNotFoundError"
        other.close()
    # a new kit from the same store uploads to the new space without key or proof set
    with StorachaKit.from_sources({}, {}, env) as kit:
        up = kit.upload_bytes(b"from the agent store")
        assert up["success"] and up["space"] == made["did"]
        spaces = kit.list_spaces()
        assert spaces["known"] == [made["did"]] and spaces["unknown"] == []
