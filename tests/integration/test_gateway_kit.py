"""The gateway over a real kit: files the disk tier holds whole, directories in kubo,
``ipfs-kit serve`` as a process (stopped by PID), and the opt-in ``POST /ipfs``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.gateway.blocks import serving
from tests.servers.kubo import KuboNode
from tests.servers.process import free_port, running, start_server

from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.gateway import GatewayApp, GatewayConfig
from ipfs_kit_py.gateway.kit_source import kit_blocks
from ipfs_kit_py.ipfs_kit import ipfs_kit

DATA = os.urandom(900_000)
TOKEN = "gateway-test-token-0123456789"


@pytest.fixture
def kit(kubo_kit: ipfs_kit) -> ipfs_kit:
    return kubo_kit


def test_a_file_on_the_disk_tier_is_served_whole_ranged_and_as_car(
    kit: ipfs_kit, kubo: KuboNode
) -> None:
    cid = kit.add(DATA, to=["disk"]).cid
    with serving(GatewayApp(kit_blocks(kit))) as url:
        assert httpx.get(f"{url}/ipfs/{cid}").content == DATA
        r = httpx.get(f"{url}/ipfs/{cid}", headers={"Range": "bytes=500000-500099"})
        assert r.status_code == 206 and r.content == DATA[500000:500100]
        car = httpx.get(f"{url}/ipfs/{cid}?format=car").content
        raw = httpx.get(f"{url}/ipfs/{cid}?format=raw")
    blocks = list(CarReader(io.BytesIO(car)))  # every block verified against its CID
    assert blocks[0].cid == cid and blocks[0].data == raw.content
    out = kubo.cli("dag", "import", "--pin-roots", input=car).stdout.decode()
    assert f"Pinned root\t{cid}\tsuccess" in out
    assert kubo.cli("cat", str(cid)).stdout == DATA


def test_a_directory_in_kubo_is_listed_and_its_files_served(kit: ipfs_kit, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "docs").mkdir(parents=True)
    (tree / "docs" / "a.txt").write_text("alpha")
    (tree / "b.bin").write_bytes(DATA)
    root = kit.add(tree, to=["ipfs"]).cid
    with serving(GatewayApp(kit_blocks(kit))) as url:
        page = httpx.get(f"{url}/ipfs/{root}/").text
        assert 'href="./docs"' in page and 'href="./b.bin"' in page
        assert httpx.get(f"{url}/ipfs/{root}/docs/a.txt").text == "alpha"
        assert httpx.get(f"{url}/ipfs/{root}/b.bin").content == DATA


def test_a_corrupted_disk_copy_is_never_sent(kit: ipfs_kit) -> None:
    cid = kit.add(DATA[:300_000], to=["disk"]).cid
    path = next(
        p
        for p in (kit.tiers.disk.root).rglob("*")
        if p.is_file()  # type: ignore[union-attr]
        and p.stat().st_size == 300_000
    )
    with path.open("r+b") as f:
        f.seek(1000)
        f.write(b"\0" * 8)
    with serving(GatewayApp(kit_blocks(kit))) as url:
        r = httpx.get(f"{url}/ipfs/{cid}")
    assert r.status_code == 404 and r.content != DATA[:300_000]


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    return {
        "IPFS_KIT_CONFIG": str(home / "absent.toml"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        **extra,
    }


def test_ipfs_kit_serve_serves_what_ipfs_kit_add_stored(tmp_path: Path) -> None:
    env = cli_env(tmp_path, IPFS_KIT_GATEWAY_TOKEN=TOKEN)
    src = tmp_path / "f.bin"
    src.write_bytes(DATA)
    added = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "-q", str(src)],
        env={**os.environ, **env},
        capture_output=True,
        check=True,
        timeout=120,
    )
    cid = added.stdout.decode().split()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(
        "ipfs-kit-serve",
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "serve", "--port", str(port), "--writable"],
        ready=lambda: httpx.get(f"{url}/ipfs/bafkqaaa?format=raw").status_code == 200,
        log_dir=tmp_path / "log",
        env=env,
    )
    with running(server):
        assert httpx.get(f"{url}/ipfs/{cid}").content == DATA
        denied = httpx.post(f"{url}/ipfs", content=b"new", headers={"Authorization": "Bearer x"})
        assert denied.status_code == 401
        posted = httpx.post(
            f"{url}/ipfs", content=b"new content", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert posted.status_code == 201
        new = posted.headers["ipfs-hash"]
        assert httpx.get(f"{url}/ipfs/{new}").content == b"new content"
    log = (tmp_path / "log" / "ipfs-kit-serve.log").read_text()
    assert TOKEN not in log and "Traceback" not in log


def test_serve_writable_without_a_token_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "serve", "--writable"],
        env={**os.environ, **cli_env(tmp_path)},
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert b"IPFS_KIT_GATEWAY_TOKEN" in result.stderr and b"Traceback" not in result.stderr


def test_a_short_write_token_is_refused() -> None:
    from ipfs_kit_py.config import Secret
    from ipfs_kit_py.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        GatewayConfig(write_token=Secret("short"))
    assert "short" not in repr(GatewayConfig(write_token=Secret("long-enough-token-123")))
