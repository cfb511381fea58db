"""Our importer, directory importer, CAR writer and Storacha sharding against golden vectors.

The vectors in golden/*.json were produced by reference implementations (ipfs_cid,
ipfs-unixfs-importer, @storacha/upload-client, @ipld/car) by generate_golden.py; these
tests rebuild the inputs from their specs and need no peer, so they run everywhere.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ipfs_kit_py.content.car import CarReader, CarWriter, write_car
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.unixfs import (
    KUBO_CID_V1,
    KUBO_DEFAULT,
    STORACHA,
    Block,
    ImportProfile,
    import_file,
)
from tests.conformance.inputs import file_bytes, iter_bytes, write_file, write_tree

GOLDEN = Path(__file__).parent / "golden"


@cache
def golden(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((GOLDEN / f"{name}.json").read_text())
    return doc


def cases(name: str, key: str) -> list[Any]:
    return [pytest.param(c, id=key.format(**c)) for c in golden(name)["cases"]]


def profile(doc: dict[str, Any], name: str) -> ImportProfile:
    return ImportProfile(**doc["profiles"][name])


def test_named_profiles_match_the_peers_profiles() -> None:
    profiles = golden("files")["profiles"]
    assert ImportProfile(**profiles["kubo"]) == KUBO_DEFAULT
    assert ImportProfile(**profiles["kubo-v1"]) == KUBO_CID_V1
    # the layout changes only block order: @ipld/unixfs groups rows late ("deferred")
    assert ImportProfile(**profiles["storacha"], layout="deferred") == STORACHA


@pytest.mark.parametrize("case", cases("files", "{input}-{profile}"))
def test_file_cid(case: dict[str, Any]) -> None:
    doc = golden("files")
    spec = doc["inputs"][case["input"]]
    result = import_file(iter_bytes(spec), profile(doc, case["profile"]))
    got = (str(result.cid), result.size, result.dag_size)
    want = (case["cid"], spec["size"], case["dag_size"])
    assert got == want, f"{case['input']} ({spec}) with {case['profile']}, peers {case['peers']}"


@pytest.mark.parametrize("case", cases("files", "{input}-{profile}")[:12])
def test_file_cid_from_path_and_file_object(case: dict[str, Any], tmp_path: Path) -> None:
    doc = golden("files")
    path = write_file(doc["inputs"][case["input"]], tmp_path / "input")
    p = profile(doc, case["profile"])
    with path.open("rb") as f:
        got = [str(import_file(path, p).cid), str(import_file(f, p).cid)]
    assert got == [case["cid"]] * 2


def storacha_profile(options: dict[str, int]) -> ImportProfile:
    if "chunkSize" not in options and "width" not in options:
        return STORACHA
    return ImportProfile(
        chunk_size=options.get("chunkSize", STORACHA.chunk_size),
        raw_leaves=True,
        cid_version=1,
        max_links=options.get("width", STORACHA.max_links),
        layout=STORACHA.layout,
    )


def dedupe(blocks: list[Block]) -> list[Block]:
    seen: set[bytes] = set()
    out = []
    for block in blocks:
        if bytes(block.cid) not in seen:
            seen.add(bytes(block.cid))
            out.append(block)
    return out


@pytest.mark.parametrize("case", cases("storacha", "{input}"))
def test_storacha_root_and_blocks(case: dict[str, Any]) -> None:
    doc = golden("storacha")
    spec = doc["inputs"][case["input"]]
    blocks: list[Block] = []
    result = import_file(iter_bytes(spec), storacha_profile(case["options"]), blocks.append)
    assert str(result.cid) == case["root"], f"{case['input']}: {spec}"
    unique = dedupe(blocks)
    assert len(unique) == case["block_count"]
    order = hashlib.sha256("\n".join(str(b.cid) for b in unique).encode()).hexdigest()
    assert order == case["block_order_sha256"], (
        f"{case['input']}: on_block order differs from the Storacha encoder's, so shards "
        "differ; @ipld/unixfs emits a parent only after a later leaf has been read (all "
        "leaves of one 64 KiB input read come before the nodes they complete)"
    )
    if len(case["shards"]) == 1:
        car = io.BytesIO()
        write_car(car, [result.cid], unique)
        assert (
            hashlib.sha256(car.getvalue()).digest()
            == parse_cid(case["shards"][0]["cid"]).digest[2:]
        ), f"single-shard CAR of {case['input']} differs: block order or CAR encoding"


@pytest.mark.parametrize("case", cases("storacha", "{input}"))
def test_storacha_shards(case: dict[str, Any], tmp_path: Path) -> None:
    from ipfs_kit_py.backends.storacha.sharding import SHARD_SIZE, ShardWriter

    doc = golden("storacha")
    spec = doc["inputs"][case["input"]]
    shard_size = case["options"].get("shardSize", SHARD_SIZE)
    # uploadFile() writes a file smaller than the shard size as ONE CAR of any size (it
    # shards with an infinite size); only larger files are cut by ShardingStream
    writer = ShardWriter(
        tmp_path, shard_size=sys.maxsize if spec["size"] < shard_size else shard_size
    )
    result = import_file(iter_bytes(spec), storacha_profile(case["options"]), writer.add)
    shards = writer.finish(result.cid)
    got = [{"cid": str(s.cid), "size": s.size} for s in shards]
    assert got == case["shards"], f"{case['input']} ({spec['size']} B), shard size {shard_size}"


def directory_case_id(case: dict[str, Any]) -> str:
    return f"{case['tree']}-{case['profile']}{'-hidden' if case['hidden'] else ''}"


@pytest.fixture(scope="module")
def golden_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("golden-trees")
    return {
        name: write_tree(spec, base / name / name)
        for name, spec in golden("directories")["trees"].items()
    }


DIRECTORY_CASES = [pytest.param(c, id=directory_case_id(c)) for c in golden("directories")["cases"]]


@pytest.mark.parametrize("case", DIRECTORY_CASES)
def test_directory_cid(case: dict[str, Any], golden_trees: dict[str, Path]) -> None:
    from ipfs_kit_py.content.directory import import_directory

    doc = golden("directories")
    result = import_directory(
        golden_trees[case["tree"]], profile(doc, case["profile"]), hidden=case["hidden"]
    )
    got = (str(result.cid), result.dag_size)
    assert got == (case["cid"], case["dag_size"]), directory_case_id(case)


def cli_add(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "--only-hash", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"ipfs-kit add -n {' '.join(args)}: {proc.stderr}"
    return proc.stdout.splitlines()


PROFILE_FLAGS: dict[str, list[str]] = {"kubo": [], "kubo-v1": ["--cid-version=1"]}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=directory_case_id(c))
        for c in golden("directories")["cases"]
        if "entries" in c
    ],
)
def test_cli_add_directory_prints_kubo_lines(
    case: dict[str, Any], golden_trees: dict[str, Path]
) -> None:
    flags = [*PROFILE_FLAGS[case["profile"]], "-r", *(["--hidden"] if case["hidden"] else [])]
    path = str(golden_trees[case["tree"]])
    lines = cli_add(*flags, path)
    want = [f"added {cid} {name}" for cid, name in case["entries"]]
    assert lines == want, f"{directory_case_id(case)}: kubo's lines, in kubo's order"
    assert cli_add(*flags, "-Q", path) == [case["cid"]]
    assert cli_add(*flags, "-q", path) == [cid for cid, _ in case["entries"]]


def car_blocks(case: dict[str, Any]) -> list[Block]:
    blocks = []
    for cid, data in case["blocks"]:
        raw = file_bytes(data["input"]) if "input" in data else bytes.fromhex(data["hex"])
        blocks.append(Block(parse_cid(cid), raw))
    return blocks


@pytest.mark.parametrize("case", cases("car", "{name}"))
def test_car_bytes_match_ipld_car(case: dict[str, Any]) -> None:
    roots = [parse_cid(r) for r in case["roots"]]
    blocks = car_blocks(case)
    whole = io.BytesIO()
    n = write_car(whole, roots, blocks)
    streamed = io.BytesIO()
    writer = CarWriter(streamed, roots)
    for block in blocks:
        writer.write_block(block.cid, block.data)
    assert n == case["car_size"] == len(whole.getvalue())
    assert hashlib.sha256(whole.getvalue()).hexdigest() == case["car_sha256"]
    assert streamed.getvalue() == whole.getvalue()


@pytest.mark.parametrize("case", cases("car", "{name}"))
def test_car_reader_reads_what_ipld_car_writes(case: dict[str, Any]) -> None:
    blocks = car_blocks(case)
    data = io.BytesIO()
    write_car(data, [parse_cid(r) for r in case["roots"]], blocks)
    data.seek(0)
    reader = CarReader(data)
    read = list(reader)
    assert reader.roots == [parse_cid(r) for r in case["roots"]]
    assert [(b.cid, b.data) for b in read] == [(b.cid, b.data) for b in blocks]
    printed = [str(c) for c in [*reader.roots, *(b.cid for b in read)]]
    want = [*case["roots"], *(str(b.cid) for b in blocks)]
    assert printed == want, "CIDs read from a CAR must print canonically (v1: base32 'b...')"
