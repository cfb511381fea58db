"""Regenerate tests/conformance/golden/*.json from the reference implementations.

Every expected value comes from a peer (ipfs_cid, ipfs-unixfs-importer, the Storacha
client's encoder, @ipld/car), never from ipfs_kit_py. Where two peers can compute the
same CID they must agree, or generation stops. Inputs are described by specs (see
inputs.py) so the tests rebuild the bytes without the peers.

    .venv/bin/python -m tests.conformance.generate_golden
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.conformance import peers
from tests.conformance.inputs import FileSpec, TreeSpec, file_bytes, write_file, write_tree

GOLDEN = Path(__file__).parent / "golden"
KIB = 1024
MIB = 1024 * KIB

# name -> (chunk_size, raw_leaves, cid_version, max_links): our ImportProfile fields
PROFILES: dict[str, tuple[int, bool, int, int]] = {
    "kubo": (262144, False, 0, 174),
    "kubo-v1": (262144, True, 1, 174),
    "raw-leaves-v0": (262144, True, 0, 174),
    "pb-leaves-v1": (262144, False, 1, 174),
    "size-256": (256, False, 0, 174),
    "size-256-v1": (256, True, 1, 174),
    "size-1000-raw-v1-w11": (1000, True, 1, 11),
    "size-65536": (65536, False, 0, 174),
    "size-1048576-v1": (1048576, True, 1, 174),
    "storacha": (1048576, True, 1, 1024),
}


def shake(seed: str, size: int) -> FileSpec:
    return {"kind": "shake256", "seed": seed, "size": size}


def probe(size: int) -> FileSpec:
    return {"kind": "repeat", "text": "storacha-python-probe-", "size": size}


C = 262144
S = 256
FILE_CASES: list[tuple[str, FileSpec, list[str]]] = [
    ("empty", shake("empty", 0), ["kubo", "kubo-v1", "raw-leaves-v0", "pb-leaves-v1"]),
    ("one-byte", shake("one", 1), ["kubo", "kubo-v1", "raw-leaves-v0", "pb-leaves-v1"]),
    ("hello", {"kind": "repeat", "text": "hello\n", "size": 6}, ["kubo", "kubo-v1"]),
    ("chunk-minus-1", shake("c-1", C - 1), ["kubo", "kubo-v1", "raw-leaves-v0"]),
    ("chunk", shake("c", C), ["kubo", "kubo-v1", "raw-leaves-v0", "pb-leaves-v1"]),
    ("chunk-plus-1", shake("c+1", C + 1), ["kubo", "kubo-v1", "raw-leaves-v0", "pb-leaves-v1"]),
    ("zeros-1MiB", {"kind": "zeros", "size": MIB}, ["kubo", "kubo-v1"]),
    ("174-chunks", shake("174", 174 * C), ["kubo", "kubo-v1"]),
    ("175-chunks-plus-1", shake("175", 174 * C + 1), ["kubo", "kubo-v1"]),
    ("s256-174-chunks", shake("s174", 174 * S), ["size-256", "size-256-v1"]),
    ("s256-175-chunks", shake("s175", 175 * S), ["size-256", "size-256-v1"]),
    ("s256-174sq-chunks", shake("s174sq", 174 * 174 * S), ["size-256", "size-256-v1"]),
    ("s256-174sq-plus-1-byte", shake("s174sq+1", 174 * 174 * S + 1), ["size-256", "size-256-v1"]),
    ("w11-depth-3", shake("w11", 11 * 11 * 1000 + 1), ["size-1000-raw-v1-w11"]),
    ("s65536-odd", shake("s65536", 1_000_003), ["size-65536"]),
    ("1MiB-chunks", shake("1m", 3 * MIB + 5), ["size-1048576-v1", "storacha"]),
]

STORACHA_CASES: list[tuple[str, FileSpec, dict[str, int]]] = [
    ("probe-100", probe(100), {}),
    ("probe-2621440", probe(2_621_440), {}),
    ("empty", probe(0), {}),
    ("probe-1MiB", probe(MIB), {}),
    ("probe-1MiB-plus-1", probe(MIB + 1), {}),
    ("zeros-3MiB", {"kind": "zeros", "size": 3 * MIB}, {}),
    ("random-5MiB-shards-2.5MiB", shake("st5", 5 * MIB + 7), {"shardSize": 5 * MIB // 2}),
    # uploadFile() writes a file smaller than the shard size as one CAR, even when the
    # CAR itself comes out larger than the shard size
    ("random-just-under-2MiB-shards-2MiB", shake("st2m", 2 * MIB - 1), {"shardSize": 2 * MIB}),
    # chunks larger than the 64 KiB reads of the input stream, as with the default profile
    # past 1024 chunks: the encoder's block order here is what a >1 GiB upload shows
    ("random-5MiB-chunk-256KiB-width-4", shake("st5w4", 5 * MIB), {"chunkSize": C, "width": 4}),
    (
        "random-60KB-chunk-1000-width-4-shards-10000",
        shake("st60", 60_000),
        {"chunkSize": 1000, "width": 4, "shardSize": 10_000},
    ),
]


def _hello() -> FileSpec:
    return {"kind": "repeat", "text": "hello\n", "size": 6}


TREES: dict[str, TreeSpec] = {
    "empty-dir": {},
    "nested": {
        "a.txt": _hello(),
        "sub": {"b.bin": shake("nested-b", 300_000), "deeper": {"c": shake("nested-c", 1)}},
        "empty": {},
        "z-empty-parent": {"only-empty": {}},
    },
    "unicode": {
        "héllo wörld.txt": shake("u1", 10),
        "日本語": {"ファイル.txt": shake("u2", 20)},
        "emoji-🎉": {},
        "Zebra": shake("u3", 3),
        "apple": shake("u4", 4),
        "a b": shake("u5", 5),
        "ñ": {"ü": shake("u6", 6)},
    },
    "hidden": {
        ".hidden": shake("h1", 7),
        ".git": {"config": shake("h2", 8)},
        "visible.txt": shake("h3", 9),
        "sub": {".dot": shake("h4", 1), "plain": shake("h5", 2)},
    },
    "hamt-5000-entries": {
        "kind": "numbered",
        "count": 5000,
        "name": "entry-{i:05d}-padding-padding-padding-padding",
        "sizes": [0, 1, 2],
    },
}
DIR_CASES: list[tuple[str, str, bool]] = [
    (tree, profile, False)
    for tree in ("empty-dir", "nested", "unicode", "hamt-5000-entries")
    for profile in ("kubo", "kubo-v1")
] + [("hidden", "kubo", False), ("hidden", "kubo", True), ("hidden", "kubo-v1", True)]


def js_profile(name: str) -> dict[str, Any]:
    chunk, raw, version, width = PROFILES[name]
    return {
        "chunkSize": chunk,
        "rawLeaves": raw,
        "cidVersion": version,
        "maxChildrenPerNode": width,
    }


def profile_fields(name: str) -> dict[str, Any]:
    chunk, raw, version, width = PROFILES[name]
    return {"chunk_size": chunk, "raw_leaves": raw, "cid_version": version, "max_links": width}


def generate_files(tmp: Path) -> dict[str, Any]:
    inputs: dict[str, FileSpec] = {}
    jobs: list[dict[str, Any]] = []
    for name, spec, profiles in FILE_CASES:
        inputs[name] = spec
        path = write_file(spec, tmp / "files" / name)
        jobs += [
            {"path": str(path), "profile": js_profile(p), "_case": (name, p)} for p in profiles
        ]
    results = peers.js_import([{k: v for k, v in j.items() if k != "_case"} for j in jobs])
    cases = []
    for job, result in zip(jobs, results, strict=True):
        name, profile = job["_case"]
        case = {
            "input": name,
            "profile": profile,
            "cid": result["cid"],
            "dag_size": result["tsize"],
            "peers": ["ipfs-unixfs-importer"],
        }
        if profile == "kubo":
            kubo = peers.ipfs_cid(Path(job["path"]))
            if kubo != result["cid"]:
                sys.exit(f"ipfs_cid {kubo} != JS importer {result['cid']} for {name}")
            case["peers"].append("ipfs_cid")
        chunk, raw, version, width = PROFILES[profile]
        chunks = -(-Path(job["path"]).stat().st_size // chunk)
        if width == 174 or chunks <= width:  # kubo's width is fixed at 174
            kubo = peers.Kubo(tmp / "kubo-repo").add(
                *peers.kubo_flags(chunk, raw, version), "-Q", job["path"]
            )
            if kubo != [result["cid"]]:
                sys.exit(f"kubo {kubo} != JS importer {result['cid']} for {name} {profile}")
            case["peers"].append("kubo")
        cases.append(case)
    storacha_jobs = [
        {"path": str(tmp / "files" / name)}
        for name, _, profiles in FILE_CASES
        if "storacha" in profiles
    ]
    for job, result in zip(storacha_jobs, peers.storacha_encode(storacha_jobs), strict=True):
        case = next(
            c for c in cases if c["profile"] == "storacha" and job["path"].endswith(c["input"])
        )
        if case["cid"] != result["root"]:
            sys.exit(f"Storacha root {result['root']} != JS importer {case['cid']}")
        case["peers"].append("@storacha/upload-client")
    return {
        "description": "Root CIDs and dag sizes (Tsize) of single files",
        "profiles": {name: profile_fields(name) for name in PROFILES},
        "inputs": inputs,
        "cases": cases,
    }


def generate_storacha(tmp: Path) -> dict[str, Any]:
    inputs: dict[str, FileSpec] = {}
    jobs = []
    for name, spec, options in STORACHA_CASES:
        inputs[name] = spec
        jobs.append({"path": str(write_file(spec, tmp / "storacha" / name)), **options})
    cases = []
    for (name, _, options), result in zip(STORACHA_CASES, peers.storacha_encode(jobs), strict=True):
        cases.append(
            {
                "input": name,
                "options": options,
                "root": result["root"],
                "shards": result["shards"],
                "block_count": len(result["blocks"]),
                "block_order_sha256": hashlib.sha256(
                    "\n".join(result["blocks"]).encode()
                ).hexdigest(),
            }
        )
    by_name = {c["input"]: c for c in cases}
    expected = {
        "probe-100": (
            "bafkreierpjygodpr3vyayx23vgpasnf7d3gpgbstorpjru4fcblho6qqde",
            "bagbaieraomjsl3fqc5foz5yvoy4eaknp63d36ehcivaak6ybask3ncb7xjuq",
        ),
        "probe-2621440": (
            "bafybeibhmwvkmxhp4dfm76egsabq5op46wgg4dljjtdys6eqbqnnv3ntq4",
            "bagbaierairpueyzaa36wsgwsa2jcevnv4rg2lilww6rgunveseoylkbqhi7a",
        ),
    }
    for name, (root, shard) in expected.items():
        got = by_name[name]
        if got["root"] != root or [s["cid"] for s in got["shards"]] != [shard]:
            sys.exit(f"Storacha encoding does not reproduce the recorded vector {name}: {got}")
    return {
        "description": (
            "@storacha/upload-client 1.4.2 encoding (uploadFile without the network): root CID, "
            "CAR shard CIDs (CAR codec, sha2-256 of the shard bytes) in upload order, and the "
            "sha256 of the de-duplicated block CIDs in the order they are sharded, joined by "
            "newlines; options are its shardSize and, where given, a custom chunk size and "
            "balanced width"
        ),
        "default_shard_size": 133_169_152,
        "inputs": inputs,
        "cases": cases,
    }


def generate_directories(tmp: Path) -> dict[str, Any]:
    paths = {name: write_tree(spec, tmp / "trees" / name / name) for name, spec in TREES.items()}
    jobs = [
        {"path": str(paths[tree]), "profile": profile, "hidden": hidden}
        for tree, profile, hidden in DIR_CASES
    ]
    cases = []
    kubo = peers.Kubo(tmp / "kubo-repo")
    for (tree, profile, hidden), result in zip(DIR_CASES, peers.js_import(jobs), strict=True):
        flags = ["-r", *(["--cid-version=1"] if profile == "kubo-v1" else [])]
        lines = kubo.add(*flags, *(["--hidden"] if hidden else []), str(paths[tree]))
        entries = [line.split(" ", 2)[1:] for line in lines]
        if entries[-1] != [result["cid"], tree] or sorted(entries) != sorted(
            [e["cid"], e["path"]] for e in result["entries"]
        ):
            sys.exit(f"kubo and the JS importer differ on {tree} {profile} hidden={hidden}")
        case = {
            "tree": tree,
            "profile": profile,
            "hidden": hidden,
            "cid": result["cid"],
            "dag_size": result["tsize"],
            "entry_count": len(entries),
        }
        if len(entries) <= 100:
            case["entries"] = entries
        cases.append(case)
    return {
        "description": (
            "`ipfs add -r` of a directory (its own name is the root): kubo's `added <cid> <path>` "
            "lines in kubo's order (files, then directories children first, the root last), "
            "and the same CIDs from ipfs-unixfs-importer with kubo's profile"
        ),
        "profiles": {name: profile_fields(name) for name in ("kubo", "kubo-v1")},
        "trees": TREES,
        "cases": cases,
    }


def _raw_cid(data: bytes) -> str:
    from multiformats import CID

    return str(CID("base32", 1, "raw", ("sha2-256", hashlib.sha256(data).digest())))


HELLO_PB = bytes.fromhex("0a0c0802120668656c6c6f0a1806")  # kubo's dag-pb node for "hello\n"


def car_block_sets() -> dict[str, dict[str, Any]]:
    specs: dict[str, FileSpec] = {
        "hello-raw": {"kind": "repeat", "text": "hello\n", "size": 6},
        "empty-raw": shake("car-0", 0),
        "300-bytes": shake("car-300", 300),
        "70000-bytes": shake("car-70000", 70_000),
    }
    raw = {name: (_raw_cid(file_bytes(spec)), file_bytes(spec)) for name, spec in specs.items()}
    described = {file_bytes(spec): spec for spec in specs.values()}
    v0 = ("QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN", HELLO_PB)
    sets = {
        "one-raw-block": {"roots": [raw["hello-raw"][0]], "blocks": [raw["hello-raw"]]},
        "v0-root-and-block": {"roots": [v0[0]], "blocks": [v0]},
        "no-roots": {"roots": [], "blocks": [raw["hello-raw"]]},
        "mixed": {
            "roots": [v0[0], raw["300-bytes"][0]],
            "blocks": [v0, raw["empty-raw"], raw["300-bytes"], raw["70000-bytes"]],
        },
    }
    for block_set in sets.values():
        block_set["described"] = [
            [cid, {"input": described[data]} if data in described else {"hex": data.hex()}]
            for cid, data in block_set["blocks"]
        ]
    return sets


def generate_car(tmp: Path) -> dict[str, Any]:
    cases = []
    for name, spec in car_block_sets().items():
        car = peers.car_write(tmp / f"{name}.car", spec["roots"], spec["blocks"])
        cases.append(
            {
                "name": name,
                "roots": spec["roots"],
                "blocks": spec["described"],
                "car_size": len(car),
                "car_sha256": hashlib.sha256(car).hexdigest(),
            }
        )
    return {
        "description": (
            "CARv1 bytes written by @ipld/car's CarWriter for these roots and blocks, in "
            "order; a block's bytes are given as an input spec or as hex"
        ),
        "cases": cases,
    }


def peer_versions(tmp: Path) -> dict[str, str]:
    lock = json.loads((peers.JS_DIR / "package-lock.json").read_text())["packages"]
    names = ["ipfs-unixfs-importer", "@ipld/car", "@storacha/upload-client", "@ipld/unixfs"]
    versions = {n: lock[f"node_modules/{n}"]["version"] for n in names}
    deb = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "ipfs-cid"], capture_output=True, text=True
    )
    versions["ipfs-cid (Debian)"] = deb.stdout.strip() or "unknown"
    versions["kubo"] = peers.Kubo(tmp / "kubo-repo").version()
    return versions


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    generators = {
        "files": generate_files,
        "storacha": generate_storacha,
        "directories": generate_directories,
        "car": generate_car,
    }
    only = sys.argv[1:] or list(generators)
    with tempfile.TemporaryDirectory() as tmp:
        versions = peer_versions(Path(tmp))
        for name in only:
            doc = {"generated_by": "tests/conformance/generate_golden.py", "peers": versions}
            doc.update(generators[name](Path(tmp)))
            out = GOLDEN / f"{name}.json"
            out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
