"""`python -m brickwall spec`: the validated spec, or (--schema) the JSON Schema of every spec."""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from brickwall import exits
from brickwall.cli.loading import load_spec
from brickwall.cli.output import emit, output_options
from brickwall.cli.parsing import command, source
from brickwall.errors import UsageError
from components.spec import EnvironmentSpec

NAME = "spec"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "print the validated spec, or (--schema) the JSON Schema of every spec",
                "python -m brickwall spec --stack dev --format yaml")
    source(p)
    output_options(p, ("json", "yaml"), "json")
    p.add_argument("--schema", action="store_true",
                   help="print the JSON Schema of the spec (from the pydantic models) for editors: "
                        "python -m brickwall spec --schema --output brickwall.schema.json")


def spec_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of EnvironmentSpec: what a YAML or JSON spec may hold. Cross-field rules
    (tier floors, overlaps) are the validator's; the schema gives editors the fields, types and enums."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **EnvironmentSpec.model_json_schema()}


def run(args: argparse.Namespace) -> int:
    if args.schema:
        if args.stack or args.spec:
            raise UsageError("--schema describes every spec: give it without --stack or --spec")
        emit(args, json.dumps(spec_schema(), indent=2) + "\n")
        return exits.OK
    data = load_spec(args).model_dump(mode="json")
    emit(args, yaml.safe_dump(data, sort_keys=False) if args.format == "yaml" else json.dumps(data, indent=2) + "\n")
    return exits.OK
