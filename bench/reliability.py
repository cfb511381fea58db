"""Reliability benchmark: inject faults into real servers, count what the kit does with them.

Starts SeaweedFS, kubo and the local Storacha service (the test fixtures' start
functions), puts a fault-injecting proxy (``bench/faults/proxy.py``) in front of each
for every trial, and drives the kit's facade with default timeouts. Real kills (SIGKILL
of the SeaweedFS or kubo process mid-transfer, at a third of the bytes by its
``/proc/PID/io``, then a restart on the same data) run against a server of the trial's
own; the "reset" rows are the proxy cutting connections. Per fault class and
backend it counts: faults injected, detected (a typed error, or a refused copy), corrupt
bytes served, copies lost from the ledger (a copy that exists but is not recorded as
good, or is recorded good and is not there), debris left (temp files, open multipart
uploads) and the worst time to a clear error. Goal: 0 / 0 / 0 and every time < 15 s.

The Storacha row "hostile answers" runs ``bench.storacha_attacks`` (ours only: forged,
replayed, redirected, oversized, nested, dripped answers): an attack counts as detected
unless the call succeeded on it ("accepted wrongly"); credentials sent elsewhere and
peak RSS are printed below the table (goals 0 and < 150 MB). ``--no-attacks`` skips it.

    .venv/bin/python -m bench.reliability [--reps 4] [--workers 6]

Prints one table and writes ``bench/results/reliability-<time>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from tests.servers.kubo import KuboNode, start_kubo
from tests.servers.seaweedfs import SeaweedS3, boto_client, start_seaweedfs
from tests.servers.storacha import (
    StorachaService,
    StorachaTestCredentials,
    make_credentials,
    start_storacha_service,
)

from bench import storacha_attacks
from bench.common import RESULTS_DIR
from bench.faults.proxy import Fault, FaultProxy
from ipfs_kit_py.backends.s3.backend import object_key
from ipfs_kit_py.content.cid import parse_cid
from ipfs_kit_py.content.unixfs import import_file
from ipfs_kit_py.errors import IpfsKitError
from ipfs_kit_py.ipfs_kit import ipfs_kit

MiB = 1 << 20
GOAL_S = 15.0
TIERS = {"s3": "s3", "kubo": "ipfs", "storacha": "storacha", "disk": "disk"}
_KUBO_GC = threading.Lock()


@dataclass
class Outcome:
    """One injected fault and what the kit did."""

    fault: str
    backend: str
    detected: bool
    seconds: float
    corrupt_bytes: int = 0
    lost: int = 0
    debris: int = 0
    note: str = ""


@dataclass
class Servers:
    s3: SeaweedS3
    kubo: KuboNode
    storacha: StorachaService
    creds: StorachaTestCredentials
    base: Path
    upstream: dict[str, str] = field(default_factory=dict)


# -- one trial's kit ----------------------------------------------------------------------


class Trial:
    """A fresh home (cache, index) and a proxy in front of ``backend``'s server."""

    def __init__(self, servers: Servers, backend: str) -> None:
        self.servers, self.backend, self.tier = servers, backend, TIERS[backend]
        self.id = uuid.uuid4().hex[:10]
        self.home = servers.base / "trials" / self.id
        self.home.mkdir(parents=True)
        upstream = servers.upstream.get(backend)
        self.proxy = FaultProxy(upstream) if upstream else None
        self.prefix = f"rel/{self.id}/"

    def kit(self) -> ipfs_kit:
        s = self.servers
        sections: dict[str, Any] = {}
        url = self.proxy.url if self.proxy else _direct_url(s, self.backend)
        if self.backend == "s3":
            sections["s3"] = {**s.s3.s3_args(endpoint_url=url), "key_prefix": self.prefix}
        elif self.backend == "kubo":
            sections["kubo"] = {"api_url": url}
        elif self.backend == "storacha":
            sections["storacha"] = {
                "key": s.creds.key,
                "proof": s.creds.proof,
                "service_url": url,
                "service_did": s.storacha.did,
                "gateway_url": url,
                "receipts_url": f"{url}/receipt/",
            }
        return ipfs_kit(
            config={},
            cache_dir=self.home / "cache",
            index_path=self.home / "index.sqlite3",
            **sections,
        )

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def heal(self) -> None:
        if self.proxy is not None:
            self.proxy.set()
            self.proxy.drop_connections()

    def audit(self, cid: str) -> tuple[int, int]:
        """(copies lost from the ledger, debris) for ``cid`` once the fault is healed."""
        self.heal()
        lost = 0
        with self.kit() as kit:
            if self.backend == "s3":  # the next use of the bucket sweeps failed uploads
                kit.s3_kit.client.put(kit.s3_kit.config.bucket, self.prefix + "next", b"next")
            locations = {loc.backend: loc for loc in kit.index.locations(cid, include_bad=True)}
            for name in {self.tier, "disk"}:
                tier = kit.tiers.tier(name)
                truth = _holds_good_copy(kit, tier, cid)
                loc = locations.get(name)
                recorded = loc is not None and loc.state == "good"
                lost += int(truth != recorded)
        debris = len(list((self.home / "cache" / "tmp").glob("*")))
        if self.backend == "s3":
            s3 = boto_client(self.servers.s3)
            answer = s3.list_multipart_uploads(Bucket=self.servers.s3.bucket, Prefix=self.prefix)
            debris += len(answer.get("Uploads") or [])
        return lost, debris


