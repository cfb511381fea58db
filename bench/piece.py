"""Filecoin piece CIDs: the C extension (1 and 2 threads) and pure Python vs one sha256 pass.

    .venv/bin/python -m bench.piece [--mb 256] [--repeat 3]

Every contender hashes the same in-memory random buffer; no service is needed. Ratios are
against ``hashlib.sha256`` over the buffer (a piece tree costs ~4x its sha256 compressions:
one 64-byte message, two blocks, per 32-byte node).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os

from bench.common import BenchRun
from ipfs_kit_py.backends.storacha.piece import NATIVE, PieceHasher, piece_cid

MB = 1_000_000


def streamed(data: memoryview, chunk: int) -> None:
    hasher = PieceHasher()
    for at in range(0, len(data), chunk):
        hasher.update(data[at : at + chunk])
    hasher.cid()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=256, help="buffer size in MB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--python-repeat", type=int, default=1, help="runs of the slow one")
    args = parser.parse_args()
    size = args.mb * MB
    data = os.urandom(size)
    view = memoryview(data)
    case = f"piece {args.mb} MB"
    run = BenchRun("piece")
    run.time(
        case,
        "hashlib sha256",
        lambda: hashlib.sha256(data).digest(),
        repeat=args.repeat,
        nbytes=size,
    )
    if NATIVE:
        run.time(
            case,
            "native, 1 thread",
            lambda: piece_cid(data, threads=1),
            repeat=args.repeat,
            nbytes=size,
        )
        run.time(
            case,
            "native, 2 threads",
            lambda: piece_cid(data, threads=2),
            repeat=args.repeat,
            nbytes=size,
        )
        stream = functools.partial(streamed, view, 1 << 20)
        run.time(case, "native, streamed 1 MiB updates", stream, repeat=args.repeat, nbytes=size)
    else:
        print("ipfs_kit_py._piece is not built: native contenders skipped")
    results = []
    python = lambda: results.append(piece_cid(data, native=False))  # noqa: E731
    run.time(case, "pure Python", python, repeat=args.python_repeat, nbytes=size, notes="1 process")
    if NATIVE:  # the contenders agree
        assert piece_cid(data, threads=2) == piece_cid(data) == results[0]
    run.report({case: "hashlib sha256"})


if __name__ == "__main__":
    main()
