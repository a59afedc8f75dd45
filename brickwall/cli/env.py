"""`python -m brickwall env plan|list|up|preview|destroy`: test environments stamped from a base spec.

`env plan --base staging --count 20` allocates 20 environments in a scratch ledger (nothing persists),
renders each offline with the real program and proves no address range or globally unique name collides
with another stamp or with dev, staging and prod (brickwall/stamps.py). `env list` shows the ledger with each
expiry. `env up NAME --base B` deploys one through the Automation API (brickwall/driver.py) and gates on a second
preview reporting no changes; `env preview NAME` shows what `up` would change; `env destroy NAME --yes`
removes it and frees its blocks.

Exit codes of up|preview|destroy: 0 ok, 1 invalid spec or full pool, 2 usage or environment (no Pulumi CLI,
no passphrase, a missing secret variable, a name not in the ledger), 3 the idempotency gate failed, 4 internal,
5 the Pulumi operation failed (its output is above).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import stacks
from brickwall import driver, exits, project, stamps
from brickwall.cli.errors import InternalError, program_failed
from brickwall.cli.output import progress
from brickwall.cli.parsing import command
from brickwall.engine import ProgramError
from brickwall.errors import UsageError
from brickwall.ledger import Ledger, default_state_dir
from components.spec import SpecError
from components.spec import stamp as stamping

NAME = "env"
SUMMARY = "test environments stamped from a base spec (plan, list, up, preview, destroy)"


def add_parser(sub: Any) -> None:
    env = command(sub, NAME, SUMMARY, "python -m brickwall env plan --base staging --count 20", description=SUMMARY)
    env_sub = env.add_subparsers(dest="env_command", required=True, parser_class=type(env))

    plan = env_sub.add_parser("plan", help="allocate and render COUNT stamped environments offline in a scratch ledger; "
                                           "prove no address range or global name collides")
    plan.add_argument("--base", required=True, help="the stack to stamp from (its spec needs stamping.pool)")
    plan.add_argument("--count", type=int, default=1, help="how many environments (default 1)")
    plan.add_argument("--prefix", default="pr", help="environment names are PREFIX-1 ... PREFIX-COUNT (default pr)")
    plan.add_argument("--owner", default=None, help="the owner tag (default: your user name)")
    plan.add_argument("--pull-request", default=None, help="the pull-request tag")
    plan.add_argument("--state-dir", metavar="DIR", help="also keep clear of the environments in this ledger (read only)")
    plan.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")

    lst = env_sub.add_parser("list", help="the stamped environments in the ledger, with their expiry")
    lst.add_argument("--state-dir", metavar="DIR", help="the state directory (default <project>/.brickwall)")
    lst.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")

    def deployed(p: argparse.ArgumentParser) -> None:
        p.add_argument("name", metavar="NAME", help="the environment (for example pr-123)")
        p.add_argument("--state-dir", metavar="DIR", help="the state directory: ledger, stamped specs and the default "
                                                          "file backend (default <project>/.brickwall)")
        p.add_argument("--backend", metavar="URL", help="the Pulumi state backend: file://DIR, azblob://CONTAINER or "
                                                        "https://api.pulumi.com (default $BRICKWALL_BACKEND, else "
                                                        "file://<state-dir>/state)")
        p.add_argument("--secrets-provider", metavar="URL", help="the stack secrets provider (default "
                                                                 "$BRICKWALL_SECRETS_PROVIDER, else the passphrase "
                                                                 "in $PULUMI_CONFIG_PASSPHRASE, or Pulumi Cloud's)")

    up = env_sub.add_parser("up", help="allocate, stamp and deploy NAME through the Automation API; then a second "
                                       "preview must report no changes (exit 3 otherwise)")
    deployed(up)
    up.add_argument("--base", required=True, help="the stack to stamp from (its spec needs stamping.pool)")
    up.add_argument("--owner", default=None, help="the owner tag (default: your user name)")
    up.add_argument("--pull-request", default=None, help="the pull-request tag")

    preview = env_sub.add_parser("preview", help="what `env up` would change for NAME (already in the ledger)")
    deployed(preview)

    destroy = env_sub.add_parser("destroy", help="destroy NAME, remove its stack, free its blocks in the ledger")
    deployed(destroy)
    destroy.add_argument("--yes", action="store_true", help="do not ask (needed when stdin is not a terminal)")


def run(args: argparse.Namespace) -> int:
    """Failures (the driver's, the ledger's, a full pool) are raised: brickwall/cli/errors.py gives their codes."""
    if args.env_command in ("up", "preview", "destroy"):
        return _deploy(args)
    return _plan(args) if args.env_command == "plan" else _list(args)


def _plan(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    names = [f"{args.prefix}-{i}" for i in range(1, args.count + 1)]
    if problems := stamping.env_name_problems(names[-1]):
        raise SpecError(f"environment names from --prefix {args.prefix!r}", problems)
    try:
        base = stacks.load(args.base)
    except stacks.UnknownStackError as exc:
        raise UsageError(str(exc)) from None
    others = {s: stacks.load(s) for s in stacks.KNOWN_STACKS}
    owner = args.owner or getpass.getuser()
    existing = Ledger(args.state_dir).list() if args.state_dir else []

    found: list[stamps.Stamp] = []
    problems_found: list[str] = []
    with tempfile.TemporaryDirectory(prefix="brickwall-env-plan-") as tmp:
        scratch = Ledger(Path(tmp) / "ledger")
        scratch.seed(existing)
        for i, name in enumerate(names, 1):
            progress(f"brickwall env plan: rendering {name} ({i}/{len(names)})")
            entry = scratch.allocate(name, base, owner=owner, pull_request=args.pull_request)
            spec = stamping.stamp(base, name, entry.cidrs, owner=owner, pull_request=args.pull_request,
                                  created_at=datetime.fromisoformat(entry.created_at), expires_at=entry.expires)
            spec_file = Path(tmp) / f"{name}.json"
            spec_file.write_text(json.dumps(spec.model_dump(mode="json"), indent=2))
            try:
                recording = project.run(args.base, spec_file=spec_file)
            except ProgramError as exc:
                raise program_failed(exc, environment=name) from None
            stamp, wrong = stamps.stamp_of(entry, spec, recording)
            problems_found += wrong
            found.append(stamp)

    stamped, fixed = stamps.ranges(found, base, others, existing)
    problems_found += stamps.overlaps(stamped, fixed)
    problems_found += stamps.name_collisions(found, others)

    progress("")
    if args.format == "json":
        print(json.dumps({"base": base.name, "pool": base.stamping.pool, "collisions": problems_found,
                          "environments": [{"name": s.name, "cidrs": list(s.cidrs), "rendered_cidrs": list(s.rendered_cidrs),
                                            "global_names": s.global_names, "resources": s.resources,
                                            "expires_at": s.expires_at} for s in found]}, indent=2))
        return exits.INTERNAL if problems_found else exits.OK  # the collisions are in the JSON
    print(f"brickwall env plan: {len(found)} environment(s) stamped from {base.name} (pool {base.stamping.pool}; "
          "scratch ledger, offline: nothing persists, nothing sent to Azure)")
    print()
    rows = [("NAME", "VNET", "TRANSIT", "STORAGE ACCOUNT", "KEY VAULT", "RESOURCES", "EXPIRES")]
    for s in found:
        rows.append((s.name, s.cidrs[0], s.cidrs[1] if len(s.cidrs) > 1 else "-", s.global_names["workspace_storage_account"],
                     s.global_names["key_vault"], str(s.resources), s.expires_at))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    print()
    if problems_found:
        for p in problems_found:
            print(f"COLLISION: {p}", file=sys.stderr)
        raise InternalError(f"{len(problems_found)} collision(s); the allocator must never allow one")
    n_names = sum(len(s.global_names) for s in found)
    print(f"no collisions: {len(stamped)} stamped address ranges disjoint from each other and from {len(fixed)} others "
          f"({', '.join(others)}, reserved, ledger); "
          f"{n_names} global names of the stamps unique and distinct from {', '.join(others)}'s")
    return exits.OK


def _deploy(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    backend = driver.resolve_backend(args.backend, state_dir, os.environ)
    secrets_provider = args.secrets_provider or os.environ.get(driver.SECRETS_PROVIDER_ENV) or None
    if args.env_command == "destroy" and not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(f"env destroy {args.name} deletes every resource in it: pass --yes")
        if input(f"destroy {args.name} and every resource in it? type its name: ").strip() != args.name:
            raise UsageError("not confirmed; nothing destroyed")
    factory = driver.automation_stack_factory(backend, secrets_provider=secrets_provider)  # exit 2 without the CLI
    driver.check_secrets(backend, secrets_provider, os.environ)

    def out(line: str) -> None:
        print(line, flush=True)

    drv = driver.Driver(factory, state_dir=state_dir, out=out)
    print(f"brickwall env {args.env_command}: {args.name} (backend {backend})", flush=True)
    if args.env_command == "up":
        try:
            stacks.load(args.base)
        except stacks.UnknownStackError as exc:
            raise UsageError(str(exc)) from None
        result = drv.up(args.name, args.base, owner=args.owner or getpass.getuser(), pull_request=args.pull_request)
        for key, value in sorted(result.outputs.items()):
            print(f"  {key}: {value}")
    elif args.env_command == "preview":
        drv.preview(args.name)
    else:
        drv.destroy(args.name)
    return exits.OK


def _list(args: argparse.Namespace) -> int:
    ledger = Ledger(args.state_dir)
    entries = ledger.list()
    now = datetime.now(UTC)
    if args.format == "json":
        print(json.dumps([{"name": e.name, "base": e.base, "cidrs": list(e.cidrs), "owner": e.owner,
                           "pull_request": e.pull_request, "created_at": e.created_at, "expires_at": e.expires_at,
                           "expired": e.expired(now)} for e in entries], indent=2))
        return exits.OK
    if not entries:
        print(f"no stamped environments in {ledger.path}")
        return exits.OK
    now = datetime.now(UTC)
    rows = [("NAME", "BASE", "CIDRS", "OWNER", "PULL REQUEST", "CREATED", "EXPIRES", "STATUS")]
    for e in entries:
        left = e.expires - now
        status = "EXPIRED" if e.expired(now) else f"{int(left.total_seconds() // 3600)}h left"
        rows.append((e.name, e.base, ",".join(e.cidrs), e.owner, e.pull_request or "-", e.created_at, e.expires_at, status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    expired = sum(e.expired(now) for e in entries)
    print(f"\n{len(entries)} environment(s), {expired} expired")
    return exits.OK

