"""Attacks on a Storacha client, as rules for :class:`~tests.servers.hostile.HostileProxy`.

Each rule plays a hostile or hijacked service or gateway in front of the real local
service: receipts re-signed by a self-named key, a genuine receipt of an earlier
``upload/add`` replayed, redirects to another host, oversized, endless and dripped
answers, truncated / endless / repeating CARs, a huge ``?format=raw``. The tests and
``bench/storacha_attacks.py`` use the same rules. Run as a module, it makes one call
under an attack in a fresh process and prints its outcome and peak RSS as JSON.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ipfs_kit_py.backends.storacha import _cbor
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import MESSAGE_TAG, AgentMessage
from ipfs_kit_py.backends.storacha.piece import register_piece_multihash
from ipfs_kit_py.backends.storacha.ucan import link_str
from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID, DAG_CBOR, RAW, parse_cid, sha256_cid
from ipfs_kit_py.content.unixfs import STORACHA, import_file
from ipfs_kit_py.errors import ProtocolError
from tests.servers.hostile import Exchange, Reply, drip, endless, zeros

CAR_TYPE = "application/vnd.ipld.car"
HUGE = 400 * 1024 * 1024


# -- agent messages ------------------------------------------------------------------------


def invoked(body: bytes) -> list[str]:
    """The abilities a request's agent message invokes (none if it is not one)."""
    register_piece_multihash()  # filecoin/offer carries piece CIDs
    try:
        message = AgentMessage.decode(body)
        ucans = [message.invocation(cid) for cid in message.execute]
    except ProtocolError:
        return []
    return [str(cap.get("can")) for ucan in ucans if ucan for cap in ucan.att]


def encode_message(blocks: dict[CID, bytes], report: dict[str, CID]) -> bytes:
    """An agent-message CAR reporting ``report`` with ``blocks``."""
    root = _cbor.encode({MESSAGE_TAG: {"report": report}})
    root_cid = sha256_cid(DAG_CBOR, root)
    parts = [encode_car_header([root_cid])]
    parts += [encode_car_block(c, d) for c, d in blocks.items()]
    parts.append(encode_car_block(root_cid, root))
    return b"".join(parts)


def resign(body: bytes, signer: Signer) -> bytes:
    """Every reported receipt re-issued by ``signer``, naming itself as issuer."""
    register_piece_multihash()  # filecoin/offer receipts carry piece CIDs
    message = AgentMessage.decode(body)
    blocks = dict(message.blocks)
    report: dict[str, CID] = {}
    for task, rcid in message.report.items():
        raw = _cbor.decode(blocks[rcid])
        raw["ocm"]["iss"] = signer.did
        raw["sig"] = signer.sign(_cbor.encode(raw["ocm"]))
        data = _cbor.encode(raw)
        report[task] = sha256_cid(DAG_CBOR, data)
        blocks[report[task]] = data
    return encode_message(blocks, report)


def forge_receipts(exchange: Exchange) -> Reply:
    """Answer with the real receipts, each re-signed by a fresh key that names itself."""
    real = exchange.forward()
    is_car = "car" in {k.lower(): v for k, v in real.headers.items()}.get("content-type", "")
    if real.status != 200 or not is_car or not isinstance(real.body, bytes):
        return real  # did.json, /version
    return Reply(200, {"content-type": CAR_TYPE}, resign(real.body, Signer.generate()))


def forge_receipts_by(signer: Signer) -> Any:
    """Like :func:`forge_receipts`, re-signed by ``signer`` (e.g. a key under the service DID)."""

    def rule(exchange: Exchange) -> Reply:
        real = exchange.forward()
        is_car = "car" in {k.lower(): v for k, v in real.headers.items()}.get("content-type", "")
        if real.status != 200 or not is_car or not isinstance(real.body, bytes):
            return real
        return Reply(200, {"content-type": CAR_TYPE}, resign(real.body, signer))

    return rule


def nested_receipt(exchange: Exchange) -> Reply:
    """Answer each task with a receipt whose ``out`` nests 100,000 arrays deep."""
    if exchange.method != "POST":
        return exchange.forward()
    task = AgentMessage.decode(exchange.body).execute[0]
    ran = _cbor.encode({"ran": task})[1:]  # the map's one pair, without its header
    ocm = b"\xa2" + ran + b"\x63out\xa1\x62ok" + b"\x81" * 100_000 + b"\x00"
    block = b"\xa2\x63ocm" + ocm + b"\x63sig\x40"
    rcid = sha256_cid(DAG_CBOR, block)
    body = encode_message({rcid: block}, {link_str(task): rcid})
    return Reply(200, {"content-type": CAR_TYPE}, body)


