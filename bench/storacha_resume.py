"""Storacha: an upload SIGKILLed at three points and run again, vs a clean upload.

    .venv/bin/python -m bench.storacha_resume [--size-mb 1000] [--shard-mb 127]

For each kill point (after 1/4, 1/2 and 3/4 of the shards are stored) a child process
uploads a fresh file and is SIGKILLed there; the same upload then runs again in this
process, twice over: with the upload state in a metadata index (as ``ipfs_kit()`` and
the CLI run it: stored shards are skipped without a ``space/blob/add``) and without
one (a bare backend: the service's answer to ``space/blob/add`` saves the PUT only).
Reported: the seconds of the run after the kill against a clean upload of another
fresh file of the same size (the ratio column), and in the notes the bytes PUT again
and the ``space/blob/add`` calls against the ideal (only the shards not stored before
the kill, plus the index). Every file is new random bytes, so nothing is deduplicated
across cases.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.random_files import write_random_file
from tests.servers.process import running
from tests.servers.storacha import make_credentials, start_storacha_service

from bench.common import BenchRun, Measurement
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.storacha_ledger import StorachaUploadLedger

MB = 1_000_000
KILLER = """
import os, signal, sys
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.upload import Uploader
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.storacha_ledger import StorachaUploadLedger
stored, kill_after, index = [], int(sys.argv[2]), sys.argv[3]
def killing(done):
    stored.append(done)
    if len(stored) == kill_after:
        os.kill(os.getpid(), signal.SIGKILL)
if index:
    shard_stored = StorachaUploadLedger.shard_stored
    def recording(self, upload, shard):
        shard_stored(self, upload, shard)
        killing(shard)
    StorachaUploadLedger.shard_stored = recording
else:
    add_blob = Uploader.add_blob
    def counting(self, digest, size, body):
        add_blob(self, digest, size, body)
        killing(size)
    Uploader.add_blob = counting
with StorachaBackend.from_sources() as backend:
    if index:
        backend.uploads = StorachaUploadLedger(MetadataIndex(index))
    backend.upload_file(sys.argv[1])
"""


def fresh_file(directory: Path, size: int) -> Path:
    return write_random_file(directory / f"data-{time.monotonic_ns()}.bin", size, piece=8 << 20)


def upload(env: dict[str, str], path: Path, index: Path | None = None) -> tuple[float, int]:
    """Upload ``path`` here (with upload states in ``index``); (seconds, shard count)."""
    config = StorachaConfig.from_sources({}, {}, env)
    ledger_index = MetadataIndex(index) if index is not None else None
    with StorachaBackend(config) as backend:
        if ledger_index is not None:
            backend.uploads = StorachaUploadLedger(ledger_index)
        start = time.perf_counter()
        result = backend.upload_file(path)
        seconds = time.perf_counter() - start
    if ledger_index is not None:
        ledger_index.close()
    return seconds, len(result.shards)


def killed_then_resumed(
    env: dict[str, str],
    path: Path,
    kill_after: int,
    calls: dict[str, list[int]],
    index: Path | None,
) -> float:
    child = subprocess.run(
        [sys.executable, "-c", KILLER, str(path), str(kill_after), str(index or "")],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != -signal.SIGKILL:
        raise RuntimeError(f"the upload was not killed: {child.stderr[-500:]}")
    for sizes in calls.values():
        sizes.clear()
    return upload(env, path, index)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=1000)
    parser.add_argument("--shard-mb", type=int, default=127)
    args = parser.parse_args()
    size, shard = args.size_mb * MB, args.shard_mb * 1024 * 1024
    calls: dict[str, list[int]] = {"put": [], "add": []}
    put, add_blob = Uploader._put, Uploader.add_blob

    def counting_put(self: Uploader, address: Any, nbytes: int, body: Any) -> None:
        calls["put"].append(nbytes)
        put(self, address, nbytes, body)

    def counting_add(self: Uploader, digest: bytes, nbytes: int, body: Any) -> None:
        calls["add"].append(nbytes)
        add_blob(self, digest, nbytes, body)

    Uploader._put = counting_put  # type: ignore[method-assign]
    Uploader.add_blob = counting_add  # type: ignore[method-assign]
    run = BenchRun("storacha_resume")
    baselines: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-resume-") as tmp_name:
        tmp = Path(tmp_name)
        with running(start_storacha_service(tmp / "service")) as service:
            creds = make_credentials(service, tmp / "cli")
            env = {
                "STORACHA_KEY": creds.key,
                "STORACHA_PROOF": creds.proof,
                "STORACHA_SPACE": creds.space_did,
                "STORACHA_SERVICE_URL": service.url,
                "STORACHA_SERVICE_DID": service.did,
                "STORACHA_SERVICE_KEY": service.did_key,
                "STORACHA_GATEWAY_URL": service.gateway_url,
                "STORACHA_SHARD_SIZE": str(shard),
            }
            clean = fresh_file(tmp, size)
            seconds, shards = upload(env, clean)
            clean.unlink()
            states = (("state in the index", tmp / "index.sqlite3"), ("no state", None))
            for fraction in (0.25, 0.5, 0.75):
                kill_after = max(1, min(shards - 1, round(shards * fraction)))
                case = f"resume {args.size_mb} MB after {kill_after}/{shards} shards"
                run.add(Measurement(case, "clean upload", [seconds], nbytes=size))
                baselines[case] = "clean upload"
                for name, index in states:
                    path = fresh_file(tmp, size)
                    resumed = killed_then_resumed(env, path, kill_after, calls, index)
                    path.unlink()
                    ideal = size * (shards - kill_after) / shards
                    notes = (
                        f"bytes PUT again {sum(calls['put']):,} vs ideal ~{ideal:,.0f}; "
                        f"blob/add {len(calls['add'])} vs ideal {shards - kill_after + 1}"
                    )
                    contender = f"run after SIGKILL ({name})"
                    run.add(Measurement(case, contender, [resumed], nbytes=size, notes=notes))
    run.report(baselines)


if __name__ == "__main__":
    main()
