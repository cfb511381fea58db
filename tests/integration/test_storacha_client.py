"""The native Storacha client against the local service (upload-api's test context)."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.conformance.storacha_probe import GOLDEN, probe
from tests.servers.storacha import (
    StorachaService,
    StorachaTestCredentials,
    config_for,
    run_cli,
)

from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.storacha_kit import StorachaKit


def storacha_env(service: StorachaService, creds: StorachaTestCredentials) -> dict[str, str]:
    """The STORACHA_* environment that points a kit at ``service`` with ``creds``."""
    return {
        "STORACHA_KEY": creds.key,
        "STORACHA_PROOF": creds.proof,
        "STORACHA_SERVICE_URL": service.url,
        "STORACHA_SERVICE_DID": service.did,
        "STORACHA_GATEWAY_URL": service.gateway_url,
    }


@pytest.fixture
def backend(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> Iterator[StorachaBackend]:
    with StorachaBackend(config_for(storacha_service, storacha_credentials)) as b:
        yield b


def read_back(backend: StorachaBackend, root: str) -> bytes:
    return b"".join(backend.get(parse_cid(root)))


@pytest.mark.parametrize("n", [0, 100, 2_621_440])
def test_upload_list_read_back(backend: StorachaBackend, n: int) -> None:
    data = probe(n)
    result = backend.upload_file([data])
    root = cid_key(result.root)
    if n in GOLDEN:
        assert (root, [cid_key(s) for s in result.shards]) == (GOLDEN[n][0], [GOLDEN[n][1]])
    assert len(result.pieces) == len(result.shards) == 1
    record = backend.find_upload(result.root)
    assert record is not None and record["shards"] == result.shards
    assert read_back(backend, root) == data
    assert backend.stat(result.root).size == n


def test_multi_shard_upload_and_remove(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    data = random.Random(7).randbytes(6_000_000)
    config = config_for(storacha_service, storacha_credentials, shard_size=2_200_000)
    with StorachaBackend(config) as backend:
        result = backend.upload_file([data[i : i + 65536] for i in range(0, len(data), 65536)])
        assert len(result.shards) == 3  # two 1 MiB leaves per shard, the root in the last
        assert read_back(backend, cid_key(result.root)) == data
        removed = backend.remove_upload(result.root, blobs=True)
        assert removed["removed_shards"] == result.shards
        assert backend.find_upload(result.root) is None
        assert not backend.has(result.root)


def random_chunks(total: int, seed: int, digest: list[bytes]) -> Iterator[bytes]:
    rng, h = random.Random(seed), hashlib.sha256()
    for _ in range(total // (1 << 20)):
        chunk = rng.randbytes(1 << 20)
        h.update(chunk)
        yield chunk
    digest.append(h.digest())


@pytest.mark.slow
def test_300mb_upload_reads_back_verified(backend: StorachaBackend) -> None:
    digest: list[bytes] = []
    result = backend.upload_file(random_chunks(300 << 20, 3, digest))
    assert len(result.shards) == 3  # 133,169,152-byte default shards
    h = hashlib.sha256()
    for chunk in backend.get(result.root):
        h.update(chunk)
    assert h.digest() == digest[0]
    backend.remove_upload(result.root, blobs=True)


def test_kit_dict_face(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
) -> None:
    env = storacha_env(storacha_service, storacha_credentials)
    source = tmp_path / "my_dataset.zip"
    source.write_bytes(probe(2_621_440))
    with StorachaKit.from_sources({}, {}, env) as kit:
        up = kit.upload_file(source)
        assert up["success"] and up["cid"] == GOLDEN[2_621_440][0], up
        assert up["space"] == storacha_credentials.space_did and up["size"] == 2_621_440
        spaces = kit.list_spaces()
        assert spaces["spaces"] == [storacha_credentials.space_did]
        assert kit.select_space(storacha_credentials.space_did)["success"]
        info = kit.space_info()
        assert info["success"], info
        assert info["info"]["did"] == storacha_credentials.space_did
        page = kit.list_uploads(size=1)
        assert page["success"] and page["count"] == 1
        roots = {u["root"] for u in page["uploads"]}
        while page["cursor"]:
            page = kit.list_uploads(cursor=page["cursor"], size=1)
            roots |= {u["root"] for u in page["uploads"]}
        assert up["cid"] in roots
        listed = [str(u["root"]) for u in kit.backend.iter_uploads(page_size=1000)]
        for size in (1, 2, len(listed)):  # the last page full, half full, the only one
            paged = [str(u["root"]) for u in kit.backend.iter_uploads(page_size=size)]
            assert paged == listed and len(set(paged)) == len(paged) == len(roots)
        out = tmp_path / "out" / "copy.zip"
        got = kit.retrieve(up["cid"], out)
        assert got["success"] and out.read_bytes() == source.read_bytes()
        small = kit.upload_bytes(probe(100))
        assert small["cid"] == GOLDEN[100][0]
        raw = kit.retrieve(small["cid"], tmp_path / "raw.bin", raw=True)
        assert raw["success"] and (tmp_path / "raw.bin").read_bytes() == probe(100)
        gone = kit.remove_upload(up["cid"])
        assert gone["success"], gone
        assert kit.remove_upload(up["cid"])["error_type"] == "ContentNotFoundError"


def test_directory_upload(
    backend: StorachaBackend, storacha_credentials: StorachaTestCredentials, tmp_path: Path
) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "empty").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"alpha")
    (tmp_path / "d" / ".hidden").write_bytes(b"skipped")
    (tmp_path / "d" / "sub" / "b.bin").write_bytes(probe(3_000_000))
    result = backend.upload_directory(tmp_path / "d")
    assert result.root.codec.name == "dag-pb"
    assert backend.find_upload(result.root) is not None
    # the official CLI's `storacha up DIR` gives the same root
    out = run_cli(["up", str(tmp_path / "d"), "--json"], storacha_credentials.cli_env).stdout
    theirs = json.loads(out.strip().splitlines()[-1])
    assert theirs["root"]["/"] == cid_key(result.root)


# -- interop with the official CLI -----------------------------------------------------


def test_cli_lists_what_python_uploaded(
    backend: StorachaBackend, storacha_credentials: StorachaTestCredentials
) -> None:
    result = backend.upload_file([probe(12345)])
    listed = run_cli(["ls", "--shards"], storacha_credentials.cli_env).stdout
    assert cid_key(result.root) in listed
    assert cid_key(result.shards[0]) in listed


def test_cli_up_of_the_same_file_gives_the_same_root(
    backend: StorachaBackend, storacha_credentials: StorachaTestCredentials, tmp_path: Path
) -> None:
    path = tmp_path / "same.bin"
    path.write_bytes(random.Random(11).randbytes(3_500_000))
    ours = backend.upload_file(path)
    out = run_cli(["up", str(path), "--no-wrap", "--json"], storacha_credentials.cli_env).stdout
    theirs = json.loads(out.strip().splitlines()[-1])
    assert theirs["root"]["/"] == cid_key(ours.root)


def test_cli_commands(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from ipfs_kit_py.cli.main import main

    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the upload states' index
    monkeypatch.setenv("STORACHA_KEY", storacha_credentials.key)
    monkeypatch.setenv("STORACHA_PROOF", storacha_credentials.proof)
    flags = ["--service-url", storacha_service.url, "--service-did", storacha_service.did]
    flags += ["--gateway-url", storacha_service.gateway_url, "--json"]
    source = tmp_path / "cli.bin"
    source.write_bytes(probe(100))

    def run(*argv: str) -> dict[str, object]:
        capsys.readouterr()
        assert main(["storacha", *flags, *argv]) == 0
        return dict(json.loads(capsys.readouterr().out))

    up = run("up", str(source))
    assert up["cid"] == GOLDEN[100][0]
    listed = run("ls", "--size", "1000")
    assert up["cid"] in [u["root"] for u in listed["uploads"]]  # type: ignore[attr-defined]
    got = run("get", str(up["cid"]), "-o", str(tmp_path / "back.bin"))
    assert got["size"] == 100 and (tmp_path / "back.bin").read_bytes() == probe(100)
    assert run("spaces")["spaces"] == [storacha_credentials.space_did]
    assert run("rm", str(up["cid"]))["cid"] == up["cid"]
    monkeypatch.delenv("STORACHA_KEY")
    assert main(["storacha", *flags, "ls"]) == 3  # not configured


def test_backend_protocol_keeps_a_kubo_cid(backend: StorachaBackend) -> None:
    from ipfs_kit_py.backends.base import Backend
    from ipfs_kit_py.content.unixfs import import_file

    assert isinstance(backend, Backend) and backend.name == "storacha"
    data = probe(700_000)
    cid = import_file([data]).cid  # kubo's default profile: CIDv0, 256 KiB dag-pb leaves
    assert cid.version == 0
    assert backend.put(cid, [data[:1000], data[1000:]]).size == len(data)
    assert backend.has(cid)
    assert backend.stat(cid).size == len(data)
    assert b"".join(backend.get(cid)) == data
    backend.delete(cid)
    assert not backend.has(cid)
    backend.delete(cid)  # absent is not an error


def test_seed_facade_upload_file(
    storacha_service: StorachaService,
    storacha_credentials: StorachaTestCredentials,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the upload states' index

    section = {
        "key": storacha_credentials.key,
        "proof": storacha_credentials.proof,
        "service_url": storacha_service.url,
        "service_did": storacha_service.did,
        "gateway_url": storacha_service.gateway_url,
    }
    source = tmp_path / "my_dataset.zip"
    source.write_bytes(probe(100))
    with ipfs_kit({}, storacha=section, cache_dir=str(tmp_path / "cache")) as kit:
        r = kit.storacha_kit.upload_file(str(source))
        assert r["success"] and r["cid"] == GOLDEN[100][0], r


def test_create_space_provision_and_upload(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials
) -> None:
    env = storacha_env(storacha_service, storacha_credentials)
    with StorachaKit.from_sources({}, {}, env) as kit:
        made = kit.create_space()
        assert made["success"] and made["space_key"].startswith("Mg")
        assert made["proof"].startswith("m") and made["space"] in kit.list_spaces()["spaces"]
        assert kit.select_space(made["space"])["success"]
        refused = kit.upload_bytes(b"before provisioning")
        assert refused["error_type"] == "SpaceNotProvisionedError", (
            refused
        )  # an AuthenticationError
        assert "space provision" in refused["error"]
        storacha_service.provision(made["space"], storacha_credentials.account)
        up = kit.upload_bytes(probe(100))
        assert up["success"] and up["space"] == made["space"], up
        assert kit.cat(up["cid"])["data"] == probe(100)


def test_content_under_the_shard_size_is_one_car_like_the_js_client(
    storacha_service: StorachaService, storacha_credentials: StorachaTestCredentials, tmp_path: Path
) -> None:
    # 2 MiB - 1 bytes with 2 MiB shards: the blocks' framing makes a CAR a little over
    # 2 MiB; @storacha/upload-client still writes one CAR, and so must we.
    from tests.servers.storacha import js_upload

    shard_size = 2 * 1024 * 1024
    path = tmp_path / "just-under"
    path.write_bytes(random.Random(11).randbytes(shard_size - 1))
    config = config_for(storacha_service, storacha_credentials, shard_size=shard_size)
    with StorachaBackend(config) as backend:
        ours = backend.upload_file(path)
    theirs = js_upload(storacha_service, storacha_credentials, path, shard_size=shard_size)
    assert len(ours.shards) == 1
    assert cid_key(ours.root) == cid_key(parse_cid(theirs["root"]))
    assert [cid_key(s) for s in ours.shards] == [cid_key(parse_cid(s)) for s in theirs["shards"]]


@pytest.mark.usefixtures("frozen_ucan_clock")
@pytest.mark.parametrize("blobs", [False, True])
def test_an_upload_removed_and_added_in_one_second_is_registered_again(
    backend: StorachaBackend, blobs: bool
) -> None:
    # Without nonces the second upload/add is the first one's CID: the service answers
    # with the stored receipt, success, and the space keeps no upload (repair's case).
    data = random.randbytes(1000)  # a root no other test of the session uploads
    first = backend.upload_file([data])
    backend.remove_upload(first.root, blobs=blobs)
    assert not backend.has(first.root)
    again = backend.upload_file([data])
    assert again.root == first.root and again.shards == first.shards
    assert backend.has(first.root)
    assert read_back(backend, cid_key(first.root)) == data


def test_paging_walks_every_upload_of_the_space_once(backend: StorachaBackend) -> None:
    for _ in range(3):  # the session's shared space holds at least these
        backend.upload_file([random.randbytes(100)])
    whole = [cid_key(r["root"]) for r in backend.list_uploads(size=100_000).uploads]
    assert len(whole) >= 3
    assert [cid_key(r["root"]) for r in backend.iter_uploads(page_size=2)] == whole
    assert backend.list_uploads(size=len(whole)).cursor is None  # the last page says so
