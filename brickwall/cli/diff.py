"""`python -m brickwall diff`: compare two plan files, or a stack now against a saved plan; FLAGGED (3) when anything
is replaced, loses data, deletes a protected resource or moves a subnet in use (CI gates on it)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from brickwall import diff, exits, planfile
from brickwall.cli.loading import record
from brickwall.cli.output import emit, output_options
from brickwall.cli.parsing import command, source
from brickwall.errors import UsageError

NAME = "diff"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "compare two plan files (or a stack now against a saved plan); exit 3 when "
                           "anything is replaced, loses data, deletes a protected resource or moves a subnet in use",
                "python -m brickwall diff base.json head.json --format markdown")
    p.add_argument("plans", nargs="*", metavar="PLAN", help="OLD.json NEW.json (plan files: plan --format json)")
    source(p)
    p.add_argument("--against", metavar="FILE", help="with --stack: the saved plan file to compare the stack with")
    output_options(p, ("text", "markdown", "json"), "text")


def run(args: argparse.Namespace) -> int:
    try:
        if args.plans:
            if len(args.plans) != 2 or args.stack or args.spec or args.against:
                raise UsageError("give either OLD.json NEW.json, or --stack NAME --against FILE")
            old, new = diff.load(args.plans[0]), diff.load(args.plans[1])
        else:
            if not args.against or not (args.stack or args.spec):
                raise UsageError("give either OLD.json NEW.json, or --stack NAME --against FILE")
            old = diff.load(args.against)
            new = planfile.to_plan(record(args)[2])
    except diff.PlanFileError as exc:
        raise UsageError(str(exc)) from None
    result = diff.compare(old, new)
    if args.format == "json":
        emit(args, json.dumps(result.to_json(), indent=2) + "\n")
    elif args.format == "markdown":
        emit(args, diff.render_markdown(result))
    else:
        emit(args, diff.render_text(result))
    return exits.FLAGGED if result.flagged else exits.OK
