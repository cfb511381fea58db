"""The public surface: every name in ``ipfs_kit_py.__all__`` resolves, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ipfs_kit_py


def test_all_exports_resolve_to_package_objects() -> None:
    assert len(set(ipfs_kit_py.__all__)) == len(ipfs_kit_py.__all__)
    for name in ipfs_kit_py.__all__:
        value = getattr(ipfs_kit_py, name)
        module = getattr(value, "__module__", None) or type(value).__module__
        if isinstance(value, dict):  # the registry table
            continue
        assert module.startswith(("ipfs_kit_py.", "multiformats.")), (name, module)
    assert set(ipfs_kit_py.__all__) <= set(dir(ipfs_kit_py))


def test_seed_names_are_exported() -> None:
    for name in ("ipfs_kit", "S3Kit", "StorachaKit", "storacha_kit", "IpfsKitError", "CID"):
        assert name in ipfs_kit_py.__all__


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        ipfs_kit_py.no_such_name  # noqa: B018


def test_seed_names_stay_callables_after_their_modules_load() -> None:
    import ipfs_kit_py.ipfs_kit
    import ipfs_kit_py.storacha_kit

    assert isinstance(ipfs_kit_py.ipfs_kit, type)
    assert callable(ipfs_kit_py.storacha_kit) and not isinstance(ipfs_kit_py.storacha_kit, type)
    from ipfs_kit_py.ipfs_kit import ipfs_kit

    assert ipfs_kit is ipfs_kit_py.ipfs_kit


def test_import_is_lazy() -> None:
    code = (
        "import sys, ipfs_kit_py\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('ipfs_kit_py.'))\n"
        "assert not loaded, loaded\n"
        "ipfs_kit_py.ipfs_kit\n"
        "assert 'ipfs_kit_py.ipfs_kit' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
