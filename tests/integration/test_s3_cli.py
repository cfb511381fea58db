"""``ipfs-kit s3 ...`` against SeaweedFS, configured through AWS_* environment variables."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.servers.seaweedfs import SeaweedS3, make_file

from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.unixfs import import_file


@pytest.fixture
def s3_env(seaweedfs: SeaweedS3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    monkeypatch.setenv("AWS_REGION", seaweedfs.region)
    monkeypatch.setenv("S3_ENDPOINT_URL", seaweedfs.endpoint_url)
    monkeypatch.setenv("IPFS_KIT_S3_BUCKET", seaweedfs.bucket)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["s3", *argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_cli_put_ls_head_get_exists_rm(s3_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = make_file(s3_env / "f.bin", 70_000)
    cid = import_file(src).cid
    prefix = f"cli-{uuid.uuid4().hex[:8]}"
    key = f"{prefix}/ipfs/{cid}"

    code, r = run_json(capsys, "put", "f.bin", key, "--cid", str(cid))
    assert code == 0 and r["success"] and r["size"] == 70_000 and r["cid"] == str(cid)

    code, r = run_json(capsys, "ls", prefix)
    assert code == 0 and [o["key"] for o in r["objects"]] == [key]

    code, r = run_json(capsys, "head", key)
    assert code == 0 and r["cid"] == str(cid) and r["size"] == 70_000

    code, r = run_json(capsys, "get", key, "out.bin")
    assert code == 0 and r["verified"] is True
    assert (s3_env / "out.bin").read_bytes() == src.read_bytes()

    assert run_json(capsys, "exists", key)[0] == 0
    assert run_json(capsys, "rm", key)[0] == 0
    code, r = run_json(capsys, "exists", key)
    assert code == 1 and r["exists"] is False


def test_cli_errors_map_to_exit_codes(
    s3_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, r = run_json(capsys, "get", "no/such/key", "x.bin")
    assert code == 1 and r["error_type"] == "ContentNotFoundError"
    code, r = run_json(capsys, "get", "a//b")
    assert code == 2 and r["error_type"] == "InvalidInputError"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    code, r = run_json(capsys, "ls")
    assert code == 4 and r["error_type"] == "AuthenticationError"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    code, r = run_json(capsys, "ls")
    assert code == 3 and str(r["error"]).startswith("S3 not configured")
    assert not (s3_env / "x.bin").exists()


def test_cli_bucket_option_before_or_after_the_command(
    s3_env: Path, seaweedfs: SeaweedS3, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["s3", "--bucket", "no-such-bucket-here", "ls", "--json"]) == 1
    assert "BucketNotFoundError" in capsys.readouterr().out
    assert main(["s3", "ls", "--bucket", "no-such-bucket-here", "--json"]) == 1
    assert "BucketNotFoundError" in capsys.readouterr().out
    assert main(["s3", "--bucket", "no-such-bucket-here", "ls", "--bucket", seaweedfs.bucket]) == 0


def test_cli_json_before_or_after_the_command(
    s3_env: Path, seaweedfs: SeaweedS3, capsys: pytest.CaptureFixture[str]
) -> None:
    """``s3 --json ls`` is ``s3 ls --json``, as for ``storacha``; without it, lines."""
    src = make_file(s3_env / "j.bin", 1000)
    assert main(["s3", "put", str(src), "json-placement/j.bin", "--json"]) == 0
    capsys.readouterr()
    answers = []
    for argv in (
        ["s3", "--json", "ls", "json-placement/"],
        ["s3", "ls", "json-placement/", "--json"],
    ):
        assert main(argv) == 0
        answers.append(json.loads(capsys.readouterr().out))
    assert answers[0] == answers[1] and answers[0]["objects"][0]["key"] == "json-placement/j.bin"
    assert main(["s3", "ls", "json-placement/"]) == 0
    assert not capsys.readouterr().out.startswith("{")
    assert main(["s3", "--json", "exists", "json-placement/none"]) == 1  # absent: exit 1
    assert json.loads(capsys.readouterr().out)["exists"] is False
