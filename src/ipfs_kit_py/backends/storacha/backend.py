"""StorachaBackend: the Backend protocol over a Storacha space, plus its management calls.

Writes go through the native ucanto client (:mod:`.upload`); reads come back through a
trustless gateway (:class:`~ipfs_kit_py.backends.gateway.GatewayBackend`), verified.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Self

from ipfs_kit_py.backends.base import BaseBackend, Holding, StoredObject
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.storacha.client import StorachaClient
from ipfs_kit_py.backends.storacha.config import StorachaConfig
from ipfs_kit_py.backends.storacha.debris import temp_dir
from ipfs_kit_py.backends.storacha.delegation import Delegation
from ipfs_kit_py.backends.storacha.did import Signer
from ipfs_kit_py.backends.storacha.resume import (
    UploadSource,
    UploadState,
    directory_source,
    file_source,
)
from ipfs_kit_py.backends.storacha.upload import Uploader, UploadResult
from ipfs_kit_py.content.cid import CID, DAG_PB, cid_bytes_key, cid_key, is_cid, parse_cid
from ipfs_kit_py.content.unixfs import STORACHA, BlockSink, FileImport, ImportProfile, import_file
from ipfs_kit_py.content.verify import candidate_profiles
from ipfs_kit_py.errors import (
    AuthenticationError,
    BackendError,
    ContentMismatchError,
    ContentNotFoundError,
    MetadataIndexError,
)
from ipfs_kit_py.streams import read_chunks, reader

__all__ = ["StorachaBackend", "StorachaConfig", "UploadPage"]

logger = logging.getLogger(__name__)


class UploadStates(Protocol):
    """Where upload states are kept (the index: :mod:`ipfs_kit_py.storacha_ledger`)."""

    def begin(
        self, space: str, source: UploadSource, *, resume: bool = True
    ) -> UploadState | None: ...


@dataclass(frozen=True)
class UploadPage:
    """One page of ``upload/list``: records and the cursor for the next page."""

    uploads: list[dict[str, Any]]
    cursor: str | None
    size: int


class StorachaBackend(BaseBackend):
    """Content in one Storacha space; a context manager. No network until first use."""

    name = "storacha"
    verifies_reads = True  # get() checks the bytes against the CID before its end

    def __init__(self, config: StorachaConfig) -> None:
        self.config = config
        self.client = StorachaClient(config)
        # its own connections: the service's never follow redirects, a gateway's may
        self.gateway = GatewayBackend(
            config.gateway_url,
            timeouts=config.timeouts,
            ca_bundle=config.ca_bundle,
            trust_setting="storacha",
        )
        self.uploads: UploadStates | None = None  # set by the kit: resumable uploads

    @classmethod
    def from_sources(
        cls,
        args: Mapping[str, Any] | None = None,
        section: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Self:
        """Build from args > ``[storacha]`` > env (``STORACHA_*``); credentials used lazily."""
        return cls(StorachaConfig.from_sources(args, section, env))

    def check_configured(self) -> None:
        """NotConfiguredError unless the agent key and proof are set."""
        self.config.require_credentials()

    def close(self) -> None:
        """Close connections; idempotent."""
        self.client.close()
        self.gateway.close()

    @property
    def space(self) -> str:
        return self.client.space

    @property
    def agent(self) -> str:
        """Our agent's DID (from the configured key)."""
        return self.client.signer.did

    def uploader(self) -> Uploader:
        return Uploader(self.client, self.space)

    # -- uploads ---------------------------------------------------------------------

    def upload_file(
        self, source: str | os.PathLike[str] | Iterable[bytes], *, resume: bool = True
    ) -> UploadResult:
        """Upload a file (path or byte chunks) with the Storacha UnixFS profile.

        With upload states (``uploads``, set by the kit), an interrupted upload of the
        same path (unchanged) resumes: the shards stored then are not sent again;
        ``resume=False`` starts over.
        """
        state = None
        if isinstance(source, str | os.PathLike):
            state = self._begin(file_source(source, self.config.shard_size), resume)
        return self.uploader().upload_file(source, state)

    def _begin(self, source: UploadSource, resume: bool) -> UploadState | None:
        """The upload's state; None without states, or if they cannot be read (the upload
        goes on, not resumable: it never needs the index to succeed)."""
        if self.uploads is None:
            return None
        try:
            return self.uploads.begin(self.space, source, resume=resume)
        except MetadataIndexError as exc:
            logger.warning("no upload state (%s): this upload will not be resumable", exc)
            return None

    def upload_directory(
        self, path: str | os.PathLike[str], *, hidden: bool = False, resume: bool = True
    ) -> UploadResult:
        """Upload a directory tree as one UnixFS DAG, the root CID ``storacha up`` gives;
        resumed as :meth:`upload_file` is."""
        from ipfs_kit_py.content.storacha_directory import import_directory_storacha, list_files

        files = [fs_path for _, fs_path in list_files(path, hidden=hidden)]
        size = sum(os.stat(fs_path).st_size for fs_path in files)
        source = directory_source(path, files, self.config.shard_size, hidden)
        return self.uploader().upload_dag(
            lambda sink: (
                import_directory_storacha(path, STORACHA, hidden=hidden, on_block=sink).cid
            ),
            size,
            self._begin(source, resume),
        )

    def upload_tree(
        self, root: CID, produce: Callable[[BlockSink], CID], input_size: int
    ) -> StoredObject:
        """Upload the whole DAG ``produce`` emits (a directory's files and nodes) as one
        upload rooted at ``root``; BackendError, before anything is registered, if it
        builds another root."""

        def checked(sink: BlockSink) -> CID:
            built = produce(sink)
            if cid_key(built) != cid_key(root):
                raise BackendError(
                    f"the DAG built for {root} has the root {built}",
                    backend="storacha",
                    locator=self.space,
                )
            return built

        result = self.uploader().upload_dag(checked, input_size=input_size)
        return StoredObject(root, result.size, self.space)

    def list_uploads(self, cursor: str | None = None, size: int | None = None) -> UploadPage:
        """One page of the space's uploads, newest first."""
        page = self._page(cursor, size)
        if page.cursor is not None and not self._more_after(page.cursor):
            return UploadPage(page.uploads, None, page.size)  # the service hands out a
        return page  # cursor even on the last page

    def _page(self, cursor: str | None, size: int | None) -> UploadPage:
        """One ``upload/list`` answer as it is (its cursor may lead to an empty page)."""
        nb: dict[str, Any] = {}
        if cursor:
            nb["cursor"] = cursor
        if size:
            nb["size"] = int(size)
        ok = self.client.invoke_ok("upload/list", self.space, nb, nonce=True)
        results = [dict(r) for r in ok.get("results", [])]
        next_cursor = ok.get("cursor") if len(results) and ok.get("cursor") != cursor else None
        size_ = int(ok.get("size", len(results)))
        return UploadPage(results, None if next_cursor is None else str(next_cursor), size_)

    def _more_after(self, cursor: str) -> bool:
        """True if ``upload/list`` has at least one record past ``cursor``."""
        ok = self.client.invoke_ok(
            "upload/list", self.space, {"cursor": cursor, "size": 1}, nonce=True
        )
        return bool(ok.get("results"))

    def iter_uploads(self, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every upload record, following cursors until the service gives none.

        A short page is not the end (a service may cap the page size below ours); a
        cursor seen before is, so a service handing out cursors in a cycle cannot loop us.
        No probe per page (as :meth:`list_uploads` makes): the last page's cursor costs
        one more, empty, page.
        """
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self._page(cursor, page_size)
            yield from page.uploads
            if page.cursor is None or page.cursor in seen:
                return
            seen.add(cursor := page.cursor)

    def find_upload(self, root: CID) -> dict[str, Any] | None:
        """The upload record of ``root`` in either CID form (``Qm…`` or ``bafy…``), or None.

        The service keeps the root as it was uploaded: a CIDv0 upload is found by the
        index's CIDv1 key too (the same node).
        """
        key = cid_bytes_key(parse_cid(root))
        for record in self.iter_uploads():
            found = record.get("root")
            if is_cid(found) and cid_bytes_key(found) == key:
                return record
        return None

    def remove_upload(self, root: CID, *, blobs: bool = False) -> dict[str, Any]:
        """upload/remove ``root``; with ``blobs``, also space/blob/remove each shard.

        The service knows an upload by its root as uploaded: a ``Qm…`` upload asked for
        by its CIDv1 (the index key), or the reverse, is removed under the listed form.
        """
        try:
            ok = self.client.invoke_ok("upload/remove", self.space, {"root": root}, nonce=True)
        except ContentNotFoundError:
            listed = self.find_upload(root)
            if listed is None or bytes(listed["root"]) == bytes(root):
                raise
            root = listed["root"]
            ok = self.client.invoke_ok("upload/remove", self.space, {"root": root}, nonce=True)
        record = dict(ok) if isinstance(ok, dict) else {}
        if not record:
            raise ContentNotFoundError(
                f"no upload {root} in space {self.space}", backend="storacha", locator=self.space
            )
        removed: list[CID] = []
        if blobs:
            for shard in record.get("shards", []):
                self.client.invoke_ok(
                    "space/blob/remove", self.space, {"digest": bytes(shard.digest)}, nonce=True
                )
                removed.append(shard)
        record["removed_shards"] = removed
        return record

    # -- spaces ----------------------------------------------------------------------

    def spaces(self) -> list[str]:
        """The space DIDs our proofs reach (NotConfiguredError without credentials)."""
        return self.client.spaces()

    def known_spaces(self) -> dict[str, bool]:
        """For each space our proofs reach: does the service know it (``space/info``)?"""
        known: dict[str, bool] = {}
        for did in self.spaces():
            try:
                self.client.invoke_ok("space/info", did, {}, nonce=True)
                known[did] = True
            except (AuthenticationError, ContentNotFoundError):
                known[did] = False
        return known

    def select_space(self, did: str) -> str:
        """Select the space later calls use; InvalidInputError if our proofs miss it."""
        return self.client.select_space(did)

    def create_space(self) -> tuple[Signer, Delegation]:
        """A new space key and its delegation to our agent (provision it before use)."""
        return self.client.create_space()

    def space_info(self, space: str | None = None) -> dict[str, Any]:
        """space/info of ``space`` (default: the selected one)."""
        space = space or self.space
        ok = self.client.invoke_ok("space/info", space, {}, nonce=True)
        return dict(ok) if isinstance(ok, dict) else {"did": space}

    def usage(self, space: str | None = None) -> dict[str, Any]:
        """usage/report for the current month (bytes stored per provider)."""
        space = space or self.space
        now = dt.datetime.now(dt.UTC)
        start = int(now.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp())
        nb = {"period": {"from": start, "to": int(now.timestamp()) + 1}}
        ok = self.client.invoke_ok("usage/report", space, nb, nonce=True)
        return dict(ok) if isinstance(ok, dict) else {}

    # -- retrieval -------------------------------------------------------------------

    def retrieve(self, cid: CID, path: str | os.PathLike[str], *, raw: bool = False) -> int:
        """Fetch ``cid`` through the gateway (verified CAR, or one raw block) into ``path``.

        Written to a temp file and renamed only once verified; returns the bytes written.
        """
        return self.gateway.fetch_to_path(parse_cid(cid), path, raw=raw)

    def export_car(self, cid: CID) -> Iterator[bytes]:
        """The CAR of the whole DAG under ``cid`` from the gateway (unchecked: the caller
        verifies it)."""
        return self.gateway.export_car(parse_cid(cid))

    def get_tree(self, cid: CID, dest: Path) -> Path | None:
        """Write the directory uploaded as ``cid`` to ``dest`` from the gateway's CAR,
        every block verified (all of it, or nothing); None if no upload of ``cid`` is a
        directory. Raises what :func:`~ipfs_kit_py.content.extract.extract_car` raises
        (a symlink out of the tree is refused, as ``car extract`` refuses it)."""
        from ipfs_kit_py.content.extract import extract_car

        cid = parse_cid(cid)
        if not self.holds_directory(cid):
            return None
        extract_car(reader(self.export_car(cid), 1 << 20), dest, root=cid)
        return dest

    def holds_directory(self, cid: CID) -> bool:
        """True if an upload of the space is rooted at ``cid`` and its root block (from
        the gateway, verified) is a UnixFS directory."""
        from ipfs_kit_py.content.dag import load_node, verified_getter

        if cid.codec.code != DAG_PB or not self.has(cid):
            return False
        return load_node(cid, verified_getter(self.gateway.get_block)).kind == "directory"

    def dag_block(self, cid: CID) -> bytes:
        """One block of a DAG the space holds, from the gateway (unchecked: the caller
        verifies it); the gateway serves a directory's nodes from it
        (:class:`~ipfs_kit_py.gateway.node_source.DirectoryNodes`)."""
        return self.gateway.get_block(parse_cid(cid))

    # -- Backend protocol --------------------------------------------------------------

    def has(self, cid: CID) -> bool:
        """True if the space lists an upload with root ``cid``."""
        return self.find_upload(parse_cid(cid)) is not None

    def stat(self, cid: CID) -> StoredObject:
        """Describe the upload of ``cid`` (size from its root block via the gateway)."""
        cid = parse_cid(cid)
        if self.find_upload(cid) is None:
            raise ContentNotFoundError(
                f"no upload {cid} in space {self.space}", backend="storacha", locator=self.space
            )
        size = self.gateway.stat(cid).size
        return StoredObject(cid, size, self.space)

    def get(self, cid: CID) -> Iterator[bytes]:
        """Stream the file bytes of ``cid`` through the gateway, verified block by block."""
        return self.gateway.get(parse_cid(cid))

    def put(
        self,
        cid: CID,
        chunks: Iterable[bytes],
        size: int | None = None,
        *,
        profile: ImportProfile | None = None,
    ) -> StoredObject:
        """Upload ``chunks`` with the import profile that reproduces ``cid``."""
        cid = parse_cid(cid)
        with temp_dir("storacha-put-") as tmp:
            path = Path(tmp) / "content"
            with path.open("wb") as f:
                for chunk in chunks:
                    f.write(chunk)
            profile = profile or _profile_for(cid, path)
            result = self.uploader().upload_dag(lambda sink: _import_path(path, profile, sink).cid)
            stored = path.stat().st_size
        if cid_bytes_key(result.root) != cid_bytes_key(cid):  # Qm… and bafy… name one node
            raise BackendError(
                f"uploaded root {result.root} differs from {cid}",
                backend="storacha",
                locator=self.space,
            )
        return StoredObject(cid, stored, self.space)

    def holdings(self) -> Iterator[Holding]:
        """Every upload root registered in the space."""
        for record in self.iter_uploads():
            yield record.get("root"), str(self.space), None

    def delete(self, cid: CID) -> None:
        """Remove the upload of ``cid`` and its shard blobs; absent is not an error."""
        try:
            self.remove_upload(parse_cid(cid), blobs=True)
        except ContentNotFoundError:
            return


def _import_path(path: Path, profile: ImportProfile, sink: BlockSink | None = None) -> FileImport:
    """Import the staged file in 1 MiB reads: import_file's parallel read-ahead of a path
    (4 x 8 MiB) buys nothing at the service's few MB/s and would dominate memory."""
    with path.open("rb") as f:
        return import_file(read_chunks(f), profile, on_block=sink)


def _profile_for(cid: CID, path: Path) -> ImportProfile:
    profiles = [STORACHA, *[p for p in candidate_profiles(cid) if p != STORACHA]]
    if cid.version == 0:
        profiles = candidate_profiles(cid)
    for profile in profiles:
        if _import_path(path, profile).cid == cid:
            return profile
    raise ContentMismatchError(f"the bytes given for {cid} do not import to that CID", cid=str(cid))
