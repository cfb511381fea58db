"""Network engine exceptions mapped into :mod:`ipfs_kit_py.errors` by type.

httpx's model: a timeout of any phase (connect, read, write, pool) is one
:class:`BackendTimeoutError`; an untrusted TLS certificate a :class:`CertificateError`;
any other transport failure (refused, reset, closed mid-answer) is a
:class:`BackendUnavailableError`. Callers chain the engine's
exception (``raise mapped from exc``) and consult message text only for what no type
says (obstore's ``GenericError``, see ``backends/s3/errors.py``).
"""

from __future__ import annotations

import httpx

from ipfs_kit_py.errors import BackendError, BackendTimeoutError, BackendUnavailableError
from ipfs_kit_py.tls import certificate_error, untrusted_reason

__all__ = ["TIMEOUT_TYPES", "UNAVAILABLE_TYPES", "network_error", "transport_error"]

TIMEOUT_TYPES: tuple[type[BaseException], ...] = (httpx.TimeoutException, TimeoutError)
UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (httpx.TransportError, ConnectionError)


def transport_error(
    exc: BaseException, *, backend: str, locator: str, action: str, trust: str | None = None
) -> BackendError:
    """The error for the network failure ``exc`` met during ``action`` on ``locator``.

    ``action`` reads as a phrase: ``"GET"``, ``"cat"``, ``"upload s3://b/k"``. An
    untrusted TLS certificate is a :class:`~ipfs_kit_py.errors.CertificateError` naming
    the ``ca_bundle`` setting of the tier ``trust`` (default: ``backend``).
    """
    reason = untrusted_reason(exc)
    if reason is not None:
        return certificate_error(reason, backend=backend, locator=locator, setting=trust)
    where = f"{backend} at {locator}" if locator else backend
    if isinstance(exc, TIMEOUT_TYPES):
        return BackendTimeoutError(
            f"{where} did not answer {action} in time ({_detail(exc)})",
            backend=backend,
            locator=locator,
        )
    reached = not isinstance(exc, httpx.ConnectError | ConnectionRefusedError)
    phrase = f"connection to {where} failed during" if reached else f"cannot reach {where} for"
    return BackendUnavailableError(
        f"{phrase} {action}: {type(exc).__name__}: {exc}", backend=backend, locator=locator
    )


def _detail(exc: BaseException) -> str:
    """The exception's type, and its message when it says more (a stall, a deadline)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text and text != "timed out" else type(exc).__name__


def network_error(
    exc: BaseException, *, backend: str, locator: str, action: str
) -> BackendError | None:
    """:func:`transport_error` if ``exc`` is a network failure by its type, else None."""
    if isinstance(exc, TIMEOUT_TYPES + UNAVAILABLE_TYPES):
        return transport_error(exc, backend=backend, locator=locator, action=action)
    return None
