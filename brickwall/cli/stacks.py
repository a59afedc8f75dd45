"""`python -m brickwall stacks`: the environments (stacks/<name>.py with a build()), one per line."""

from __future__ import annotations

import argparse
import json
from typing import Any

import stacks
from brickwall import exits
from brickwall.cli.output import emit, output_options
from brickwall.cli.parsing import command

NAME = "stacks"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "list the environments (stacks/<name>.py with a build()), one per line",
                "python -m brickwall stacks --format json")
    output_options(p, ("text", "json"), "text")


def run(args: argparse.Namespace) -> int:
    names = list(stacks.KNOWN_STACKS)
    emit(args, json.dumps(names) + "\n" if args.format == "json" else "".join(f"{n}\n" for n in names))
    return exits.OK
