"""The S3 upload relay under attack: no connection outlives its use, the user's proxy holds.

Against real SeaweedFS, with the hostile proxy (``tests/servers/hostile.py``) standing
for a server that takes a whole upload and never answers, and for the proxy a user's
environment names (``http_proxy``/``no_proxy``), which downloads already took.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.servers.hostile import Exchange, HostileProxy, Reply
from tests.servers.seaweedfs import SeaweedS3, boto_client

from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.backends.s3.relay import UploadRelay
from ipfs_kit_py.backends.s3.relay_proxy import UpstreamProxy, env_proxy, unrelayable_proxy
from ipfs_kit_py.errors import BackendTimeoutError, IpfsKitError

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def _no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _wait_until(check: object, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(check())  # type: ignore[operator]


@pytest.fixture
def frozen_on_put(seaweedfs: SeaweedS3) -> Iterator[HostileProxy]:
    """SeaweedFS behind a proxy that reads a whole PUT and then never answers it."""
    release = threading.Event()

    def rule(exchange: Exchange) -> Reply:
        if exchange.method == "PUT":
            release.wait(120)
            return Reply(500)
        return exchange.forward()

    with HostileProxy(seaweedfs.endpoint_url, rule) as proxy:
        try:
            yield proxy
        finally:
            release.set()


@pytest.mark.timeout(60)
def test_an_upload_the_server_never_answers_leaves_no_relay_connection(
    seaweedfs: SeaweedS3, frozen_on_put: HostileProxy
) -> None:
    args = seaweedfs.s3_args(endpoint_url=frozen_on_put.url, upload_timeout=2)
    with S3Client(S3Config.from_sources({**args, "upload_stall_timeout": 1})) as client:
        for i in range(3):
            with pytest.raises(IpfsKitError):
                client.put(seaweedfs.bucket, f"frozen/{i}-{os.urandom(4).hex()}", b"x" * 5000)
        relay = client._relay
        assert relay is not None
        # the engine gave up; the frozen server still holds its end open
        assert _wait_until(lambda: not relay._links), f"{len(relay._links)} connections kept"


def test_a_client_that_sends_no_request_head_is_cut() -> None:
    relay = UploadRelay("http://127.0.0.1:9", 0.5)
    try:
        host, port = relay.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as s:
            assert _wait_until(lambda: len(relay._links) == 1, 5)
            assert s.recv(10) == b""  # closed by the relay, not left waiting
        assert _wait_until(lambda: not relay._links, 5)
    finally:
        relay.close()


@pytest.fixture
def forwarder(seaweedfs: SeaweedS3) -> Iterator[HostileProxy]:
    """A forward proxy (absolute-form requests) to SeaweedFS, recording what it carried."""
    origin = seaweedfs.endpoint_url

    def rule(exchange: Exchange) -> Reply:
        return exchange.forward(path=exchange.path.removeprefix(origin), upstream=origin)

    with HostileProxy(origin, rule) as proxy:  # its own client made before the env is set
        yield proxy


def _put_methods(proxy: HostileProxy) -> list[str]:
    return [e.method for e in proxy.seen if e.method == "PUT"]


def test_uploads_go_through_the_proxy_the_environment_names(
    seaweedfs: SeaweedS3, forwarder: HostileProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", forwarder.url.replace("http://", "http://u%40x:p%3Aw@"))
    key = f"proxied/{os.urandom(4).hex()}"
    with S3Client(S3Config.from_sources(seaweedfs.s3_args())) as client:
        client.put(seaweedfs.bucket, key, b"through the proxy")
        assert client._relay is not None
    assert _put_methods(forwarder) == ["PUT"]
    put = next(e for e in forwarder.seen if e.method == "PUT")
    auth = {k.lower(): v for k, v in put.headers.items()}["proxy-authorization"]
    assert auth == "Basic dUB4OnA6dw=="  # base64("u@x:p:w")
    body = boto_client(seaweedfs).get_object(Bucket=seaweedfs.bucket, Key=key)["Body"].read()
    assert body == b"through the proxy"


def test_no_proxy_sends_uploads_direct(
    seaweedfs: SeaweedS3, forwarder: HostileProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", forwarder.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with S3Client(S3Config.from_sources(seaweedfs.s3_args())) as client:
        client.put(seaweedfs.bucket, f"direct/{os.urandom(4).hex()}", b"direct")
    assert _put_methods(forwarder) == []


def test_a_proxy_the_relay_cannot_use_turns_it_off(
    seaweedfs: SeaweedS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "socks5://127.0.0.1:9")
    with S3Client(S3Config.from_sources(seaweedfs.s3_args())) as client:
        assert client._upload_relay() is None
    assert unrelayable_proxy("https://s3.example:8443", {"HTTPS_PROXY": "http://p:1"}) is None
    assert unrelayable_proxy(None, {"https_proxy": "socks5h://p:1"}) == "socks5h"


def test_the_proxy_credentials_never_show() -> None:
    found = env_proxy(("s3.example", 80), False, {"http_proxy": "http://me:s3cr3t@p:3128"})
    assert found is not None and found.address == ("p", 3128)
    assert "s3cr3t" not in repr(found) and "czNjcjN0" not in repr(found)


_header = st.from_regex(r"[A-Za-z-]{1,12}: [ -~]{0,20}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(_header, max_size=6), st.booleans(), st.booleans())
def test_rewrite_keeps_the_request_and_puts_only_our_credentials(
    headers: list[str], client_auth: bool, ours: bool
) -> None:
    lines = ["PUT http://h:1/b/k HTTP/1.1", *headers]
    if client_auth:
        lines.insert(1, "Proxy-Authorization: Basic \x01theirs")  # \x01: in no generated header
    body = b"Proxy-Authorization: Basic theirs\r\n\r\nbody bytes are never touched"
    head = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    proxy = UpstreamProxy("p", 1, b"Basic \x01ours" if ours else None)
    out = proxy.rewrite(head)
    assert out.startswith(b"PUT http://h:1/b/k HTTP/1.1\r\n") and out.endswith(b"\r\n\r\n" + body)
    out = out[: -len(body)]
    assert b"\x01theirs" not in out
    assert out.count(b"\x01ours") == int(ours)
    for header in headers:
        if not header.lower().startswith("proxy-authorization:"):
            assert header.encode() in out


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*PROXY_VARS, *(v.upper() for v in PROXY_VARS), "OTHER"]),
        st.text(max_size=30),
    ),
    st.booleans(),
)
def test_any_proxy_environment_has_an_answer(env: dict[str, str], connect: bool) -> None:
    found = env_proxy(("s3.example", 443 if connect else 80), connect, env)
    assert found is None or (found.host and 0 <= found.port <= 65535)
    scheme = unrelayable_proxy("http://s3.example", env)
    assert scheme is None or isinstance(scheme, str)


@pytest.mark.timeout(60)
def test_a_server_that_took_the_body_and_froze_fails_by_the_default_upload_timeout(
    seaweedfs: SeaweedS3, frozen_on_put: HostileProxy
) -> None:
    config = S3Config.from_sources(seaweedfs.s3_args(endpoint_url=frozen_on_put.url))
    # the answer's wait is bounded like a metadata call, not three times longer
    assert config.upload_timeout <= config.deadline
    with S3Client(config) as client, pytest.raises(BackendTimeoutError) as caught:
        client.put(seaweedfs.bucket, f"frozen/{os.urandom(4).hex()}", b"x" * 5000)
    assert caught.value.backend == "s3"
