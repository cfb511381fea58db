"""``ipfs-kit serve``: a path + trustless IPFS HTTP gateway over the tiers, as an ASGI app.

``GatewayApp(blocks)`` answers ``GET/HEAD /ipfs/{cid}[/{path}]`` (raw blocks, CARs with
``dag-scope`` and ``entity-bytes``, files with ``Range``, directory listings) from a
``VerifiedBlocks`` (``ipfs_kit_py.content.random_access``): only bytes that match their
CID are ever sent.
"""

from ipfs_kit_py.gateway.app import ContentWriter, GatewayApp, GatewayConfig
from ipfs_kit_py.gateway.handler import GatewayHandler, Request, Response
from ipfs_kit_py.gateway.params import HTTPError

__all__ = [
    "ContentWriter",
    "GatewayApp",
    "GatewayConfig",
    "GatewayHandler",
    "HTTPError",
    "Request",
    "Response",
]
