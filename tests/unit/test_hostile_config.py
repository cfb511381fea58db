"""Hostile configuration and input: every bad value is a typed error, no secret is shown.

Regression tests for what an adversarial pass over the registry, the config convention
and the facade found (attack9): engine panics and raw OverflowErrors from odd numbers
and URLs, credentials in ``asdict``/``vars``/messages, raw TypeErrors from the dict face.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ipfs_kit_py import BaseBackend, ipfs_kit, register_implementation
from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo import KuboBackend, KuboConfig
from ipfs_kit_py.backends.registry import known_implementations
from ipfs_kit_py.backends.s3 import S3Config
from ipfs_kit_py.backends.s3.errors import validate_key
from ipfs_kit_py.backends.storacha import StorachaConfig
from ipfs_kit_py.config import Secret, parse_number, parse_url
from ipfs_kit_py.errors import ConfigurationError, InvalidInputError
from ipfs_kit_py.kit_config import KitConfig

PASSWORD = "hunter2-very-secret"
S3_CREDS = {"access_key_id": "AKIDEXAMPLE", "secret_access_key": PASSWORD}


# -- secrets ------------------------------------------------------------------------------


def test_asdict_of_a_config_does_not_hand_out_its_secrets() -> None:
    configs = [
        S3Config.from_sources({**S3_CREDS, "session_token": PASSWORD}, {}, {}),
        KuboConfig.from_sources({"auth": f"basic:u:{PASSWORD}"}, {}, {}),
        StorachaConfig.from_sources({"key": PASSWORD, "proof": PASSWORD}, {}, {}),
    ]
    for config in configs:
        assert PASSWORD not in repr(dataclasses.asdict(config))
        assert PASSWORD not in repr(dataclasses.astuple(config))


def test_secret_is_a_value_that_copies_and_pickles() -> None:
    secret = Secret(PASSWORD)
    for twin in (copy.copy(secret), copy.deepcopy(secret), pickle.loads(pickle.dumps(secret))):
        assert twin == secret and hash(twin) == hash(secret) and twin.value == PASSWORD
    assert secret != Secret("other") and not Secret("")
    with pytest.raises(AttributeError):
        secret.value = "changed"  # type: ignore[misc]


def test_vars_of_a_kit_shows_no_credential(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PASSWORD)
    monkeypatch.setenv("STORACHA_KEY", PASSWORD)
    config = {"kubo": {"auth": f"basic:user:{PASSWORD}"}, "s3": {"session_token": PASSWORD}}
    with ipfs_kit(config, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") as kit:
        assert PASSWORD not in repr(vars(kit))
        assert PASSWORD not in repr(kit)
        assert PASSWORD not in repr(kit.config_summary())


def test_config_summary_masks_a_url_password(tmp_path: Path) -> None:
    config = {"gateway": {"urls": [f"http://user:{PASSWORD}@127.0.0.1:1"]}}
    with ipfs_kit(config, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") as kit:
        summary = repr(kit.config_summary())
    assert PASSWORD not in summary and "127.0.0.1:1" in summary


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:99999",  # the engine panicked (InvalidPort), a BaseException
        "not a url",  # the engine panicked (InvalidUriChar)
        "http://ü.invalid:1",  # the engine panicked (InvalidUriChar)
        "ftp://127.0.0.1:1",
        "http://",
        f"http://user:{PASSWORD}@127.0.0.1:1",  # quoted by every engine error
    ],
)
def test_an_s3_endpoint_the_engine_cannot_use_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        S3Config.from_sources({**S3_CREDS, "endpoint_url": url}, {}, {})
    assert PASSWORD not in str(info.value)


@pytest.mark.parametrize(
    "override",
    [
        {"region": "a b\n"},  # the engine panicked (InvalidHeaderValue)
        {"region": "ü"},
        {"access_key_id": "AKID\nEXTRA"},
        {"access_key_id": "ключ"},
        {"session_token": "token\n"},  # the engine panicked (InvalidHeaderValue)
    ],
)
def test_s3_header_values_the_engine_cannot_send_are_configuration_errors(
    override: dict[str, str],
) -> None:
    with pytest.raises(ConfigurationError) as info:
        S3Config.from_sources({**S3_CREDS, **override}, {}, {})
    assert "ключ" not in str(info.value) and "token" not in str(info.value).split(" must")[1]


@pytest.mark.parametrize("prefix", ["a/../b", "./", "\x00x/", "x\udcff/"])
def test_an_s3_key_prefix_no_key_may_have_is_a_configuration_error(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="key_prefix"):  # was InvalidInputError per call
        S3Config.from_sources({**S3_CREDS, "key_prefix": prefix}, {}, {})


def test_a_kubo_url_password_becomes_its_auth_and_leaves_the_url() -> None:
    config = KuboConfig.from_sources({"api_url": f"http://user:{PASSWORD}@127.0.0.1:5001"}, {}, {})
    assert config.api_url == "http://127.0.0.1:5001"
    assert config.auth == Secret(f"basic:user:{PASSWORD}")
    backend = KuboBackend.from_config(config)
    assert PASSWORD not in repr(backend) and PASSWORD not in backend.client.url
    with pytest.raises(ConfigurationError):
        KuboConfig(api_url=f"http://user:{PASSWORD}@127.0.0.1:5001")


def test_a_gateway_url_password_is_not_in_its_base_url() -> None:
    with GatewayBackend(f"http://user:{PASSWORD}@127.0.0.1:1") as gateway:
        assert PASSWORD not in gateway.base_url
        assert gateway.base_url == "http://127.0.0.1:1/ipfs"


@settings(max_examples=200, deadline=None)
@given(
    scheme=st.sampled_from(["http", "https", "ftp", "", "HTTP"]),
    password=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=16),
    host=st.text(max_size=12),
    port=st.one_of(st.none(), st.integers(-5, 70000)),
)
def test_parse_url_answers_a_url_or_a_configuration_error_never_the_password(
    scheme: str, password: str, host: str, port: int | None
) -> None:
    assume(password not in host)
    url = f"{scheme}://user:{password}@{host}" + ("" if port is None else f":{port}")
    try:
        clean, userinfo = parse_url("u", url)
    except ConfigurationError as exc:
        assert password not in str(exc)
        return
    assert password not in clean
    assert userinfo is not None and userinfo.startswith(f"user:{password}")
    assert clean.startswith(("http://", "https://"))


# -- numbers ------------------------------------------------------------------------------

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    ("build", "value"),
    [
        (lambda v: KuboConfig.from_sources({"timeout": v}, {}, {}), INF),
        (lambda v: KuboConfig.from_sources({"timeout": v}, {}, {}), "1e400"),
        (lambda v: GatewayBackend.from_sources({"urls": ["http://h"], "timeout": v}, {}, {}), INF),
        (lambda v: StorachaConfig.from_sources({"timeout": v}, {}, {}), INF),
        (lambda v: StorachaConfig.from_sources({"shard_size": v}, {}, {}), 0),
        (lambda v: StorachaConfig.from_sources({"shard_size": v}, {}, {}), -1),
        (lambda v: S3Config.from_sources({**S3_CREDS, "connect_timeout": v}, {}, {}), INF),
        (lambda v: S3Config.from_sources({**S3_CREDS, "connect_timeout": v}, {}, {}), -1),
        (lambda v: S3Config.from_sources({**S3_CREDS, "request_timeout": v}, {}, {}), 0),
        (lambda v: S3Config.from_sources({**S3_CREDS, "retry_timeout": v}, {}, {}), INF),
        (lambda v: S3Config.from_sources({**S3_CREDS, "max_retries": v}, {}, {}), -1),
        (lambda v: S3Config.from_sources({**S3_CREDS, "max_retries": v}, {}, {}), 10**30),
        (lambda v: S3Config.from_sources({**S3_CREDS, "part_size": v}, {}, {}), 10**30),
        (lambda v: S3Config(**S3_CREDS, connect_timeout=v), -1.0),  # type: ignore[arg-type]
    ],
)
def test_a_number_a_backend_cannot_use_is_a_configuration_error(build: Any, value: Any) -> None:
    with pytest.raises(ConfigurationError):
        build(value)


@pytest.mark.parametrize("key", ["memory_bytes", "disk_bytes", "promote_after"])
@pytest.mark.parametrize("value", [INF, NAN, -1, "1e400", True])
def test_a_bad_local_tier_number_is_a_configuration_error(key: str, value: Any) -> None:
    section = "tiers" if key == "promote_after" else "cache"
    with pytest.raises(ConfigurationError):
        KitConfig.from_sources({}, {section: {key: value}}, {})


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_parse_number_gives_a_finite_number_or_a_configuration_error(value: float) -> None:
    try:
        number = parse_number("n", value, float)
    except ConfigurationError:
        assert not math.isfinite(value)
    else:
        assert math.isfinite(number) and number == value


# -- sections and the registry --------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda root: ipfs_kit([1, 2], **root),
        lambda root: ipfs_kit({"s3": "oops"}, **root),
        lambda root: ipfs_kit({"cache": 5}, **root),
        lambda root: ipfs_kit({}, s3="http://x", **root),  # type: ignore[arg-type]
        lambda root: ipfs_kit({}, sections={"s3": 5}, **root),  # type: ignore[dict-item]
    ],
)
def test_a_section_that_is_not_a_table_is_a_configuration_error(make: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="must be a table"):
        make({"cache_dir": tmp_path / "c", "index_path": tmp_path / "i.db"})


class _Broken(BaseBackend):
    name = "broken"

    @classmethod
    def from_sources(cls, args: Any = None, section: Any = None, env: Any = None) -> _Broken:
        raise RuntimeError("a third party's bug")


def test_a_third_party_backend_failing_to_build_is_a_configuration_error(tmp_path: Path) -> None:
    register_implementation("attack9_broken", _Broken)
    try:
        with pytest.raises(ConfigurationError, match="attack9_broken") as info:
            ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db")
        assert isinstance(info.value.__cause__, RuntimeError)
    finally:
        known_implementations.pop("attack9_broken", None)


@pytest.mark.parametrize("cls", [5, None, object()])
def test_registering_something_that_is_no_class_is_a_configuration_error(cls: Any) -> None:
    with pytest.raises(ConfigurationError):
        register_implementation("attack9_bad", cls)
    assert "attack9_bad" not in known_implementations


# -- the dict face with wrong types -----------------------------------------------------


@pytest.fixture
def local_kit(tmp_path: Path) -> Any:
    with ipfs_kit({}, cache_dir=tmp_path / "c", index_path=tmp_path / "i.db") as kit:
        yield kit


@pytest.mark.parametrize("source", [5, None, {"a": 1}, ["text", "chunks"], 3.5])
def test_ipfs_add_of_what_is_not_content_is_invalid_input(local_kit: Any, source: Any) -> None:
    result = local_kit.ipfs_add(source)
    assert result["success"] is False and result["error_type"] == "InvalidInputError"


def test_ipfs_cat_and_get_of_wrong_types_are_typed_errors(local_kit: Any) -> None:
    cid = local_kit.ipfs_add(b"hello")["cid"]
    assert local_kit.ipfs_cat(5)["error_type"] == "InvalidCIDError"
    assert local_kit.ipfs_whereis(None)["error_type"] == "InvalidCIDError"
    assert local_kit.ipfs_get(cid, None)["error_type"] == "InputPathError"


def test_one_tier_named_as_a_string_is_that_tier(local_kit: Any) -> None:
    added = local_kit.ipfs_add(b"one tier", to="disk")
    assert added["success"] is True and added["stored"] == ["disk"]
    removed = local_kit.ipfs_remove(added["cid"], "disk")
    assert removed == {"success": True, "cid": added["cid"], "removed": ["disk"]}


def test_an_s3_key_with_a_lone_surrogate_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="surrogate"):
        validate_key("name\udcff")
