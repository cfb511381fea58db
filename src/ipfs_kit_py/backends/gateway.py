"""A read-only backend over a trustless IPFS HTTP gateway, verified block by block.

``?format=car`` responses are read as a stream: every block is checked against its CID
as it arrives and the UnixFS DAG is walked from the requested root, so a missing,
extra-rooted or tampered block is an error and only verified bytes are yielded.
``?format=raw`` answers one block, checked against the CID's digest.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Self

import httpx

from ipfs_kit_py.backends.base import BaseBackend, StoredObject
from ipfs_kit_py.backends.engine_errors import transport_error
from ipfs_kit_py.config import Sources, parse_number, parse_url
from ipfs_kit_py.content.car import MAX_BLOCK_SIZE, CarReader
from ipfs_kit_py.content.cid import CID, DAG_PB, RAW, cid_key
from ipfs_kit_py.content.dag import UnixFSNode, check_size, file_parts
from ipfs_kit_py.content.dagpb import UnixFSType, decode_node, decode_unixfs
from ipfs_kit_py.content.unixfs import Block, ImportProfile
from ipfs_kit_py.content.verify import verify_block
from ipfs_kit_py.errors import (
    BackendError,
    BackendTimeoutError,
    BackendUnavailableError,
    CARFormatError,
    ConfigurationError,
    ContentMismatchError,
    ContentNotFoundError,
    InvalidInputError,
    NotConfiguredError,
    ProtocolError,
)
from ipfs_kit_py.net import Timeouts, bounded_request, deadline_transport, retrying, send_within
from ipfs_kit_py.outfile import atomic_output, output_path
from ipfs_kit_py.streams import reader
from ipfs_kit_py.tls import parse_ca_bundle, ssl_context

__all__ = ["GatewayBackend"]

logger = logging.getLogger(__name__)

CAR_ACCEPT = "application/vnd.ipld.car; version=1; order=dfs; dups=y"
RAW_ACCEPT = "application/vnd.ipld.raw"
_IDENTITY = 0x00
MAX_REDIRECTS = 5
# What a CAR walk holds of blocks that came before they were needed (DFS order needs none).
MAX_PENDING_BYTES = 32 * 1024 * 1024
MAX_PENDING_BLOCKS = 16384
MAX_REPEATED_BLOCKS = 1024


GATEWAYS_HINT = "set [gateway] urls in the config file or IPFS_KIT_GATEWAYS"


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
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        timeouts: Timeouts | None = None,
        ca_bundle: str | None = None,
        trust_setting: str = "gateway",
        follow_redirects: bool = True,
    ) -> None:
        """``ca_bundle``: a PEM file of CAs to trust besides the system's;
        ``trust_setting``: the tier whose ``ca_bundle`` an untrusted certificate's message
        names (a Storacha space's gateway is set in ``[storacha]``); without
        ``follow_redirects`` a redirect is a ProtocolError (a peer's answer comes from
        the peer, never from a host it names)."""
        # user:pass@ in the URL becomes Basic auth, so no message or log line shows it
        url, userinfo = parse_url("gateway url", base_url)
        base = url.rstrip("/")
        self.base_url = base if base.endswith("/ipfs") else base + "/ipfs"
        self.timeouts = timeouts or Timeouts()
        self._own_http = http is None
        self._trust_setting = trust_setting
        user, _, password = (userinfo or "").partition(":")
        self._http = http or httpx.Client(
            timeout=self.timeouts.httpx(),
            # the deadline covers headers too
            transport=deadline_transport(verify=ssl_context(ca_bundle, "gateway ca_bundle")),
            follow_redirects=follow_redirects,
            max_redirects=MAX_REDIRECTS,
            auth=httpx.BasicAuth(user, password) if userinfo is not None else None,
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

        They are named ``gateway``, ``gateway2``, ... in order; the timeouts
        (:class:`~ipfs_kit_py.net.Timeouts`, ``IPFS_KIT_GATEWAY_<KEY>``; the older
        ``timeout`` key sets the idle timeout) and ``ca_bundle``
        (``IPFS_KIT_GATEWAY_CA_BUNDLE``: a PEM file of CAs to trust) apply to each.
        """
        sources = Sources.of(args, section, env)
        urls = gateway_urls(sources.get("urls", "IPFS_KIT_GATEWAYS", default=[]))
        if not urls:
            raise NotConfiguredError(f"no gateway configured: {GATEWAYS_HINT}")
        legacy = sources.get("timeout")
        defaults = {}
        if legacy is not None:
            defaults["idle_timeout"] = parse_number("gateway timeout", legacy, float, minimum=0.001)
        timeouts = Timeouts.from_sources(
            "gateway", sources.args, sources.section, sources.env, **defaults
        )
        ca_bundle = parse_ca_bundle(
            "gateway ca_bundle", sources.get("ca_bundle", "IPFS_KIT_GATEWAY_CA_BUNDLE")
        )
        gateways = [cls(url, timeouts=timeouts, ca_bundle=ca_bundle) for url in urls]
        for n, gateway in enumerate(gateways[1:], start=2):
            gateway.name = f"gateway{n}"
        return gateways

    def _unreachable(self, exc: httpx.TransportError, url: str) -> BackendError:
        trust = self._trust_setting
        return transport_error(exc, backend="gateway", locator=url, action="GET", trust=trust)

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

    def _check_open(self) -> None:
        if self._http.is_closed:  # httpx would raise a bare RuntimeError
            raise ConfigurationError(f"this gateway client ({self.base_url}) is closed")

    # -- reads -----------------------------------------------------------------------

    def get_block(self, cid: CID) -> bytes:
        """Fetch one block with ``?format=raw`` and verify it against ``cid``."""
        if cid.hashfun.code == _IDENTITY:
            return bytes(cid.raw_digest)
        url = f"{self.base_url}/{cid_key(cid)}?format=raw"
        self._check_open()
        deadline = self.timeouts.deadline_from_now()

        def once() -> httpx.Response:
            try:
                response = bounded_request(
                    self._http,
                    "GET",
                    url,
                    self.timeouts,
                    deadline=deadline,
                    max_bytes=MAX_BLOCK_SIZE,
                    headers={"accept": RAW_ACCEPT},
                )
            except httpx.TransportError as exc:
                raise self._unreachable(exc, url) from exc
            except ProtocolError as exc:
                raise ProtocolError(
                    f"gateway sent more than {MAX_BLOCK_SIZE} bytes for block {cid}",
                    backend="gateway",
                    locator=url,
                ) from exc
            except httpx.HTTPError as exc:  # a redirect loop, an undecodable body
                raise _bad_answer(self.base_url, cid, url, exc) from exc
            _check_status(response, cid, url)
            return response

        response = retrying(
            once, retries=self.timeouts.retries, what="gateway GET", deadline=deadline
        )
        data = response.content
        try:
            verify_block(cid, data)
        except InvalidInputError as exc:  # a hash function we cannot check
            raise _bad_answer(self.base_url, cid, url, exc) from exc
        return data

    def iter_file(self, cid: CID) -> Iterator[bytes]:
        """Yield the UnixFS file bytes of ``cid``; each block verified before use."""
        if cid.hashfun.code == _IDENTITY and cid.codec.code == RAW:
            yield bytes(cid.raw_digest)  # the content is the CID: nothing to ask
            return
        url = f"{self.base_url}/{cid_key(cid)}?format=car&dag-scope=all"
        self._check_open()
        try:
            request = self._http.build_request("GET", url, headers={"accept": CAR_ACCEPT})
            response = send_within(self._http, request, self.timeouts.deadline_from_now())
            try:  # status and headers came within the deadline; the body: stall guard
                _check_status(response, cid, url)
                guard = self.timeouts.stall_guard(f"gateway {self.base_url}")
                stream = reader(guard.wrap(response.iter_bytes()), 1 << 20)
                yield from _walk_car(cid, stream, url, self.timeouts.stall_window)
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise self._unreachable(exc, url) from exc
        except CARFormatError as exc:  # this source's fault: the next tier may do better
            raise ProtocolError(
                f"gateway {self.base_url} sent a bad CAR for {cid}: {exc}",
                backend="gateway",
                locator=url,
            ) from exc
        except httpx.HTTPError as exc:  # a redirect loop, an undecodable (gzip) body
            raise _bad_answer(self.base_url, cid, url, exc) from exc
        except InvalidInputError as exc:  # a block we cannot check (sha1), a non-file DAG
            raise _bad_answer(self.base_url, cid, url, exc) from exc

    def export_car(self, cid: CID) -> Iterator[bytes]:
        """Stream the gateway's CAR of the whole DAG under ``cid``, as sent (the caller
        checks it, e.g. with ``verify_car``); idle reads are bounded by the stall guard."""
        url = f"{self.base_url}/{cid_key(cid)}?format=car&dag-scope=all"
        self._check_open()
        try:
            request = self._http.build_request("GET", url, headers={"accept": CAR_ACCEPT})
            response = send_within(self._http, request, self.timeouts.deadline_from_now())
            try:
                _check_status(response, cid, url)
                guard = self.timeouts.stall_guard(f"gateway {self.base_url}")
                yield from guard.wrap(response.iter_bytes())
            finally:
                response.close()
        except httpx.TransportError as exc:
            raise self._unreachable(exc, url) from exc
        except httpx.HTTPError as exc:  # a redirect loop, an undecodable (gzip) body
            raise _bad_answer(self.base_url, cid, url, exc) from exc

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


def _bad_answer(base: str, cid: CID, url: str, exc: Exception) -> ProtocolError:
    return ProtocolError(
        f"gateway {base} sent an unusable answer for {cid}: {type(exc).__name__}: {exc}",
        backend="gateway",
        locator=url,
    )


def _check_status(response: httpx.Response, cid: CID, url: str) -> None:
    status, where = response.status_code, {"backend": "gateway", "locator": url}
    if status != 200:
        response.close()  # an error page's body is not read: it may be endless
    if status == 404 or status == 410:
        raise ContentNotFoundError(f"gateway does not have {cid}", **where)
    if status >= 500:
        raise BackendUnavailableError(f"gateway answered {status} for {cid}", **where)
    if 300 <= status < 400:  # one not followed: redirects are off, or it named no place
        raise ProtocolError(f"gateway answered a redirect ({status}) for {cid}", **where)
    if status != 200:
        raise BackendError(f"gateway answered {status} for {cid}", **where)


class _Pending:
    """Blocks that arrived before they were needed: bounded in bytes, count, repeats and time.

    The time bound: blocks that are not needed now may keep arriving for at most
    ``junk_window`` seconds after the last needed one. Without it a gateway sending
    unneeded blocks just above ``min_rate`` would hold a read for hours before the byte
    bound trips; a slow but useful answer (one large needed block) is not affected,
    since nothing unneeded arrives while it does.
    """

    def __init__(self, url: str, junk_window: float = 10.0) -> None:
        self.blocks: dict[tuple[int, bytes], bytes] = {}
        self.size = 0
        self.repeats = 0
        self.repeated_bytes = 0  # a repeated 16 MiB block costs as much as a new one
        self.url = url
        self.junk_window = junk_window
        self.last_needed = time.monotonic()

    def needed(self) -> None:
        """A needed block arrived (or was taken from those kept)."""
        self.last_needed = time.monotonic()

    def pop(self, key: tuple[int, bytes]) -> bytes | None:
        data = self.blocks.pop(key, None)
        self.size -= len(data) if data is not None else 0
        return data

    def keep(self, key: tuple[int, bytes], data: bytes) -> None:
        if time.monotonic() - self.last_needed > self.junk_window:
            raise BackendTimeoutError(
                f"the gateway sent only blocks not needed for {self.junk_window:g}s (stall_window)",
                backend="gateway",
                locator=self.url,
            )
        if key in self.blocks:
            self.repeats += 1
            self.repeated_bytes += len(data)
            if self.repeats > MAX_REPEATED_BLOCKS or self.repeated_bytes > MAX_PENDING_BYTES:
                raise ProtocolError(
                    f"the gateway's CAR repeats blocks more than {MAX_REPEATED_BLOCKS} times "
                    f"or {MAX_PENDING_BYTES} bytes",
                    backend="gateway",
                    locator=self.url,
                )
            return
        self.blocks[key] = data
        self.size += len(data)
        if self.size > MAX_PENDING_BYTES or len(self.blocks) > MAX_PENDING_BLOCKS:
            raise ProtocolError(
                f"the gateway's CAR holds more than {MAX_PENDING_BYTES} bytes or "
                f"{MAX_PENDING_BLOCKS} blocks not (yet) needed",
                backend="gateway",
                locator=self.url,
            )


def _walk_car(
    root: CID, stream: BinaryIO, url: str = "", junk_window: float = 10.0
) -> Iterator[bytes]:
    """Walk the UnixFS file DAG of ``root`` over a verified CAR stream, yielding leaf bytes.

    Blocks normally arrive in DFS order and are used at once; out-of-order blocks are
    kept until needed, up to a bound (:class:`_Pending`). A needed block that never
    arrives is an error; a CAR that breaks off before the root block (kubo's answer,
    after a 200, for content it lacks) means the gateway does not have the content.
    """
    blocks = iter(CarReader(stream, verify=True))
    pending = _Pending(url, junk_window)
    todo: list[tuple[CID, int | None]] = [(root, None)]
    empty_seen: set[tuple[int, bytes]] = set()  # a child declared empty is walked once
    while todo:
        cid, expected = todo.pop()
        if expected == 0:
            if _same_block(cid) in empty_seen:
                continue
            empty_seen.add(_same_block(cid))
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
            check_size(cid, len(data), expected)
            yield data
            continue
        if cid.codec.code != DAG_PB:
            raise InvalidInputError(f"{cid} is not a UnixFS file (codec {cid.codec.name})")
        node = decode_node(data)
        unixfs = decode_unixfs(node.data or b"")
        if unixfs.type not in (UnixFSType.FILE, UnixFSType.RAW):
            raise InvalidInputError(f"{cid} is a UnixFS {unixfs.type.name.lower()}, not a file")
        inline, children = file_parts(UnixFSNode(cid, unixfs, node.links))
        check_size(cid, len(inline) + sum(size for _, size in children), expected)
        if inline:
            yield inline
        todo.extend(reversed(children))


def _same_block(cid: CID) -> tuple[int, bytes]:
    """Identity of a block whatever the CID version: (codec, multihash)."""
    return cid.codec.code, bytes(cid.digest)


def _next_needed(cid: CID, blocks: Iterator[Block], pending: _Pending) -> bytes:
    if cid.hashfun.code == _IDENTITY:
        return bytes(cid.raw_digest)
    key = _same_block(cid)
    held = pending.pop(key)
    if held is not None:
        pending.needed()
        return held
    for block in blocks:
        got = _same_block(block.cid)
        if got == key:
            pending.needed()
            return block.data
        pending.keep(got, block.data)
    raise ContentMismatchError(f"the gateway's CAR lacks block {cid}", cid=str(cid))
