"""multiformats is loaded with its lazily registered encodings made ready.

multiformats registers some encodings (base32, base36, ...) on their first use, without a
lock: two threads using one for the first time at once make one of them fail with
"Raw encoding with name 'base32' already exists" (seen with two Storacha writers of one CID).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def fresh_process(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


LAZY_LEFT = """
    from multiformats.multibase import raw
    print(sorted(set(raw._jit_registered_encodings) - set(raw._raw_encodings)))
"""


def test_multiformats_alone_registers_lazily() -> None:
    """The premise: without our loader, encodings wait for their first use."""
    assert fresh_process("import multiformats\n" + textwrap.dedent(LAZY_LEFT)) != "[]"


def test_loading_registers_every_lazy_encoding() -> None:
    code = "from ipfs_kit_py.content.cid import parse_cid\nparse_cid('bafkqaaa')\n"
    assert fresh_process(code + textwrap.dedent(LAZY_LEFT)) == "[]"


def test_modules_that_import_multiformats_load_it_ready() -> None:
    code = "import ipfs_kit_py.backends.storacha.piece\n"
    assert fresh_process(code + textwrap.dedent(LAZY_LEFT)) == "[]"


def test_threads_using_every_base_at_once() -> None:
    out = fresh_process(
        """
        import threading
        from ipfs_kit_py.content.cid import parse_cid
        bases = ["base16", "base32", "base32upper", "base36", "base64", "base64url"]
        cid = parse_cid("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy")
        start, failed = threading.Barrier(len(bases) * 2), []

        def use(base):
            start.wait()
            try:
                assert parse_cid(cid.encode(base)) == cid
            except Exception as exc:
                failed.append(repr(exc))

        threads = [threading.Thread(target=use, args=(b,)) for b in bases * 2]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(failed)
        """
    )
    assert out == "[]"
