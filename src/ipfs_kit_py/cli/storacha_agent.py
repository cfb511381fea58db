"""``ipfs-kit storacha`` agent commands: whoami, login, account, space, plan, usage,
delegation and import-proof — all on the agent store (no Node needed)."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipfs_kit_py.cli.console import err_console, plain, print_json, print_line, terminal_safe
from ipfs_kit_py.content.cid import cid_key
from ipfs_kit_py.errors import InputPathError, InvalidInputError

__all__ = ["register_agent_commands", "terminal_safe"]

if TYPE_CHECKING:
    from ipfs_kit_py.backends.storacha.agent import StorachaAgent

    Sub = argparse._SubParsersAction[argparse.ArgumentParser]


def register_agent_commands(cmds: Sub) -> None:
    """Add the agent sub-commands to ``ipfs-kit storacha``."""
    cmds.add_parser("whoami", help="print this agent's DID").set_defaults(func=run_whoami)
    login = cmds.add_parser("login", help="log in by e-mail (waits for the link to be clicked)")
    login.add_argument("email")
    login.add_argument("--timeout", type=float, default=900.0, help="seconds to wait")
    login.set_defaults(func=run_login)
    account = cmds.add_parser("account", help="accounts this agent is logged in to")
    account_cmds = account.add_subparsers(dest="account_command", required=True)
    account_cmds.add_parser("ls", help="list accounts").set_defaults(func=run_account_ls)
    _register_space(cmds)
    _register_delegation(cmds)
    plan = cmds.add_parser("plan", help="the account's plan")
    plan_cmds = plan.add_subparsers(dest="plan_command", required=True)
    get = plan_cmds.add_parser("get", help="plan/get of an account")
    get.add_argument("--account", default=None, help="e-mail (default: the logged-in one)")
    get.set_defaults(func=run_plan_get)
    usage = cmds.add_parser("usage", help="storage used by the space")
    usage_cmds = usage.add_subparsers(dest="usage_command", required=True)
    report = usage_cmds.add_parser("report", help="usage/report for this month")
    report.set_defaults(func=run_usage_report)
    imp = cmds.add_parser("import-proof", help="add a 'delegation create --base64' proof")
    imp.add_argument("proof", help="the proof text, a file holding it, or - (stdin)")
    imp.add_argument("--key-file", default=None, help="file with the agent key (Mg...)")
    imp.set_defaults(func=run_import_proof)


def _register_space(cmds: Sub) -> None:
    space = cmds.add_parser("space", help="create, provision, list and select spaces")
    space_cmds = space.add_subparsers(dest="space_command", required=True)
    create = space_cmds.add_parser("create", help="create a space and select it")
    create.add_argument("name")
    create.add_argument("--account", default=None, help="e-mail (default: the logged-in one)")
    create.add_argument("--no-provision", action="store_true", help="do not provider/add it")
    create.add_argument("--no-recovery", action="store_true", help="no delegation to the account")
    create.add_argument(
        "--no-gateway-authorization", action="store_true", help="do not authorize the gateway"
    )
    create.set_defaults(func=run_space_create)
    provision = space_cmds.add_parser("provision", help="provider/add a space for an account")
    provision.add_argument("space_did", nargs="?", default=None)
    provision.add_argument("--account", default=None, help="e-mail (default: the logged-in one)")
    provision.add_argument(
        "--no-gateway-authorization", action="store_true", help="do not authorize the gateway"
    )
    provision.set_defaults(func=run_space_provision)
    space_cmds.add_parser("ls", help="spaces, and which the service knows").set_defaults(
        func=run_space_ls
    )
    use = space_cmds.add_parser("use", help="select the space for uploads")
    use.add_argument("space_did")
    use.set_defaults(func=run_space_use)
    info = space_cmds.add_parser("info", help="space/info of the selected space")
    info.set_defaults(func=run_space_info)


def _register_delegation(cmds: Sub) -> None:
    deleg = cmds.add_parser("delegation", help="share a space with another agent")
    deleg_cmds = deleg.add_subparsers(dest="delegation_command", required=True)
    create = deleg_cmds.add_parser("create", help="delegate abilities; prints the base64 proof")
    create.add_argument("audience", help="the other agent's did:key")
    create.add_argument("-c", "--can", action="append", required=True, help="ability (repeat)")
    create.add_argument(
        "--expiration", type=int, default=None, help="unix seconds (default: never)"
    )
    create.set_defaults(func=run_delegation_create)
    deleg_cmds.add_parser(
        "ls", help="delegations held and issued (revoked ones marked)"
    ).set_defaults(func=run_delegation_ls)
    revoke = deleg_cmds.add_parser("revoke", help="ucan/revoke a delegation")
    revoke.add_argument("cid")
    revoke.set_defaults(func=run_delegation_revoke)


@contextlib.contextmanager
def agent_from_args(args: argparse.Namespace) -> Iterator[StorachaAgent]:
    """The stored agent, with the service from flags > config file [storacha] > env."""
    overrides = {
        "service_url": args.service_url,
        "service_did": args.service_did,
        "gateway_url": args.gateway_url,
        "space": args.space,
    }
    given = {k: v for k, v in overrides.items() if v is not None}
    from ipfs_kit_py.storacha_kit import storacha_kit  # the kit's typed core, loaded late

    with storacha_kit(**given) as kit:
        yield kit.agent


def _show(args: argparse.Namespace, value: Any, text: str) -> int:
    if args.json:
        print_json(value)
    elif text:
        print_line(terminal_safe(text))
    return 0


def run_whoami(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        did = agent.whoami()
        return _show(args, {"agent": did, "store": str(agent.store.path)}, did)


def run_login(args: argparse.Namespace) -> int:
    def progress(waited: float) -> None:
        if not args.json:
            err_console.print(
                plain(f"waiting for the link e-mailed to {args.email} ({waited:.0f}s)")
            )

    with agent_from_args(args) as agent:
        account = agent.login(args.email, timeout=args.timeout, progress=progress)
        return _show(args, {"account": account, "agent": agent.whoami()}, f"logged in: {account}")


def run_account_ls(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        accounts = agent.accounts()
    return _show(args, {"accounts": accounts}, "\n".join(accounts) or "(not logged in)")


def run_space_create(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        made = agent.create_space(
            args.name,
            account=args.account,
            provision=not args.no_provision,
            recovery=not args.no_recovery,
            authorize_gateway=not args.no_gateway_authorization,
        )
    value = {k: v for k, v in made.__dict__.items() if k != "key"}
    lines = [made.did, f"provisioned: {'yes' if made.provisioned else 'no'}"]
    if not made.provisioned:
        lines.append(f"provision it before uploading: ipfs-kit storacha space provision {made.did}")
    return _show(args, value, "\n".join(lines))


def run_space_provision(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        did = args.space_did or args.space or agent.state().current_space
        authorized = agent.provision(
            did, args.account, authorize_gateway=not args.no_gateway_authorization
        )
    value = {"space": did, "provisioned": True, "gateway_authorized": authorized}
    return _show(args, value, f"provisioned {did}")


def run_space_ls(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        rows = agent.spaces(ask_service=True)
    value = [dict(r.__dict__, providers=list(r.providers)) for r in rows]
    lines = [
        f"{'*' if r.current else ' '} {r.did} {r.name}"
        + ("" if r.known else "  (unknown to the service: not provisioned)")
        for r in rows
    ]
    return _show(args, {"spaces": value}, "\n".join(lines) or "(no spaces)")


def run_space_use(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        did = agent.use_space(args.space_did)
    return _show(args, {"space": did}, did)


def run_space_info(args: argparse.Namespace) -> int:
    from ipfs_kit_py.storacha_kit import _plain

    with agent_from_args(args) as agent:
        did = args.space or agent.state().current_space
        if not did:
            raise InvalidInputError("no space selected: run 'ipfs-kit storacha space use DID'")
        info = agent.space_info(did)
    providers = [str(p) for p in info.get("providers", [])]
    value = {"space": did, "providers": providers, "info": _plain(info)}
    return _show(args, value, f"{did}\nproviders: {', '.join(providers) or '(none)'}")


def run_usage_report(args: argparse.Namespace) -> int:
    from ipfs_kit_py.cli.storacha import backend_from_args
    from ipfs_kit_py.storacha_kit import _plain

    with backend_from_args(args) as backend:
        report, space = _plain(backend.usage()), backend.space
    sizes = [r.get("size", {}) for r in report.values() if isinstance(r, dict)]
    total = sum(int(s.get("final", 0)) for s in sizes if isinstance(s, dict))
    return _show(args, {"space": space, "usage": report, "bytes": total}, f"{total} bytes")


def run_plan_get(args: argparse.Namespace) -> int:
    from ipfs_kit_py.storacha_kit import _plain

    with agent_from_args(args) as agent:
        plan = _plain(agent.plan(args.account))
    return _show(args, {"plan": plan}, str(plan.get("product", "")))


def run_delegation_create(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        made = agent.create_delegation(
            args.audience, args.can, space=args.space, expiration=args.expiration
        )
    value = {"cid": cid_key(made.cid), "proof": made.format(), "audience": args.audience}
    return _show(args, value, made.format())


def run_delegation_ls(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        rows = agent.delegations()
    lines = [
        f"{r.cid} {'issued to' if r.issued else 'from'} "
        f"{r.audience if r.issued else r.issuer}: {', '.join(r.abilities)}{_revoked(r.revoked)}"
        for r in rows
    ]
    return _show(args, {"delegations": [r.__dict__ for r in rows]}, "\n".join(lines))


def _revoked(when: float | None) -> str:
    if when is None:
        return ""
    return f" (revoked {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(when))})"


def run_delegation_revoke(args: argparse.Namespace) -> int:
    with agent_from_args(args) as agent:
        cid = agent.revoke(args.cid)
    return _show(args, {"revoked": cid}, f"revoked {cid}")


def run_import_proof(args: argparse.Namespace) -> int:
    proof = _text_arg(args.proof)
    key = _text_arg(args.key_file, path_only=True) if args.key_file else None
    source, key_source = _arg_source(args.proof, "proof"), f"the key file {args.key_file}"
    with agent_from_args(args) as agent:
        made = agent.import_proof(proof, key=key, source=source, key_source=key_source)
        value = {"cid": cid_key(made.cid), "spaces": made.spaces(), "agent": agent.whoami()}
    return _show(args, value, f"imported {cid_key(made.cid)} for {', '.join(made.spaces())}")


def _arg_source(value: str, what: str) -> str:
    """How error messages name an argument read by :func:`_text_arg`."""
    if value == "-":
        return f"the {what} on stdin"
    if os.path.isfile(value):
        return f"the {what} file {value}"
    return f"the {what} argument"


def _text_arg(value: str, *, path_only: bool = False) -> str:
    """The argument itself, ``-`` for stdin, or the content of the file it names."""
    if value == "-":
        return sys.stdin.read(1 << 20).strip()
    if path_only or os.path.isfile(value):
        try:
            with Path(value).open("rb") as f:
                return f.read(1 << 20).decode().strip()
        except OSError as exc:
            raise InputPathError(f"cannot read {value}: {exc.strerror}") from exc
        except (UnicodeDecodeError, ValueError):
            raise InputPathError(f"{value} does not hold a text proof or key") from None
    return value.strip()
