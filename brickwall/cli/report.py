"""`python -m brickwall report`: a Markdown review report (summary, policies, topology diagram) in DIR/report.md;
INVALID (1) when a MANDATORY policy fails (the report is written anyway)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import stacks
from brickwall import check, exits, planfile, report
from brickwall.cli.loading import load_spec, record, saved_plan
from brickwall.cli.parsing import command, source
from brickwall.errors import UsageError
from components.spec.rules import advisories

NAME = "report"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "write a Markdown review report (summary, policies, topology diagram) to "
                           "DIR/report.md; exit 1 when a MANDATORY policy fails (the report is written anyway)",
                "python -m brickwall report --plan prod.json --output report/")
    source(p, saved=True)
    p.add_argument("--output", "--out", dest="out", metavar="DIR", required=True,
                   help="directory to write report.md (and topology.svg) to")


def run(args: argparse.Namespace) -> int:
    if args.plan:
        plan = saved_plan(args.plan)
        stack = args.stack or str(plan.get("stack", ""))
        # The report's reachability matrix reads the spec: the stack's own, or the --spec file the plan came from.
        if args.spec:
            spec = load_spec(args)
        elif stack in stacks.KNOWN_STACKS:
            spec = stacks.load(stack)
        else:
            raise UsageError(f"the plan is of stack {stack!r}, not one of {', '.join(stacks.KNOWN_STACKS)}: "
                             "give the spec it was rendered from with --spec FILE")
    else:
        spec, stack, recording = record(args)
        plan = planfile.to_plan(recording)
    result = check.check_plan(plan)
    written = report.write_report(plan, args.out, tier=spec.tier.value, region=spec.region,
                                  advisories=advisories(spec), spec=spec, check_result=result)
    print(f"brickwall report: stack {stack}: wrote {', '.join(str(p) for p in written)}")
    if not result.ok:
        # The report is written either way (a reviewer reads why); the exit code says a MANDATORY policy failed.
        print(f"brickwall report: {len(result.mandatory)} MANDATORY policy violation(s): see the report's policy table",
              file=sys.stderr)
        return exits.INVALID
    return exits.OK
