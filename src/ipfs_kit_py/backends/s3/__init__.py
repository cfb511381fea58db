"""S3-compatible object stores (AWS, MinIO, SeaweedFS, R2): one content object per CID.

``backend`` (the :class:`S3Backend`), ``objects`` (:class:`S3Objects`, the typed
bucket-level calls), ``client`` (the object-store engine), ``transfer`` (streamed,
multipart uploads and downloads), ``config`` and ``errors``.
"""

from ipfs_kit_py.backends.s3.backend import S3Backend, object_key
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.objects import S3Objects, Transfer

__all__ = ["S3Backend", "S3Config", "S3Objects", "Transfer", "object_key"]
