"""Entry point of ``ipfs-kit``: builds the parser from each command module and dispatches.

Each command module exposes ``register(subparsers)``, which adds its sub-commands and
sets ``func`` on each: ``func(args) -> int`` (the exit code). Exit codes:

    0  success
    1  the operation failed (content not found, verification failed, backend error)
    2  bad usage or bad input (invalid CID, missing path, unsafe name)
    3  configuration missing or invalid
    4  a backend could not be reached, timed out, or refused our credentials
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ipfs_kit_py import errors
from ipfs_kit_py.cli.console import console, print_error

COMMAND_MODULES = [
    "ipfs_kit_py.cli.add",
    "ipfs_kit_py.cli.car",
    "ipfs_kit_py.cli.content",
    "ipfs_kit_py.cli.s3",
    "ipfs_kit_py.cli.storacha",
]

EPILOG = """\
examples:
  ipfs-kit add photo.jpg                  # store in the default tiers (memory + disk)
  ipfs-kit add -n -r ./dataset            # only the CID, exactly as `ipfs add -n -r`
  ipfs-kit cat CID > out                  # from the fastest tier holding it, verified
  ipfs-kit add --to disk,s3 photo.jpg     # write-through to S3 as well
  ipfs-kit whereis CID                    # every tier the index knows holds it
  ipfs-kit replicate CID --to s3,storacha # fill in copies; `verify --all` checks them
  ipfs-kit backends                       # which tiers are configured and reachable

configuration: arguments > the TOML file at $IPFS_KIT_CONFIG or
$XDG_CONFIG_HOME/ipfs-kit/config.toml > environment (AWS_*, S3_ENDPOINT_URL,
IPFS_KIT_S3_BUCKET, IPFS_API_URL, STORACHA_KEY, STORACHA_PROOF, ...);
`ipfs-kit config show` prints what is in force, secrets masked. `COMMAND --help` for each.

exit codes:
  0  success
  1  the operation failed (content not found, verification failed, backend error)
  2  bad usage or bad input (invalid CID, missing path, unsafe name)
  3  configuration missing or invalid
  4  a backend could not be reached, timed out, or refused our credentials
"""

BOOLEAN_FLAGS = {"--raw-leaves"}  # BooleanOptionalAction options kubo spells --flag=false

logger = logging.getLogger("ipfs_kit_py.cli")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONFIG, EXIT_BACKEND = 0, 1, 2, 3, 4


def exit_code_for(exc: errors.IpfsKitError) -> int:
    """Map an exception from the typed core to the documented exit code."""
    if isinstance(exc, errors.InvalidInputError):
        return EXIT_USAGE
    if isinstance(exc, errors.ConfigurationError):
        return EXIT_CONFIG
    # BackendTimeoutError is a BackendUnavailableError: every backend's timeout exits 4
    if isinstance(exc, errors.BackendUnavailableError | errors.AuthenticationError):
        return EXIT_BACKEND
    return EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """Build the full ``ipfs-kit`` parser."""
    parser = argparse.ArgumentParser(
        prog="ipfs-kit",
        description=(
            "Content-addressed storage across memory, disk, kubo, S3 and Storacha. "
            "Every CID is computed as kubo computes it, and every read is verified "
            "against its CID."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def kubo_style_booleans(argv: Sequence[str]) -> list[str]:
    """Accept kubo's ``--flag=true|false`` spelling for our ``--flag/--no-flag`` options."""
    out = []
    for token in argv:
        name, _, value = token.partition("=")
        if name in BOOLEAN_FLAGS and value.lower() in ("true", "false"):
            token = name if value.lower() == "true" else "--no-" + name[2:]
        out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ipfs-kit`` with ``argv``; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(kubo_style_booleans(sys.argv[1:] if argv is None else argv))
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    # force: a second main() in one process (tests, embedding) logs to the current stderr
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    try:
        return int(args.func(args))
    except errors.IpfsKitError as exc:
        print_error(exc, as_json=getattr(args, "json", False))
        return exit_code_for(exc)
    except KeyboardInterrupt:
        console.print("interrupted", style="red")
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug or an unmapped OS error: one line, never a traceback
        logger.debug("unexpected error", exc_info=True)
        print_error(UnexpectedError(exc), as_json=getattr(args, "json", False))
        return EXIT_FAILED


class UnexpectedError(Exception):
    """An exception the typed core did not map; reported by its type, traceback at -vv."""

    def __init__(self, exc: BaseException) -> None:
        hint = "" if logger.isEnabledFor(logging.DEBUG) else " (run with -vv for details)"
        super().__init__(f"{type(exc).__name__}: {exc}{hint}")


if __name__ == "__main__":
    sys.exit(main())
