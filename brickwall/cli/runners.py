"""`python -m brickwall runners [--stack NAME ...] [--json]`: per stack, whether CI needs a private runner
(brickwall/runners.py decides, from the spec)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import stacks
from brickwall import exits, runners
from brickwall.cli.parsing import command
from brickwall.errors import UsageError

NAME = "runners"
SUMMARY = ("per stack, whether CI needs a runner in a network that resolves its private workspace (from the spec); "
           "--json for a workflow matrix")


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, SUMMARY, "python -m brickwall runners --json", description=SUMMARY)
    p.add_argument("--stack", action="append", metavar="NAME", help="a stack (repeat; default dev, staging and prod)")
    p.add_argument("--spec", metavar="FILE", help="a spec file instead (its name is the stack's)")
    p.add_argument("--json", action="store_true", help="one line of JSON: [{stack, tier, private}, ...]")


def run(args: argparse.Namespace) -> int:
    if args.spec:
        if args.stack:
            raise UsageError("give --stack NAME ... or --spec FILE, not both")
        specs = [stacks.load_file(args.spec)]
    else:
        names = list(dict.fromkeys(args.stack or stacks.KNOWN_STACKS))
        try:
            specs = [stacks.load(name) for name in names]
        except stacks.UnknownStackError as exc:
            raise UsageError(str(exc)) from None
    found = runners.rows(specs)
    if args.json:
        print(json.dumps([{k: r[k] for k in ("stack", "tier", "private")} for r in found], separators=(",", ":")))
        return exits.OK
    table = [("STACK", "TIER", "RUNNER", "WHY")]
    table += [(r["stack"], r["tier"], "private" if r["private"] else "GitHub-hosted", r["why"]) for r in found]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return exits.OK
