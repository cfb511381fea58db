"""The one wrapper that turns the typed core into the seed's dict-returning face."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec

from ipfs_kit_py.config import Configured
from ipfs_kit_py.errors import IpfsKitError
from ipfs_kit_py.resource import Closeable

__all__ = ["DictKit", "Result", "dict_result"]

logger = logging.getLogger(__name__)

Result = dict[str, Any]
P = ParamSpec("P")


def _as_fields(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return {"result": value}


def dict_result(func: Callable[P, object]) -> Callable[P, Result]:
    """Wrap ``func`` so it returns ``{"success": True, ...}`` or ``{"success": False, ...}``.

    A mapping or dataclass return value is spread into the dict; anything else lands
    under ``"result"``. Exceptions never escape: an :class:`IpfsKitError` gives its
    message; anything else is logged with its traceback and reported by type.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Result:
        try:
            value = func(*args, **kwargs)
        except IpfsKitError as exc:
            return {"success": False, "error": str(exc), "error_type": type(exc).__name__}
        except Exception as exc:
            logger.exception("unexpected error in %s", func.__qualname__)
            return {
                "success": False,
                "error": f"unexpected {type(exc).__name__}: {exc}",
                "error_type": type(exc).__name__,
            }
        return {"success": True, **_as_fields(value)}

    return wrapper


class DictKit(Configured, Closeable):
    """Base of the seed's dict-returning kits: built from one config; a context manager."""

    def close(self) -> None:
        """Release connections and threads; idempotent."""
