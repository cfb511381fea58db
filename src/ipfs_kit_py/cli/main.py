"""Entry point of ``ipfs-kit``: builds the parser from each command module and dispatches.

Each command module exposes ``register(subparsers)``, which adds its sub-commands and
sets ``func`` on each: ``func(args) -> int`` (the exit code). Only the module of the
command typed is imported (the others appear in ``--help`` from :data:`COMMANDS`), so a
command loads only what it uses. Options of a command group (``ipfs-kit -v``,
``ipfs-kit storacha --json``) are accepted after its sub-commands too. Exit codes:

    0  success
    1  the operation failed (content not found, verification failed, backend error)
    2  bad usage or bad input (invalid CID, missing path, unsafe name)
    3  configuration missing or invalid
    4  a backend could not be reached, timed out, or refused our credentials
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TypeAlias

from ipfs_kit_py import errors, log_redact
from ipfs_kit_py.cli.console import print_error

# command -> (the module that registers it, its one-line help), in --help order; a
# test holds this table to what the modules register
COMMANDS: dict[str, tuple[str, str]] = {
    "add": ("ipfs_kit_py.cli.add", "add a file or directory; print its CID"),
    "car": ("ipfs_kit_py.cli.car", "pack, verify or extract CAR files"),
    "cat": ("ipfs_kit_py.cli.content", "print the content of a CID (verified) to stdout"),
    "get": ("ipfs_kit_py.cli.content", "save the content of a CID (verified) to a file"),
    "whereis": ("ipfs_kit_py.cli.content", "list the tiers holding a CID"),
    "ls": ("ipfs_kit_py.cli.content", "list indexed content, with filters"),
    "replicate": ("ipfs_kit_py.cli.content", "copy a CID into more tiers"),
    "verify": (
        "ipfs_kit_py.cli.content",
        "check that each tier still holds its copies and that they match their CID "
        "(exit 1 while any copy is bad or missing, or content has no copy)",
    ),
    "rm": ("ipfs_kit_py.cli.content", "delete a CID from some tiers"),
    "repair": (
        "ipfs_kit_py.cli.content",
        "rewrite bad and missing copies of a CID from a good one",
    ),
    "forget": ("ipfs_kit_py.cli.content", "drop index entries of a CID; no tier is touched"),
    "index": ("ipfs_kit_py.cli.index", "check, migrate or rebuild the metadata index"),
    "policy": ("ipfs_kit_py.cli.policy", "enforce replication policies (workers), or report"),
    "backends": ("ipfs_kit_py.cli.content", "list the tiers, whether they answer, and why not"),
    "config": ("ipfs_kit_py.cli.content", "show the configuration"),
    "s3": ("ipfs_kit_py.cli.s3", "S3 objects: ls, put, get, rm, head, exists, cleanup"),
    "storacha": ("ipfs_kit_py.cli.storacha", "upload to / list / retrieve from Storacha"),
    "serve": (
        "ipfs_kit_py.cli.serve",
        "serve /ipfs/ over HTTP: a path and trustless gateway over the tiers",
    ),
}
COMMAND_MODULES = list(dict.fromkeys(module for module, _ in COMMANDS.values()))
# modules that register several commands: their register() takes only=COMMAND
SHARED_MODULES = frozenset(
    m for m in COMMAND_MODULES if sum(module == m for module, _ in COMMANDS.values()) > 1
)
SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

EPILOG = """\
examples:
  ipfs-kit add photo.jpg                  # store in the default tiers (memory + disk)
  ipfs-kit add -n -r ./dataset            # only the CID, exactly as `ipfs add -n -r`
  ipfs-kit cat CID > out                  # from the fastest tier holding it, verified
  ipfs-kit add --to disk,s3 photo.jpg     # write-through to S3 as well
  ipfs-kit whereis CID                    # every tier the index knows holds it
  ipfs-kit replicate CID --to s3,storacha # fill in copies; `verify --all` checks them
  ipfs-kit verify --all                   # exit 1 while any copy is bad or missing
  ipfs-kit repair CID                     # restore bad or missing copies from a good one
  ipfs-kit index check                    # is the index sound; index rebuild remakes it
  ipfs-kit backends                       # which tiers are configured and reachable
  ipfs-kit serve --port 8080              # an HTTP gateway: curl 127.0.0.1:8080/ipfs/CID

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


class Parser(argparse.ArgumentParser):
    """argparse's parser (its sub-commands' too), sizing help text as argparse does but
    without importing ``shutil`` (and the compression modules it loads) on every start."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        formatter: argparse.HelpFormatter = self.formatter_class(
            prog=self.prog,
            width=terminal_columns() - 2,  # type: ignore[call-arg]  # every HelpFormatter takes it
        )
        return formatter


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``$COLUMNS``, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout (None), not a terminal
            columns = 0
    return columns or 80


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Build the ``ipfs-kit`` parser: for ``argv``, or every command in full (None).

    For ``argv`` only the module of its command is imported; the other commands are
    listed (for ``--help`` and the "invalid choice" message) without it, unless
    nothing but ``-v`` comes before the command: then no other command can show, and
    the parser has that command alone. A command word not in :data:`COMMANDS` builds
    every module.
    """
    parser = Parser(
        prog="ipfs-kit",
        description=(
            "Content-addressed storage across memory, disk, kubo, S3 and Storacha. "
            "Every CID is computed as kubo computes it, and every read from outside the "
            "process is verified against its CID, disk-cache hits included (with "
            "verify_disk_reads = false: only when the file changed; `verify --all` "
            "re-hashes everything)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv: debug)")
    sub: SubParsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)  # type: ignore[assignment]
    command = None if argv is None else command_of(argv)
    if argv is not None and command in COMMANDS and plain_before(argv, command):
        _register(COMMANDS[command][0], sub, only=command)  # no other command can show
        share_options(parser)
        return parser
    if argv is None or (command is not None and command not in COMMANDS):
        wanted = COMMAND_MODULES
    else:
        wanted = [COMMANDS[command][0]] if command is not None else []
    registered: set[str] = set()
    for name, (module, help_text) in COMMANDS.items():
        if module in wanted and module not in registered:
            _register(module, sub)
            registered.add(module)
        elif module not in wanted:
            sub.add_parser(name, help=help_text, add_help=False)
    share_options(parser)
    return parser


