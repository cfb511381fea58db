"""Files as a user expects them, output as data, and secrets nowhere they can be read."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from ipfs_kit_py.backends.gateway import GatewayBackend
from ipfs_kit_py.backends.kubo.backend import KuboConfig
from ipfs_kit_py.backends.s3.config import S3Config
from ipfs_kit_py.cli.console import plain, printable
from ipfs_kit_py.cli.main import main
from ipfs_kit_py.config import Environment, Secret, mask_url, split_userinfo
from ipfs_kit_py.errors import ConfigurationError, InputPathError
from ipfs_kit_py.ipfs_kit import ipfs_kit
from ipfs_kit_py.outfile import atomic_output, output_path

SECRET = "wJalrXUtnFEMI-very-secret"
KEY_ID = "AKIAEXAMPLEKEYID"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(("AWS_", "S3_", "IPFS_", "STORACHA_")):
            monkeypatch.delenv(name)
    for kind in ("CACHE", "DATA", "CONFIG"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# -- files as a user expects --------------------------------------------------------------


def test_get_honours_the_umask_and_keeps_a_replaced_files_mode(home: Path, umask_022: None) -> None:
    with ipfs_kit() as kit:
        cid = kit.add(b"mode bytes").cid
        fresh = kit.get_to_path(cid, home / "fresh")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644  # as open() would, not 0600
        os.umask(0o077)
        assert stat.S_IMODE(kit.get_to_path(cid, home / "private").stat().st_mode) == 0o600
        existing = home / "existing"
        existing.write_bytes(b"old")
        existing.chmod(0o640)
        kit.get_to_path(cid, existing)
        assert existing.read_bytes() == b"mode bytes"
        assert stat.S_IMODE(existing.stat().st_mode) == 0o640


def test_a_directory_target_means_a_file_inside(home: Path) -> None:
    with ipfs_kit() as kit:
        cid = kit.add(b"inside").cid
        (home / "d").mkdir()
        assert kit.get_to_path(cid, home / "d") == home / "d" / str(cid)
        assert kit.get_to_path(cid, f"{home}/new/") == home / "new" / str(cid)
        assert (home / "new" / str(cid)).read_bytes() == b"inside"


def test_a_device_or_fifo_target_is_written_into_never_replaced(home: Path) -> None:
    with ipfs_kit() as kit:
        cid = kit.add(b"to the void").cid
        assert kit.get_to_path(cid, "/dev/null") == Path("/dev/null")
        assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
        fifo = home / "fifo"
        os.mkfifo(fifo)
        with pytest.raises(InputPathError, match="cannot write"):
            kit.get_to_path(cid, fifo)  # nobody reads it: an error at once, not a hang
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            kit.get_to_path(cid, fifo)
            assert os.read(reader, 100) == b"to the void"
        finally:
            os.close(reader)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert not list(home.rglob("*.part"))


def test_a_failed_write_leaves_nothing(home: Path) -> None:
    target = home / "t"
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write(b"partial")
        raise RuntimeError("source failed")
    # nothing but the (emptied) temp-path journal directories under cache/
    assert [p.name for p in home.iterdir() if p.name != "cache"] == []
    assert [p for p in home.rglob("*") if not p.is_dir()] == []


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=20))
def test_output_path_is_the_target_or_a_file_inside_it(path: str, name: str) -> None:
    if "\0" in path:
        with pytest.raises(InputPathError):
            output_path(path, name)
        return
    got = output_path(path, name)
    if path.endswith("/") or os.path.isdir(path):
        assert got == Path(path) / name
    else:
        assert got == Path(path)


# -- output is data, not markup -----------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=60))
def test_plain_text_prints_exactly_as_given(text: str) -> None:
    """Any printable text, brackets and backslashes included (rich drops control codes)."""
    console = Console(width=10_000, record=True, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(plain(text), end="")
    assert console.export_text() == printable(text)


def test_markup_in_data_prints_literally(capsys: pytest.CaptureFixture[str]) -> None:
    from ipfs_kit_py.cli.console import console

    for text in ("d5/[/]", "[red]x[/red]", "[bold", "\\[x]", "a\\"):
        console.print(plain(text))
        assert capsys.readouterr().out.rstrip("\n") == text


# -- secrets ------------------------------------------------------------------------------


def test_s3_config_hides_credentials_from_repr_and_asdict() -> None:
    config = S3Config.from_sources({"access_key_id": KEY_ID, "secret_access_key": SECRET})
    assert SECRET not in repr(config) and KEY_ID not in repr(config)
    dumped = dataclasses.asdict(config)
    assert SECRET not in repr(dumped) and SECRET not in json.dumps(dumped, default=str)
    assert dumped["secret_access_key"] == Secret(SECRET)  # still usable, still masked
    assert config.secret_access_key is not None and config.secret_access_key.value == SECRET
    assert pickle.loads(pickle.dumps(config)) == config


def test_the_kit_keeps_no_environment_secret(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("IPFS_KIT_S3_BUCKET", "bucket-x")
    monkeypatch.setenv("UNRELATED_TOKEN", "unrelated-secret-value")
    with ipfs_kit() as kit:
        for shown in (repr(vars(kit)), repr(kit), repr(kit.s3_kit), repr(kit.s3_kit.config)):
            assert SECRET not in shown and KEY_ID not in shown
            assert "unrelated-secret-value" not in shown
        assert "AWS_SECRET_ACCESS_KEY" not in kit._sources.env
        summary = kit.config_summary()
    assert summary["s3"]["secret_access_key"] == "***"  # from the environment, masked
    assert summary["s3"]["access_key_id"] == "***"
    assert summary["s3"]["bucket"] == "bucket-x"


def test_config_show_lists_environment_settings_masked(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("IPFS_API_URL", "http://alice:hunter2@127.0.0.1:5009")
    assert main(["config", "show", "--json"]) == 0
    out = capsys.readouterr().out
    config = json.loads(out)["config"]
    assert config["s3"]["endpoint_url"] == "http://127.0.0.1:1"
    assert config["kubo"]["api_url"] == "http://127.0.0.1:5009"  # credentials moved out
    assert config["kubo"]["auth"] == "***"
    for secret in (SECRET, KEY_ID, "hunter2", "alice"):
        assert secret not in out
    assert main(["config", "show"]) == 0
    text = capsys.readouterr().out
    assert "secret_access_key" in text and SECRET not in text and "hunter2" not in text


def test_url_credentials_become_auth_for_kubo_and_gateways() -> None:
    config = KuboConfig.from_sources({"api_url": "http://u%40x:p%3Aw@127.0.0.1:5001"}, {}, {})
    assert config.api_url == "http://127.0.0.1:5001"
    assert config.auth == Secret("basic:u@x:p:w")
    assert "p:w" not in repr(config)
    gateway = GatewayBackend("https://user:pw@gw.example/ipfs")
    try:
        assert gateway.base_url == "https://gw.example/ipfs"
        assert "pw" not in repr(vars(gateway))
    finally:
        gateway.close()


def test_s3_endpoint_credentials_are_masked_in_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        S3Config(endpoint_url="ftp://user:topsecret@host")
    assert "topsecret" not in str(info.value)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http", "https"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.from_regex(r"[a-z0-9.]{1,20}(:[0-9]{1,5})?", fullmatch=True),
)
def test_userinfo_never_survives_masking_or_splitting(
    scheme: str, user: str, password: str, host: str
) -> None:
    from urllib.parse import quote

    url = f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{host}/api"
    bare, userinfo = split_userinfo(url)
    assert userinfo == f"{user}:{password}"
    assert bare == f"{scheme}://{host}/api"
    assert mask_url(url) == f"{scheme}://***@{host}/api"
    assert mask_url(bare) == bare


def test_environment_keeps_only_what_the_kit_reads() -> None:
    env = Environment({"AWS_SECRET_ACCESS_KEY": SECRET, "PATH": "/bin", "HOME": "/root"})
    assert dict(env) == {"AWS_SECRET_ACCESS_KEY": SECRET}
    assert SECRET not in repr(env)
