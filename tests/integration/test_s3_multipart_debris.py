"""No multipart debris on the server: what a failed abort or a killed process leaves is
recorded in the index, swept on the next use of the bucket, or aborted by ``s3 cleanup``.

Checked against SeaweedFS's own ListMultipartUploads (boto3, behind the library's back).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, boto_client, make_file

from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.errors import BackendUnavailableError
from ipfs_kit_py.index import MetadataIndex
from ipfs_kit_py.upload_ledger import UploadLedger, upload_endpoint

MiB = 1 << 20


def open_uploads(server: SeaweedS3) -> list[dict[str, Any]]:
    answer = boto_client(server).list_multipart_uploads(Bucket=server.bucket)
    return list(answer.get("Uploads") or [])


def cli_env(server: SeaweedS3, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "IPFS_KIT_CONFIG": str(home / "absent.toml"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_DATA_HOME": str(home / "data"),
        "S3_ENDPOINT_URL": server.endpoint_url,
        "AWS_ACCESS_KEY_ID": server.access_key,
        "AWS_SECRET_ACCESS_KEY": server.secret_key,
        "AWS_REGION": server.region,
        "IPFS_KIT_S3_BUCKET": server.bucket,
    }


def cli_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "s3", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.mark.timeout(180)
def test_abort_that_failed_is_recorded_and_swept_on_next_use(
    seaweedfs_private: SeaweedS3, tmp_path: Path
) -> None:
    server = seaweedfs_private
    config = S3Config.from_sources(server.s3_args(max_retries=1, retry_timeout=2))
    with MetadataIndex(tmp_path / "index.sqlite3") as index, S3Client(config) as client:
        client.uploads = UploadLedger(index, upload_endpoint(config))

        def source() -> Iterator[bytes]:
            for i in range(48):
                if i == 30:
                    server.kill()
                yield os.urandom(MiB)

        with pytest.raises(BackendUnavailableError):
            client.put(server.bucket, "ipfs/interrupted", source())
        assert [u.key for u in client.uploads.recorded()] == ["ipfs/interrupted"]
        server.restart()
        left = open_uploads(server)
        assert [u["Key"] for u in left] == ["ipfs/interrupted"]  # debris on the server
        client.put(server.bucket, "ipfs/next", b"the next use of the bucket")
        assert open_uploads(server) == []
        assert client.uploads.recorded() == []


@pytest.mark.timeout(240)
def test_killed_cli_upload_is_aborted_by_s3_cleanup(
    seaweedfs_private: SeaweedS3, tmp_path: Path
) -> None:
    server = seaweedfs_private
    env = cli_env(server, tmp_path)
    big = make_file(tmp_path / "big.bin", 160 * MiB)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "s3", "put", str(big), "ipfs/big"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not open_uploads(server):
        assert proc.poll() is None, "the upload finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert [u["Key"] for u in open_uploads(server)] == ["ipfs/big"]
    listed = cli_json(env, "cleanup", "--dry-run")
    assert [u["key"] for u in listed["uploads"]] == ["ipfs/big"] and listed["aborted"] == 0
    assert open_uploads(server)
    done = cli_json(env, "cleanup")  # recorded for a dead process: aborted whatever its age
    assert done["aborted"] >= 1
    assert open_uploads(server) == []


@pytest.mark.timeout(120)
def test_cleanup_aborts_unrecorded_uploads_by_age(
    seaweedfs_private: SeaweedS3, tmp_path: Path
) -> None:
    server = seaweedfs_private
    s3 = boto_client(server)
    upload = s3.create_multipart_upload(Bucket=server.bucket, Key="elsewhere/orphan")
    s3.upload_part(
        Bucket=server.bucket,
        Key="elsewhere/orphan",
        UploadId=upload["UploadId"],
        PartNumber=1,
        Body=os.urandom(5 * MiB),
    )
    env = cli_env(server, tmp_path)
    young = cli_json(env, "cleanup")  # started just now: left alone by default
    assert young["aborted"] == 0 and [u["key"] for u in young["uploads"]] == ["elsewhere/orphan"]
    done = cli_json(env, "cleanup", "--older-than", "0")
    assert done["aborted"] == 1
    assert open_uploads(server) == []
