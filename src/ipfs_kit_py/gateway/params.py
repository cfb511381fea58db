"""Parsing a gateway request: the ``/ipfs/`` path, the response format, CAR parameters,
``entity-bytes`` and ``Range``. Pure functions; every bad input is a :class:`HTTPError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_to_bytes

from ipfs_kit_py.content.cid import CID, cid_text, parse_cid
from ipfs_kit_py.errors import InvalidCIDError

__all__ = [
    "MEDIA_TYPES",
    "CarParams",
    "HTTPError",
    "IpfsPath",
    "ResponseFormat",
    "choose_format",
    "cid_str",
    "parse_car_params",
    "parse_entity_bytes",
    "parse_ipfs_path",
    "parse_range",
    "resolve_span",
]

ResponseFormat = Literal["raw", "car", ""]  # "" = deserialized (files, listings)
Scope = Literal["block", "entity", "all"]

_SCOPES: dict[str, Scope] = {"block": "block", "entity": "entity", "all": "all"}
MEDIA_TYPES = {
    "raw": "application/vnd.ipld.raw",
    "car": "application/vnd.ipld.car",
    "tar": "application/x-tar",
    "dag-json": "application/vnd.ipld.dag-json",
    "dag-cbor": "application/vnd.ipld.dag-cbor",
    "json": "application/json",
    "cbor": "application/cbor",
    "ipns-record": "application/vnd.ipfs.ipns-record",
}
_FORMAT_OF = {media: name for name, media in MEDIA_TYPES.items()}
_IDENTITY = 0x00
_MAX_IDENTITY_DIGEST = 128  # IPIP-512
MAX_PATH_BYTES = 4096
MAX_SEGMENTS = 256


def cid_str(cid: CID) -> str:
    """``str(cid)`` without multiformats' slow encoder for the common forms (about
    1 ms each there: a gateway reply prints several CIDs)."""
    if cid.version == 0 or cid.base.name == "base32":
        return cid_text(bytes(cid))
    return str(cid)


class HTTPError(Exception):
    """A request the gateway answers with ``status`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True, slots=True)
class IpfsPath:
    """``/ipfs/{cid}/{segments...}``: the root, the normalized segments, and whether
    the path ended in ``/``."""

    cid: CID
    segments: tuple[str, ...]
    trailing_slash: bool

    def text(self) -> str:
        """The path as ``/ipfs/<cid>/a/b`` (the X-Ipfs-Path of the reply)."""
        tail = "".join(f"/{s}" for s in self.segments)
        return (
            f"/ipfs/{cid_str(self.cid)}{tail}{'/' if self.trailing_slash and self.segments else ''}"
        )


def parse_ipfs_path(raw_path: bytes) -> IpfsPath:
    """Parse the (percent-encoded) request path; 400 for a bad CID or path, 404 for a
    path outside ``/ipfs/``."""
    if len(raw_path) > MAX_PATH_BYTES:
        raise HTTPError(414, f"the path is longer than {MAX_PATH_BYTES} bytes")
    if not raw_path.startswith(b"/ipfs/"):
        raise HTTPError(404, "only /ipfs/{cid}[/{path}] is served")
    parts = raw_path[len(b"/ipfs/") :].split(b"/")
    cid = _parse_root(_decode(parts[0]))
    segments: list[str] = []
    for part in parts[1:]:
        name = _decode(part)
        if name in ("", "."):
            continue
        if name == "..":
            if not segments:
                raise HTTPError(400, "the path goes above its root CID")
            segments.pop()
            continue
        segments.append(name)
    if len(segments) > MAX_SEGMENTS:
        raise HTTPError(400, f"the path has more than {MAX_SEGMENTS} segments")
    return IpfsPath(cid, tuple(segments), raw_path.endswith(b"/") and len(parts) > 1)


def _decode(part: bytes) -> str:
    try:
        return unquote_to_bytes(part).decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "the path is not UTF-8 once percent-decoded") from None


def _parse_root(text: str) -> CID:
    if not text:
        raise HTTPError(400, "no CID after /ipfs/")
    try:
        cid = parse_cid(text)
    except InvalidCIDError as exc:
        raise HTTPError(400, str(exc)) from None
    if cid.hashfun.code == _IDENTITY and len(bytes(cid.raw_digest)) > _MAX_IDENTITY_DIGEST:
        raise HTTPError(400, f"an identity CID holds at most {_MAX_IDENTITY_DIGEST} bytes")
    return cid


def _accept_entries(accept: str) -> list[tuple[str, dict[str, str]]]:
    """``Accept`` as (media type, parameters), highest q-value first (the order sent
    among equals); a type with ``q=0`` is not acceptable and left out (RFC 9110 12.5.1)."""
    entries = []
    for item in accept.split(","):
        pieces = [p.strip() for p in item.split(";")]
        params = {}
        for p in pieces[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip().strip('"')
        quality = _quality(params.pop("q", "1"))
        if pieces[0] and quality > 0:
            entries.append((quality, pieces[0].lower(), params))
    entries.sort(key=lambda entry: -entry[0])  # stable: ties keep the order sent
    return [(media, params) for _, media, params in entries]


def _quality(text: str) -> float:
    """A q-value (0 to 1, up to three decimals); a malformed one counts as 1."""
    head, _, tail = text.partition(".")
    if head not in ("0", "1") or len(tail) > 3 or not (tail.isdigit() or tail == ""):
        return 1.0
    return min(float(text), 1.0) if tail.isascii() else 1.0


def choose_format(format_param: str | None, accept: str) -> tuple[str, dict[str, str], bool]:
    """The response format (a key of :data:`MEDIA_TYPES`, or ``""`` for deserialized),
    the Accept parameters that came with it, and whether it came from ``Accept`` alone.

    ``?format=`` wins over ``Accept`` (IPIP-523); an unknown ``format`` is a 400.
    """
    if format_param is not None:
        if format_param not in MEDIA_TYPES:
            raise HTTPError(400, f"unknown format {format_param[:40]!r}")
        params = next((p for m, p in _accept_entries(accept) if m == MEDIA_TYPES[format_param]), {})
        return format_param, params, False
    for media, params in _accept_entries(accept):
        name = _FORMAT_OF.get(media)
        if name is not None:
            return name, params, True
    return "", {}, False


@dataclass(frozen=True, slots=True)
class CarParams:
    """A CAR response's variant and scope."""

    scope: Scope = "all"
    entity_bytes: tuple[int, int | None] | None = None  # from, to (None = end); may be <0
    dups: bool = False
    order: str = "dfs"

    def content_type(self) -> str:
        dups = "y" if self.dups else "n"
        return f"application/vnd.ipld.car; version=1; order={self.order}; dups={dups}"


def parse_car_params(query: dict[str, str], accept_params: dict[str, str]) -> CarParams:
    """CAR parameters from the query (``dag-scope``, ``entity-bytes``, ``car-*``, which
    win) and the Accept parameters; 400 for anything unsupported."""
    version = query.get("car-version", accept_params.get("version", "1"))
    if version != "1":
        raise HTTPError(400, f"unsupported CAR version {version[:20]!r}; only version=1")
    order = query.get("car-order", accept_params.get("order", "dfs"))
    if order not in ("dfs", "unk"):
        raise HTTPError(400, f"unsupported CAR order {order[:20]!r}; dfs or unk")
    dups = query.get("car-dups", accept_params.get("dups", "n"))
    if dups not in ("y", "n"):
        raise HTTPError(400, f"unsupported CAR dups {dups[:20]!r}; y or n")
    scope = _SCOPES.get(query.get("dag-scope", "all"))
    if scope is None:
        raise HTTPError(400, f"unknown dag-scope {query['dag-scope'][:20]!r}; block, entity or all")
    entity = query.get("entity-bytes")
    span = parse_entity_bytes(entity) if entity is not None else None
    if span is not None and scope == "all":
        scope = "entity"
    return CarParams(scope, span, dups == "y", "dfs")  # we always write dfs


def _offset(text: str, *, star: bool) -> int | None:
    if star and text == "*":
        return None
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or not body.isascii() or len(body) > 19:
        raise HTTPError(400, f"bad entity-bytes offset {text[:30]!r}")
    return int(text)


def parse_entity_bytes(text: str) -> tuple[int, int | None]:
    """``from:to`` (inclusive; ``*`` = end; negatives count from the end)."""
    start, sep, end = text.partition(":")
    if not sep:
        raise HTTPError(400, "entity-bytes must be from:to")
    first = _offset(start, star=False)
    assert first is not None
    return first, _offset(end, star=True)


def resolve_span(span: tuple[int, int | None], size: int) -> tuple[int, int] | None:
    """An ``entity-bytes`` span as a half-open byte range of a ``size``-byte file, or
    None when it selects nothing (then only the root block is sent)."""
    start, end = span
    first = size + start if start < 0 else start
    last = size - 1 if end is None else (size + end if end < 0 else end)
    first = max(first, 0)
    last = min(last, size - 1)
    if first > last:
        return None
    return first, last + 1


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single ``Range: bytes=`` as a half-open range of ``size`` bytes.

    None: no usable range (serve the whole body: several ranges, or a form we do not
    read, as RFC 9110 allows). 416 (with ``Content-Range: bytes */size``) when nothing
    of it is in the body.
    """
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
        return None
    if first.isascii() is False or last.isascii() is False or len(first + last) > 38:
        return None
    if first == "":
        if last == "":
            return None
        length = int(last)
        if length == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(size - length, 0), size
    start = int(first)
    stop = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise _unsatisfiable(size)
    return start, stop


def _unsatisfiable(size: int) -> HTTPError:
    return HTTPError(416, "range not satisfiable", {"content-range": f"bytes */{size}"})
