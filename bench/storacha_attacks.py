"""Storacha under attack: our client and @storacha/client behind a hostile proxy.

    .venv/bin/python -m bench.storacha_attacks [--repeat 2] [--peer-cap 30]

The real local service sits behind ``tests.servers.hostile.HostileProxy``, which forges,
replays, redirects, bloats or drips its answers (the rules of
``tests.servers.hostile_storacha``); gateway attacks answer our verified reads. Every run
is a fresh process: ours is ``python -m tests.servers.hostile_storacha`` (a 100 KB upload,
or a read), the peer is ``@storacha/client`` ``uploadFile`` (``js_upload.mjs``), killed
after ``--peer-cap`` seconds. Per attack and contender: runs, answers accepted wrongly
(the call succeeded on a forged, replayed or hostile answer; goal 0), runs that sent the
agent message (our proofs) to another host (goal 0), worst seconds to a clear error,
peak RSS of a run (goal < 150 MB). Table printed, JSON in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import hostile_storacha as attacks
from tests.servers.hostile import Exchange, HostileProxy, Reply, Witness
from tests.servers.process import running
from tests.servers.storacha import (
    JS_UPLOAD_SCRIPT,
    STORACHA_DIR,
    StorachaService,
    StorachaTestCredentials,
    make_credentials,
    start_storacha_service,
)

from bench.common import RESULTS_DIR
from ipfs_kit_py.backends.storacha.backend import StorachaBackend
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.config import Secret

ROOT = Path(__file__).resolve().parents[1]
RSS_GOAL_MB = 150
OURS, PEER = "ipfs_kit", "@storacha/client"
# Runs a command and prints the peak RSS (KiB) of it and its children: the peer's RSS.
RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "try:\n"
    "    code = subprocess.run(sys.argv[2:], timeout=float(sys.argv[1])).returncode\n"
    "except subprocess.TimeoutExpired:\n"
    "    code = 'timeout'\n"
    "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code, file=sys.stderr)\n"
)


@dataclass
class Attack:
    """One hostile behaviour: the proxy rule, the call it targets, who can face it."""

    name: str
    rule: Callable[[Exchange], Reply] | None  # None: built per run (replay, redirect)
    kind: str  # upload | cat | block
    peer: bool = True
    timeout: float = 120.0


@dataclass
class Row:
    attack: str
    contender: str
    runs: int = 0
    accepted_wrongly: int = 0
    credentials_elsewhere: int = 0
    other_host_contacted: int = 0
    worst_s: float = 0.0
    peak_rss_mb: float = 0.0
    errors: list[str] = field(default_factory=list)
    first_error: str = ""


ATTACKS = [
    Attack("forged receipts (self-named key)", attacks.forge_receipts, "upload"),
    Attack("replayed upload/add receipt", None, "upload"),
    Attack("307 to another port", None, "upload"),
    Attack("302 to another port", None, "upload"),
    Attack("400 MB answer", attacks.oversized_answer, "upload"),
    Attack("endless answer", attacks.endless_answer, "upload"),
    Attack("1 byte/s drip (deadline=5)", None, "upload", timeout=5.0),
    Attack("receipt nested 100,000 deep", attacks.nested_receipt, "upload", peer=False),
    Attack("16 MB of 4-byte blocks", None, "upload", peer=False),  # built in arm()
    Attack("truncated CAR (gateway)", attacks.truncated_car, "cat", peer=False),
    Attack("endless unneeded blocks (gateway)", attacks.endless_unneeded_car, "cat", peer=False),
    Attack("repeated block (gateway)", attacks.repeated_block_car, "cat", peer=False),
    Attack("400 MB ?format=raw (gateway)", attacks.huge_raw, "block", peer=False),
    Attack("wrong ?format=raw block (gateway)", attacks.wrong_raw, "block", peer=False),
]


class Bench:
    """The service, credentials, proxy and witness shared by every run."""

    def __init__(
        self, service: StorachaService, creds: StorachaTestCredentials, tmp: Path, cap: float
    ) -> None:
        self.service, self.creds, self.tmp, self.cap = service, creds, tmp, cap
        self.proxy = HostileProxy(service.url).__enter__()
        self.witness = Witness().__enter__()
        self.root = ""

    def close(self) -> None:
        self.proxy.close()
        self.witness.close()

    def fields(self, timeout: float) -> dict[str, Any]:
        return {
            "key": self.creds.key,
            "proof": self.creds.proof,
            "service_url": self.proxy.url,
            "service_did": self.service.did,
            "receipts_url": self.proxy.url + "/receipt/",
            "gateway_url": self.proxy.url + "/ipfs",
            "deadline": timeout,
        }

    def stored_root(self) -> str:
        """A 2.5 MB upload (dag-pb root, three leaves) for the gateway attacks."""
        if not self.root:
            config = StorachaConfig(
                key=Secret(self.creds.key),
                proof=Secret(self.creds.proof),
                service_url=self.service.url,
                service_did=self.service.did,
                gateway_url=self.service.gateway_url,
            )
            with StorachaBackend(config) as backend:
                self.root = str(backend.upload_file([os.urandom(2_500_000)]).root)
        return self.root

    def arm(self, attack: Attack, contender: str) -> Callable[[], int]:
        """Set the proxy's rule for one run; return a count of replays done."""
        if attack.name.startswith("replayed"):
            replay = attacks.ReplayUploadAdd()
            self.proxy.rule = replay
            self._prime(contender)  # its upload/add receipt is the one replayed
            return lambda: replay.replayed
        if attack.name.startswith(("307", "302")):
            self.proxy.rule = attacks.redirect_posts(self.witness.url, int(attack.name[:3]))
        elif attack.name.startswith("16 MB"):
            if attack.rule is None:  # built once, before the clock starts
                attack.rule = attacks.many_tiny_blocks(400_000)
            self.proxy.rule = attack.rule
        elif attack.name.startswith("1 byte/s"):
            self.proxy.rule = attacks.DrippedAnswer(1.0)
        else:
            assert attack.rule is not None
            self.proxy.rule = attack.rule
        return lambda: 1

    def _prime(self, contender: str) -> None:
        outcome = self.run_ours("upload", 120.0) if contender == OURS else self.run_peer()
        if outcome["error_type"] is not None:
            raise RuntimeError(f"the genuine first upload failed: {outcome}")

    def run_ours(self, kind: str, timeout: float) -> dict[str, Any]:
        argv = [sys.executable, "-m", "tests.servers.hostile_storacha", kind]
        env = {**os.environ, "HOSTILE_CID": self.root}
        started = time.monotonic()
        done = subprocess.run(
            [*argv, json.dumps(self.fields(timeout))],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        outcome["wall_s"] = time.monotonic() - started
        return outcome

    def run_peer(self) -> dict[str, Any]:
        path = self.tmp / f"peer-{time.monotonic_ns()}.bin"
        path.write_bytes(os.urandom(100_000))
        node = [
            "node",
            str(JS_UPLOAD_SCRIPT),
            str(path),
            "--url",
            self.proxy.url,
            "--did",
            self.service.did,
            "--key",
            self.creds.key,
            "--proof",
            self.creds.proof,
        ]
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", RSS_WRAPPER, str(self.cap), *node],
            cwd=STORACHA_DIR,
            capture_output=True,
            text=True,
            timeout=self.cap + 60,
            check=False,
        )
        seconds = time.monotonic() - started
        path.unlink()
        rss_line = [line for line in done.stderr.splitlines() if line.startswith("RSS ")][-1]
        _, rss_kb, code = rss_line.split()
        ok = code == "0" and '"root"' in done.stdout
        error = "" if ok else ("no answer within cap" if code == "timeout" else "error")
        return {
            "error_type": None if ok else error,
            "error": done.stderr[-300:] if not ok else "",
            "seconds": round(seconds, 2),
            "wall_s": seconds,
            "peak_rss_mb": round(int(rss_kb) / 1024, 1),
        }

    def measure(self, attack: Attack, contender: str, repeat: int) -> Row:
        row = Row(attack.name, contender)
        if attack.kind != "upload":
            self.stored_root()
        for _ in range(repeat):
            self.witness.received.clear()
            replays = self.arm(attack, contender)
            if contender == OURS:
                outcome = self.run_ours(attack.kind, attack.timeout)
            else:
                outcome = self.run_peer()
            self.proxy.rule = attacks_forward
            row.runs += 1
            hostile = replays() > 0
            row.accepted_wrongly += int(outcome["error_type"] is None and hostile)
            posted = [r for r in self.witness.received if r[0] == "POST" and r[2]]
            row.credentials_elsewhere += int(bool(posted))
            row.other_host_contacted += int(bool(self.witness.received))
            row.worst_s = max(row.worst_s, float(outcome["seconds"]))
            row.peak_rss_mb = max(row.peak_rss_mb, float(outcome["peak_rss_mb"]))
            if outcome["error_type"] is not None:
                row.errors.append(str(outcome["error_type"]))
                row.first_error = row.first_error or str(outcome["error"])[-300:]
        return row