def many_tiny_blocks(count: int) -> Any:
    """Answer with ``count`` tiny raw blocks and an empty report (built here, once)."""
    blocks = {}
    for i in range(count):
        data = i.to_bytes(4, "big")
        blocks[sha256_cid(RAW, data)] = data
    body = encode_message(blocks, {})

    def rule(exchange: Exchange) -> Reply:
        if exchange.method != "POST":
            return exchange.forward()
        return Reply(200, {"content-type": CAR_TYPE}, body)

    return rule


class CrossTaskBlobAdd:
    """Forward the first ``space/blob/add``; answer a later one (another blob) with the
    first's genuine, service-signed receipt and its effects (allocate, put, accept)."""

    def __init__(self) -> None:
        self.stored: AgentMessage | None = None
        self.replayed = 0

    def __call__(self, exchange: Exchange) -> Reply:
        if exchange.method != "POST" or "space/blob/add" not in invoked(exchange.body):
            return exchange.forward()
        real = exchange.forward()
        if self.stored is None:
            self.stored = AgentMessage.decode(bytes(real.body))
            return real
        task = AgentMessage.decode(exchange.body).execute[0]
        (receipt,) = self.stored.report.values()
        self.replayed += 1
        body = encode_message(dict(self.stored.blocks), {link_str(task): receipt})
        return Reply(200, {"content-type": CAR_TYPE}, body)


def redirect_gets(target: str) -> Any:
    """Answer every GET with a 302 to ``target``; forward the rest."""

    def rule(exchange: Exchange) -> Reply:
        if exchange.method != "GET":
            return exchange.forward()
        return Reply(302, {"location": target}, b"")

    return rule


class ReplayUploadAdd:
    """Forward the first ``upload/add``; answer every later one with its genuine receipt."""

    def __init__(self) -> None:
        self.stored: bytes | None = None
        self.replayed = 0

    def __call__(self, exchange: Exchange) -> Reply:
        if exchange.method != "POST" or "upload/add" not in invoked(exchange.body):
            return exchange.forward()
        if self.stored is None:
            real = exchange.forward()
            self.stored = bytes(real.body) if isinstance(real.body, bytes) else None
            return real
        old = AgentMessage.decode(self.stored)
        task = AgentMessage.decode(exchange.body).execute[0]
        (receipt,) = old.report.values()
        self.replayed += 1
        body = encode_message(dict(old.blocks), {str(task.encode("base32")): receipt})
        return Reply(200, {"content-type": CAR_TYPE}, body)


def redirect_posts(target: str, status: int = 307) -> Any:
    """Answer every POST with a redirect to ``target`` (same path); forward the rest."""

    def rule(exchange: Exchange) -> Reply:
        if exchange.method != "POST":
            return exchange.forward()
        return Reply(status, {"location": target + exchange.path}, b"")

    return rule


def oversized_answer(exchange: Exchange) -> Reply:
    """A 400 MB answer to every POST, announced in content-length."""
    if exchange.method != "POST":
        return exchange.forward()
    return Reply(200, {"content-type": CAR_TYPE, "content-length": str(HUGE)}, zeros(HUGE))


def endless_answer(exchange: Exchange) -> Reply:
    """An answer to every POST that never ends (no content-length)."""
    if exchange.method != "POST":
        return exchange.forward()
    return Reply(200, {"content-type": CAR_TYPE}, endless())


class DrippedAnswer:
    """The real answer to every POST, one byte a second; counts the bytes it got out."""

    def __init__(self, every_s: float = 1.0) -> None:
        self.every_s = every_s
        self.sent = 0

    def __call__(self, exchange: Exchange) -> Reply:
        if exchange.method != "POST":
            return exchange.forward()
        real = exchange.forward()
        assert isinstance(real.body, bytes)
        return Reply(real.status, {"content-type": CAR_TYPE}, self._count(real.body))

    def _count(self, body: bytes) -> Iterator[bytes]:
        for byte in drip(body, self.every_s):
            yield byte
            self.sent += 1


