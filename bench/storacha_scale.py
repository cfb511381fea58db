"""Storacha at scale, ours vs ``@storacha/client``: one large upload in a fresh process
with its peak RSS, and listing many uploads (used by ``python -m bench.storacha``)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.random_files import write_random_file
from tests.servers.storacha import (
    STORACHA_DIR,
    StorachaService,
    StorachaTestCredentials,
    js_upload,
    make_credentials,
)

from bench.common import BenchRun, Measurement
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.cid import CAR_CODEC, RAW, make_cid

MB = 1_000_000
PAGE = 1000
OUR_UPLOAD = """
import json, re, sys, time
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
with StorachaBackend.from_sources() as backend:
    start = time.perf_counter()
    result = backend.upload_file(sys.argv[1])
    seconds = time.perf_counter() - start
status = open("/proc/self/status").read()
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
print(json.dumps({"seconds": seconds, "hwm_kb": hwm, "root": str(result.root)}))
"""


def _env(config: StorachaConfig, space: str) -> dict[str, str]:
    assert config.key is not None and config.proof is not None
    return {
        "STORACHA_KEY": config.key.value,
        "STORACHA_PROOF": config.proof.value,
        "STORACHA_SPACE": space,
        "STORACHA_SERVICE_URL": config.service_url,
        "STORACHA_SERVICE_DID": config.service_did,
        "STORACHA_GATEWAY_URL": config.gateway_url,
        "STORACHA_SHARD_SIZE": str(config.shard_size),
    }


def bench_rss(
    run: BenchRun,
    service: StorachaService,
    creds: StorachaTestCredentials,
    config: StorachaConfig,
    tmp: Path,
    size: int,
) -> str:
    """One upload of ``size`` fresh bytes by each client, each in a fresh process."""
    case = f"upload {size // MB} MB, fresh process"
    path = write_random_file(tmp / f"rss-js-{time.monotonic_ns()}.bin", size, piece=8 << 20)
    js = js_upload(service, creds, path, shard_size=config.shard_size)
    path.unlink()
    notes = f"peak RSS {int(js['hwm_kb']) // 1024} MB"
    peer = "@storacha/client uploadFile"
    run.add(Measurement(case, peer, [float(js["seconds"])], size, 0, notes))
    path = write_random_file(tmp / f"rss-ours-{time.monotonic_ns()}.bin", size, piece=8 << 20)
    done = subprocess.run(
        [sys.executable, "-c", OUR_UPLOAD, str(path)],
        env={**os.environ, **_env(config, creds.space_did)},
        capture_output=True,
        text=True,
        check=True,
    )
    path.unlink()
    ours = json.loads(done.stdout.strip().splitlines()[-1])
    notes = f"peak RSS {int(ours['hwm_kb']) // 1024} MB"
    run.add(Measurement(case, "ipfs_kit upload_file", [float(ours["seconds"])], size, 0, notes))
    return case


def _register(backend: StorachaBackend, count: int) -> None:
    """``count`` uploads (random roots, one random shard each) via upload/add."""

    def add(_: int) -> None:
        root = make_cid(RAW, os.urandom(32))
        shard = make_cid(CAR_CODEC, os.urandom(32))
        backend.client.invoke_ok(
            "upload/add", backend.space, {"root": root, "shards": [shard]}, nonce=True
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(add, range(count)))


def bench_listing(
    run: BenchRun, service: StorachaService, config: StorachaConfig, tmp: Path, count: int
) -> str:
    """Register ``count`` uploads in a new space, then list them all with each client."""
    case = f"list {count:,} uploads"
    creds = make_credentials(service, tmp / "list-cli")
    config = dataclasses.replace(
        config, key=Secret(creds.key), proof=Secret(creds.proof), space=creds.space_did
    )
    with StorachaBackend(config) as backend:
        started = time.perf_counter()
        _register(backend, count)
        print(f"registered {count} uploads in {time.perf_counter() - started:.1f} s")
        start = time.perf_counter()
        listed = sum(1 for _ in backend.iter_uploads(page_size=PAGE))
        ours = time.perf_counter() - start
        with _multiformats_cids():
            start = time.perf_counter()
            sum(1 for _ in backend.iter_uploads(page_size=PAGE))
            before = time.perf_counter() - start
    js = _js_list(service, creds)
    if listed != count or js["count"] != count:
        raise RuntimeError(f"listed {listed} (ours) and {js['count']} (JS), not {count}")
    notes = f"{js['pages']} pages, peak RSS {int(js['hwm_kb']) // 1024} MB (whole process)"
    peer = "@storacha/client upload.list"
    run.add(Measurement(case, peer, [float(js["seconds"])], 0, count, notes))
    run.add(Measurement(case, "ipfs_kit iter_uploads", [ours], 0, count, f"pages of {PAGE}"))
    slow = "ipfs_kit iter_uploads, CIDs by CID.decode"
    run.add(Measurement(case, slow, [before], 0, count, "as before the fast tag-42 path"))
    return case


@contextlib.contextmanager
def _multiformats_cids() -> Iterator[None]:
    """dag_cbor decoding its CIDs with multiformats' own ``CID.decode`` (not the fast
    path ``_cbor`` installs): what listing cost before it."""
    import dag_cbor.decoding
    from multiformats import CID

    fast = dag_cbor.decoding.CID  # type: ignore[attr-defined]
    dag_cbor.decoding.CID = CID  # type: ignore[attr-defined]
    try:
        yield
    finally:
        dag_cbor.decoding.CID = fast  # type: ignore[attr-defined]


def _js_list(service: StorachaService, creds: StorachaTestCredentials) -> dict[str, int]:
    argv = ["node", str(STORACHA_DIR / "js_list.mjs"), "--url", service.url, "--did"]
    argv += [service.did, "--key", creds.key, "--proof", creds.proof, "--size", str(PAGE)]
    done = subprocess.run(argv, cwd=STORACHA_DIR, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"js_list.mjs exited {done.returncode}: {done.stderr[-1000:]}")
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
