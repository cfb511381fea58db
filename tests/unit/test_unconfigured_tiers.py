"""An unconfigured tier answers with what to set; kubo's tier answers to ``kubo`` too."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ipfs_kit_py.backends import registry
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.errors import InvalidInputError, NotConfiguredError
from ipfs_kit_py.ipfs_kit import ipfs_kit

REMOTE = ("kubo", "s3", "storacha", "gateway")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    for impl in registry.known_implementations.values():
        for prefix in impl.env_prefixes:
            for name in [n for n in os.environ if n.startswith(prefix)]:
                monkeypatch.delenv(name)
    monkeypatch.delenv("IPFS_KIT_CONFIG", raising=False)
    return tmp_path


def test_add_to_s3_without_config_says_what_to_set(home: Path) -> None:
    with ipfs_kit() as kit, pytest.raises(NotConfiguredError) as exc:
        kit.add(b"bytes", to=["s3"])
    message = str(exc.value)
    assert message.startswith("S3 not configured: set AWS_ACCESS_KEY_ID")
    for needed in ("AWS_SECRET_ACCESS_KEY", "S3_ENDPOINT_URL", "IPFS_KIT_S3_BUCKET", "[s3]"):
        assert needed in message
    with ipfs_kit() as kit:
        assert kit.whereis(kit.add(b"bytes").cid) == ["memory", "disk"]  # nothing half-stored


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("kubo", "IPFS_API_URL"),
        ("ipfs", "IPFS_API_URL"),
        ("storacha", "STORACHA_KEY"),
        ("gateway", "IPFS_KIT_GATEWAYS"),
    ],
)
def test_every_unconfigured_tier_names_its_settings(home: Path, name: str, says: str) -> None:
    with ipfs_kit() as kit:
        cid = kit.add(b"bytes").cid
        for call in (
            lambda: kit.add(b"more", to=[name]),
            lambda: kit.replicate(cid, [name]),
            lambda: kit.remove(cid, [name]),
        ):
            with pytest.raises(NotConfiguredError, match=says):
                call()


def test_an_unknown_tier_lists_the_tiers(home: Path) -> None:
    with ipfs_kit() as kit, pytest.raises(InvalidInputError, match="no tier named 'nope'"):
        kit.add(b"bytes", to=["nope"])


def test_cli_add_to_an_unconfigured_tier_exits_3(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = home / "f.txt"
    f.write_text("hello")
    assert main(["add", "--to", "disk,s3", str(f), "--json"]) == 3
    answer = json.loads(capsys.readouterr().out)
    assert answer["error_type"] == "NotConfiguredError" and "S3_ENDPOINT_URL" in answer["error"]


def test_the_registry_says_what_each_backend_itself_says(home: Path) -> None:
    """The message given without importing a backend is the backend's own."""
    for name in REMOTE:
        impl = registry.known_implementations[name]
        with pytest.raises(NotConfiguredError) as quick:
            registry.build_backends(name, {}, {}, {})
        cls = registry.get_backend_class(name)
        with pytest.raises(NotConfiguredError) as own:
            for backend in cls.all_from_sources({}, {}, {}):
                backend.check_configured()
        assert str(quick.value) == str(own.value) == impl.unconfigured


def test_a_variable_of_the_backend_builds_it(home: Path) -> None:
    """Mentioned (here by one variable), the backend itself decides, and says why."""
    with pytest.raises(NotConfiguredError, match="bucket"):
        env = {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
        [backend] = registry.build_backends("s3", {}, {}, env)
        backend.check_configured()
    assert registry.build_backends("kubo", {}, {}, {"IPFS_API_URL": "http://127.0.0.1:1"})


def test_backends_never_cuts_its_why(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["backends"]) == 0
    text = capsys.readouterr().out
    assert "…" not in text and text.splitlines()[0].split() == [
        "TIER",
        "KIND",
        "CONFIGURED",
        "REACHABLE",
        "WHY",
        "NOT",
    ]
    for name in REMOTE:
        assert registry.known_implementations[name].unconfigured in text
    assert "ipfs / kubo" in text
    assert main(["backends", "--json"]) == 0
    statuses = {s["name"]: s for s in json.loads(capsys.readouterr().out)["backends"]}
    assert statuses["ipfs"]["aliases"] == ["kubo"] and not statuses["ipfs"]["configured"]


def test_each_builtin_states_the_tier_name_its_class_declares(tmp_path: Path) -> None:
    for name, impl in registry.known_implementations.items():
        if name in ("memory", "disk"):  # named per instance: build one
            [local] = registry.build_backends(name, {"cache_dir": tmp_path}, {}, {})
            assert impl.tier == local.name
        elif impl.tier is not None:
            assert impl.tier == registry.get_backend_class(name).name, name
