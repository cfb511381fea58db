"""The upload flow: UnixFS -> CAR shards -> blob/add, PUT, conclude, accept -> index -> upload/add.

Encoding runs on the caller's thread and writes shards to temp files; a worker thread
stores each closed shard (and offers its piece CID) while the next one is encoded, so
memory holds no shard and at most two shard files exist at once.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import queue
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipfs_kit_py.backends.storacha.client import (
    StorachaClient,
    concluded_receipts,
    raise_for_receipt,
)
from ipfs_kit_py.backends.storacha.debris import sigterm_as_interrupt, sweep_stale, temp_dir
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.message import AgentMessage, Receipt, issue_receipt
from ipfs_kit_py.backends.storacha.piece import BATCH_BYTES, NATIVE, PieceHasher, batch_root
from ipfs_kit_py.backends.storacha.resume import UploadState
from ipfs_kit_py.backends.storacha.sharding import Shard, ShardWriter, encode_dag_index
from ipfs_kit_py.backends.storacha.ucan import UCAN
from ipfs_kit_py.content.cid import CID, RAW, parse_cid
from ipfs_kit_py.content.unixfs import STORACHA, Block, import_file
from ipfs_kit_py.errors import BackendError, ProtocolError

__all__ = ["UploadResult", "Uploader"]

logger = logging.getLogger(__name__)

BlockSource = Callable[[Callable[[Block], None]], CID]  # feeds blocks, returns the root


@dataclass(frozen=True)
class UploadResult:
    """What an upload stored: the root, its shards (CAR CIDs), its index, the byte count."""

    root: CID
    shards: list[CID]
    index: CID
    size: int
    pieces: list[CID] = field(default_factory=list)


@dataclass
class _BlobEffects:
    allocate: Receipt | None
    put_task: UCAN
    put_cid: CID
    put_done: bool
    accept_cid: CID
    accept_by: str  # who may sign the blob/accept receipt besides the service
    accept: Receipt | None


class Uploader:
    """Stores DAGs in one space through a :class:`StorachaClient`."""

    def __init__(self, client: StorachaClient, space: str) -> None:
        self.client = client
        self.space = space
        self.config = client.config

    # -- public flows --------------------------------------------------------------

    def upload_file(
        self, source: str | os.PathLike[str] | Iterable[bytes], state: UploadState | None = None
    ) -> UploadResult:
        """Upload a file (path or byte chunks) with the Storacha UnixFS profile."""
        size = os.stat(source).st_size if isinstance(source, str | os.PathLike) else None
        return self.upload_dag(
            lambda sink: import_file(source, STORACHA, on_block=sink).cid, size, state
        )

    def upload_dag(
        self,
        produce: BlockSource,
        input_size: int | None = None,
        state: UploadState | None = None,
    ) -> UploadResult:
        """Shard the blocks ``produce`` emits, store every shard, index, and register.

        As ``@storacha/upload-client`` does, content of fewer than ``shard_size`` input
        bytes (``input_size``, when known) goes into one CAR, even if its blocks' framing
        makes that CAR a little larger than ``shard_size``. With a ``state`` (an earlier
        run's), shards and an index it lists as stored are not sent again; it is
        written as the upload goes and finished once ``upload/add`` succeeded.
        """
        one_car = input_size is not None and input_size < self.config.shard_size
        shard_size = sys.maxsize if one_car else self.config.shard_size
        sweep_stale()
        with sigterm_as_interrupt(), temp_dir("storacha-shards-") as tmp:
            pipeline = _ShardPipeline(self, state)
            writer = ShardWriter(Path(tmp), shard_size, pipeline.submit)
            try:
                root = produce(writer.add)
                shards = writer.finish(root)
            except BaseException:
                writer.abort()
                pipeline.cancel()
                raise
            pieces = pipeline.join()
        index_cid, index_car = encode_dag_index(root, shards)
        # nonces: the service answers an invocation it has seen (same CID: same fields
        # and second of expiry) with its stored receipt and does not run it again, so a
        # re-upload soon after upload/remove would be acknowledged and not registered
        if state is None or state.index != str(index_cid):
            self.add_blob(_sha256_multihash(index_cid), len(index_car), lambda: iter([index_car]))
            nb: dict[str, Any] = {"index": index_cid}
            self.client.invoke_ok("space/index/add", self.space, nb, nonce=True)
            if state is not None:
                state.indexed(str(index_cid))
        shard_cids = [s.cid for s in shards]
        nb = {"root": root, "shards": shard_cids}
        self.client.invoke_ok("upload/add", self.space, nb, nonce=True)
        if state is not None:
            state.finish()
        size = sum(s.size for s in shards)
        logger.info("uploaded %s in %d shard(s) to %s", root, len(shards), self.space)
        return UploadResult(root, shard_cids, index_cid, size, pieces)

    # -- one blob ------------------------------------------------------------------

    def add_blob(self, digest: bytes, size: int, body: Callable[[], Iterator[bytes]]) -> None:
        """space/blob/add, PUT when needed, conclude the http/put, await blob/accept."""
        # a nonce: a retry within the same second (a resumed upload) must not get the
        # service's cached receipt of the first try, which may predate the blob's PUT
        nb = {"blob": {"digest": digest, "size": size}}
        receipt, message = self.client.invoke("space/blob/add", self.space, nb, nonce=True)
        raise_for_receipt(receipt, "space/blob/add", self.space)
        fx = _blob_effects(receipt, message, self.client)
        if fx.allocate is None:
            raise ProtocolError(
                "space/blob/add receipt carries no blob/allocate receipt",
                backend="storacha",
                locator=self.space,
            )
        raise_for_receipt(fx.allocate, "blob/allocate", self.space)
        address = (fx.allocate.ok or {}).get("address")
        if not fx.put_done:
            if address:
                self._put(address, size, body)
            self._conclude_put(fx)
        accept = fx.accept if fx.accept is not None and fx.accept.ok is not None else None
        if accept is None:
            accept = self.client.poll_receipt(fx.accept_cid, delegates=[fx.accept_by])
        raise_for_receipt(accept, "blob/accept", self.space)

    def _put(self, address: Any, size: int, body: Callable[[], Iterator[bytes]]) -> None:
        """PUT the blob to the URL the verified allocate receipt names, and nowhere else."""
        url = address.get("url") if isinstance(address, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ProtocolError(
                "blob/allocate receipt names no HTTP URL to PUT the blob to", backend="storacha"
            )
        raw_headers = address.get("headers") or {}
        if not isinstance(raw_headers, dict) or not all(
            _header_text(k) and _header_text(v) for k, v in raw_headers.items()
        ):
            raise ProtocolError(
                "blob/allocate receipt has malformed PUT headers", backend="storacha"
            )
        headers = {str(k): str(v) for k, v in raw_headers.items()}
        headers["content-length"] = str(size)
        timeouts = self.config.timeouts  # idle wait per write; a node draining too slowly
        guard = timeouts.stall_guard(f"blob PUT to {url.split('?', 1)[0]}")  # is stalled
        answer = self.client.request(
            "PUT",
            url,
            content=guard.wrap(body()),
            headers=headers,
            total=False,
            max_bytes=_PUT_ANSWER_BYTES,
            timeout=timeouts.httpx(),
        )
        if answer.status >= 300:
            raise BackendError(
                f"blob PUT answered {answer.status}: {answer.text[:200]}",
                backend="storacha",
                locator=url.split("?", 1)[0],  # a presigned PUT URL's query is a credential
            )

    def _conclude_put(self, fx: _BlobEffects) -> None:
        facts = fx.put_task.fct[0] if fx.put_task.fct else {}
        keys = facts.get("keys") if isinstance(facts, dict) else None
        if not isinstance(keys, dict) or keys.get("id") not in (keys.get("keys") or {}):
            raise ProtocolError(
                "http/put task carries no signing key in its facts", backend="storacha"
            )
        derived = Signer.from_archive(bytes(keys["keys"][keys["id"]]))
        rcid, rblock = issue_receipt(derived, fx.put_cid, {})
        agent = self.client.signer.did
        self.client.invoke_ok(
            "ucan/conclude",
            agent,
            {"receipt": rcid},
            proofs=[],
            facts=[{"0": rcid}],
            attached={rcid: rblock},
            lifetime=None,  # as the JS client: the conclude never expires
        )

    def offer_piece(self, shard_digest: bytes, piece: CID) -> None:
        """filecoin/offer a shard's piece CID for aggregation into deals."""
        content = CID("base32", 1, RAW, shard_digest)
        self.client.invoke_ok(
            "filecoin/offer",
            self.client.signer.did,
            {"content": content, "piece": piece},
            proofs=self.client.proofs_for(self.space),
        )


class _ShardPipeline:
    """A worker thread storing shards while the encoder makes the next one.

    Up to ``upload_concurrency`` shards are transferred at once (blob/add, PUT streamed
    from the shard's temp file, accept), so at most that many shard files wait on the
    network. Piece CIDs of large shards are computed on two workers meanwhile: threads
    over the native tree, processes over the pure-Python fallback. Shards are finished
    (piece offered, temp file released) in order. A shard the ``state`` lists as stored
    (same position, same CID) is neither sent nor asked about; its piece, if offered
    then, is taken from the state.
    """

    def __init__(self, uploader: Uploader, state: UploadState | None = None) -> None:
        self.uploader = uploader
        self.state = state
        self._position = 0
        self._queue: queue.Queue[Shard | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._pieces: list[CID] = []
        self._pending: deque[_InFlight] = deque()
        self._pool: Executor | None = None
        self._combiner: Executor = _INLINE
        concurrency = uploader.config.upload_concurrency
        self._keep = max(concurrency - 1, _PIECE_BACKLOG if uploader.config.filecoin_offer else 0)
        self._transfers = ThreadPoolExecutor(concurrency, thread_name_prefix="storacha-put")
        self._thread = threading.Thread(target=self._run, name="storacha-upload", daemon=True)
        self._thread.start()

    def submit(self, shard: Shard) -> None:
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(shard, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while (shard := self._queue.get()) is not None:
            if self._error is not None:
                shard.release()
                continue
            try:
                self._store(shard)
            except BaseException as exc:
                self._error = exc
        try:
            if self._error is None:
                self._drain(0)
        except BaseException as exc:
            self._error = exc
        finally:
            self._transfers.shutdown(wait=True)  # no PUT still reads a file released below
            for flight in self._pending:
                flight.shard.release()

    def _store(self, shard: Shard) -> None:
        position, self._position = self._position, self._position + 1
        saved = None
        if self.state is not None and position in self.state.shards:
            saved = self.state.accepted(position, str(shard.cid))
        offer = self.uploader.config.filecoin_offer
        if saved is not None:
            logger.debug("shard %d (%s) was stored before: not sent again", position, shard.cid)
            transfer: Future[None] = _INLINE.submit(lambda: None)
            if saved.piece is not None:
                piece = _INLINE.submit(parse_cid, saved.piece) if offer else None
                self._pending.append(_InFlight(shard, position, piece, transfer, offered=True))
                self._drain(self._keep)
                return
        else:
            transfer = self._transfers.submit(self._transfer, position, shard)
        piece = self._piece_future(shard) if offer else None
        self._pending.append(_InFlight(shard, position, piece, transfer))
        self._drain(self._keep)

    def _transfer(self, position: int, shard: Shard) -> None:
        self.uploader.add_blob(shard.digest, shard.size, shard.chunks)
        if self.state is not None:
            self.state.shard_stored(position, str(shard.cid), shard.size)

    def _piece_future(self, shard: Shard) -> Future[CID]:
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        if shard.size < _PROCESS_MIN_BYTES or not (NATIVE or can_fork):
            return _INLINE.submit(_piece_of, shard)
        if self._pool is None:
            if NATIVE:  # the C tree releases the GIL: threads use both cores
                self._pool = ThreadPoolExecutor(_PIECE_PROCESSES, thread_name_prefix="piece")
            else:  # pure Python holds the GIL: processes (fork, not spawn, which
                # would re-run an unguarded __main__ of the calling program)
                context = multiprocessing.get_context("fork")
                self._pool = ProcessPoolExecutor(_PIECE_PROCESSES, mp_context=context)
            self._combiner = ThreadPoolExecutor(1, thread_name_prefix="storacha-piece")
        return self._combiner.submit(piece_in_parallel, shard, self._pool)

    def _drain(self, keep: int) -> None:
        """Finish the oldest shards until at most ``keep`` are in flight."""
        while len(self._pending) > keep:
            flight = self._pending[0]
            flight.transfer.result()
            piece = flight.piece.result() if flight.piece is not None else None
            self._pending.popleft()
            flight.shard.release()
            if piece is None:
                continue
            if not flight.offered:
                self.uploader.offer_piece(flight.shard.digest, piece)
                if self.state is not None:
                    self.state.piece_offered(flight.position, str(piece))
            self._pieces.append(piece)

    def _shutdown(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._pool is not None:
            self._combiner.shutdown(cancel_futures=True)
            self._pool.shutdown(cancel_futures=True)

    def join(self) -> list[CID]:
        self._shutdown()
        if self._error is not None:
            raise self._error
        return self._pieces

    def cancel(self) -> None:
        self._error = self._error or BackendError("upload cancelled", backend="storacha")
        self._shutdown()


@dataclass
class _InFlight:
    """A shard between its hand-over and its finish: transfer and piece futures."""

    shard: Shard
    position: int
    piece: Future[CID] | None
    transfer: Future[None]
    offered: bool = False


class _InlineExecutor(Executor):
    """Runs the call at once (small shards are not worth a process)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


_INLINE = _InlineExecutor()
_PUT_ANSWER_BYTES = 1024 * 1024
_PIECE_BACKLOG = 1
_PROCESS_MIN_BYTES = 16 * 1024 * 1024
_PIECE_PROCESSES = 2


def _piece_of(shard: Shard) -> CID:
    hasher = PieceHasher()
    for chunk in shard.chunks():
        hasher.update(chunk)
    return hasher.cid()


def _batch_roots(shard: Shard, first: int, last: int) -> list[bytes]:
    return [batch_root(shard.read(i * BATCH_BYTES, BATCH_BYTES)) for i in range(first, last)]


def piece_in_parallel(shard: Shard, pool: Executor, parts: int = _PIECE_PROCESSES) -> CID:
    """The shard's piece CID, its independent subtrees split over ``pool``'s processes."""
    batches = shard.size // BATCH_BYTES
    cuts = [batches * i // parts for i in range(parts + 1)]
    futures = [pool.submit(_batch_roots, shard, a, b) for a, b in itertools.pairwise(cuts) if b > a]
    tail = shard.read(batches * BATCH_BYTES, shard.size - batches * BATCH_BYTES)
    roots = [root for future in futures for root in future.result()]
    return PieceHasher.from_parts(roots, tail).cid()


def _header_text(value: Any) -> bool:
    """True for a string httpx can send as a header: printable ASCII, no CR or LF."""
    return isinstance(value, str) and value.isascii() and value.isprintable()


def _sha256_multihash(cid: CID) -> bytes:
    return bytes(cid.digest)


def _blob_effects(receipt: Receipt, message: AgentMessage, client: StorachaClient) -> _BlobEffects:
    """The tasks a verified space/blob/add receipt lists, and their verified receipts.

    The receipt's signature commits to its ``fx.fork`` task CIDs, so each task says what
    the service asked of whom: a receipt of a task is accepted from the service or from
    that task's audience (the storage node, the http/put key), signature checked.
    """
    tasks: dict[str, tuple[CID, UCAN]] = {}
    for cid in receipt.fork:
        ucan = message.invocation(cid)
        if ucan is not None and ucan.att:
            tasks.setdefault(str(ucan.att[0].get("can")), (cid, ucan))
    needed = ("blob/allocate", "http/put", "blob/accept")
    if any(n not in tasks for n in needed):
        raise ProtocolError(
            f"space/blob/add receipt lacks effects: {sorted(tasks)}", backend="storacha"
        )
    concluded = {r.ran: r for r in concluded_receipts(message, receipt.fork)}

    def verified(name: str) -> Receipt | None:
        cid, task = tasks[name]
        found = concluded.get(cid)
        if found is not None:
            client.verify_receipt(found, cid, delegates=[task.aud])
        return found

    put_cid, put_task = tasks["http/put"]
    put = verified("http/put")
    accept_cid, accept_task = tasks["blob/accept"]
    return _BlobEffects(
        allocate=verified("blob/allocate"),
        put_task=put_task,
        put_cid=put_cid,
        put_done=put is not None and put.ok is not None,
        accept_cid=accept_cid,
        accept_by=accept_task.aud,
        accept=verified("blob/accept"),
    )
