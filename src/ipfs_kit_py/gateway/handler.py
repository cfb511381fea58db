"""Answering one ``GET``/``HEAD /ipfs/...`` request: a :class:`Response` whose body is
an iterator of verified bytes. Synchronous: the ASGI app runs it in a worker thread.
"""

from __future__ import annotations

import hashlib
import html
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import quote

from ipfs_kit_py.content.car import encode_car_block, encode_car_header
from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.errors import ContentNotFoundError, ResourceLimitError
from ipfs_kit_py.gateway import dagwalk
from ipfs_kit_py.gateway.export_feed import DagExporter, ExportFeed
from ipfs_kit_py.gateway.listing import LISTING_VERSION, render_listing
from ipfs_kit_py.gateway.mime import SNIFF_BYTES, sniff, type_from_name
from ipfs_kit_py.gateway.params import (
    MEDIA_TYPES,
    CarParams,
    HTTPError,
    IpfsPath,
    choose_format,
    cid_str,
    parse_car_params,
    parse_ipfs_path,
    parse_range,
    resolve_span,
)
from ipfs_kit_py.gateway.prefetch import Prefetcher

__all__ = ["GatewayHandler", "Request", "Response"]

IMMUTABLE = "public, max-age=29030400, immutable"
_INLINE_BYTES = 256 * 1024
_CAR_BATCH_BYTES = 64 * 1024
_CAR_BATCH_S = 0.25
_IDENTITY = 0x00
_CODEC_TYPES = {
    0x0200: "application/json",
    0x51: "application/cbor",
    0x0129: "application/vnd.ipld.dag-json",
    0x71: "application/vnd.ipld.dag-cbor",
}

_SAME_CODEC = {"json": 0x0200, "cbor": 0x51, "dag-json": 0x0129, "dag-cbor": 0x71}


@dataclass(frozen=True, slots=True)
class Request:
    """What the handler reads of an HTTP request (header names in lower case)."""

    method: str
    raw_path: bytes
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    query_string: str = ""


@dataclass
class Response:
    """Status, headers and a body (bytes or an iterator of verified chunks)."""

    status: int
    headers: dict[str, str]
    body: bytes | Iterator[bytes] = b""


