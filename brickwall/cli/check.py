"""`python -m brickwall check`: the policy pack (policies/) offline; INVALID (1) when a MANDATORY policy fails."""

from __future__ import annotations

import argparse
import json
from typing import Any

from brickwall import check, exits
from brickwall.cli.loading import plan_or_source, record, saved_plan
from brickwall.cli.output import emit, output_options
from brickwall.cli.parsing import command, source

NAME = "check"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "run the policy pack (policies/) offline; exit 1 when a MANDATORY policy fails",
                "python -m brickwall check --plan prod.json --format json")
    source(p, saved=True)
    output_options(p, ("text", "json"), "text")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every MANDATORY policy passes (advisories are printed), 1 (INVALID) otherwise."""
    if args.plan:
        plan_or_source(args)
        result = check.check_plan(saved_plan(args.plan))
    else:
        result = check.check_recording(record(args)[2])
    emit(args, json.dumps(result.to_json(), indent=2) + "\n" if args.format == "json" else check.render(result))
    return exits.OK if result.ok else exits.INVALID