# -- gateway answers -------------------------------------------------------------------------


def _cid_of(exchange: Exchange) -> CID:
    return parse_cid(exchange.path.split("?")[0].rsplit("/", 1)[-1])


def truncated_car(exchange: Exchange) -> Reply:
    """The real CAR cut in half (raw blocks pass)."""
    real = exchange.forward()
    if "format=car" not in exchange.path or not isinstance(real.body, bytes):
        return real
    return Reply(real.status, {"content-type": CAR_TYPE}, real.body[: len(real.body) // 2])


def _junk_blocks(root: CID) -> Iterator[bytes]:
    yield encode_car_header([root])
    n = 0
    end = time.monotonic() + 120
    while time.monotonic() < end:
        data = n.to_bytes(8, "big") * 8192  # 64 KiB, every block distinct
        yield encode_car_block(sha256_cid(RAW, data), data)
        n += 1


def endless_unneeded_car(exchange: Exchange) -> Reply:
    """A CAR for the right root that only ever sends blocks nobody asked for."""
    if "format=car" not in exchange.path:
        return exchange.forward()
    return Reply(200, {"content-type": CAR_TYPE}, _junk_blocks(_cid_of(exchange)))


def repeated_block_car(exchange: Exchange) -> Reply:
    """A CAR for the right root repeating its (genuine) root block forever."""
    if "format=car" not in exchange.path:
        return exchange.forward()
    root = _cid_of(exchange)
    raw = exchange.forward(exchange.path.replace("format=car", "format=raw"))
    assert isinstance(raw.body, bytes)
    block = encode_car_block(root, raw.body)
    return Reply(200, {"content-type": CAR_TYPE}, _after(encode_car_header([root]), block))


def _after(first: bytes, repeated: bytes) -> Iterator[bytes]:
    yield first
    yield from endless(repeated)


def huge_raw(exchange: Exchange) -> Reply:
    """A 400 MB ``?format=raw`` body; CARs pass."""
    if "format=raw" not in exchange.path:
        return exchange.forward()
    return Reply(200, {"content-type": "application/vnd.ipld.raw"}, zeros(HUGE))


def wrong_raw(exchange: Exchange) -> Reply:
    """A block that does not match its CID for ``?format=raw``; CARs pass."""
    if "format=raw" not in exchange.path:
        return exchange.forward()
    return Reply(200, {"content-type": "application/vnd.ipld.raw"}, b"not the block")


def multi_block_root(size: int = 2_500_000) -> CID:
    """The root CID of ``size`` bytes of the probe content (a dag-pb root with links)."""
    return import_file([_probe(size)], STORACHA).cid


def _probe(size: int) -> bytes:
    return (b"hostile-gateway-probe-" * (size // 22 + 1))[:size]


# -- one call in a fresh process (peak RSS) ------------------------------------------------


def _call(kind: str, config: dict[str, Any]) -> None:
    from ipfs_kit_py.backends.storacha.backend import StorachaBackend
    from ipfs_kit_py.backends.storacha.config import StorachaConfig

    with StorachaBackend(StorachaConfig.from_sources(config, {}, {})) as backend:
        if kind == "list":
            backend.list_uploads()
        elif kind == "upload":
            backend.upload_file([os.urandom(100_000)])
        elif kind == "cat":
            for _ in backend.get(parse_cid(os.environ["HOSTILE_CID"])):
                pass
        elif kind == "block":
            backend.gateway.get_block(parse_cid(os.environ["HOSTILE_CID"]))


def main(argv: list[str]) -> int:
    """``python -m tests.servers.hostile_storacha KIND CONFIG_JSON``: one call; JSON out."""
    kind, config = argv[0], json.loads(argv[1])
    start = time.monotonic()
    outcome = {"error_type": None, "error": ""}
    try:
        _call(kind, config)
    except Exception as exc:
        outcome = {"error_type": type(exc).__name__, "error": str(exc)[:300]}
    seconds = round(time.monotonic() - start, 2)
    print(
        json.dumps({**outcome, "seconds": seconds, "peak_rss_mb": round(peak_rss_kb() / 1024, 1)})
    )
    return 0


def peak_rss_kb() -> int:
    """This process's peak RSS. ``ru_maxrss`` would not do: Linux carries the parent's
    peak over ``exec``, so a child of a big pytest process would report the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
