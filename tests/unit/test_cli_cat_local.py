"""``ipfs-kit cat`` from this machine's cache (LocalKit) answers as the whole kit does.

Each scenario is played twice in fresh homes, once as the CLI runs it (the cache first,
then the kit) and once through the kit alone (the path before LocalKit existed), and
everything a user or the next command can see must match: exit code, stdout bytes,
stderr, the index's records and copies (their states and reasons, the access counts)
and the files in the disk tier.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.cli import content as cli_content
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.content.cid import cid_key, parse_cid
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.kit_local import LocalKit

CONTENT = b"a cached file\n" * 300
BIG = os.urandom(600_000)  # three leaves: a dag-pb root over 256 KiB chunks


def use_home(home: Path, mp: pytest.MonkeyPatch) -> None:
    for kind in ("CACHE", "DATA", "CONFIG"):
        mp.setenv(f"XDG_{kind}_HOME", str(home / kind.lower()))
    for name in ("IPFS_KIT_CONFIG", "IPFS_API_URL", "IPFS_PATH", "IPFS_KIT_GATEWAYS"):
        mp.delenv(name, raising=False)
    mp.setenv("IPFS_KIT_VERIFY_DISK_READS", "")  # recorded, so a mutation's value is undone
    mp.delenv("IPFS_KIT_VERIFY_DISK_READS")


def disk_file(home: Path, cid: str) -> Path:
    key = cid_key(parse_cid(cid))
    return home / "cache" / "ipfs-kit" / "objects" / key[-3:-1] / key


def corrupt(home: Path, cid: str) -> None:
    path = disk_file(home, cid)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def corrupt_keeping_stamp(home: Path, cid: str) -> None:
    """Same size and mtime: with verify_disk_reads = false the stamp is trusted."""
    path = disk_file(home, cid)
    st = path.stat()
    corrupt(home, cid)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def trust_stamps(home: Path, cid: str) -> None:
    os.environ["IPFS_KIT_VERIFY_DISK_READS"] = "false"  # restored by the caller's monkeypatch


def read_once_then_trust(home: Path, cid: str) -> None:
    trust_stamps(home, cid)
    with ipfs_kit() as kit:
        kit.cat(cid)  # records the stamp of the verified file


MUTATIONS: dict[str, Callable[[Path, str], object]] = {
    "cached": lambda home, cid: None,
    "corrupt": corrupt,
    "truncated": lambda home, cid: disk_file(home, cid).write_bytes(b"short"),
    "gone": lambda home, cid: disk_file(home, cid).unlink(),
    "trusted": read_once_then_trust,
    "trusted, changed": lambda home, cid: (read_once_then_trust(home, cid), corrupt(home, cid)),
    "trusted, stale": lambda home, cid: (
        read_once_then_trust(home, cid),
        corrupt_keeping_stamp(home, cid),
    ),
    "never stamped, trusting": trust_stamps,
}

TARGETS = {
    "small": lambda kit, root: str(kit.add(CONTENT).cid),
    "three leaves": lambda kit, root: str(kit.add(BIG).cid),
    "directory": lambda kit, root: str(kit.add(root).cid),
    "identity": lambda kit, root: "bafkqablimvwgy3y",
    "absent": lambda kit, root: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
    "invalid": lambda kit, root: "not-a-cid",
}


def snapshot(home: Path) -> dict[str, Any]:
    """What the index and the disk tier hold, without times (``<home>`` for the home)."""
    index = home / "data" / "ipfs-kit" / "index.sqlite3"
    if not index.exists():  # nothing opened it (a CID refused before anything else)
        return {"index": None}
    db = sqlite3.connect(index)
    try:
        content = db.execute(
            "SELECT cid, size, kind, profile, access_count, last_access IS NOT NULL, metadata "
            "FROM content ORDER BY cid"
        ).fetchall()
        copies = db.execute(
            "SELECT cid, backend, locator, pinned, bad, missing, reason, node, "
            "stamp IS NOT NULL FROM locations ORDER BY cid, backend"
        ).fetchall()
    finally:
        db.close()
    cache = home / "cache" / "ipfs-kit"
    files = sorted(str(p.relative_to(cache)) for p in cache.rglob("*") if p.is_file())
    text = json.dumps({"content": content, "copies": copies, "files": files})
    return dict(json.loads(text.replace(str(home), "<home>")))


def play(
    home: Path, target: str, mutation: str, argv: list[str], *, whole_kit: bool
) -> dict[str, Any]:
    """Set up ``home``, apply ``mutation``, run ``ipfs-kit argv CID``; what can be seen."""
    (home / "tree" / "sub").mkdir(parents=True)
    (home / "tree" / "a.txt").write_bytes(CONTENT)
    (home / "tree" / "sub" / "b.bin").write_bytes(b"b" * 1000)
    with pytest.MonkeyPatch.context() as mp:
        use_home(home, mp)
        with ipfs_kit() as kit:
            cid = TARGETS[target](kit, home / "tree")
        if target in ("small", "three leaves"):
            MUTATIONS[mutation](home, cid)
        if whole_kit:  # cat as it was: the facade for every read
            mp.setattr(cli_content, "cat", cli_content._runner(cli_content.cmd_cat))
        out, err = io.BytesIO(), io.StringIO()
        stdout = io.TextIOWrapper(out, write_through=True)
        mp.setattr("sys.stdout", stdout)
        mp.setattr("sys.stderr", err)
        try:
            code = main([*argv, cid])
        except SystemExit as exc:
            code = int(exc.code or 0)
        stdout.flush()
        seen = {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()}
        seen["stderr"] = seen["stderr"].replace(str(home), "<home>")
        return {**seen, **snapshot(home)}


@pytest.mark.parametrize("argv", [["cat"], ["cat", "--json"], ["-v", "cat"]])
@pytest.mark.parametrize(
    ("target", "mutation"),
    [
        *[("small", m) for m in MUTATIONS],
        ("three leaves", "cached"),
        ("three leaves", "corrupt"),
        ("directory", "cached"),
        ("identity", "cached"),
        ("absent", "cached"),
        ("invalid", "cached"),
    ],
)
def test_cat_from_the_cache_answers_as_the_whole_kit(
    tmp_path: Path, target: str, mutation: str, argv: list[str]
) -> None:
    fast = play(tmp_path / "fast", target, mutation, argv, whole_kit=False)
    whole = play(tmp_path / "whole", target, mutation, argv, whole_kit=True)
    assert fast == whole
    if target == "small" and mutation == "cached" and "--json" not in argv:
        assert fast["code"] == 0 and fast["stdout"] == CONTENT
    if target == "small" and mutation == "corrupt":
        assert fast["code"] == 1 and "mismatch" in fast["stderr"] + fast["stdout"].decode()


def test_a_cached_read_does_not_open_the_kit_and_counts_the_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    use_home(tmp_path, monkeypatch)
    with ipfs_kit() as kit:
        cid = str(kit.add(CONTENT).cid)
        before = kit.index.content(cid)
    assert before is not None

    def no_kit(args: object) -> None:
        raise AssertionError("the whole kit was opened for a cached CID")

    monkeypatch.setattr(cli_content, "open_kit", no_kit)
    assert main(["cat", cid]) == 0
    assert capsysbinary.readouterr().out == CONTENT
    with ipfs_kit() as kit:
        after = kit.index.content(cid)
    assert after is not None and after.access_count == before.access_count + 1
    assert after.last_access is not None and after.last_access >= (before.last_access or 0)


def test_local_kit_leaves_a_read_it_cannot_serve_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_home(tmp_path, monkeypatch)
    with ipfs_kit() as kit:
        cid = str(kit.add(CONTENT).cid)
    corrupt(tmp_path, cid)
    before = snapshot(tmp_path)
    with LocalKit() as local:
        assert local.open_cached(cid) is None
        assert local.open_cached("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN") is None
    assert snapshot(tmp_path) == before  # nothing marked, counted or deleted
    local.close()  # idempotent


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.binary(max_size=2000) | st.binary(min_size=262_000, max_size=270_000),
    flip=st.none() | st.integers(min_value=0),
    trusting=st.booleans(),
)
def test_local_kit_serves_exactly_the_verified_bytes_or_nothing(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, flip: int | None, trusting: bool
) -> None:
    """Whatever the disk copy has become, a LocalKit read is the content, or None."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        use_home(home, mp)
        if trusting:
            mp.setenv("IPFS_KIT_VERIFY_DISK_READS", "false")
        with ipfs_kit() as kit:
            cid = str(kit.add(data).cid)
        if flip is not None and data:
            path = disk_file(home, cid)
            changed = bytearray(path.read_bytes())
            changed[flip % len(changed)] ^= 0x01
            path.write_bytes(bytes(changed))
        with LocalKit() as local:
            cached = local.open_cached(cid)
            got = None if cached is None else cached.read()
            if cached is not None:
                cached.close()
    assert got in (None, data)
    if flip is None or not data:
        assert got == data  # an intact cached copy is always served from the cache