def _direct_url(s: Servers, backend: str) -> str:
    return {"s3": s.s3.endpoint_url, "kubo": s.kubo.api_url, "storacha": s.storacha.url}.get(
        backend, ""
    )


def _holds_good_copy(kit: ipfs_kit, tier: Any, cid: str) -> bool:
    try:
        if not tier.has(parse_cid(cid)):
            return False
        data = b"".join(kit.tiers.verified_chunks(tier, parse_cid(cid), kit.tiers.profile_of(cid)))
    except IpfsKitError:
        return False
    return data is not None


@contextmanager
def trial(servers: Servers, backend: str) -> Iterator[Trial]:
    t = Trial(servers, backend)
    try:
        yield t
    finally:
        t.close()


def timed(call: Callable[[], Any]) -> tuple[Any, IpfsKitError | None, float]:
    start = time.monotonic()
    try:
        return call(), None, time.monotonic() - start
    except IpfsKitError as exc:
        return None, exc, time.monotonic() - start


# -- network faults through the proxy -------------------------------------------------------

READ_FAULTS: dict[str, Fault] = {
    "black hole": Fault("black_hole"),
    "freeze mid-download": Fault("freeze", "down", after=200_000),
    "503 storm": Fault("storm503"),
    "cut mid-body (read)": Fault("cut", "down", after=200_000),
    "slow drip (read)": Fault("drip", "down", after=200_000, interval=2.0),
}
WRITE_FAULTS: dict[str, Fault] = {
    "black hole (write)": Fault("black_hole"),
    "freeze mid-upload": Fault("freeze", "up", after=600_000),
    "503 storm (write)": Fault("storm503"),
    "cut mid-body (write)": Fault("cut", "up", after=600_000),
}
WRITE_SIZE = {"s3": 20 * MiB, "kubo": 2 * MiB, "storacha": 2 * MiB}
# bytes through the proxy before an upload fault strikes: Storacha's blob PUT goes to the
# storage node directly, so its faults strike the (small) invocations to the service
UP_AFTER = {"s3": 600_000, "kubo": 600_000, "storacha": 2_000}


def read_fault(servers: Servers, backend: str, name: str, fault: Fault) -> Outcome:
    data = os.urandom(MiB)
    with trial(servers, backend) as t:
        assert t.proxy is not None
        with t.kit() as kit:
            cid = str(kit.add(data, to=[t.tier]).cid)
        t.proxy.drop_connections()
        t.proxy.set(
            fault.mode, direction=fault.direction, after=fault.after, interval=fault.interval
        )
        with t.kit() as kit:
            got, error, seconds = timed(lambda: kit.cat(cid))
        corrupt = 0 if got is None or got == data else len(got)
        lost, debris = t.audit(cid)
        return Outcome(
            name, backend, error is not None, seconds, corrupt, lost, debris, _why(error)
        )


def kill_mid_download(servers: Servers, backend: str) -> Outcome:
    data = os.urandom(4 * MiB)
    with trial(servers, backend) as t:
        assert t.proxy is not None
        with t.kit() as kit:
            cid = str(kit.add(data, to=[t.tier]).cid)
        t.proxy.trigger("down", MiB, Fault("down"), drop=True)
        with t.kit() as kit:
            got, error, seconds = timed(lambda: kit.cat(cid))
        corrupt = 0 if got is None or got == data else len(got)
        lost, debris = t.audit(cid)
        name = "reset mid-download"
        return Outcome(
            name, backend, error is not None, seconds, corrupt, lost, debris, _why(error)
        )


