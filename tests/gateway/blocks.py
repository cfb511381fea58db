"""Content for gateway tests: trees and files imported by the kit's real importer into
an in-memory block map, and a gateway (uvicorn) serving it on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from ipfs_kit_py.content.cid import CID
from ipfs_kit_py.content.directory import import_directory
from ipfs_kit_py.content.hamt import ShardingPolicy
from ipfs_kit_py.content.random_access import VerifiedBlocks
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, Block, ImportProfile, import_file
from ipfs_kit_py.errors import ContentNotFoundError
from ipfs_kit_py.gateway import GatewayApp, GatewayConfig
from ipfs_kit_py.gateway.server import ConnectionLimits, HttpKind, uvicorn_config
from tests.servers.process import free_port


class MemoryBlocks:
    """Blocks by CID in a dict: a BlockSource for tests (``tamper`` corrupts one)."""

    name = "memory-blocks"

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    def put(self, block: Block) -> None:
        self.blocks[bytes(block.cid)] = block.data

    def get_block(self, cid: CID) -> bytes:
        try:
            return self.blocks[bytes(cid)]
        except KeyError:
            raise ContentNotFoundError(f"block {cid} is not here") from None

    def has_block(self, cid: CID) -> bool:
        return bytes(cid) in self.blocks

    def drop(self, cid: CID) -> None:
        del self.blocks[bytes(cid)]

    def tamper(self, cid: CID) -> None:
        data = bytearray(self.blocks[bytes(cid)])
        data[-1] ^= 0xFF
        self.blocks[bytes(cid)] = bytes(data)


def add_tree(
    blocks: MemoryBlocks,
    path: Path,
    profile: ImportProfile = KUBO_DEFAULT,
    sharding: ShardingPolicy | None = None,
) -> CID:
    """Import a directory as ``ipfs add -r`` would; its blocks go into ``blocks``."""
    extra = {"sharding": sharding} if sharding is not None else {}
    return import_directory(path, profile, on_block=blocks.put, **extra).cid


def add_file(blocks: MemoryBlocks, data: bytes, profile: ImportProfile = KUBO_DEFAULT) -> CID:
    return import_file([data], profile, on_block=blocks.put).cid


@contextmanager
def serving(
    app: GatewayApp,
    limits: ConnectionLimits | None = None,
    http: HttpKind = "auto",
    **options: Any,
) -> Iterator[str]:
    """Run ``app`` under uvicorn on a free 127.0.0.1 port, with the HTTP front of
    ``ipfs-kit serve`` (``options`` go to uvicorn's Config); yield its base URL."""
    port = free_port()
    config = uvicorn_config(
        app,
        host="127.0.0.1",
        port=port,
        limits=limits,
        http=http,
        log_level="warning",
        lifespan="on",
        **options,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def gateway(blocks: MemoryBlocks, **config: object) -> GatewayApp:
    """A gateway over ``blocks`` (no cache: a changed block is seen at once)."""
    verified = VerifiedBlocks([blocks], cache_bytes=0)
    return GatewayApp(verified, GatewayConfig(**config))  # type: ignore[arg-type]
