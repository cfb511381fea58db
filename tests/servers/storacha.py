"""A local Storacha service (``tests/servers/storacha/server.mjs``) and the official CLI.

The service is ``@storacha/upload-api``'s own test context behind ``node:http`` on
127.0.0.1 (see ``server.mjs``). ``make_credentials`` gets an agent key, a provisioned
space and a delegation the way a real user would, with the official ``storacha`` CLI.
``js_upload`` uploads a file with the official ``@storacha/client``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import types
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.servers.process import ServerProcess, ServerStartError, running, start_server

if TYPE_CHECKING:
    from ipfs_kit_py.backends.storacha.config import StorachaConfig
    from ipfs_kit_py.ipfs_kit import ipfs_kit
    from tests.servers.hostile import HostileProxy

STORACHA_DIR = Path(__file__).resolve().parent / "storacha"
SERVER_SCRIPT = STORACHA_DIR / "server.mjs"
JS_UPLOAD_SCRIPT = STORACHA_DIR / "js_upload.mjs"
CLI_BINARY = STORACHA_DIR / "node_modules" / ".bin" / "storacha"

# Everything the service and CLI need to operate on a space, as a backend would hold it.
DELEGATED_ABILITIES = (
    "space/blob/add",
    "space/index/add",
    "upload/add",
    "upload/list",
    "upload/remove",
    "space/blob/remove",
    "space/blob/list",
    "space/info",
    "filecoin/offer",
)


class StorachaCLIError(RuntimeError):
    """A ``storacha`` CLI or ``node`` helper command exited non-zero."""


@dataclass(frozen=True)
class StorachaService:
    """A running local Storacha service.

    ``did`` is the service's did:web (the audience of invocations); ``did_key`` the key
    that signs its receipts; ``gateway_url`` the trustless ``/ipfs`` base.
    """

    url: str
    did: str
    did_key: str
    storage_nodes: tuple[str, ...]
    process: ServerProcess = field(repr=False)

    @property
    def receipts_url(self) -> str:
        return f"{self.url}/receipt/"

    @property
    def gateway_url(self) -> str:
        return f"{self.url}/ipfs"

    def provision(self, space: str, account: str) -> None:
        """Provision ``space`` (did:key) for ``account`` (did:mailto:...) directly."""
        body = json.dumps({"space": space, "account": account}).encode()
        request = urllib.request.Request(
            f"{self.url}/test/provision",
            data=body,
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def stored_blob(self, multihash_b58: str) -> bytes | None:
        """The bytes a storage node holds for a blob, or None.

        ``multihash_b58`` is the blob's base58btc multihash, with or without the "z".
        """
        try:
            with urllib.request.urlopen(f"{self.url}/test/blob/{multihash_b58}", timeout=60) as r:
                return bytes(r.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise

    def cli_env(self, home: Path, store_name: str = "ipfs-kit-test") -> dict[str, str]:
        """Environment that points the ``storacha`` CLI at this service, isolated in ``home``.

        A fresh profile per service matters: proofs attested by an earlier service
        instance make the CLI wait forever for a payment plan.
        """
        return {
            "HOME": str(home),
            "STORACHA_STORE_NAME": store_name,
            "STORACHA_SERVICE_URL": self.url,
            "STORACHA_SERVICE_DID": self.did,
            "STORACHA_RECEIPTS_URL": self.receipts_url,
        }

    def backend_args(self, creds: StorachaTestCredentials, **overrides: Any) -> dict[str, Any]:
        """Explicit ``[storacha]`` arguments for our client: this service, ``creds``' space."""
        args: dict[str, Any] = {
            "key": creds.key,
            "proof": creds.proof,
            "space": creds.space_did,
            "service_url": self.url,
            "service_did": self.did,
            "service_key": self.did_key,
            "receipts_url": self.receipts_url,
            "gateway_url": self.gateway_url,
        }
        args.update(overrides)
        return args

    def client_env(self, creds: StorachaTestCredentials, **extra: str) -> dict[str, str]:
        """The ``STORACHA_*`` environment of our client (as :meth:`backend_args`, for a
        child process or a user's shell), with ``extra`` variables."""
        return {
            "STORACHA_KEY": creds.key,
            "STORACHA_PROOF": creds.proof,
            "STORACHA_SPACE": creds.space_did,
            "STORACHA_SERVICE_URL": self.url,
            "STORACHA_SERVICE_DID": self.did,
            "STORACHA_SERVICE_KEY": self.did_key,
            "STORACHA_RECEIPTS_URL": self.receipts_url,
            "STORACHA_GATEWAY_URL": self.gateway_url,
            **extra,
        }

    def stop(self) -> None:
        self.process.stop()


