"""S3 throughput, side by side against one SeaweedFS this script starts.

Large objects (default 256 MB) up and down: us (S3Client; and S3Backend by CID, verified)
vs boto3 upload_file/download_file with the default TransferConfig, boto3 tuned (32 MiB
parts x 16 threads), obstore, and Debian's rclone. Many small objects (1,000 x 64 KB)
put then get: us vs a plain boto3 loop. ``--engines`` adds the other engine candidates
measured when choosing ours: botocore with our own thread pool, and awscrt if installed.

Contenders run interleaved, round by round, so load from elsewhere hits all of them.
Each row notes the client and server CPU seconds per run (the server shares the cores).

Run: .venv/bin/python -m bench.s3 [--size-mb 256] [--small 1000] [--rounds 3] [--engines]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import obstore
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from obstore.store import S3Store
from tests.servers.process import running
from tests.servers.seaweedfs import ACCESS_KEY, REGION, SECRET_KEY, SeaweedS3, start_seaweedfs

from bench.common import BenchRun, Measurement, make_file
from ipfs_kit_py.backends.s3.backend import S3Backend
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.content.unixfs import KUBO_CID_V1, import_file

BUCKET = "bench-bucket"
MiB = 1024 * 1024
Op = Callable[[str], object]  # run once with a fresh round tag


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(4 * MiB):
            h.update(chunk)
    return h.hexdigest()


class Meter:
    """Wall, client CPU (ours and children's) and server CPU of one call."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def server_cpu(self) -> float:
        fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __call__(self, func: Callable[[], object]) -> tuple[float, float, float]:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        c0 = time.process_time() + children.ru_utime + children.ru_stime
        s0 = self.server_cpu()
        start = time.perf_counter()
        func()
        wall = time.perf_counter() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        c1 = time.process_time() + children.ru_utime + children.ru_stime
        return wall, c1 - c0, self.server_cpu() - s0


def boto(server: SeaweedS3, **config: Any) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
        config=Config(**config),
    )


def rclone_env(server: SeaweedS3) -> dict[str, str]:
    prefix = "RCLONE_CONFIG_BENCH_"
    # rclone's AWS SDK refuses a custom CA bundle with its own transport; http needs none
    inherited = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    return {
        **inherited,
        prefix + "TYPE": "s3",
        prefix + "PROVIDER": "Other",
        prefix + "ACCESS_KEY_ID": ACCESS_KEY,
        prefix + "SECRET_ACCESS_KEY": SECRET_KEY,
        prefix + "ENDPOINT": server.endpoint_url,
        prefix + "REGION": REGION,
        prefix + "FORCE_PATH_STYLE": "true",
    }


def large_contenders(
    server: SeaweedS3, src: Path, out: Path, engines: bool
) -> dict[str, tuple[Op, Op]]:
    """name -> (upload(tag), download(tag)); each download reads what its upload wrote."""
    config = S3Config.from_sources(server.s3_args(bucket=BUCKET))
    ours, backend = S3Client(config), S3Backend(config)
    cid = import_file(src, KUBO_CID_V1).cid
    default, tuned = boto(server), boto(server, max_pool_connections=20)
    tuned_cfg = TransferConfig(multipart_chunksize=32 * MiB, max_concurrency=16)
    store = S3Store(
        BUCKET,
        endpoint=server.endpoint_url,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
    )
    env = rclone_env(server)

    def obstore_up(tag: str) -> None:
        with src.open("rb") as f:
            obstore.put(store, f"obstore/{tag}", f)

    def obstore_down(tag: str) -> None:
        with (out / f"obstore-{tag}").open("wb") as f:
            for chunk in obstore.get(store, f"obstore/{tag}").stream():
                f.write(chunk)

    def rclone(*argv: str) -> None:
        subprocess.run(["rclone", "copyto", *argv], env=env, check=True, capture_output=True)

    contenders: dict[str, tuple[Op, Op]] = {
        "boto3 default": (
            lambda t: default.upload_file(str(src), BUCKET, f"boto3/{t}"),
            lambda t: default.download_file(BUCKET, f"boto3/{t}", str(out / f"boto3-{t}")),
        ),
        "boto3 tuned 32MiBx16": (
            lambda t: tuned.upload_file(str(src), BUCKET, f"tuned/{t}", Config=tuned_cfg),
            lambda t: tuned.download_file(
                BUCKET, f"tuned/{t}", str(out / f"tuned-{t}"), Config=tuned_cfg
            ),
        ),
        "obstore": (obstore_up, obstore_down),
        "rclone copyto": (
            lambda t: rclone(str(src), f"bench:{BUCKET}/rclone/{t}"),
            lambda t: rclone(f"bench:{BUCKET}/rclone/{t}", str(out / f"rclone-{t}")),
        ),
        "us (S3Client)": (
            lambda t: ours.put(BUCKET, f"us/{t}", src),
            lambda t: ours.download(BUCKET, f"us/{t}", out / f"us-{t}"),
        ),
        "us by CID, verified": (
            lambda t: backend.put(cid, src, profile=KUBO_CID_V1),
            lambda t: backend.download(cid, out / f"cid-{t}"),
        ),
    }
    if engines:
        contenders.update(engine_contenders(server, src, out))
    return contenders


