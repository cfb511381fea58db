"""Run one fuzz target under atheris (libFuzzer): ``python -m tests.fuzz.run TARGET ARGS``.

ARGS are libFuzzer's (corpus directories, ``-max_total_time=N``, ``-rss_limit_mb=N``,
``-timeout=N``, ``-artifact_prefix=DIR/``). The package is instrumented for coverage, and
so are the libraries that parse for it (multiformats, dag-cbor). Exits non-zero with
the crashing input saved under the artifact prefix if a target raises anything but
an ``IpfsKitError``.
"""

from __future__ import annotations

import sys


def main() -> None:
    import atheris

    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m tests.fuzz.run TARGET [libFuzzer args]")
    name = sys.argv[1]
    with atheris.instrument_imports(include=["ipfs_kit_py", "multiformats", "dag_cbor"]):
        from tests.fuzz.targets import TARGETS, self_test
    targets = {**TARGETS, "self-test": self_test}
    if name not in targets:
        raise SystemExit(f"unknown target {name!r}; targets: {', '.join(TARGETS)}")
    atheris.Setup([sys.argv[0], *sys.argv[2:]], targets[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