def write_fault(servers: Servers, backend: str, name: str, fault: Fault) -> Outcome:
    data = os.urandom(WRITE_SIZE[backend])
    cid = str(import_file(_bytes_file(data)).cid)
    with trial(servers, backend) as t:
        assert t.proxy is not None
        with t.kit() as kit:
            assert kit.index is not None  # opened before the fault: not the kit's own files
            after = UP_AFTER[backend] if fault.direction == "up" else fault.after
            t.proxy.set(fault.mode, direction=fault.direction, after=after)
            _, error, seconds = timed(lambda: kit.add(data, to=[t.tier]))
        lost, debris = t.audit(cid)
        return outcome(name, backend, error, seconds, 0, lost, debris)


def kill_mid_upload(servers: Servers, backend: str) -> Outcome:
    data = os.urandom(WRITE_SIZE[backend])
    cid = str(import_file(_bytes_file(data)).cid)
    with trial(servers, backend) as t:
        assert t.proxy is not None
        with t.kit() as kit:
            assert kit.index is not None
            t.proxy.trigger("up", min(len(data) // 3, UP_AFTER[backend]), Fault("down"), drop=True)
            _, error, seconds = timed(lambda: kit.add(data, to=[t.tier]))
        lost, debris = t.audit(cid)
        name = "reset mid-upload"
        return outcome(name, backend, error, seconds, 0, lost, debris)


# -- real kills: SIGKILL of the server process mid-transfer, then a restart -----------------


@contextmanager
def private_server(servers: Servers, backend: str) -> Iterator[tuple[Servers, Any]]:
    """A server of ``backend``'s kind of this trial's own (killing it spares the others)."""
    base = servers.base / "private" / uuid.uuid4().hex[:10]
    if backend == "s3":
        server: Any = start_seaweedfs(base)
        own = replace(servers, s3=server, upstream={})
    else:
        server = start_kubo(base)
        own = replace(servers, kubo=server, upstream={})
    try:
        yield own, server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _kill_after(pid: int, field: str, nbytes: int) -> threading.Thread:
    """SIGKILL ``pid`` once it has read (``rchar``) or written (``wchar``) ``nbytes`` more."""

    def io_count() -> int:
        with open(f"/proc/{pid}/io") as f:
            return next(int(line.split()[1]) for line in f if line.startswith(field))

    def watch() -> None:
        start = io_count()
        deadline = time.monotonic() + 120
        with contextlib.suppress(OSError, StopIteration):
            while io_count() - start < nbytes and time.monotonic() < deadline:
                time.sleep(0.002)
            os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def sigkill_server(servers: Servers, backend: str, direction: str) -> Outcome:
    """SIGKILL the real server process mid-upload or mid-download, restart it, audit."""
    size = 24 * MiB if backend == "s3" else 8 * MiB
    data = os.urandom(size)
    with private_server(servers, backend) as (own, server), trial(own, backend) as t:
        cid = str(import_file(_bytes_file(data)).cid)
        if direction == "down":
            with t.kit() as kit:
                kit.add(data, to=[t.tier])
        with t.kit() as kit:
            assert kit.index is not None
            watcher = _kill_after(
                server.process.pid, "rchar" if direction == "up" else "wchar", size // 3
            )
            if direction == "up":
                _, error, seconds = timed(lambda: kit.add(data, to=[t.tier]))
                corrupt = 0
            else:
                kit.tiers.tier("disk").delete(parse_cid(cid))
                got, error, seconds = timed(lambda: kit.cat(cid))
                corrupt = 0 if got is None or got == data else len(got)
            watcher.join()
        server.restart()
        lost, debris = t.audit(cid)
        name = f"SIGKILL server mid-{'upload' if direction == 'up' else 'download'}"
        return outcome(name, backend, error, seconds, corrupt, lost, debris)


def _bytes_file(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def outcome(
    name: str,
    backend: str,
    error: IpfsKitError | None,
    seconds: float,
    corrupt: int,
    lost: int,
    debris: int,
) -> Outcome:
    return Outcome(name, backend, error is not None, seconds, corrupt, lost, debris, _why(error))


def _missed(o: Outcome) -> bool:
    return not o.detected or bool(o.corrupt_bytes or o.lost or o.debris)


def _why(error: BaseException | None) -> str:
    return "" if error is None else f"{type(error).__name__}: {str(error)[:120]}"


# -- objects changed behind the kit's back ---------------------------------------------------


def object_fault(servers: Servers, backend: str, kind: str) -> Outcome:
    data = os.urandom(200_000)  # one block in kubo
    restore: Callable[[], None] = _nothing
    with trial(servers, backend) as t:
        with t.kit() as kit:
            cid = str(kit.add(data, to=[t.tier]).cid)
            if backend == "disk":
                disk = kit.tiers.disk
                assert disk is not None
                _damage_file(disk.path_for(parse_cid(cid)), kind)
            elif backend == "s3":
                _damage_s3(servers.s3, object_key(parse_cid(cid), t.prefix), data, kind)
            else:
                restore = _damage_kubo(servers.kubo, cid, kind)
        try:
            with t.kit() as kit:
                if backend != "disk":
                    kit.tiers.tier("disk").delete(parse_cid(cid))
                got, error, seconds = timed(lambda: kit.cat(cid))
            corrupt = 0 if got is None or got == data else len(got)
            lost, debris = t.audit(cid)
        finally:
            restore()  # a damaged pinned block would break kubo's repo gc for later trials
        name = f"object {kind}" if backend != "disk" else f"disk copy {kind}"
        return outcome(name, backend, error, seconds, corrupt, lost, debris)


def _nothing() -> None:
    return None


def _damage_file(path: Path, kind: str) -> None:
    st = path.stat()
    if kind == "deleted":
        path.unlink()
        return
    raw = bytearray(path.read_bytes())
    if kind == "truncated":
        raw = raw[: len(raw) // 2]
    else:
        raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    if kind == "bit rot":  # same inode, size and mtime: only a re-hash can tell
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def _damage_s3(server: SeaweedS3, key: str, data: bytes, kind: str) -> None:
    s3 = boto_client(server)
    if kind == "deleted":
        s3.delete_object(Bucket=server.bucket, Key=key)
        return
    head = s3.head_object(Bucket=server.bucket, Key=key)
    body = data[: len(data) // 2] if kind == "truncated" else _flip(data)
    s3.put_object(Bucket=server.bucket, Key=key, Body=body, Metadata=head.get("Metadata") or {})


def _damage_kubo(node: KuboNode, cid: str, kind: str) -> Callable[[], None]:
    """Damage ``cid`` in kubo; return how to undo a damaged block file."""
    if kind == "deleted":
        node.cli("pin", "rm", cid)
        with _KUBO_GC:
            for _ in range(20):
                done = node.cli("repo", "gc", check=False)
                if done.returncode == 0:
                    return lambda: None
                time.sleep(0.5)
        raise RuntimeError(f"kubo repo gc kept failing: {done.stderr[-300:]!r}")
    path = _flatfs_key(node, cid)
    original = path.read_bytes()
    _damage_file(path, "truncated" if kind == "truncated" else "corrupted")

    def undo() -> None:
        path.write_bytes(original)

    return undo


def _flatfs_key(node: KuboNode, cid: str) -> Path:
    from multiformats import CID as MfCID
    from multiformats import multibase

    mh = bytes(MfCID.decode(cid).digest)
    name = multibase.get("base32upper").encode(mh)[1:].rstrip("=")
    found = list((node.repo / "blocks").glob(f"*/{name}.data"))
    assert found, f"no flatfs file for {cid}"
    return found[0]


def _flip(data: bytes) -> bytes:
    raw = bytearray(data)
    raw[len(raw) // 2] ^= 0xFF
    return bytes(raw)


# -- the index file, and killed adds ------------------------------------------------------


def index_corrupted(servers: Servers) -> Outcome:
    with trial(servers, "disk") as t:
        with t.kit() as kit:
            cid = str(kit.add(os.urandom(10_000), to=["disk"]).cid)
        index = t.home / "index.sqlite3"
        for leftover in t.home.glob("index.sqlite3-*"):
            leftover.unlink()
        raw = bytearray(index.read_bytes())
        raw[100:4096] = os.urandom(3996)
        index.write_bytes(bytes(raw))

        def read() -> bytes:
            with t.kit() as kit:
                return kit.cat(cid)

        _, error, seconds = timed(read)
        named = error is not None and str(index) in str(error)
        note = _why(error) if named or error is None else "error does not name the file"
        return Outcome("index file corrupted", "disk", named, seconds, 0, 0, 0, note)


def sigkill_add(servers: Servers, fraction: float, duration: float, source: Path) -> Outcome:
    cid = str(import_file(source).cid)
    with trial(servers, "s3") as t:
        env = _cli_env(t)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "--to", "disk,s3", str(source)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(duration * fraction)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        start = time.monotonic()
        nxt = subprocess.run(
            [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "--to", "s3", "-"],
            env=env,
            input=b"the next command",
            capture_output=True,
            timeout=120,
        )
        seconds = time.monotonic() - start
        lost, debris = t.audit(cid)
        debris += len(list((t.home / "xdg-cache" / "ipfs-kit" / "inflight").glob("*")))
        ok = nxt.returncode == 0
        note = f"killed at {fraction:.0%}" + ("" if ok else f"; next: {nxt.stderr[-200:]!r}")
        return Outcome(
            f"SIGKILL add at {fraction:.0%}", "disk+s3", ok, seconds, 0, lost, debris, note
        )


def _cli_env(t: Trial) -> dict[str, str]:
    s3 = t.servers.s3
    return {
        **os.environ,
        "IPFS_KIT_CONFIG": str(t.home / "absent.toml"),
        "IPFS_KIT_CACHE_DIR": str(t.home / "cache"),
        "IPFS_KIT_INDEX": str(t.home / "index.sqlite3"),
        "XDG_CACHE_HOME": str(t.home / "xdg-cache"),
        "S3_ENDPOINT_URL": t.proxy.url if t.proxy else s3.endpoint_url,
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_REGION": s3.region,
        "IPFS_KIT_S3_BUCKET": s3.bucket,
        "IPFS_KIT_S3_KEY_PREFIX": t.prefix,
    }


# -- the run ------------------------------------------------------------------------------


def plan(
    servers: Servers, reps: int, add_source: Path, add_seconds: float
) -> list[Callable[[], Outcome]]:
    jobs: list[Callable[[], Outcome]] = []
    for _ in range(reps):
        for backend in ("s3", "kubo", "storacha"):
            for name, fault in READ_FAULTS.items():
                jobs.append(partial(read_fault, servers, backend, name, fault))
            for name, fault in WRITE_FAULTS.items():
                jobs.append(partial(write_fault, servers, backend, name, fault))
            jobs.append(partial(kill_mid_download, servers, backend))
            jobs.append(partial(kill_mid_upload, servers, backend))
            if backend != "storacha":  # its local service keeps everything in memory
                for direction in ("up", "down"):
                    jobs.append(partial(sigkill_server, servers, backend, direction))
        for backend, kinds in (
            ("s3", ("corrupted", "truncated", "deleted")),
            ("kubo", ("corrupted", "truncated", "deleted")),
            ("disk", ("corrupted", "truncated", "deleted", "bit rot")),
        ):
            for kind in kinds:
                jobs.append(partial(object_fault, servers, backend, kind))
        jobs.append(partial(index_corrupted, servers))
    for fraction in (0.05, 0.25, 0.5, 0.75, 0.95):
        jobs.append(partial(sigkill_add, servers, fraction, add_seconds, add_source))
    return jobs


def attack_outcomes(rows: list[storacha_attacks.Row]) -> list[Outcome]:
    """One Outcome per hostile-answer run of ``bench.storacha_attacks`` (a Storacha row)."""
    found: list[Outcome] = []
    for row in rows:
        for run in range(row.runs):
            wrong = run < row.accepted_wrongly
            note = row.attack if not wrong else f"{row.attack}: accepted wrongly"
            found.append(Outcome("hostile answers", "storacha", not wrong, row.worst_s, note=note))
    return found


def run_job(job: Callable[[], Outcome]) -> Outcome:
    try:
        return job()
    except Exception as exc:  # a bench bug or an unexpected exception type: show it
        return Outcome("harness error", "-", False, 0.0, note=f"{type(exc).__name__}: {exc}")


def summarize(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for o in outcomes:
        cell = cells.setdefault(
            (o.fault, o.backend),
            {
                "fault": o.fault,
                "backend": o.backend,
                "injected": 0,
                "detected": 0,
                "corrupt_bytes": 0,
                "lost": 0,
                "debris": 0,
                "worst_s": 0.0,
            },
        )
        cell["injected"] += 1
        cell["detected"] += int(o.detected)
        cell["corrupt_bytes"] += o.corrupt_bytes
        cell["lost"] += o.lost
        cell["debris"] += o.debris
        cell["worst_s"] = max(cell["worst_s"], o.seconds)
    return list(cells.values())


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "fault class",
        "backend",
        "injected",
        "detected",
        "corrupt B",
        "lost",
        "debris",
        "worst s",
    )
    lines = [head]
    for r in rows:
        lines.append(
            (
                r["fault"],
                r["backend"],
                str(r["injected"]),
                str(r["detected"]),
                str(r["corrupt_bytes"]),
                str(r["lost"]),
                str(r["debris"]),
                f"{r['worst_s']:.1f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


@contextmanager
def started(base: Path) -> Iterator[Servers]:
    with ExitStack() as stack:
        s3 = start_seaweedfs(base / "seaweedfs")
        stack.callback(s3.stop)
        kubo = start_kubo(base / "kubo")
        stack.callback(kubo.stop)
        storacha = start_storacha_service(base / "storacha")
        stack.callback(storacha.stop)
        creds = make_credentials(storacha, base / "storacha-cli")
        upstream = {"s3": s3.endpoint_url, "kubo": kubo.api_url, "storacha": storacha.url}
        yield Servers(s3, kubo, storacha, creds, base, upstream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=4, help="repetitions of each fault")
    parser.add_argument("--workers", type=int, default=6, help="trials run at once")
    parser.add_argument("--only", default="", help="only trials whose fault or backend has this")
    parser.add_argument("--no-attacks", action="store_true", help="skip the Storacha attacks")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)  # the kit logs every fault it meets: quiet
    base = Path(tempfile.mkdtemp(prefix="ipfs-kit-reliability-"))
    os.environ["XDG_CACHE_HOME"] = str(base / "xdg-cache")
    for name in ("IPFS_KIT_CONFIG", "IPFS_API_URL", "IPFS_PATH", "S3_ENDPOINT_URL"):
        os.environ.pop(name, None)
    started_at = time.monotonic()
    try:
        with started(base) as servers:
            source = base / "add-source.bin"
            source.write_bytes(os.urandom(96 * MiB))
            add_seconds = _time_one_add(servers, source)
            jobs = plan(servers, args.reps, source, add_seconds)
            if args.only:
                jobs = [j for j in jobs if args.only in repr(j.args[1:])]  # type: ignore[attr-defined]
            with ThreadPoolExecutor(args.workers) as pool:
                outcomes = list(pool.map(run_job, jobs))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    attack_rows = [] if args.no_attacks else storacha_attacks.run(repeat=1, peer=False)
    outcomes += attack_outcomes(attack_rows)
    rows = summarize(outcomes)
    print(table(rows))
    if attack_rows:
        totals = storacha_attacks.summary(attack_rows)
        print(
            f"storacha attacks: accepted wrongly {totals['accepted_wrongly']} (goal 0), "
            f"credentials elsewhere {totals['credentials_elsewhere']} (goal 0), peak RSS "
            f"{totals['peak_rss_mb']:.0f} MB (goal < {storacha_attacks.RSS_GOAL_MB} MB)"
        )
    total = sum(r["injected"] for r in rows)
    worst = max((r["worst_s"] for r in rows), default=0.0)
    misses = [
        asdict(o) for o in outcomes if not o.detected or o.corrupt_bytes or o.lost or o.debris
    ]
    sums = {k: sum(r[k] for r in rows) for k in ("detected", "corrupt_bytes", "lost", "debris")}
    print(
        f"\n{total} faults injected in {time.monotonic() - started_at:.0f}s; detected "
        f"{sums['detected']}; corrupt bytes {sums['corrupt_bytes']}; copies lost "
        f"{sums['lost']}; debris {sums['debris']}; worst time to error {worst:.1f}s "
        f"(goal < {GOAL_S:.0f}s)"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"reliability-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"cells": rows, "misses": misses, "total": total}, indent=2))
    print(f"wrote {path}")
    return 0


def _time_one_add(servers: Servers, source: Path) -> float:
    with trial(servers, "s3") as t:
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "ipfs_kit_py.cli.main", "add", "--to", "disk,s3", str(source)],
            env=_cli_env(t),
            check=True,
            capture_output=True,
            timeout=300,
        )
        return time.monotonic() - start


if __name__ == "__main__":
    threading.stack_size(4 * MiB)
    sys.exit(main())
