"""Storacha: our native client vs the official @storacha/client, on the local service.

    .venv/bin/python -m bench.storacha [--sizes 20,256] [--repeat 1] [--shard-mb N]
        [--rss-mb 1000] [--list-uploads 10000]

Cases: ``upload N MB`` end to end (encode, shard, PUT, receipts, index, upload/add,
filecoin/offer) for us and for ``@storacha/client`` ``uploadFile`` (its own timer, so
Node start-up is excluded); ``encode N MB``: our client-side encoding (UnixFS, CAR
shards, DAG index, piece CIDs) against one hashlib sha256 pass over the same bytes.
Every run uploads fresh random bytes, so no upload is deduplicated by the service.
``--rss-mb``: one upload of that size by each client in a fresh process, with its
peak RSS (VmHWM from /proc) in the notes. ``--list-uploads N``: N uploads are
registered in a new space (``upload/add``), then each client lists them all in pages
of 1000 (our ``iter_uploads`` in this process; the JS client's ``upload.list`` in
Node, timed inside it). ``--sizes ''`` skips the upload and encode cases.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import multiprocessing
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from tests.random_files import write_random_file
from tests.servers.process import running
from tests.servers.storacha import (
    StorachaService,
    StorachaTestCredentials,
    config_for,
    js_upload,
    make_credentials,
    start_storacha_service,
)

from bench.common import BenchRun, Measurement
from bench.storacha_scale import bench_listing, bench_rss
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.sharding import Shard, ShardWriter, encode_dag_index
from ipfs_kit_py.backends.storacha.upload import piece_in_parallel
from ipfs_kit_py.content.unixfs import STORACHA, import_file

MB = 1_000_000


def fresh_file(directory: Path, size: int) -> Path:
    """Random bytes in a new file (written in 8 MiB pieces, outside any timing)."""
    path = directory / f"data-{time.monotonic_ns()}.bin"
    return write_random_file(path, size, piece=8 << 20)


def encode(path: Path, directory: Path, *, piece: bool) -> None:
    """Everything the client computes locally before any network call."""
    futures: list[Future[object]] = []
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) if piece else None
    hasher = ThreadPoolExecutor(2)  # as the upload pipeline: shard hash and piece combiner

    def on_shard(shard: Shard) -> None:
        if pool is not None:
            futures.append(hasher.submit(piece_in_parallel, shard, pool))
        futures.append(hasher.submit(lambda: shard.sha256))

    writer = ShardWriter(directory, on_shard=on_shard)
    root = import_file(path, STORACHA, on_block=writer.add).cid
    shards = writer.finish(root)
    for future in futures:
        future.result()
    encode_dag_index(root, shards)
    for future in futures:
        future.result()
    hasher.shutdown()
    if pool is not None:
        pool.shutdown()
    for shard in shards:
        shard.release()


def sha256_file(path: Path) -> None:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)


def timed_ours(
    run: BenchRun, case: str, name: str, config: StorachaConfig, tmp: Path, size: int, repeat: int
) -> None:
    seconds = []
    for _ in range(repeat):
        path = fresh_file(tmp, size)
        with StorachaBackend(config) as backend:
            start = time.perf_counter()
            backend.upload_file(path)
            seconds.append(time.perf_counter() - start)
        path.unlink()
    run.add(Measurement(case, name, seconds, nbytes=size))


def timed_js(
    run: BenchRun,
    case: str,
    service: StorachaService,
    creds: StorachaTestCredentials,
    tmp: Path,
    size: int,
    repeat: int,
    shard_size: int | None = None,
) -> None:
    seconds, notes = [], ""
    for _ in range(repeat):
        path = fresh_file(tmp, size)
        try:
            result = js_upload(service, creds, path, shard_size=shard_size)
            seconds.append(float(result["seconds"]))
        except Exception as exc:  # the peer failing is a result to report, not a crash
            notes = f"failed: {str(exc).splitlines()[0][:120]}"
        path.unlink()
    if seconds:
        run.add(Measurement(case, "@storacha/client uploadFile", seconds, nbytes=size, notes=notes))
    else:
        print(f"{case}: @storacha/client {notes}")


def bench_encode(run: BenchRun, tmp: Path, size: int, repeat: int) -> str:
    """Time our local encoding against one sha256 pass of the same file; return the case."""
    case = f"encode {size // MB} MB"
    path = fresh_file(tmp, size)
    run.time(
        case, "hashlib sha256", functools.partial(sha256_file, path), repeat=repeat, nbytes=size
    )
    for name, piece in (("ipfs_kit encode + piece", True), ("ipfs_kit encode (no piece)", False)):
        job = functools.partial(encode, path, tmp, piece=piece)
        run.time(case, name, job, repeat=repeat, nbytes=size)
    path.unlink()
    return case


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="20,256", help="sizes in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--shard-mb", type=int, default=None, help="shard size (MiB), both")
    parser.add_argument("--rss-mb", type=int, default=0, help="fresh-process upload + RSS")
    parser.add_argument("--list-uploads", type=int, default=0, help="uploads to list")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    run = BenchRun("storacha")
    baselines: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-storacha-") as tmp_name:
        tmp = Path(tmp_name)
        with running(start_storacha_service(tmp / "service")) as service:
            creds = make_credentials(service, tmp / "cli")
            config = config_for(service, creds)
            if args.shard_mb:
                shard = args.shard_mb << 20
                config = StorachaConfig(**{**config.__dict__, "shard_size": shard})
            no_offer = StorachaConfig(**{**config.__dict__, "filecoin_offer": False})
            if args.rss_mb:
                case = bench_rss(run, service, creds, config, tmp, args.rss_mb * MB)
                baselines[case] = "@storacha/client uploadFile"
            if args.list_uploads:
                case = bench_listing(run, service, config, tmp, args.list_uploads)
                baselines[case] = "@storacha/client upload.list"
            for mb in sizes:
                size, case = mb * MB, f"upload {mb} MB"
                timed_js(run, case, service, creds, tmp, size, args.repeat, config.shard_size)
                timed_ours(
                    run, case, "ipfs_kit (with filecoin/offer)", config, tmp, size, args.repeat
                )
                timed_ours(
                    run, case, "ipfs_kit (no filecoin/offer)", no_offer, tmp, size, args.repeat
                )
                for count in (1, 4):  # shards in flight (default 2)
                    inflight = StorachaConfig(**{**config.__dict__, "upload_concurrency": count})
                    name = f"ipfs_kit ({count} shard(s) in flight)"
                    timed_ours(run, case, name, inflight, tmp, size, args.repeat)
                if any(m.case == case and m.contender.startswith("@") for m in run.measurements):
                    baselines[case] = "@storacha/client uploadFile"
        for mb in sizes:
            baselines[bench_encode(run, tmp, mb * MB, args.repeat)] = "hashlib sha256"
    run.report(baselines)


if __name__ == "__main__":
    main()
