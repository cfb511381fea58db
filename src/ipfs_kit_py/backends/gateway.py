"""A read-only backend over a trustless IPFS HTTP gateway, verified block by block.

``?format=car`` responses are read as a stream: every block is checked against its CID
as it arrives and the UnixFS DAG is walked from the requested root, so a missing,
extra-rooted or tampered block is an error and only verified bytes are yielded.
``?format=raw`` answers one block, checked against the CID's digest.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Self

import httpx

from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.engine_errors import transport_error
from ipfs_kit_py.config import Sources, parse_number, split_userinfo
from ipfs_kit_py.content.car import CarReader
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, cid_key
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.unixfs import Block, ImportProfile
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import (
    BackendError,
    BackendUnavailableError,
    CARFormatError,
    ConfigurationError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    IpfsKitError,
    NotConfiguredError,
    ProtocolError,
)
from ipfs_kit_py.outfile import atomic_output, output_path
from ipfs_kit_py.streams import reader

__all__ = ["GatewayBackend"]

logger = logging.getLogger(__name__)

CAR_ACCEPT = "application/vnd.ipld.car; version=1; order=dfs; dups=y"
RAW_ACCEPT = "application/vnd.ipld.raw"
_IDENTITY = 0x00
MAX_REDIRECTS = 5
MAX_BLOCK_BYTES = 4 << 20  # kubo refuses blocks over 2 MiB; twice that is never a block
MAX_PENDING_BYTES = 64 << 20  # out-of-order blocks held while the DAG walk waits for one
MAX_EARLY_BLOCKS = 4096  # blocks a CAR may send before the node that links them
SLACK_BYTES = 16 << 20  # CAR framing and dag-pb nodes on top of the file's own bytes


GATEWAYS_HINT = "set [gateway] urls in the config file or IPFS_KIT_GATEWAYS"


class _Budget:
    """How many more bytes a read may take from the server; exceeded is a protocol fault."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit, self.used, self.what = limit, 0, what

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.limit:
            raise ProtocolError(f"{self.what}: more than {self.limit} bytes; refused")

    def chunks(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """``chunks``, each paid for before it is passed on."""
        for chunk in chunks:
            self.spend(len(chunk))
            yield chunk


def gateway_urls(value: Any) -> list[str]:
    """A list of URLs from a list or a comma-separated string."""
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ConfigurationError(f"gateway urls must be a list or text, got {value!r}")
    return [str(u).strip() for u in value if str(u).strip()]


class GatewayBackend(BaseBackend):
    """Read content by CID from a trustless gateway; a context manager."""

    name = "gateway"
    verifies_reads = True  # get() checks the bytes against the CID before its end
    read_only = True

    def __init__(
        self, base_url: str, *, http: httpx.Client | None = None, timeout: float = 120.0
    ) -> None:
        # user:pass@ in the URL becomes Basic auth, so no message or log line shows it
        bare, userinfo = split_userinfo(base_url.rstrip("/"))
        self.base_url = bare if bare.endswith("/ipfs") else bare + "/ipfs"
        auth = None
        if userinfo is not None:
            user, _, password = userinfo.partition(":")
            auth = httpx.BasicAuth(user, password)
        self._own_http = http is None
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            auth=auth,
        )

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """The first gateway of :meth:`all_from_sources`; NotConfiguredError if none."""
        return cls.all_from_sources(args, section, env)[0]

    @classmethod
    def all_from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> list[Self]:
        """One gateway per URL of ``urls`` (a list or comma-separated; ``IPFS_KIT_GATEWAYS``).

        They are named ``gateway``, ``gateway2``, ... in order; ``timeout`` applies to each.
        """
        sources = Sources.of(args, section, env)
        urls = gateway_urls(sources.get("urls", "IPFS_KIT_GATEWAYS", default=[]))
        if not urls:
            raise NotConfiguredError(f"no gateway configured: {GATEWAYS_HINT}")
        timeout = parse_number(
            "gateway timeout", sources.get("timeout", default=120.0), float, minimum=0.001
        )
        gateways = [cls(url, timeout=timeout) for url in urls]
        for n, gateway in enumerate(gateways[1:], start=2):
            gateway.name = f"gateway{n}"
        return gateways

    def close(self) -> None:
        """Close the HTTP client if we own it; idempotent."""
        if self._own_http:
            self._http.close()

    # -- Backend protocol ----------------------------------------------------------

    def has(self, cid: CID) -> bool:
        """True if the gateway serves the root block of ``cid``."""
        try:
            self.get_block(cid)
        except ContentNotFoundError:
            return False
        return True

    def stat(self, cid: CID) -> StoredObject:
        """Size of the content from its root block (raw length or UnixFS filesize)."""
        data = self.get_block(cid)
        size = len(data)
        if cid.codec.code == DAG_PB:
            node = decode_node(data)
            unixfs = decode_unixfs(node.data or b"")
            size = unixfs.filesize if unixfs.filesize is not None else len(unixfs.data or b"")
        return StoredObject(cid, size, f"{self.base_url}/{cid_key(cid)}")

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the file bytes of ``cid`` from a verified CAR."""
        return self.iter_file(cid)

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        raise BackendError(
            "the gateway backend is read-only", backend="gateway", locator=self.base_url
        )

    def delete(self, cid: CID) -> None:
        raise BackendError(
            "the gateway backend is read-only", backend="gateway", locator=self.base_url
        )

    # -- reads -----------------------------------------------------------------------

    def get_block(self, cid: CID) -> bytes:
        """Fetch one block with ``?format=raw`` and verify it against ``cid``.

        The body is read up to :data:`MAX_BLOCK_BYTES`; a longer one is refused unread.
        """
        if cid.hashfun.code == _IDENTITY:
            return bytes(cid.raw_digest)
        url = f"{self.base_url}/{cid_key(cid)}?format=raw"
        headers = {"accept": RAW_ACCEPT}
        with self._answer(cid, url), self._http.stream("GET", url, headers=headers) as response:
            _check_status(response, cid, url)
            budget = _Budget(MAX_BLOCK_BYTES, f"gateway {self.base_url} block {cid}")
            data = b"".join(budget.chunks(response.iter_bytes()))
            verify_block(cid, data)
        return data

    def iter_file(self, cid: CID) -> Iterator[bytes]:
        """Yield the UnixFS file bytes of ``cid``; each block verified before use."""
        url = f"{self.base_url}/{cid_key(cid)}?format=car&dag-scope=all"
        headers = {"accept": CAR_ACCEPT}
        with self._answer(cid, url), self._http.stream("GET", url, headers=headers) as response:
            _check_status(response, cid, url)
            budget = _Budget(2 * MAX_BLOCK_BYTES, f"gateway {self.base_url} CAR of {cid}")
            stream = reader(budget.chunks(response.iter_bytes()), 1 << 20)
            yield from _walk_car(cid, stream, url, budget)

    @contextlib.contextmanager
    def _answer(self, cid: CID, url: str) -> Iterator[None]:
        """Any fault of the server's answer becomes an error of this backend's kind.

        Not found and mismatch stay what they are (the tiers act on them); a transport
        failure is mapped by type; anything else the answer made us fail on (a malformed
        CAR, a block we cannot check, a redirect loop, an undecodable body) is
        :class:`ProtocolError`, so a reader moves on to its next source.
        """
        try:
            yield
        except (ContentNotFoundError, ContentMismatchError, BackendError):
            raise
        except httpx.TransportError as exc:
            raise _unreachable(exc, url) from exc
        except httpx.HTTPError as exc:
            raise ProtocolError(
                f"gateway {self.base_url} answered {cid} badly: {type(exc).__name__}: {exc}",
                backend="gateway",
                locator=url,
            ) from exc
        except (IpfsKitError, ValueError, LookupError, TypeError, EOFError) as exc:
            raise ProtocolError(
                f"gateway {self.base_url} sent an unusable answer for {cid}: {exc}",
                backend="gateway",
                locator=url,
            ) from exc

    def fetch_to_path(self, cid: CID, path: str | os.PathLike[str], *, raw: bool = False) -> int:
        """Write the verified content of ``cid`` to ``path`` (``dir/``: a file named by the
        CID inside it) atomically, with the mode ``open()`` would give; return its size."""
        target = output_path(path, cid_key(cid))
        written = 0
        with atomic_output(target) as out:
            chunks = [self.get_block(cid)] if raw else self.iter_file(cid)
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        return written


def _unreachable(exc: httpx.TransportError, url: str) -> BackendError:
    return transport_error(exc, backend="gateway", locator=url, action="GET")


def _check_status(response: httpx.Response, cid: CID, url: str) -> None:
    status, where = response.status_code, {"backend": "gateway", "locator": url}
    if status != 200:
        response.close()  # the body of an error page is not read: it may be endless
    if status == 404 or status == 410:
        raise ContentNotFoundError(f"gateway does not have {cid}", **where)
    if status >= 500:
        raise BackendUnavailableError(f"gateway answered {status} for {cid}", **where)
    if status != 200:
        raise BackendError(f"gateway answered {status} for {cid}", **where)


def _walk_car(
    root: CID, stream: BinaryIO, url: str = "", budget: _Budget | None = None
) -> Iterator[bytes]:
    """Walk the UnixFS file DAG of ``root`` over a verified CAR stream, yielding leaf bytes.

    Blocks normally arrive in DFS order and are used at once; out-of-order blocks are
    kept (up to :data:`MAX_PENDING_BYTES`) until needed. A needed block that never
    arrives is an error; a CAR that breaks off before the root block (kubo's answer,
    after a 200, for content it lacks) means the gateway does not have the content.
    Once the root says how large the file is, the whole read may take about twice that
    from the server (``budget``), and no more blocks than the DAG has links (plus some
    sent early), so a CAR that repeats blocks or adds junk ends in bounded time.
    """
    blocks = iter(CarReader(stream, verify=True))
    pending = _Pending()
    todo = [root]
    while todo:
        cid = todo.pop()
        try:
            data = _next_needed(cid, blocks, pending)
        except CARFormatError as exc:
            if cid is not root:
                raise
            raise ContentNotFoundError(
                f"gateway does not have {root} (its CAR broke off before the root block)",
                backend="gateway",
                locator=url,
            ) from exc
        if cid.codec.code == RAW:
            yield data
            continue
        if cid.codec.code != DAG_PB:
            raise InvalidInputError(f"{cid} is not a UnixFS file (codec {cid.codec.name})")
        node = decode_node(data)
        unixfs = decode_unixfs(node.data or b"")
        if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
            raise InvalidInputError(f"{cid} is a UnixFS {unixfs.type.name.lower()}, not a file")
        if budget is not None and cid is root:
            budget.limit = 2 * (unixfs.filesize or 0) + 2 * MAX_BLOCK_BYTES + SLACK_BYTES
        if unixfs.data:
            yield unixfs.data
        pending.links += len(node.links)
        todo.extend(link.cid for link in reversed(node.links))


class _Pending:
    """Blocks that arrived before they were needed, bounded in bytes; and a block count.

    Every block a CAR carries answers a link of the DAG (or is the root): more blocks
    than links seen so far, beyond :data:`MAX_EARLY_BLOCKS` sent ahead of their parents,
    is a CAR repeating itself or padding with junk.
    """

    def __init__(self) -> None:
        self.blocks: dict[tuple[int, bytes], bytes] = {}
        self.size = 0
        self.links = 1  # the root
        self.received = 0

    def arrived(self) -> None:
        self.received += 1
        if self.received > self.links + MAX_EARLY_BLOCKS:
            raise ProtocolError(
                f"the gateway sent {self.received} blocks for a DAG of {self.links} links so far"
            )

    def pop(self, key: tuple[int, bytes]) -> bytes | None:
        data = self.blocks.pop(key, None)
        if data is not None:
            self.size -= len(data)
        return data

    def put(self, key: tuple[int, bytes], data: bytes) -> None:
        if key in self.blocks:
            return  # a repeat (dups=y) is not kept twice
        self.size += len(data)
        if self.size > MAX_PENDING_BYTES:
            raise ProtocolError(
                f"the gateway sent more than {MAX_PENDING_BYTES} bytes of blocks out of order"
            )
        self.blocks[key] = data


def _same_block(cid: CID) -> tuple[int, bytes]:
    """Identity of a block whatever the CID version: (codec, multihash)."""
    return cid.codec.code, bytes(cid.digest)


def _next_needed(cid: CID, blocks: Iterator[Block], pending: _Pending) -> bytes:
    if cid.hashfun.code == _IDENTITY:
        return bytes(cid.raw_digest)
    key = _same_block(cid)
    data = pending.pop(key)
    if data is not None:
        return data
    for block in blocks:
        pending.arrived()
        got = _same_block(block.cid)
        if got == key:
            return block.data
        pending.put(got, block.data)
    raise ContentMismatchError(f"the gateway's CAR lacks block {cid}", cid=str(cid))