@dataclass(frozen=True)
class StorachaTestCredentials:
    """An agent key, a provisioned space, and the space's delegation to the agent.

    ``key`` is the agent's private key as ``storacha key create`` prints it ("Mg...");
    ``proof`` the ``storacha delegation create --base64`` string ("m..."). ``cli_env``
    runs the CLI as the space's owner (e.g. ``run_cli(["ls", "--shards"], creds.cli_env)``).
    """

    agent_did: str
    key: str = field(repr=False)
    proof: str = field(repr=False)
    space_did: str
    account: str
    cli_env: Mapping[str, str] = field(repr=False)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ServerStartError("node not found: run scripts/install/40-storacha-node.sh")
    return node


def _require_node_modules() -> None:
    if not CLI_BINARY.exists():
        raise ServerStartError(
            f"{STORACHA_DIR / 'node_modules'} missing: run scripts/install/40-storacha-node.sh"
        )


def _read_info(info_file: Path, *, probe: bool = True) -> dict[str, Any] | None:
    try:
        info = json.loads(info_file.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not probe:
        return info if isinstance(info, dict) else None
    try:
        with urllib.request.urlopen(f"{info['url']}/version", timeout=1) as response:
            return info if response.status == 200 else None
    except OSError:
        return None


def start_storacha_service(
    work_dir: Path, *, name: str = "storacha", timeout: float = 60.0
) -> StorachaService:
    """Start ``server.mjs`` on a free loopback port; logs and its info file go in ``work_dir``.

    Raises :class:`ServerStartError` when Node or the npm packages are missing or the
    service does not answer within ``timeout``.
    """
    _require_node_modules()
    work_dir.mkdir(parents=True, exist_ok=True)
    info_file = work_dir / f"{name}-info.json"
    info_file.unlink(missing_ok=True)
    process = start_server(
        name,
        [_node(), str(SERVER_SCRIPT)],
        ready=lambda: _read_info(info_file) is not None,
        log_dir=work_dir,
        env={"INFO_FILE": str(info_file)},
        cwd=STORACHA_DIR,
        timeout=timeout,
    )
    info = _read_info(info_file, probe=False)  # it answered once: a slow second probe is no failure
    if info is None:
        process.stop()
        raise ServerStartError(f"{name}: info file vanished:\n{process.log_tail()}")
    return StorachaService(
        url=info["url"],
        did=info["did"],
        did_key=info["didKey"],
        storage_nodes=tuple(info["storageNodes"]),
        process=process,
    )


def run_cli(
    args: Sequence[str], env: Mapping[str, str], *, timeout: float = 300.0
) -> subprocess.CompletedProcess[str]:
    """Run ``storacha ARGS`` with ``env`` on top of ours; raise StorachaCLIError on failure."""
    _require_node_modules()
    return _run([str(CLI_BINARY), *args], env, timeout)


def _run(
    argv: Sequence[str], env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            list(argv),
            env={**os.environ, **env},
            cwd=STORACHA_DIR,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise StorachaCLIError(f"{argv[0]} {argv[1:]} timed out after {timeout}s") from exc
    if done.returncode != 0:
        shown = [
            "***" if previous in ("--key", "--proof") else arg
            for previous, arg in zip(["", *argv], argv, strict=False)
        ]
        raise StorachaCLIError(
            f"{Path(argv[0]).name} {shown[1:]} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return done


def make_credentials(
    service: StorachaService,
    home: Path | None = None,
    *,
    abilities: Sequence[str] = DELEGATED_ABILITIES,
) -> StorachaTestCredentials:
    """Create an agent key, an account, a provisioned space and its delegation, via the CLI.

    ``storacha key create`` makes the agent that will use the space (as a backend
    would); a second CLI profile logs in (the service confirms the e-mail), creates the
    space for the account and delegates ``abilities`` on it to that agent.
    """
    home = home or Path(tempfile.mkdtemp(prefix="storacha-cli-"))
    env = service.cli_env(home, store_name=f"ipfs-kit-{uuid.uuid4().hex[:12]}")
    email = f"test-{uuid.uuid4().hex[:12]}@example.com"
    agent = json.loads(run_cli(["key", "create", "--json"], env).stdout)
    run_cli(["login", email], env)
    created = run_cli(
        [
            "space",
            "create",
            "ipfs-kit-test",
            "--no-recovery",
            "--no-gateway-authorization",
            "--customer",
            email,
            "--account",
            email,
        ],
        env,
    )
    space_did = _space_did(created.stdout)
    can = [arg for ability in abilities for arg in ("-c", ability)]
    proof = run_cli(["delegation", "create", agent["did"], *can, "--base64"], env).stdout.strip()
    local, domain = email.split("@")
    return StorachaTestCredentials(
        agent_did=agent["did"],
        key=agent["key"],
        proof=proof,
        space_did=space_did,
        account=f"did:mailto:{domain}:{local}",
        cli_env=env,
    )


def _space_did(output: str) -> str:
    for word in output.split():
        if word.startswith("did:key:"):
            return word
    raise StorachaCLIError(f"no space DID in `storacha space create` output:\n{output}")


def config_for(
    service: StorachaService, creds: StorachaTestCredentials, **overrides: object
) -> StorachaConfig:
    """Our client's config for ``service`` with ``creds`` (receipts polled up to 60 s)."""
    from ipfs_kit_py.backends.storacha.config import StorachaConfig
    from ipfs_kit_py.config import Secret

    base = StorachaConfig(
        key=Secret(creds.key),
        proof=Secret(creds.proof),
        service_url=service.url,
        service_did=service.did,
        gateway_url=service.gateway_url,
        receipt_timeout=60.0,
    )
    return StorachaConfig(**{**base.__dict__, **overrides})


def through(
    proxy: HostileProxy,
    service: StorachaService,
    creds: StorachaTestCredentials,
    **overrides: object,
) -> StorachaConfig:
    """A config whose service, receipts and gateway are all behind ``proxy``."""
    fields: dict[str, object] = {
        "service_url": proxy.url,
        "receipts_url": proxy.url + "/receipt/",
        "gateway_url": proxy.url + "/ipfs",
        **overrides,
    }
    return config_for(service, creds, **fields)


def js_upload(
    service: StorachaService,
    credentials: StorachaTestCredentials,
    path: Path,
    *,
    shard_size: int | None = None,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """Upload ``path`` with the official ``@storacha/client``: {root, shards, seconds, space}.

    ``seconds`` times ``uploadFile`` alone, not Node's start-up or the client's setup.
    """
    _require_node_modules()
    argv = [
        _node(),
        str(JS_UPLOAD_SCRIPT),
        str(path),
        "--url",
        service.url,
        "--did",
        service.did,
        "--key",
        credentials.key,
        "--proof",
        credentials.proof,
    ]
    if shard_size is not None:
        argv += ["--shard-size", str(shard_size)]
    done = _run(argv, {}, timeout)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture
def frozen_ucan_clock(monkeypatch: pytest.MonkeyPatch) -> float:
    """Every UCAN issued in the test expires in the same second, as when calls follow each
    other quickly: the service answers an invocation whose CID it has seen with the stored
    receipt and does not run it, so only a nonce tells two equal invocations apart."""
    from ipfs_kit_py.backends.storacha import ucan

    now = time.time()
    monkeypatch.setattr(ucan, "time", types.SimpleNamespace(time=lambda: now))
    return now


@pytest.fixture
def storacha_tier_kit(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ipfs_kit]:
    """A kit of the test's own (memory, disk under ``tmp_path``, the session's Storacha
    space as ``storacha``), with no config file read."""
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    storacha = storacha_service.backend_args(storacha_credentials)
    with ipfs_kit(
        cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3", storacha=storacha
    ) as kit:
        yield kit


@pytest.fixture(scope="session")
def storacha_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorachaService]:
    """The local Storacha service for the whole session, stopped by PID at the end."""
    with running(start_storacha_service(tmp_path_factory.mktemp("storacha"))) as service:
        yield service


@pytest.fixture(scope="session")
def storacha_credentials(
    storacha_service: StorachaService, tmp_path_factory: pytest.TempPathFactory
) -> StorachaTestCredentials:
    """One CLI-made agent key + provisioned space + delegation, shared by the session."""
    return make_credentials(storacha_service, tmp_path_factory.mktemp("storacha-cli"))
