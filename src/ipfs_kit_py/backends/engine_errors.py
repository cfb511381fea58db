"""Network engine exceptions mapped into :mod:`ipfs_kit_py.errors` by type.

httpx's model: a timeout of any phase (connect, read, write, pool) is one
:class:`BackendTimeoutError`; any other transport failure (refused, reset, closed
mid-answer) is a :class:`BackendUnavailableError`. Callers chain the engine's
exception (``raise mapped from exc``) and consult message text only for what no type
says (obstore's ``GenericError``, see ``backends/s3/errors.py``).
"""

from __future__ import annotations

import httpx

from ipfs_kit_py.errors import BackendError, BackendTimeoutError, BackendUnavailableError

__all__ = ["TIMEOUT_TYPES", "UNAVAILABLE_TYPES", "network_error", "transport_error"]

TIMEOUT_TYPES: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError)
UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (httpx.TransportError, ConnectionError)


def transport_error(exc: BaseException, *, backend: str, locator: str, action: str) -> BackendError:
    """The error for the network failure ``exc`` met during ``action`` on ``locator``.

    ``action`` reads as a phrase: ``"GET"``, ``"cat"``, ``"upload s3://b/k"``.
    """
    where = f"{backend} at {locator}" if locator else backend
    if isinstance(exc, TIMEOUT_TYPES):
        return BackendTimeoutError(
            f"{where} did not answer {action} in time ({type(exc).__name__})",
            backend=backend,
            locator=locator,
        )
    reached = not isinstance(exc, httpx.ConnectError | ConnectionRefusedError)
    phrase = f"connection to {where} failed during" if reached else f"cannot reach {where} for"
    return BackendUnavailableError(
        f"{phrase} {action}: {type(exc).__name__}: {exc}", backend=backend, locator=locator
    )


def network_error(
    exc: BaseException, *, backend: str, locator: str, action: str
) -> BackendError | None:
    """:func:`transport_error` if ``exc`` is a network failure by its type, else None."""
    if isinstance(exc, TIMEOUT_TYPES + UNAVAILABLE_TYPES):
        return transport_error(exc, backend=backend, locator=locator, action=action)
    return None
