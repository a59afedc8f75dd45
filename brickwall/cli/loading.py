"""What the commands read: the spec (a stack's or a file), the recording of the program run offline, a saved plan."""

from __future__ import annotations

import argparse
from typing import Any

import stacks
from brickwall import diff, project
from brickwall.cli.errors import program_failed
from brickwall.cli.output import progress
from brickwall.engine import ProgramError, Recording
from brickwall.errors import UsageError
from components.spec import EnvironmentSpec


def load_spec(args: argparse.Namespace) -> EnvironmentSpec:
    """--spec FILE, else --stack NAME (an unknown stack is a usage error that lists the known ones)."""
    if args.spec:
        return stacks.load_file(args.spec)
    if not args.stack:
        raise UsageError("give --stack NAME or --spec FILE")
    try:
        return stacks.load(args.stack)
    except stacks.UnknownStackError as exc:
        raise UsageError(str(exc)) from None


def record(args: argparse.Namespace) -> tuple[EnvironmentSpec, str, Recording]:
    """Validate the spec (nothing is registered for an invalid one), then run the program offline."""
    spec = load_spec(args)
    stack = args.stack or spec.name
    try:
        progress(f"brickwall: rendering {stack} offline ...")
        return spec, stack, project.run(stack, spec_file=args.spec)
    except ProgramError as exc:
        raise program_failed(exc) from None
    finally:
        progress("")


def saved_plan(path: str) -> dict[str, Any]:
    """A plan file (plan --format json); one that cannot be read or is not a plan is a usage error."""
    try:
        return diff.load(path)
    except diff.PlanFileError as exc:
        raise UsageError(str(exc)) from None


def plan_or_source(args: argparse.Namespace) -> None:
    """--plan FILE excludes --stack and --spec."""
    if args.plan and (args.stack or args.spec):
        raise UsageError("give either --plan FILE, or --stack NAME / --spec FILE")