class GatewayHandler:
    """Turns requests into responses over verified blocks (15a's :class:`VerifiedBlocks`).

    ``max_car_bytes`` bounds one CAR response: past it the stream is cut (a truncated
    CAR, which clients reject), never silently ended.
    """

    def __init__(
        self, blocks: VerifiedBlocks, *, max_car_bytes: int = 16 << 30, read_ahead: int = 8
    ) -> None:
        self.blocks = blocks
        self.get = blocks.get  # every block verified against its CID, or an error
        self.max_car_bytes = max_car_bytes
        self._pool = ThreadPoolExecutor(read_ahead, "ipfs-kit-read-ahead")

    def close(self) -> None:
        """Stop the read-ahead threads (idempotent)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def handle(self, request: Request) -> Response:
        """Answer ``request`` (GET or HEAD under ``/ipfs/``); raises :class:`HTTPError`."""
        path = parse_ipfs_path(request.raw_path)
        headers = request.headers
        if headers.get("service-worker") == "script":
            raise HTTPError(400, "registering a service worker from /ipfs/ is not allowed")
        fmt, accept_params, from_accept = choose_format(
            request.query.get("format"), headers.get("accept", "")
        )
        if fmt not in ("", "raw", "car", *_SAME_CODEC):
            status = 400 if fmt == "ipns-record" else 406
            raise HTTPError(status, f"format {fmt} is not served for /ipfs/ content here")
        if "only-if-cached" in headers.get("cache-control", "") and not self._held(path.cid):
            raise HTTPError(412, "not held here (only-if-cached)")
        shown = quote(path.text(), safe="/")  # header values are ASCII
        common = {"cache-control": IMMUTABLE, "vary": "Accept", "x-ipfs-path": shown}
        if from_accept and fmt:
            sep = "&" if request.query_string else ""
            url = f"{shown}?{request.query_string}{sep}format={fmt}"
            common["content-location"] = url
        if fmt == "raw":
            return self._raw(request, path, common)
        if fmt == "car":
            return self._car(request, path, common, parse_car_params(request.query, accept_params))
        if fmt:
            return self._as_codec(request, path, common, fmt)
        return self._deserialized(request, path, common)

    def _as_codec(
        self, request: Request, path: IpfsPath, common: dict[str, str], fmt: str
    ) -> Response:
        """``json``, ``cbor``, ``dag-json``, ``dag-cbor``: the block as it is when its
        codec is that format (no conversion, IPIP-524), a UnixFS file for ``json`` (the
        spec's exception), else 406."""
        found = dagwalk.resolve(path.cid, path.segments, self.get)
        if found.cid.codec.code == _SAME_CODEC[fmt]:
            return self._deserialized(request, path, common)
        if fmt == "json" and found.kind == "file":  # its own Content-Type, as kubo
            return self._deserialized(request, path, common)
        raise HTTPError(
            406, f"format {fmt} does not fit {found.cid.codec.name} data (no conversion)"
        )

    def _held(self, cid: CID) -> bool:
        """Whether the root block is here: every source is this gateway's own store
        (it never fetches from the network), so one read of the root answers."""
        try:
            self.get(cid)
        except ContentNotFoundError:
            return False
        return True

    # -- trustless --------------------------------------------------------------------

    def _raw(self, request: Request, path: IpfsPath, common: dict[str, str]) -> Response:
        found = dagwalk.resolve(path.cid, path.segments, self.get)
        name = request.query.get("filename") or f"{cid_str(found.cid)}.bin"
        headers = {
            **common,
            "content-type": MEDIA_TYPES["raw"],
            "x-content-type-options": "nosniff",
            "content-disposition": _disposition(name, attachment=True),
            "etag": f'"{cid_str(found.cid)}.raw"',
            "accept-ranges": "bytes",
            "x-ipfs-roots": ",".join(cid_str(c) for c in found.roots),
        }
        if _not_modified(request, headers["etag"]):
            return Response(304, _without_body_headers(headers))
        return _bytes_response(request, headers, found.data)

    def _car(
        self, request: Request, path: IpfsPath, common: dict[str, str], car: CarParams
    ) -> Response:
        found = dagwalk.resolve(path.cid, path.segments, self.get)
        span = self._car_span(found, car)
        tag = hashlib.sha256(
            f"{path.text()}|{car.scope}|{car.entity_bytes}|{car.dups}".encode()
        ).hexdigest()[:16]
        last = f"_{path.segments[-1]}" if path.segments else ""
        name = request.query.get("filename") or f"{cid_str(path.cid)}{last}.car"
        headers = {
            **common,
            "content-type": car.content_type(),
            "x-content-type-options": "nosniff",
            "content-disposition": _disposition(name, attachment=True),
            "etag": f'"{cid_str(path.cid)}.car.{tag}"',
            "accept-ranges": "none",
            "x-ipfs-roots": ",".join(cid_str(c) for c in found.roots),
        }
        if _not_modified(request, headers["etag"]):
            return Response(304, _without_body_headers(headers))
        if request.method == "HEAD":
            return Response(200, headers)
        return Response(200, headers, self._car_body(found.cid, found, car, span))

    def _car_span(self, found: dagwalk.Resolved, car: CarParams) -> tuple[int, int] | None:
        """The byte range ``entity-bytes`` asks of a file; 400 if it lies wholly past
        the end (known before anything is sent)."""
        if car.entity_bytes is None or found.kind != "file" or found.node is None:
            return None
        size = dagwalk.file_size(found.node)
        start = car.entity_bytes[0]
        if start >= size > 0:
            raise HTTPError(400, f"entity-bytes starts at {start}, past the {size}-byte file")
        return resolve_span(car.entity_bytes, size)

    def _car_body(
        self, root: CID, found: dagwalk.Resolved, car: CarParams, span: tuple[int, int] | None
    ) -> Iterator[bytes]:
        yield encode_car_header([root])
        seen: set[bytes] = set()
        sent = 0
        batch = bytearray()  # small blocks go out together: one send per ~64 KiB,
        flushed = time.monotonic()  # or sooner when they come slowly
        for cid, data in self._car_blocks(found, car, span):
            key = bytes(cid)
            if cid.hashfun.code == _IDENTITY or (not car.dups and key in seen):
                continue
            seen.add(key)
            section = encode_car_block(cid, data)
            sent += len(section)
            if sent > self.max_car_bytes:
                raise ResourceLimitError(
                    f"CAR of {cid_str(root)} passes {self.max_car_bytes} bytes"
                )
            batch += section
            now = time.monotonic()
            if len(batch) >= _CAR_BATCH_BYTES or now - flushed >= _CAR_BATCH_S:
                yield bytes(batch)
                batch.clear()
                flushed = now
        if batch:
            yield bytes(batch)

    def _car_blocks(
        self, found: dagwalk.Resolved, car: CarParams, span: tuple[int, int] | None
    ) -> Iterator[dagwalk.Block]:
        yield from found.path_blocks
        if car.scope == "block" or (car.entity_bytes is not None and span is None):
            yield found.cid, found.data
            return
        if span is None and not car.dups and (car.scope == "all" or found.kind == "file"):
            exported = self._exported(found.cid)
            if exported is not None:  # the whole DAG below: one streamed export
                try:
                    yield from dagwalk.dag_blocks(
                        found.cid, found.data, exported.get, entity_only=False
                    )
                finally:
                    exported.close()
                return
        ahead = Prefetcher(self.get, self._pool)
        try:
            if span is not None:
                for cid, block, _ in dagwalk.file_range_blocks(
                    found.cid, found.data, span[0], span[1], ahead.get, ahead.want
                ):
                    yield cid, block
            else:
                entity = car.scope == "entity"
                yield from dagwalk.dag_blocks(
                    found.cid,
                    found.data,
                    ahead.get,
                    entity_only=entity,
                    dups=car.dups,
                    want=ahead.want,
                )
        finally:
            ahead.close()

    def _exported(self, root: CID) -> ExportFeed | None:
        """A feed over the first block source that exports DAGs (kubo's ``dag export``),
        None if there is none (blocks are then fetched one by one, with read-ahead). A
        source that does not hold the DAG fails its stream: the feed falls back then."""
        for source in self.blocks.sources:
            if isinstance(source, DagExporter):
                return ExportFeed(partial(source.export_car, root), self.blocks)
        return None

    # -- deserialized -----------------------------------------------------------------

    def _deserialized(self, request: Request, path: IpfsPath, common: dict[str, str]) -> Response:
        found = dagwalk.resolve(path.cid, path.segments, self.get)
        common["x-ipfs-roots"] = ",".join(cid_str(c) for c in found.roots)
        if found.kind == "directory":
            return self._directory(request, path, found, common)
        if found.kind == "file":
            name = request.query.get("filename") or (path.segments[-1] if path.segments else "")
            return self._file(request, found, name, common)
        if found.kind == "symlink":
            assert found.node is not None and found.node.unixfs is not None
            target = found.node.unixfs.data or b""
            headers = {
                **common,
                "content-type": "text/plain; charset=utf-8",
                "etag": f'"{cid_str(found.cid)}"',
            }
            return _bytes_response(request, headers, target)
        media = _CODEC_TYPES.get(found.cid.codec.code, "application/octet-stream")
        headers = {
            **common,
            "content-type": media,
            "etag": f'"{cid_str(found.cid)}"',
            "x-content-type-options": "nosniff",
        }
        if _not_modified(request, headers["etag"]):
            return Response(304, _without_body_headers(headers))
        return _bytes_response(request, headers, found.data)

    def _directory(
        self, request: Request, path: IpfsPath, found: dagwalk.Resolved, common: dict[str, str]
    ) -> Response:
        if not request.raw_path.endswith(b"/"):
            location = request.raw_path.decode("latin-1") + "/"
            if request.query_string:
                location += "?" + request.query_string
            page = f'<a href="{html.escape(location)}">Moved Permanently</a>.\n'.encode()
            headers = {**common, "location": location, "content-type": "text/html; charset=utf-8"}
            return _bytes_response(request, headers, page, ranges=False, status=301)
        assert found.node is not None
        index = self._index_html(found)
        if index is not None:  # as kubo: the directory's Etag and roots
            return self._file(request, index, "index.html", common, etag=f'"{cid_str(found.cid)}"')
        etag = f'"DirIndex-{LISTING_VERSION}_CID-{cid_str(found.cid)}"'
        headers = {**common, "content-type": "text/html; charset=utf-8", "etag": etag}
        if _not_modified(request, etag):
            return Response(304, _without_body_headers(headers))
        entries = (
            (name, link.cid, link.tsize)
            for name, link in dagwalk.directory_entries(found.node, self.get)
        )
        page = render_listing(path.text(), found.cid, entries).encode()
        return _bytes_response(request, headers, page, ranges=False)

    def _index_html(self, found: dagwalk.Resolved) -> dagwalk.Resolved | None:
        try:
            index = dagwalk.resolve(found.cid, ("index.html",), self.get)
        except HTTPError as exc:
            if exc.status == 404:
                return None
            raise
        return index if index.kind == "file" else None

    def _file(
        self,
        request: Request,
        found: dagwalk.Resolved,
        name: str,
        common: dict[str, str],
        etag: str | None = None,
    ) -> Response:
        assert found.node is not None
        size = dagwalk.file_size(found.node)
        etag = etag or f'"{cid_str(found.cid)}"'
        headers = {**common, "etag": etag, "accept-ranges": "bytes"}
        if _not_modified(request, etag):
            return Response(304, _without_body_headers(headers))
        media = type_from_name(name)  # else sniffed from the first bytes
        if media is None:
            media = sniff(b"".join(self._read(found, 0, min(size, SNIFF_BYTES))))
        headers["content-type"] = media
        if "filename" in request.query or request.query.get("download") == "true":
            attachment = request.query.get("download") == "true"
            headers["content-disposition"] = _disposition(name or cid_str(found.cid), attachment)
        span = (0, size)
        status = 200
        if "range" in request.headers and size > 0:
            wanted = parse_range(request.headers["range"], size)
            if wanted is not None:
                span, status = wanted, 206
                headers["content-range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
        headers["content-length"] = str(span[1] - span[0])
        if request.method == "HEAD":
            return Response(status, headers)
        if span[1] - span[0] <= _INLINE_BYTES:  # read here: one send, checked before headers
            return Response(status, headers, b"".join(self._read(found, *span)))
        return Response(status, headers, self._read(found, *span))

    def _read(self, found: dagwalk.Resolved, start: int, stop: int) -> Iterator[bytes]:
        """The verified bytes ``[start, stop)`` of a file, with read-ahead."""
        if start >= stop:
            return
        ahead = Prefetcher(self.get, self._pool)
        try:
            for _, _, piece in dagwalk.file_range_blocks(
                found.cid, found.data, start, stop, ahead.get, ahead.want
            ):
                if piece:
                    yield piece
        finally:
            ahead.close()


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if not wanted:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


def _without_body_headers(headers: dict[str, str]) -> dict[str, str]:
    dropped = ("content-length", "content-type", "x-ipfs-roots")
    return {k: v for k, v in headers.items() if k not in dropped}


def _bytes_response(
    request: Request,
    headers: dict[str, str],
    data: bytes,
    *,
    ranges: bool = True,
    status: int = 200,
) -> Response:
    if ranges and "range" in request.headers and data:
        wanted = parse_range(request.headers["range"], len(data))
        if wanted is not None:
            status = 206
            headers["content-range"] = f"bytes {wanted[0]}-{wanted[1] - 1}/{len(data)}"
            data = data[wanted[0] : wanted[1]]
    headers["content-length"] = str(len(data))
    return Response(status, headers, b"" if request.method == "HEAD" else data)


def _disposition(name: str, attachment: bool) -> str:
    kind = "attachment" if attachment else "inline"
    ascii_name = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "_" for c in name)
    encoded = quote(name.encode("utf-8", "surrogateescape"), safe="")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"
