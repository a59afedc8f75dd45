"""Command line: `python -m brickwall plan|export|spec ...`.

Exit codes: 0 ok, 1 invalid spec (every problem listed), 2 usage error, 3 internal error (a bug in
the program: its traceback is printed). A user error never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_INVALID_SPEC, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m brickwall", description="Offline engine for the brickwall Pulumi program.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def source(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", help="stack name (dev, staging, prod); with --spec, the stack to render it under")
        p.add_argument("--spec", metavar="FILE", help="render this JSON or YAML spec file instead of the stack's own")

    plan = sub.add_parser("plan", help="run the program offline and print the resource tree")
    source(plan)
    plan.add_argument("--json", metavar="FILE", help="also write the plan file (JSON) here")

    export = sub.add_parser("export", help="write Kubernetes manifests, Helm values and an ARM template for scanners")
    source(export)
    export.add_argument("--out", metavar="DIR", required=True, help="directory to write kubernetes/, helm-values/, azure/ under")

    spec = sub.add_parser("spec", help="print the validated spec")
    source(spec)
    spec.add_argument("--format", choices=("json", "yaml"), default="json")
    return parser


def _load_spec(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import stacks

    if args.spec:
        return stacks.load_file(args.spec)
    if not args.stack:
        raise UsageError("give --stack NAME or --spec FILE")
    try:
        return stacks.load(args.stack)
    except stacks.UnknownStackError as exc:
        raise UsageError(str(exc)) from None


def _cmd_spec(args: argparse.Namespace) -> int:
    spec = _load_spec(args)
    data = spec.model_dump(mode="json")
    if args.format == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False))
    else:
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return EXIT_OK


class _Exit(Exception):
    def __init__(self, code: int):
        self.code = code


def _record(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """Validate the spec (nothing is registered for an invalid one), then run the program offline."""
    import pulumi

    from brickwall import project
    from brickwall.engine import ProgramError

    spec = _load_spec(args)
    stack = args.stack or spec.name
    try:
        return spec, stack, project.run(stack, spec_file=args.spec)
    except ProgramError as exc:
        if isinstance(exc.original, pulumi.RunError):
            print(f"error: {exc}", file=sys.stderr)
            raise _Exit(EXIT_INVALID_SPEC) from None
        traceback.print_exception(exc.original, file=sys.stderr)
        print(f"internal error: the program failed ({exc}); please report it with the traceback above", file=sys.stderr)
        raise _Exit(EXIT_INTERNAL) from None


def _cmd_plan(args: argparse.Namespace) -> int:
    from brickwall import planfile, project, render
    from components.spec.rules import advisories

    spec, stack, recording = _record(args)

    plan = planfile.to_plan(recording)
    print(f"brickwall plan: stack {stack}, tier {spec.tier.value}, {spec.region} (offline: mock runtime, nothing sent to Azure)")
    for note in advisories(spec):
        print(f"note: {note}")
    config, _ = project.stack_config(stack)
    placeholders, _ = project.offline_placeholders(stack, args.spec, config)
    if placeholders:
        print(f"note: offline placeholders stand in for stack config not on this machine: {', '.join(sorted(placeholders))}")
    print()
    sys.stdout.write(render.render(plan))
    if args.json:
        planfile.write(plan, args.json)
        print(f"plan file written to {args.json}")
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from brickwall import export

    _, stack, recording = _record(args)
    try:
        written = export.write_export(recording, args.out)
    except export.ExportError as exc:
        print(f"internal error: cannot export stack {stack}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    out = Path(args.out)
    manifests = sum(1 for p in written if p.is_relative_to(out / export.KUBERNETES_DIR))
    charts = sum(1 for p in written if p.is_relative_to(out / export.HELM_DIR))
    arm = len(export.arm_resources(recording)["resources"])
    print(f"brickwall export: stack {stack} to {out}: {manifests} Kubernetes manifest(s), {charts} Helm values file(s), "
          f"ARM template with {arm} resource(s)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from components.spec import SpecError

    try:
        args = _parser().parse_args(argv)
        return {"spec": _cmd_spec, "plan": _cmd_plan, "export": _cmd_export}[args.command](args)
    except _Exit as exc:
        return exc.code
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INVALID_SPEC
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
