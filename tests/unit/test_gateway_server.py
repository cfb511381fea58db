"""The HTTP front's limits: a defined answer to any value, and protocol classes that are
uvicorn's own with the head deadline mixed in."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ipfs_kit_py.errors import InvalidInputError
from ipfs_kit_py.gateway import GatewayConfig
from ipfs_kit_py.gateway.server import ConnectionLimits, hardened_protocol, uvicorn_config


@given(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.integers(-(1 << 20), 1 << 20),
    st.integers(-100, 100),
)
def test_limits_are_positive_or_refused(timeout: float, head: int, keep: int) -> None:
    if timeout > 0 and head > 0 and keep > 0:
        limits = ConnectionLimits(timeout, head, keep)
        assert math.isclose(limits.header_timeout_s, timeout)
    else:
        with pytest.raises(InvalidInputError):
            ConnectionLimits(timeout, head, keep)


@given(st.integers(-(1 << 20), 1 << 20))
def test_the_upload_rate_is_positive_or_refused(rate: int) -> None:
    if rate > 0:
        assert GatewayConfig(min_upload_rate=rate).min_upload_rate == rate
    else:
        with pytest.raises(InvalidInputError):
            GatewayConfig(min_upload_rate=rate)


def test_the_protocols_are_uvicorns_with_the_limits() -> None:
    limits = ConnectionLimits(header_timeout_s=3)
    assert issubclass(hardened_protocol(limits, "httptools"), HttpToolsProtocol)
    assert issubclass(hardened_protocol(limits, "h11"), H11Protocol)
    assert issubclass(hardened_protocol(limits), HttpToolsProtocol)  # auto: httptools
    assert hardened_protocol(limits, "h11").limits is limits  # type: ignore[attr-defined]
    config = uvicorn_config(object(), host="127.0.0.1", port=1, limits=limits)
    assert config.timeout_keep_alive == limits.keep_alive_s
    assert config.h11_max_incomplete_event_size == limits.max_header_bytes
