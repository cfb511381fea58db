"""The ipfs_kit facade over real memory + disk tiers: typed face, dict face, config."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipfs_kit_py.content.unixfs import STORACHA, import_file
from ipfs_kit_py.errors import ConfigurationError, ContentNotFoundError, InputPathError
from ipfs_kit_py.ipfs_kit import ipfs_kit


@pytest.fixture
def kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ipfs_kit]:
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(tmp_path / "missing.toml"))
    with ipfs_kit(cache_dir=tmp_path / "cache", index_path=tmp_path / "index.sqlite3") as k:
        yield k


def test_construction_is_cheap_and_repeatable(tmp_path: Path) -> None:
    kits = [ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") for _ in range(20)]
    assert not (tmp_path / "i.db").exists()  # nothing opened until first use
    assert all(hasattr(k, "s3_kit") and hasattr(k, "storacha_kit") for k in kits)
    for k in kits:
        k.close()
        k.close()


def test_add_each_source_kind_gives_the_kubo_cid(kit: ipfs_kit, tmp_path: Path) -> None:
    data = b"hello tiers\n" * 5000
    expected = import_file([data]).cid
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    for source in (data, str(path), path, io.BytesIO(data), iter([data[:7], data[7:]])):
        result = kit.add(source)
        assert result.cid == expected and result.size == len(data)
    assert result.stored == ("memory", "disk")


def test_add_with_profile_and_read_back(kit: ipfs_kit, tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000
    result = kit.add(data, profile=STORACHA, to=["disk"], tags=["photos"])
    assert str(result.cid).startswith("bafy")
    assert kit.cat(result.cid) == data
    assert b"".join(kit.get(str(result.cid))) == data
    out = kit.get_to_path(result.cid, tmp_path / "out" / "copy.bin")
    assert out.read_bytes() == data
    assert [r.cid for r in kit.index.query(tag="photos")] == [kit.index.content(result.cid).cid]


def test_bad_inputs_raise_typed_errors(kit: ipfs_kit, tmp_path: Path) -> None:
    with pytest.raises(InputPathError):
        kit.add(tmp_path / "nope")
    with pytest.raises(ContentNotFoundError):
        kit.cat(import_file([b"never added"]).cid)
    with pytest.raises(TypeError, match="no_such_option"):
        ipfs_kit({}, no_such_option=1)  # type: ignore[call-arg]


def test_dict_face(kit: ipfs_kit, tmp_path: Path) -> None:
    added = kit.ipfs_add(b"dict face")
    assert added["success"] is True and added["cid"].startswith("Qm")
    cat = kit.ipfs_cat(added["cid"])
    assert cat == {"success": True, "cid": added["cid"], "data": b"dict face", "size": 9}
    missing = kit.ipfs_cat("not a cid")
    assert missing["success"] is False and missing["error_type"] == "InvalidCIDError"
    where = kit.ipfs_whereis(added["cid"])
    assert where["backends"] == ["memory", "disk"]
    got = kit.ipfs_get(added["cid"], tmp_path)
    assert Path(got["path"]).read_bytes() == b"dict face"


def test_unconfigured_kits_answer_not_configured(kit: ipfs_kit) -> None:
    for sub in (kit.s3_kit, kit.storacha_kit):
        if type(sub).__name__ != "UnconfiguredKit":
            continue
        answer = sub.upload_file("f")
        assert answer["success"] is False
        assert answer["error_type"] == "NotConfiguredError"
        assert "not configured" in answer["error"]


def test_config_file_then_env_then_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[cache]\nmemory_bytes = 1048576\ndisk_dir_unused = 1\n"
        '[tiers]\nput_to = ["disk"]\n'
        '[s3]\nsecret_access_key = "hunter2"\nbucket = "b"\nkey_prefix = "ipfs/"\n'
        '[storacha]\nkey = "MgPrivate"\nproof = "mProof"\n'
    )
    monkeypatch.setenv("IPFS_KIT_CONFIG", str(config))
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)  # a machine's own would be shown
    monkeypatch.setenv("IPFS_KIT_MEMORY_BYTES", "2048")
    monkeypatch.setenv("IPFS_KIT_DISK_BYTES", "4096")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    with ipfs_kit(memory_bytes=None) as kit:
        assert kit.config.memory_bytes == 1048576  # file beats env
        assert kit.config.disk_bytes == 4096  # env beats default
        assert kit.config.put_to == ("disk",)
        assert kit.config.cache_dir == tmp_path / "xdg-cache" / "ipfs-kit"
        summary = kit.config_summary()
        assert summary["s3"] == {"secret_access_key": "***", "bucket": "b", "key_prefix": "ipfs/"}
        assert summary["storacha"] == {"key": "***", "proof": "***"}
        assert "hunter2" not in repr(summary) and "MgPrivate" not in repr(summary)
    with ipfs_kit(memory_bytes=77) as kit:
        assert kit.config.memory_bytes == 77  # argument beats file


def test_backends_lists_local_tiers_reachable(kit: ipfs_kit) -> None:
    statuses = {s.name: s for s in kit.backends()}
    assert statuses["memory"].reachable and statuses["disk"].reachable


def test_closed_kit_refuses_work(tmp_path: Path) -> None:
    kit = ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db")
    kit.close()
    with pytest.raises(ConfigurationError, match="closed"):
        kit.cat("QmdPbxCpnX3xVEZPvayrETS7ACntzeBmD5mdgftsdGkmTJ")


def test_directory_add_get_whereis(kit: ipfs_kit, tmp_path: Path) -> None:
    from ipfs_kit_py.content.directory import import_directory
    from ipfs_kit_py.errors import InvalidInputError

    tree = tmp_path / "tree"
    (tree / "sub" / "empty").mkdir(parents=True)
    (tree / "a.txt").write_bytes(b"alpha" * 1000)
    (tree / "sub" / "b.bin").write_bytes(bytes(range(256)) * 2000)
    (tree / ".hidden").write_bytes(b"skipped")
    added = kit.add(tree, to=["disk"])
    assert added.cid == import_directory(tree).cid
    assert kit.whereis(added.cid) == ["disk"]
    out = kit.get_to_path(added.cid, tmp_path / "copy")
    assert (out / "a.txt").read_bytes() == b"alpha" * 1000
    assert (out / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 2000
    assert (out / "sub" / "empty").is_dir() and not (out / ".hidden").exists()
    assert import_directory(out).cid == added.cid
    with pytest.raises(InvalidInputError):
        kit.cat(added.cid)
    inside = kit.get_to_path(added.cid, tmp_path / "copy")  # a directory: goes inside
    assert inside == out / str(added.cid) and (inside / "a.txt").exists()
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(InputPathError):
        kit.get_to_path(added.cid, tmp_path / "a-file")  # never replaces what is there


def test_directory_with_tampered_index_is_refused(kit: ipfs_kit, tmp_path: Path) -> None:
    from ipfs_kit_py.errors import UnsafePathError

    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "f").write_bytes(b"f")
    cid = kit.add(tree).cid
    record = kit.index.content(cid)
    assert record is not None
    files = {"../escape": next(iter(record.metadata["files"].values()))}
    kit.index.upsert_content(cid, kind="dir", metadata={**record.metadata, "files": files})
    with pytest.raises(UnsafePathError):
        kit.get_to_path(cid, tmp_path / "out")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "out").exists()


def test_keep_pins_and_records_a_policy(kit: ipfs_kit) -> None:
    from ipfs_kit_py.errors import LastCopyError

    cid = kit.add(b"keep me", to=["disk"]).cid
    kit.keep(cid, min_copies=2)
    record = kit.index.content(cid)
    assert record is not None and record.metadata["replication"]["min_copies"] == 2
    with pytest.raises(LastCopyError):
        kit.remove(cid, from_=["disk"])
    report = kit.replicate(cid)  # no second durable tier configured: nothing to copy to
    assert report.copied == () and report.already == ("disk",)
    with pytest.raises(ContentNotFoundError):
        kit.keep(import_file([b"unknown"]).cid)


def test_replication_section_is_read(tmp_path: Path) -> None:
    config = {"replication": {"min_copies": 2, "tags": {"x": {"required": ["s3"]}}}}
    with ipfs_kit(config, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") as kit:
        assert kit.policies.default.min_copies == 2
        assert kit.policies.by_tag["x"].required == ("s3",)


def test_seed_constructor_keywords_are_accepted(tmp_path: Path) -> None:
    kit = ipfs_kit(
        {"cache": {"cache_dir": str(tmp_path / "c")}, "index": {"index_path": str(tmp_path / "i")}},
        resources={"memory": "1GB"},
        metadata={"role": "leecher"},
    )
    assert kit.resources == {"memory": "1GB"}
    assert kit.metadata == {"role": "leecher"}
    with pytest.raises(TypeError, match="nonsense"):
        ipfs_kit(nonsense=1)  # type: ignore[call-arg]