def attacks_forward(exchange: Exchange) -> Reply:
    return exchange.forward()


def table(rows: list[Row]) -> str:
    head = ("attack", "contender", "runs", "accepted wrongly", "creds elsewhere",
            "other host", "worst s", "peak RSS MB", "errors")  # fmt: skip
    lines = [head]
    for r in rows:
        errors = ",".join(sorted(set(r.errors))) or "-"
        lines.append((r.attack, r.contender, str(r.runs), str(r.accepted_wrongly),
                      str(r.credentials_elsewhere), str(r.other_host_contacted),
                      f"{r.worst_s:.2f}", f"{r.peak_rss_mb:.0f}", errors))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def summary(rows: list[Row]) -> dict[str, Any]:
    ours = [r for r in rows if r.contender == OURS]
    return {
        "injected": sum(r.runs for r in ours),
        "accepted_wrongly": sum(r.accepted_wrongly for r in ours),
        "credentials_elsewhere": sum(r.credentials_elsewhere for r in ours),
        "peak_rss_mb": max(r.peak_rss_mb for r in ours),
        "worst_s_to_error": max(r.worst_s for r in ours),
    }


def run(repeat: int = 2, peer: bool = True, peer_cap: float = 30.0) -> list[Row]:
    """Every attack against a fresh local service; the rows (ours, and the peer's)."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-storacha-attacks-") as tmp_name:
        tmp = Path(tmp_name)
        with running(start_storacha_service(tmp / "service")) as service:
            bench = Bench(service, make_credentials(service, tmp / "cli"), tmp, peer_cap)
            try:
                for attack in ATTACKS:
                    rows.append(bench.measure(attack, OURS, repeat))
                    if attack.peer and peer:
                        rows.append(bench.measure(attack, PEER, repeat))
                    print(table(rows[-2:] if attack.peer and peer else rows[-1:]), flush=True)
            finally:
                bench.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2, help="runs per attack and contender")
    parser.add_argument(
        "--peer-cap", type=float, default=30.0, help="seconds before a peer run is killed"
    )
    parser.add_argument("--no-peer", action="store_true", help="only our client")
    args = parser.parse_args()
    rows = run(args.repeat, not args.no_peer, args.peer_cap)
    print()
    print(table(rows))
    totals = summary(rows)
    print(json.dumps(totals))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"storacha-attacks-{time.strftime('%Y%m%dT%H%M%S')}.json"
    payload = {"rows": [asdict(r) for r in rows], "ours": totals, "rss_goal_mb": RSS_GOAL_MB}
    path.write_text(json.dumps(payload, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
