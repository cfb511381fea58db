"""Three nodes, one shared index (real PostgreSQL), one S3 (real SeaweedFS), in separate
processes with separate cache dirs: node A adds, node B sees A's copies and reads S3
verified, and three policy workers, one SIGKILLed midway, bring every CID to two copies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
from tests.servers.nodes import add_objects, finish, kit_cli, node_env
from tests.servers.postgres import Postgres
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.content.cid import cid_key, parse_cid

# the 2,000, in CI too; IPFS_KIT_FLEET_CIDS=400 for a quick run
FLEET_CIDS = int(os.environ.get("IPFS_KIT_FLEET_CIDS", "2000"))


def _node(root: Path, name: str, url: str, s3: SeaweedS3, prefix: str) -> dict[str, str]:
    """The environment of one node with S3 and a two-copy policy."""
    return node_env(
        root,
        name,
        url,
        "[replication]\nmin_copies = 2\n"
        f'[s3]\nendpoint_url = "{s3.endpoint_url}"\naccess_key_id = "{s3.access_key}"\n'
        f'secret_access_key = "{s3.secret_key}"\nregion = "{s3.region}"\n'
        f'bucket = "{s3.bucket}"\nkey_prefix = "{prefix}"\n',
    )


def test_three_nodes_share_one_ledger(
    postgres: Postgres, seaweedfs: SeaweedS3, tmp_path: Path
) -> None:
    url = postgres.new_database()
    trace = _Trace(url)
    try:
        _three_nodes(url, seaweedfs, tmp_path, trace)
    except BaseException:
        print(trace.report())  # pytest shows it with the failure: the run explains itself
        raise


def _three_nodes(url: str, seaweedfs: SeaweedS3, tmp_path: Path, trace: _Trace) -> None:
    prefix = f"fleet-{uuid.uuid4().hex[:8]}/"
    a, b = (_node(tmp_path, n, url, seaweedfs, prefix) for n in ("node-a", "node-b"))

    # node A adds to its disk and S3; node B sees both and reads S3, verified
    [(cid, data)] = add_objects(a, "disk,s3", 0, 1).items()
    code, out, err = finish(kit_cli(b, "whereis", "--json", cid))
    assert code == 0, err
    where = json.loads(out)
    assert where["node"] == "node-b" and where["backends"] == ["s3"]
    assert where["other_nodes"] == [
        {"node": "node-a", "backend": "disk", "state": "good", "peer_url": None}
    ]
    assert where["peer_routes"] == []  # A does not serve: its disk is not read from here
    code, out, err = finish(kit_cli(b, "cat", cid))
    assert code == 0 and out.encode() == data, err

    # FLEET_CIDS with one copy each (S3); three workers, one killed midway
    objects = trace.objects = add_objects(a, "s3", 1, FLEET_CIDS)
    workers = {n: _node(tmp_path, n, url, seaweedfs, prefix) for n in ("w1", "w2", "w3")}
    args = ("policy", "run", "--once", "--json", "--lease", "3", "--batch", "4")
    first = kit_cli(workers["w1"], *args)  # w1 gets busy first, so it dies holding leases
    trace.procs = {"w1": first}
    trace.event("w1 started")
    _wait_until_busy(url, first, "w1/")
    procs = {n: kit_cli(workers[n], *args) for n in ("w2", "w3")}
    trace.procs = {"w1": first, **procs}
    trace.event("w2, w3 started")
    first.send_signal(signal.SIGKILL)
    trace.event("w1 killed: " + trace.ledger_counts())
    trace.logs["w1"] = first.communicate(timeout=30)
    results = {}
    for name, proc in procs.items():
        results[name] = finish(proc)
        trace.logs[name] = results[name][1:]
        trace.event(f"{name} exited {results[name][0]}")
    for name, (code, _, err) in results.items():
        assert code == 0, f"{name}: {err}"
    reports = {n: json.loads(out)["report"] for n, (_, out, _) in results.items()}
    assert reports["w2"]["repaired"] + reports["w3"]["repaired"] > 0

    # the killed worker's node comes back: its debris is swept, nothing is left to do
    code, out, err = finish(kit_cli(workers["w1"], "policy", "run", "--once", "--json"))
    trace.logs["w1 again"] = (out, err)
    assert code == 0, err
    assert json.loads(out)["report"]["queued"] == 0

    _assert_two_verified_copies_each(url, objects, workers)
    for name in workers:
        for tmp in (tmp_path / name / "cache").rglob("tmp"):
            assert not list(tmp.iterdir()), f"temp files left behind in {tmp}"
    uploads = boto_client(seaweedfs).list_multipart_uploads(Bucket=seaweedfs.bucket, Prefix=prefix)
    assert not uploads.get("Uploads")


class _Trace:
    """What the scenario saw, for its failure report: events with times, every worker's
    output, and the ledger of each CID that did not end with exactly S3 + one disk copy."""

    def __init__(self, url: str) -> None:
        self.url, self.started = url, time.monotonic()
        self.events: list[str] = []
        self.logs: dict[str, tuple[str, str]] = {}
        self.objects: dict[str, bytes] = {}
        self.procs: dict[str, subprocess.Popen[str]] = {}

    def event(self, what: str) -> None:
        self.events.append(f"{time.monotonic() - self.started:8.2f}s {what}")

    def ledger_counts(self) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT (SELECT count(*) FROM repair_queue), (SELECT count(*) FROM repair_queue "
                "WHERE lease_owner IS NOT NULL), (SELECT count(*) FROM locations)"
            ).fetchall()
        return "queue {}, leased {}, locations {}".format(*rows[0])

    def report(self) -> str:
        for name, proc in self.procs.items():  # one still running: stop it, keep its output
            if name not in self.logs:
                proc.kill()
                with contextlib.suppress(Exception):  # its output may be read already
                    self.logs[name] = proc.communicate(timeout=30)
        lines = ["--- fleet trace", *self.events]
        try:
            lines += self._ledger()
        except Exception as exc:  # the report must not hide the failure it explains
            lines.append(f"(ledger unreadable: {exc!r})")
        for name, (out, err) in self.logs.items():
            lines += [f"--- {name} stdout", out[-20000:], f"--- {name} stderr", err[-20000:]]
        return "\n".join(lines)

    def _ledger(self) -> list[str]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            locs = conn.execute(
                "SELECT cid, backend, node, bad, missing, locator FROM locations ORDER BY cid"
            ).fetchall()
            queue = conn.execute(
                "SELECT cid, lease_owner, attempts, last_error FROM repair_queue"
            ).fetchall()
        rows: dict[str, list[tuple[str, int, int]]] = {}
        shown: dict[str, list[str]] = {}
        for key, backend, node, bad, missing, locator in locs:
            rows.setdefault(key, []).append((backend, bad, missing))
            shown.setdefault(key, []).append(f"{backend}@{node or '-'} b{bad}m{missing} {locator}")
        keys = {cid_key(parse_cid(c)): c for c in self.objects}
        odd = [k for k in keys if sorted(rows.get(k, [])) != [("disk", 0, 0), ("s3", 0, 0)]]
        lines = [f"--- ledger: {len(locs)} locations, {len(queue)} queued, {len(odd)} CIDs odd"]
        lines += [f"queued {row}" for row in queue[:50]]
        lines += [f"{keys[k]}: {shown.get(k, 'no location')}" for k in odd[:50]]
        return lines


def _wait_until_busy(url: str, proc: subprocess.Popen[str], owner: str) -> None:
    """Return once ``proc`` holds leases and has made some copies."""
    deadline = time.monotonic() + 300
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            held = conn.execute(
                "SELECT count(*) FROM repair_queue WHERE lease_owner LIKE %s", (owner + "%",)
            ).fetchone()
            copied = conn.execute(
                "SELECT count(*) FROM locations WHERE node = %s", (owner.rstrip("/"),)
            ).fetchone()
            if held and held[0] and copied and copied[0] >= 3:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        else:
            raise AssertionError("worker w1 never got busy")


def _assert_two_verified_copies_each(
    url: str, objects: dict[str, bytes], workers: dict[str, dict[str, str]]
) -> None:
    """Every CID: its S3 copy and exactly one worker's disk copy, holding its bytes."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT cid, backend, node, locator FROM locations WHERE bad = 0 AND missing = 0"
        ).fetchall()
    by_cid: dict[str, list[tuple[str, str, str]]] = {}
    for key, backend, node, locator in rows:
        by_cid.setdefault(key, []).append((backend, node, locator))
    for cid, data in objects.items():
        copies = by_cid[cid_key(parse_cid(cid))]
        assert sorted(b for b, _, _ in copies) == ["disk", "s3"], copies  # no copy made twice
        [(_, node, locator)] = [c for c in copies if c[0] == "disk"]
        assert node in workers and Path(locator).read_bytes() == data
