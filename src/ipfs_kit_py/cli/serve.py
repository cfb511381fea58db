"""``ipfs-kit serve``: the HTTP gateway (``/ipfs/`` path + trustless) over the kit's
tiers and index, served by uvicorn (the ``gateway`` extra)."""

from __future__ import annotations

import argparse
import os
import socket
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, BinaryIO, TypeAlias

from ipfs_kit_py.errors import InvalidInputError, MissingDependencyError

if TYPE_CHECKING:
    from ipfs_kit_py.content.cid import CID
    from ipfs_kit_py.ipfs_kit import ipfs_kit

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

TOKEN_ENV = "IPFS_KIT_GATEWAY_TOKEN"
DESCRIPTION = f"""\
Serve GET/HEAD /ipfs/{{cid}}[/{{path}}] over HTTP from the tiers and index the other
commands use: files (Range, ETag), directory listings and index.html, raw blocks
(Accept: application/vnd.ipld.raw or ?format=raw) and CARs (application/vnd.ipld.car or
?format=car, with dag-scope and entity-bytes). Every block is verified against its CID
before it is sent; a block that fails mid-response cuts the response.
Read-only unless --writable: then POST /ipfs adds the request body and answers its CID,
for requests bearing `Authorization: Bearer $${TOKEN_ENV}` (the token is read from
the environment, never from the command line, and never logged).
A node with a node id (a shared index) advertises its URL in the index while it serves
(renewed every third of --advertise-ttl, removed at a clean stop), so the other nodes
read its memory and disk copies through it, verified: the `peer` tier. It answers
from its own and the shared tiers only, never through another node's (no peer tier
here), so a request never hops from node to node."""


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError(
            "ipfs-kit serve needs uvicorn: pip install 'ipfs_kit_py[gateway]'"
        ) from exc
    from ipfs_kit_py.config import Secret
    from ipfs_kit_py.gateway import GatewayApp, GatewayConfig
    from ipfs_kit_py.gateway.kit_source import kit_blocks
    from ipfs_kit_py.gateway.server import ConnectionLimits, uvicorn_config
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    check_listen(args.host, args.port)
    check_advertise(args)
    token = os.environ.get(TOKEN_ENV) if args.writable else None
    if args.writable and not token:
        raise InvalidInputError(f"--writable needs a token in ${TOKEN_ENV}")
    config = GatewayConfig(
        max_concurrent=args.max_concurrent,
        request_timeout_s=args.timeout,
        chunk_timeout_s=args.timeout,
        max_car_bytes=args.max_car_bytes,
        write_token=Secret(token) if token else None,
    )
    limits = ConnectionLimits(
        header_timeout_s=args.header_timeout,
        max_connections=args.max_connections or default_max_connections(),
    )
    # no peer tier: a request (maybe a peer's) is answered from this node's own and the
    # shared tiers only, never forwarded to a third node (no loops, no amplification)
    with ipfs_kit(peer_tier=False) as kit, _advertised(kit, args):

        def add(data: BinaryIO) -> CID:
            return kit.add(data).cid

        app = GatewayApp(kit_blocks(kit), config, writer=add if token else None)
        try:
            server_config = uvicorn_config(
                app,
                host=args.host,
                port=args.port,
                limits=limits,
                log_level="warning" if args.verbose == 0 else "info",
                lifespan="on",
                access_log=args.verbose > 0,
            )
            uvicorn.Server(server_config).run()
        finally:
            app.close()
    return 0


def default_max_connections() -> int:
    """1000, or half the process's file descriptors if that is fewer (the index, the
    tiers and temporary block files need the other half)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(16, min(1000, soft // 2))


def _advertised(kit: ipfs_kit, args: argparse.Namespace) -> AbstractContextManager[object]:
    """Advertise this node's URL in the index while serving, if it has a node id (other
    nodes then read its copies through it: the ``peer`` tier)."""
    from ipfs_kit_py.advertise import Advertiser, serving_url

    if args.no_advertise or (not kit.index.node_id and args.advertise is None):
        return nullcontext()
    url = args.advertise or serving_url(args.host, args.port)
    return Advertiser(kit.index, url, args.advertise_ttl)


def check_advertise(args: argparse.Namespace) -> None:
    """Refuse a bad --advertise URL or --advertise-ttl before anything starts."""
    from ipfs_kit_py.advertise import check_ttl, peer_url

    check_ttl(args.advertise_ttl)
    if args.advertise is not None:
        peer_url(args.advertise)


def check_listen(host: str, port: int) -> None:
    """Refuse an address uvicorn could not bind, before anything starts (an empty host
    would mean every interface)."""
    if not host or len(host) > 253 or not host.isascii() or not host.isprintable():
        raise InvalidInputError(f"--host must be a host name or an IP address, got {host!r:.60}")
    if not 1 <= port <= 65535:
        raise InvalidInputError(f"--port must be in 1..65535, got {port}")
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise InvalidInputError(f"cannot listen on {host!r:.60}: {exc}") from None


def register(sub: SubParsers) -> None:
    """Add ``serve``."""
    p = sub.add_parser(
        "serve",
        help="serve /ipfs/ over HTTP: a path and trustless gateway over the tiers",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    p.add_argument(
        "--writable", action="store_true", help=f"enable POST /ipfs for bearers of ${TOKEN_ENV}"
    )
    p.add_argument(
        "--max-concurrent",
        type=int,
        default=64,
        metavar="N",
        help="requests served at once; more get 429 (64)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds until headers, and between body chunks (60)",
    )
    p.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds a connection has to send a whole request head (10)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        default=None,
        metavar="N",
        help="open connections at most; more are closed at once"
        " (1000, or half the file descriptor limit)",
    )
    p.add_argument(
        "--max-car-bytes",
        type=int,
        default=16 << 30,
        metavar="B",
        help="largest CAR response; a larger one is cut (16 GiB)",
    )
    p.add_argument(
        "--advertise",
        metavar="URL",
        help="the URL other nodes reach this server by (default: http://HOST:PORT, a "
        "wildcard HOST as the host name); advertised when the node has a node id",
    )
    p.add_argument(
        "--no-advertise", action="store_true", help="do not advertise this node in the index"
    )
    p.add_argument(
        "--advertise-ttl",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds an advertisement lasts unless renewed (60; 1 to 86400): a dead node's "
        "goes stale",
    )
    p.set_defaults(func=cmd_serve)
