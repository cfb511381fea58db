"""Property tests of the wiring's parsers and entry points (no servers)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ipfs_kit_py.backends import registry
from ipfs_kit_py.backends.gateway import gateway_urls
from ipfs_kit_py.backends.s3 import S3Config, S3Objects
from ipfs_kit_py.backends.s3.client import S3Client
from ipfs_kit_py.errors import ConfigurationError, InvalidInputError, NotConfiguredError
from ipfs_kit_py.kit_wiring import UnconfiguredKit
from ipfs_kit_py.s3_kit import S3Kit

hosts = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z]{2,4})?", fullmatch=True)
urls = st.builds(lambda h, p: f"http://{h}:{p}", hosts, st.integers(1, 65535))


@settings(max_examples=60, deadline=None)
@given(st.lists(urls, max_size=5), st.sampled_from([",", ", ", " ,", ",\n"]))
def test_gateway_urls_from_text_or_list(wanted: list[str], sep: str) -> None:
    assert gateway_urls(sep.join(wanted)) == wanted
    assert gateway_urls(wanted) == wanted


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(), st.floats(), st.dictionaries(st.text(), st.text())))
def test_gateway_urls_refuse_other_types(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="gateway urls"):
        gateway_urls(value)


@settings(max_examples=80, deadline=None)
@given(st.one_of(st.text(max_size=20), st.sampled_from([n for n in dir(S3Kit) if n[0] != "_"])))
def test_unconfigured_kit_answers_real_names_and_refuses_others(attr: str) -> None:
    assume(not hasattr(UnconfiguredKit, attr))  # its own dunders and methods
    kit = UnconfiguredKit("s3", "set [s3]", S3Kit)
    if attr.startswith("_"):
        with pytest.raises(AttributeError):
            getattr(kit, attr)
    elif hasattr(S3Kit, attr) and not callable(getattr(S3Kit, attr)):
        with pytest.raises(NotConfiguredError, match="s3 is not configured"):
            getattr(kit, attr)
    elif callable(getattr(S3Kit, attr, None)):
        answer = getattr(kit, attr)()
        assert answer == {
            "success": False,
            "error": "s3 is not configured: set [s3]",
            "error_type": "NotConfiguredError",
        }
    else:
        with pytest.raises(AttributeError, match="S3Kit"):
            getattr(kit, attr)


def test_unconfigured_kit_catches_the_seed_typo() -> None:
    kit = UnconfiguredKit("s3", "set [s3]", S3Kit)
    with pytest.raises(AttributeError, match="uplaod_file"):
        kit.uplaod_file("f")
    assert kit.upload_file("f")["error_type"] == "NotConfiguredError"
    assert UnconfiguredKit("s3", "set [s3]").anything()["error_type"] == "NotConfiguredError"
    with pytest.raises(NotConfiguredError):
        kit.objects  # noqa: B018 - a property of S3Kit


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=12))
def test_registered_names_are_identifiers(name: str) -> None:
    assume(name not in registry.known_implementations)
    if name.isidentifier():
        registry.register_implementation(name, "some_pkg.SomeBackend")
        try:
            assert registry.implementation(name).section == name
            with pytest.raises(ConfigurationError, match="cannot be loaded"):
                registry.get_backend_class(name)
        finally:
            registry.known_implementations.pop(name)
    else:
        with pytest.raises(ConfigurationError, match="identifier"):
            registry.register_implementation(name, "some_pkg.SomeBackend")
    assert name not in registry.known_implementations


@settings(max_examples=150, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=40))
def test_s3_objects_check_keys_before_any_request(key: str) -> None:
    config = S3Config.from_sources(
        {"access_key_id": "a", "secret_access_key": "b", "bucket": "my-bucket"}, {}, {}
    )
    objects = S3Objects(config, S3Client(config))
    segments = key.split("/")
    good = (
        bool(key)
        and all(s not in ("", ".", "..") for s in segments)
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in key)
    )
    if good:
        assert objects.target(None, key) == ("my-bucket", key)
    else:
        with pytest.raises(InvalidInputError):
            objects.target(None, key)


def test_s3_objects_need_credentials_and_a_bucket() -> None:
    bare = S3Config.from_sources({}, {}, {})
    with pytest.raises(NotConfiguredError, match="S3 not configured"):
        S3Objects(bare, S3Client(bare)).target("b", "k")
    keyed = S3Config.from_sources({"access_key_id": "a", "secret_access_key": "b"}, {}, {})
    with pytest.raises(NotConfiguredError, match="bucket"):
        S3Objects(keyed, S3Client(keyed)).target(None, "k")
