"""ipfs_kit_py: content-addressed storage across tiers, verified against its CID.

The public API, imported lazily (``import ipfs_kit_py`` loads nothing below it until a
name is used): the facade ``ipfs_kit`` and the seed's dict kits, the exception tree,
CID helpers and import profiles, the backends and their registry.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ipfs_kit_py.backends.base import Backend, BaseBackend, StoredObject
    from ipfs_kit_py.backends.disk import DiskBackend
    from ipfs_kit_py.backends.gateway import GatewayBackend
    from ipfs_kit_py.backends.kubo import KuboBackend, KuboConfig
    from ipfs_kit_py.backends.memory import MemoryBackend
    from ipfs_kit_py.backends.registry import (
        available_backends,
        build_backend,
        get_backend_class,
        known_implementations,
        register_implementation,
    )
    from ipfs_kit_py.backends.s3 import S3Backend, S3Config, S3Objects, Transfer
    from ipfs_kit_py.backends.s3.client import ObjectInfo
    from ipfs_kit_py.backends.storacha import (
        StorachaBackend,
        StorachaConfig,
        UploadPage,
        UploadResult,
    )
    from ipfs_kit_py.config import Secret
    from ipfs_kit_py.content.cid import CID, cid_key, parse_cid, sha256_cid
    from ipfs_kit_py.content.unixfs import (
        KUBO_CID_V1,
        KUBO_DEFAULT,
        STORACHA,
        ImportProfile,
        import_file,
    )
    from ipfs_kit_py.errors import (
        AuthenticationError,
        BackendError,
        BackendTimeoutError,
        BackendUnavailableError,
        BucketNotFoundError,
        CARFormatError,
        ConfigurationError,
        ContentMismatchError,
        ContentNotFoundError,
        InputPathError,
        InvalidCIDError,
        InvalidInputError,
        IpfsKitError,
        LastCopyError,
        NotConfiguredError,
        ProtocolError,
        SpaceNotProvisionedError,
        UnsafePathError,
    )
    from ipfs_kit_py.ipfs_kit import AddResult, ipfs_kit
    from ipfs_kit_py.kit_config import KitConfig
    from ipfs_kit_py.kit_wiring import TierStatus
    from ipfs_kit_py.results import dict_result
    from ipfs_kit_py.s3_kit import S3Kit
    from ipfs_kit_py.storacha_kit import StorachaKit, storacha_kit

# public name -> the module that defines it
_EXPORTS = {
    "AddResult": "ipfs_kit_py.ipfs_kit",
    "ipfs_kit": "ipfs_kit_py.ipfs_kit",
    "KitConfig": "ipfs_kit_py.kit_config",
    "TierStatus": "ipfs_kit_py.kit_wiring",
    "S3Kit": "ipfs_kit_py.s3_kit",
    "StorachaKit": "ipfs_kit_py.storacha_kit",
    "storacha_kit": "ipfs_kit_py.storacha_kit",
    "dict_result": "ipfs_kit_py.results",
    "Secret": "ipfs_kit_py.config",
    "AuthenticationError": "ipfs_kit_py.errors",
    "BackendError": "ipfs_kit_py.errors",
    "BackendTimeoutError": "ipfs_kit_py.errors",
    "BackendUnavailableError": "ipfs_kit_py.errors",
    "BucketNotFoundError": "ipfs_kit_py.errors",
    "CARFormatError": "ipfs_kit_py.errors",
    "ConfigurationError": "ipfs_kit_py.errors",
    "ContentMismatchError": "ipfs_kit_py.errors",
    "ContentNotFoundError": "ipfs_kit_py.errors",
    "InputPathError": "ipfs_kit_py.errors",
    "InvalidCIDError": "ipfs_kit_py.errors",
    "InvalidInputError": "ipfs_kit_py.errors",
    "IpfsKitError": "ipfs_kit_py.errors",
    "LastCopyError": "ipfs_kit_py.errors",
    "NotConfiguredError": "ipfs_kit_py.errors",
    "ProtocolError": "ipfs_kit_py.errors",
    "SpaceNotProvisionedError": "ipfs_kit_py.errors",
    "UnsafePathError": "ipfs_kit_py.errors",
    "CID": "ipfs_kit_py.content.cid",
    "cid_key": "ipfs_kit_py.content.cid",
    "parse_cid": "ipfs_kit_py.content.cid",
    "sha256_cid": "ipfs_kit_py.content.cid",
    "KUBO_CID_V1": "ipfs_kit_py.content.unixfs",
    "KUBO_DEFAULT": "ipfs_kit_py.content.unixfs",
    "STORACHA": "ipfs_kit_py.content.unixfs",
    "ImportProfile": "ipfs_kit_py.content.unixfs",
    "import_file": "ipfs_kit_py.content.unixfs",
    "Backend": "ipfs_kit_py.backends.base",
    "BaseBackend": "ipfs_kit_py.backends.base",
    "StoredObject": "ipfs_kit_py.backends.base",
    "available_backends": "ipfs_kit_py.backends.registry",
    "build_backend": "ipfs_kit_py.backends.registry",
    "get_backend_class": "ipfs_kit_py.backends.registry",
    "known_implementations": "ipfs_kit_py.backends.registry",
    "register_implementation": "ipfs_kit_py.backends.registry",
    "MemoryBackend": "ipfs_kit_py.backends.memory",
    "DiskBackend": "ipfs_kit_py.backends.disk",
    "GatewayBackend": "ipfs_kit_py.backends.gateway",
    "KuboBackend": "ipfs_kit_py.backends.kubo",
    "KuboConfig": "ipfs_kit_py.backends.kubo",
    "S3Backend": "ipfs_kit_py.backends.s3",
    "S3Config": "ipfs_kit_py.backends.s3",
    "S3Objects": "ipfs_kit_py.backends.s3",
    "Transfer": "ipfs_kit_py.backends.s3",
    "ObjectInfo": "ipfs_kit_py.backends.s3.client",
    "StorachaBackend": "ipfs_kit_py.backends.storacha",
    "StorachaConfig": "ipfs_kit_py.backends.storacha",
    "UploadPage": "ipfs_kit_py.backends.storacha",
    "UploadResult": "ipfs_kit_py.backends.storacha",
}

__all__ = [
    "CID",
    "KUBO_CID_V1",
    "KUBO_DEFAULT",
    "STORACHA",
    "AddResult",
    "AuthenticationError",
    "Backend",
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "BaseBackend",
    "BucketNotFoundError",
    "CARFormatError",
    "ConfigurationError",
    "ContentMismatchError",
    "ContentNotFoundError",
    "DiskBackend",
    "GatewayBackend",
    "ImportProfile",
    "InputPathError",
    "InvalidCIDError",
    "InvalidInputError",
    "IpfsKitError",
    "KitConfig",
    "KuboBackend",
    "KuboConfig",
    "LastCopyError",
    "MemoryBackend",
    "NotConfiguredError",
    "ObjectInfo",
    "ProtocolError",
    "S3Backend",
    "S3Config",
    "S3Kit",
    "S3Objects",
    "Secret",
    "SpaceNotProvisionedError",
    "StorachaBackend",
    "StorachaConfig",
    "StorachaKit",
    "StoredObject",
    "TierStatus",
    "Transfer",
    "UnsafePathError",
    "UploadPage",
    "UploadResult",
    "available_backends",
    "build_backend",
    "cid_key",
    "dict_result",
    "get_backend_class",
    "import_file",
    "ipfs_kit",
    "known_implementations",
    "parse_cid",
    "register_implementation",
    "sha256_cid",
    "storacha_kit",
]


# public names that are also submodule names: the name means the class or function
_SHADOWED = frozenset({"ipfs_kit", "storacha_kit"})


class _PublicModule(types.ModuleType):
    """This package, whose seed names stay the facade class and kit function.

    Importing ``ipfs_kit_py.ipfs_kit`` (the module) would otherwise set the package
    attribute ``ipfs_kit`` to that module.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _PublicModule


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
