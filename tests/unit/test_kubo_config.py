"""KuboConfig sources, locating the node, auth headers and add options (no server)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ipfs_kit_py.backends.kubo.backend import (
    DEFAULT_API_URL,
    KuboBackend,
    KuboConfig,
    add_options,
    locate_api,
    multiaddr_to_url,
)
from ipfs_kit_py.backends.kubo.rpc import AddOptions, KuboClient, authorization_header
from ipfs_kit_py.config import Secret
from ipfs_kit_py.content.unixfs import KUBO_DEFAULT, STORACHA
from ipfs_kit_py.errors import ConfigurationError


@pytest.mark.parametrize(
    ("addr", "url"),
    [
        ("/ip4/127.0.0.1/tcp/5001", "http://127.0.0.1:5001"),
        ("/ip4/10.0.0.2/tcp/45001/http", "http://10.0.0.2:45001"),
        ("/dns4/ipfs.example/tcp/443/https", "https://ipfs.example:443"),
        ("/ip6/::1/tcp/5001", "http://[::1]:5001"),
        (" /ip4/127.0.0.1/tcp/5001\n", "http://127.0.0.1:5001"),
    ],
)
def test_multiaddr_to_url(addr: str, url: str) -> None:
    assert multiaddr_to_url(addr) == url


@pytest.mark.parametrize("addr", ["/ip4/127.0.0.1/udp/5001", "/unix/tmp/sock", "/ip4/x/tcp/port"])
def test_multiaddr_to_url_rejects_what_it_cannot_reach(addr: str) -> None:
    with pytest.raises(ConfigurationError):
        multiaddr_to_url(addr)


def test_locate_api_prefers_explicit_then_repo_api_file(tmp_path: Path) -> None:
    (tmp_path / "api").write_text("/ip4/127.0.0.1/tcp/45123")
    assert locate_api("http://node:5001/", ipfs_path=str(tmp_path)) == "http://node:5001"
    assert locate_api("/ip4/127.0.0.1/tcp/7", ipfs_path=str(tmp_path)) == "http://127.0.0.1:7"
    assert locate_api(None, ipfs_path=str(tmp_path)) == "http://127.0.0.1:45123"
    assert locate_api(None, ipfs_path=str(tmp_path / "no-repo")) == DEFAULT_API_URL


def test_locate_api_rejects_garbage() -> None:
    with pytest.raises(ConfigurationError, match="neither a URL nor a multiaddr"):
        locate_api("127.0.0.1:5001", ipfs_path=None)


def test_config_precedence_args_over_file_over_env(tmp_path: Path) -> None:
    env = {"IPFS_API_URL": "http://env:1", "IPFS_API_AUTH": "bearer:env", "IPFS_PATH": "/none"}
    file = {"kubo": {"api_url": "http://file:2", "timeout": 7}}
    assert KuboConfig.from_sources({}, section={}, env=env).api_url == "http://env:1"
    from_file = KuboConfig.from_sources({}, section=file["kubo"], env=env)
    assert (from_file.api_url, from_file.timeout) == ("http://file:2", 7.0)
    from_args = KuboConfig.from_sources(
        {"api_url": "/ip4/1.2.3.4/tcp/3"}, section=file["kubo"], env=env
    )
    assert from_args.api_url == "http://1.2.3.4:3"
    assert from_args.auth == Secret("bearer:env")


def test_config_reads_the_repo_api_file_from_ipfs_path(tmp_path: Path) -> None:
    (tmp_path / "api").write_text("/ip4/127.0.0.1/tcp/45999")
    config = KuboConfig.from_sources({}, section={}, env={"IPFS_PATH": str(tmp_path)})
    assert config.api_url == "http://127.0.0.1:45999"


def test_config_defaults_without_any_source(tmp_path: Path) -> None:
    config = KuboConfig.from_sources({"ipfs_path": str(tmp_path)}, section={}, env={})
    assert config == KuboConfig()
    assert config.offline is True


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ({"timeout": "soon"}, "timeout must be a number"),
        ({"lookup_timeout": 0}, "lookup_timeout must be positive"),
        ({"offline": "maybe"}, "offline must be true or false"),
    ],
)
def test_config_rejects_bad_values(tmp_path: Path, args: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        KuboConfig.from_sources({"ipfs_path": str(tmp_path), **args}, section={}, env={})


def test_secret_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    config = KuboConfig.from_sources(
        {"api_url": "http://127.0.0.1:1", "auth": "basic:user:hunter2"}, section={}, env={}
    )
    backend = KuboBackend.from_config(config)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("%r %s %r", config, config, backend)
    shown = repr(config) + str(config) + repr(backend) + caplog.text
    assert "hunter2" not in shown
    assert "***" in repr(backend)


def test_authorization_header_forms() -> None:
    assert authorization_header(Secret("basic:user:pass")) == "Basic dXNlcjpwYXNz"
    assert authorization_header(Secret("basic:dXNlcjpwYXNz")) == "Basic dXNlcjpwYXNz"
    assert authorization_header(Secret("bearer:tok")) == "Bearer tok"
    assert authorization_header(Secret("tok")) == "Bearer tok"


def test_add_options_from_profiles() -> None:
    assert add_options(KUBO_DEFAULT).params() == {
        "pin": "true",
        "only-hash": "false",
        "wrap-with-directory": "false",
        "progress": "false",
        "cid-version": "0",
        "raw-leaves": "false",
        "chunker": "size-262144",
        "max-file-links": "174",
    }
    storacha = add_options(STORACHA, pin=False).params()
    assert storacha["chunker"] == "size-1048576"
    assert storacha["max-file-links"] == "1024"
    assert (storacha["raw-leaves"], storacha["cid-version"], storacha["pin"]) == (
        "true",
        "1",
        "false",
    )
    assert "cid-version" not in AddOptions().params()


def test_construction_is_cheap_and_close_is_idempotent() -> None:
    # A port nothing listens on: constructing and closing must not touch the network.
    backend = KuboBackend.from_config(KuboConfig(api_url="http://127.0.0.1:9"))
    assert backend.name == "ipfs"
    backend.close()
    backend.close()
    with KuboClient("http://127.0.0.1:9/") as client:
        assert client.url == "http://127.0.0.1:9"