def engine_contenders(server: SeaweedS3, src: Path, out: Path) -> dict[str, tuple[Op, Op]]:
    """The other engines we measured: botocore + our thread pool, and awscrt if present."""
    from concurrent.futures import ThreadPoolExecutor

    part, workers = 16 * MiB, 8
    client = boto(
        server,
        max_pool_connections=workers + 4,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    pool = ThreadPoolExecutor(workers)
    size = src.stat().st_size

    def up(tag: str) -> None:
        key = f"botocore/{tag}"
        upload_id = client.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        fd = os.open(src, os.O_RDONLY)

        def one(i: int) -> dict[str, Any]:
            body = os.pread(fd, part, i * part)
            etag = client.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=i + 1, Body=body
            )["ETag"]
            return {"PartNumber": i + 1, "ETag": etag}

        try:
            parts = list(pool.map(one, range((size + part - 1) // part)))
        finally:
            os.close(fd)
        client.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
        )

    def down(tag: str) -> None:
        key = f"botocore/{tag}"
        fd = os.open(out / f"botocore-{tag}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)

        def one(start: int) -> None:
            end = min(size, start + part) - 1
            body = client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={start}-{end}")["Body"]
            offset = start
            while chunk := body.read(MiB):
                os.pwrite(fd, chunk, offset)
                offset += len(chunk)

        try:
            list(pool.map(one, range(0, size, part)))
        finally:
            os.close(fd)

    contenders: dict[str, tuple[Op, Op]] = {"engine: botocore + threads": (up, down)}
    try:
        contenders["engine: awscrt"] = crt_contender(server, src, out)
    except ImportError:
        print("awscrt not installed: skipping the awscrt engine")
    return contenders


def crt_contender(server: SeaweedS3, src: Path, out: Path) -> tuple[Op, Op]:
    import awscrt.auth  # type: ignore[import-not-found]
    import awscrt.io  # type: ignore[import-not-found]
    import awscrt.s3  # type: ignore[import-not-found]
    from awscrt.http import HttpHeaders, HttpRequest  # type: ignore[import-not-found]

    loop = awscrt.io.EventLoopGroup(2)
    bootstrap = awscrt.io.ClientBootstrap(loop, awscrt.io.DefaultHostResolver(loop))
    credentials = awscrt.auth.AwsCredentialsProvider.new_static(ACCESS_KEY, SECRET_KEY)
    client = awscrt.s3.S3Client(
        bootstrap=bootstrap,
        region=REGION,
        signing_config=awscrt.s3.create_default_s3_signing_config(
            region=REGION, credential_provider=credentials
        ),
        part_size=16 * MiB,
        throughput_target_gbps=10,
        tls_mode=awscrt.s3.S3RequestTlsMode.DISABLED,
    )
    host = server.endpoint_url.split("//", 1)[1]
    size = src.stat().st_size

    def request(method: str, key: str, extra: list[tuple[str, str]]) -> Any:
        return HttpRequest(method, f"/{BUCKET}/{key}", HttpHeaders([("host", host), *extra]))

    def up(tag: str) -> None:
        client.make_request(
            type=awscrt.s3.S3RequestType.PUT_OBJECT,
            request=request("PUT", f"crt/{tag}", [("Content-Length", str(size))]),
            send_filepath=str(src),
        ).finished_future.result()

    def down(tag: str) -> None:
        client.make_request(
            type=awscrt.s3.S3RequestType.GET_OBJECT,
            request=request("GET", f"crt/{tag}", []),
            recv_filepath=str(out / f"crt-{tag}"),
        ).finished_future.result()

    return up, down


def small_contenders(server: SeaweedS3, count: int) -> dict[str, tuple[Op, Op]]:
    from ipfs_kit_py.content.cid import RAW, sha256_cid

    blobs = [os.urandom(64 * 1024) for _ in range(count)]
    cids = [sha256_cid(RAW, b) for b in blobs]
    config = S3Config.from_sources(server.s3_args(bucket=BUCKET))
    ours, backend = S3Client(config), S3Backend(config)
    plain = boto(server)

    def boto_put(tag: str) -> None:
        for i, blob in enumerate(blobs):
            plain.put_object(Bucket=BUCKET, Key=f"small-boto/{tag}/{i}", Body=blob)

    def boto_get(tag: str) -> None:
        for i in range(count):
            plain.get_object(Bucket=BUCKET, Key=f"small-boto/{tag}/{i}")["Body"].read()

    def keys(tag: str) -> list[str]:
        return [f"small-us/{tag}/{i}" for i in range(count)]

    return {
        "boto3 loop": (boto_put, boto_get),
        "us (put_many/get_many)": (
            lambda t: ours.put_many(BUCKET, zip(keys(t), blobs, strict=True)),
            lambda t: ours.get_many(BUCKET, keys(t)),
        ),
        "us by CID, verified": (
            lambda t: backend.put_many(zip(cids, blobs, strict=True)),
            lambda t: backend.get_many(cids),
        ),
    }


def measure(
    run: BenchRun,
    meter: Meter,
    contenders: dict[str, tuple[Op, Op]],
    cases: tuple[str, str],
    rounds: int,
    nbytes: int = 0,
    ops: int = 0,
    check: Callable[[str, str], None] | None = None,
) -> None:
    """Interleave contenders round by round; record best-of-N with CPU notes."""
    samples: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for r in range(rounds):
        for name, (up, down) in contenders.items():
            tag = f"r{r}-{time.monotonic_ns()}"
            for case, op in zip(cases, (up, down), strict=True):
                samples.setdefault((case, name), []).append(meter(functools.partial(op, tag)))
            if check is not None:
                check(name, tag)
            print(f"  round {r + 1}/{rounds} {name}", flush=True)
    for case in cases:
        for name in contenders:
            runs = samples[(case, name)]
            client = sum(s[1] for s in runs) / len(runs)
            server = sum(s[2] for s in runs) / len(runs)
            notes = f"client cpu {client:.2f}s, server cpu {server:.2f}s per run"
            run.add(Measurement(case, name, [s[0] for s in runs], nbytes, ops, notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engines", action="store_true", help="also the engine candidates")
    args = parser.parse_args()
    if not shutil.which("rclone"):
        raise SystemExit("rclone not found: apt-get install rclone")
    size = args.size_mb * MiB
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp_name:
        tmp = Path(tmp_name)
        seaweedfs = start_seaweedfs(tmp / "seaweedfs", buckets=(BUCKET,), name="bench-seaweedfs")
        with running(seaweedfs) as server:
            run = BenchRun("s3")
            meter = Meter(server.process.pid)
            src, out = tmp / "src.bin", tmp / "out"
            out.mkdir()
            make_file(src, size)
            digest = sha256_file(src)

            def check(name: str, tag: str) -> None:
                for f in out.iterdir():
                    if sha256_file(f) != digest:
                        raise SystemExit(f"{name} downloaded wrong bytes into {f}")
                    f.unlink()

            up, down = f"upload {args.size_mb} MB", f"download {args.size_mb} MB"
            contenders = large_contenders(server, src, out, args.engines)
            measure(run, meter, contenders, (up, down), args.rounds, nbytes=size, check=check)
            put, get = f"put {args.small} x 64 KB", f"get {args.small} x 64 KB"
            small = small_contenders(server, args.small)
            measure(run, meter, small, (put, get), args.rounds, ops=args.small)
            baselines = {up: "boto3 default", down: "boto3 default"}
            baselines |= {put: "boto3 loop", get: "boto3 loop"}
            run.report(baselines)
            for m in run.measurements:
                print(f"{m.case:22} {m.contender:24} {m.notes}")


if __name__ == "__main__":
    main()