def _register(module: str, sub: SubParsers, only: str | None = None) -> None:
    """Let ``module`` add its commands to ``sub`` (``only``: just that one, where the
    module has several)."""
    register = importlib.import_module(module).register
    if only is not None and module in SHARED_MODULES:
        register(sub, only=only)
    else:
        register(sub)


def plain_before(argv: Sequence[str], command: str) -> bool:
    """True if every token before ``command`` is a ``-v``: the top-level help (which
    lists every command) cannot be asked for, so the parser needs ``command`` alone."""
    for token in argv:
        if token == command:
            return True
        if token != "--verbose" and not (len(token) > 1 and token == "-" + "v" * (len(token) - 1)):
            return False
    return False


def share_options(parser: argparse.ArgumentParser) -> None:
    """Accept each group's options after its sub-commands too, all the way down.

    Copies keep the value given before the sub-command (``default=SUPPRESS``) and show
    in the sub-command's ``--help``; an option a sub-command defines itself wins.
    """
    shared = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for child in dict.fromkeys(action.choices.values()):
            for option in shared:
                if any(o in child._option_string_actions for o in option.option_strings):
                    continue
                copied = copy.copy(option)
                copied.default, copied.required = argparse.SUPPRESS, False
                child._add_action(copied)
            share_options(child)


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv``: its first token that is not a top-level option."""
    return next((token for token in argv if not token.startswith("-")), None)


def verbosity(argv: Sequence[str]) -> int:
    """How many ``-v`` ``argv`` gives, before and after its sub-commands (``-v ls -v`` is 2).

    argparse counts each parser's ``-v`` apart (a sub-command's count replaces the
    top-level one), so the tokens are counted here, up to a ``--``.
    """
    count = 0
    for token in argv:
        if token == "--":
            break
        if token == "--verbose":
            count += 1
        elif len(token) > 1 and token[0] == "-" and token[1:] == "v" * (len(token) - 1):
            count += len(token) - 1
    return count


def kubo_style_booleans(argv: Sequence[str]) -> list[str]:
    """Accept kubo's ``--flag=true|false`` spelling for our ``--flag/--no-flag`` options
    (up to a ``--``: after it, such a token is a file name)."""
    out: list[str] = []
    for at, token in enumerate(argv):
        if token == "--":
            return [*out, *argv[at:]]
        name, _, value = token.partition("=")
        if name in BOOLEAN_FLAGS and value.lower() in ("true", "false"):
            token = name if value.lower() == "true" else "--no-" + name[2:]
        out.append(token)
    return out


def end_of_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--`` ends the options wherever it stands: ``ipfs-kit -- add -n`` adds a file
    named ``-n``, as ``ipfs-kit add -- -n`` does.

    argparse takes a ``--`` before a sub-command for the command word itself, so it is
    moved after the command words that follow it (``add``; ``storacha up``).
    """
    if "--" not in argv:
        return list(argv)
    dash = argv.index("--")
    tokens = [*argv[:dash], *argv[dash + 1 :]]
    current, at = parser, 0
    while (choices := _subcommands(current)) is not None:
        while at < dash and tokens[at].startswith("-"):
            at += 1 + _takes_value(current, tokens[at])
        if at >= len(tokens) or tokens[at] not in choices:
            break
        current, at = choices[tokens[at]], at + 1
    if at < dash:  # the command words come before it: argparse reads it right
        return list(argv)
    if at == len(tokens) or _subcommands(current) is not None:
        return tokens  # nothing after the commands, or no command where one is due
    return [*tokens[:at], "--", *tokens[at:]]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    """The sub-command parsers of ``parser`` by name, or None if it has none."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _takes_value(parser: argparse.ArgumentParser, token: str) -> int:
    """1 if option ``token`` of ``parser`` takes its value from the next token, else 0."""
    action = parser._option_string_actions.get(token)
    return int(action is not None and action.nargs != 0 and "=" not in token)


def terminate_like_interrupt() -> None:
    """SIGTERM unwinds like Ctrl-C: temp files are removed, exit code 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (embedded use)
        signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ipfs-kit`` with ``argv``; return the exit code."""
    argv = kubo_style_booleans(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
    args = parser.parse_args(end_of_options(parser, argv))
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbosity(argv), 2)]
    # force: a second main() in one process (tests, embedding) logs to the current stderr
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    log_redact.install()  # httpx logs request URLs at -v: never their query or user:password@
    terminate_like_interrupt()
    try:
        return int(args.func(args))
    except errors.IpfsKitError as exc:
        print_error(exc, as_json=getattr(args, "json", False))
        return exit_code_for(exc)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
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
