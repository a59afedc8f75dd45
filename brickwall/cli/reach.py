"""`python -m brickwall reach --stack NAME`: can this machine reach the stack's workspace (brickwall/reach.py)?
One line; UNREACHABLE (6) when it cannot."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import stacks
from brickwall import driver, exits, reach
from brickwall.cli.parsing import command
from brickwall.driver import SPECS_DIR
from brickwall.errors import Unreachable, UsageError
from brickwall.ledger import default_state_dir
from components.spec import EnvironmentSpec

NAME = "reach"
SUMMARY = ("preflight: can this machine reach the stack's workspace (private DNS answers, TCP 443 connects)? One line; "
           "exit 6 when it cannot")


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, SUMMARY, "python -m brickwall reach --stack prod", description=SUMMARY)
    p.add_argument("--stack", required=True, help="the stack (dev, staging, prod) or a stamped environment (with --base)")
    p.add_argument("--spec", metavar="FILE", help="the spec file the stack renders (default: the stack's own)")
    p.add_argument("--base", metavar="STACK", help="for a stamped environment: the stack it was stamped from (its "
                                                   "stamped spec in <state>/specs/ is read when there)")
    p.add_argument("--url", metavar="URL", help="the workspace URL (default: the stack's workspaceUrl output in the backend)")
    p.add_argument("--state-dir", metavar="DIR", help="the state directory of stamped environments (default <project>/.brickwall)")
    p.add_argument("--backend", metavar="URL", help="the Pulumi state backend (default $BRICKWALL_BACKEND, else "
                                                    "$PULUMI_BACKEND_URL, else file://<state-dir>/state)")
    p.add_argument("--secrets-provider", metavar="URL", help="the stack secrets provider (default $BRICKWALL_SECRETS_PROVIDER)")
    p.add_argument("--timeout", type=float, default=reach.TIMEOUT_SECONDS,
                   help=f"TCP connect timeout in seconds (default {reach.TIMEOUT_SECONDS:g})")


def load_spec(args: argparse.Namespace, state_dir: Path) -> EnvironmentSpec:
    """--spec FILE, a known stack's spec, or a stamped environment's (its stamped spec, else its base's)."""
    if args.spec:
        return stacks.load_file(args.spec)
    if args.stack in stacks.KNOWN_STACKS:
        return stacks.load(args.stack)
    if not args.base:
        raise UsageError(f"{args.stack} is not one of {', '.join(stacks.KNOWN_STACKS)}: give --base STACK (the stack "
                         "it was stamped from) or --spec FILE")
    stamped = state_dir / SPECS_DIR / f"{args.stack}.json"
    if stamped.is_file():
        return stacks.load_file(stamped)
    try:
        return stacks.load(args.base)
    except stacks.UnknownStackError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace, *, resolve: reach.Resolver = reach.system_resolve,
        connect: reach.Connector = reach.tcp_connect, outputs: reach.OutputsReader | None = None,
        environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    spec = load_spec(args, state_dir)
    url = args.url
    try:
        if url is None and reach.private_workspace(spec):
            if outputs is None:
                outputs = reach.outputs_reader(args.backend, args.secrets_provider, state_dir, environ)
            found = outputs(args.stack)
            value = (found or {}).get(reach.OUTPUT)
            url = value if isinstance(value, str) and value else None
    except driver.DriverError as exc:
        one_line = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())  # install hints span lines
        raise UsageError(f"{args.stack}: {one_line}") from None
    verdict = reach.check(args.stack, spec, url, resolve=resolve, connect=connect, timeout=args.timeout)
    if not verdict.reachable:
        raise Unreachable(verdict.line)
    print(verdict.line)
    return exits.OK
