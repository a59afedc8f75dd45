"""Command line: `python -m brickwall plan|export|spec|diff|check|report|env|runners|reach ...`.

Exit codes are one table, `brickwall.exits` (documented in the README): 0 ok, 1 invalid input (the spec or the
stack config, every problem listed) or a MANDATORY policy failed (`check`, `report`), 2 usage (the command line,
an unknown stack, a file that cannot be read or written), 3 flagged (`diff`, the `env` idempotency gate), 4 internal
error (a bug: its traceback is printed), 5 the Pulumi operation failed (`env`), 6 unreachable (`reach`). `main` is
the one place that turns errors into codes; a user error never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from brickwall import exits

EXIT_OK, EXIT_INVALID_SPEC, EXIT_USAGE, EXIT_INTERNAL = exits.OK, exits.INVALID, exits.USAGE, exits.INTERNAL
EXIT_POLICY = exits.INVALID  # `check` and `report`: a MANDATORY policy is violated
EXIT_FLAGGED = exits.FLAGGED  # `diff`: a replacement, data loss or protected delete is flagged (CI gates on it)
EXIT_UNREACHABLE = exits.UNREACHABLE  # `reach`: the private workspace does not resolve privately or TCP 443 does not connect


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m brickwall", description="Offline engine for the brickwall Pulumi program.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def source(p: argparse.ArgumentParser) -> None:
        p.add_argument("--stack", help="stack name (`python -m brickwall stacks` lists them); with --spec, the stack "
                                       "to render it under")
        p.add_argument("--spec", metavar="FILE", help="render this JSON or YAML spec file instead of the stack's own")

    plan = sub.add_parser("plan", help="run the program offline and print the resource tree")
    source(plan)
    plan.add_argument("--json", metavar="FILE", help="also write the plan file (JSON) here")

    export = sub.add_parser("export", help="write Kubernetes manifests, Helm values and an ARM template for scanners")
    source(export)
    export.add_argument("--out", metavar="DIR", required=True, help="directory to write kubernetes/, helm-values/, azure/ under")

    spec = sub.add_parser("spec", help="print the validated spec, or (--schema) the JSON Schema of every spec")
    source(spec)
    spec.add_argument("--format", choices=("json", "yaml"), default="json")
    spec.add_argument("--schema", action="store_true",
                      help="print the JSON Schema of the spec (from the pydantic models) for editors: "
                           "python -m brickwall spec --schema > brickwall.schema.json")

    diff = sub.add_parser("diff", help="compare two plan files (or a stack now against a saved plan); exit 3 when "
                                       "anything is replaced, loses data or deletes a protected resource")
    diff.add_argument("plans", nargs="*", metavar="PLAN", help="OLD.json NEW.json (plan files written by `plan --json`)")
    source(diff)
    diff.add_argument("--against", metavar="FILE", help="with --stack: the saved plan file to compare the stack with")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    diff.add_argument("--json", action="store_true", help="same as --format json")

    check = sub.add_parser("check", help="run the policy pack (policies/) offline; exit 1 when a MANDATORY policy fails")
    source(check)
    check.add_argument("--plan", metavar="FILE", help="check this saved plan file instead of running a stack")
    check.add_argument("--json", action="store_true", help="print the violations as JSON")

    report = sub.add_parser("report", help="write a Markdown review report (summary, policies, topology diagram) to DIR/report.md")
    source(report)
    report.add_argument("--out", metavar="DIR", required=True, help="directory to write report.md (and topology.svg) to")

    names = sub.add_parser("stacks", help="list the environments (stacks/<name>.py with a build()), one per line")
    names.add_argument("--json", action="store_true", help="one line of JSON: [\"dev\", ...]")

    from brickwall import reach, runners, stamp_cli

    stamp_cli.add_parser(sub)
    runners.add_parser(sub)
    reach.add_parser(sub)
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


def spec_schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of EnvironmentSpec: what a YAML or JSON spec may hold. Cross-field rules
    (tier floors, overlaps) are the validator's; the schema gives editors the fields, types and enums."""
    from components.spec import EnvironmentSpec

    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **EnvironmentSpec.model_json_schema()}


def _cmd_spec(args: argparse.Namespace) -> int:
    if args.schema:
        if args.stack or args.spec:
            raise UsageError("--schema describes every spec: give it without --stack or --spec")
        sys.stdout.write(json.dumps(spec_schema(), indent=2) + "\n")
        return EXIT_OK
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
    _warn_plaintext_secrets(stack)
    print()
    sys.stdout.write(render.render(plan))
    if args.json:
        planfile.write(plan, args.json)
        print(f"plan file written to {args.json}")
    return EXIT_OK


def _warn_plaintext_secrets(stack: str) -> None:
    from brickwall import project

    for key in project.plaintext_secrets(stack):
        bare = key.split(":", 1)[-1]
        print(f"warning: stacks/Pulumi.{stack}.yaml holds {key} in plain text: it is a credential; remove it and run "
              f"`pulumi config set --secret {bare} ... --stack {stack}` (it is then stored encrypted)", file=sys.stderr)


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


def _cmd_diff(args: argparse.Namespace) -> int:
    """Exit 0 when nothing is flagged, 3 (EXIT_FLAGGED) when a REPLACE, DATA LOSS or protected delete is."""
    from brickwall import diff, planfile

    try:
        if args.plans:
            if len(args.plans) != 2 or args.stack or args.spec or args.against:
                raise UsageError("give either OLD.json NEW.json, or --stack NAME --against FILE")
            old, new = diff.load(args.plans[0]), diff.load(args.plans[1])
        else:
            if not args.against or not (args.stack or args.spec):
                raise UsageError("give either OLD.json NEW.json, or --stack NAME --against FILE")
            old = diff.load(args.against)
            _, _, recording = _record(args)
            new = planfile.to_plan(recording)
    except diff.PlanFileError as exc:
        raise UsageError(str(exc)) from None
    result = diff.compare(old, new)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(diff.render_markdown(result))
    else:
        sys.stdout.write(diff.render_text(result))
    return EXIT_FLAGGED if result.flagged else EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every MANDATORY policy passes (advisories are printed), 1 (EXIT_POLICY) otherwise."""
    from brickwall import check

    if args.plan:
        if args.stack or args.spec:
            raise UsageError("give either --plan FILE, or --stack NAME / --spec FILE")
        try:
            plan = json.loads(Path(args.plan).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read plan file {args.plan}: {exc}") from None
        if not isinstance(plan, dict) or not isinstance(plan.get("resources"), list):
            raise UsageError(f"{args.plan} is not a brickwall plan file (no resources list)")
        result = check.check_plan(plan)
    else:
        _, _, recording = _record(args)
        result = check.check_recording(recording)
    if args.json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(check.render(result))
    return EXIT_OK if result.ok else EXIT_POLICY


def _cmd_report(args: argparse.Namespace) -> int:
    from brickwall import check, planfile, report
    from components.spec.rules import advisories

    spec, stack, recording = _record(args)
    plan = planfile.to_plan(recording)
    result = check.check_plan(plan)
    written = report.write_report(plan, args.out, tier=spec.tier.value, region=spec.region,
                                  advisories=advisories(spec), spec=spec, check_result=result)
    print(f"brickwall report: stack {stack}: wrote {', '.join(str(p) for p in written)}")
    if not result.ok:
        # The report is written either way (a reviewer reads why); the exit code says a MANDATORY policy failed.
        print(f"brickwall report: {len(result.mandatory)} MANDATORY policy violation(s): see the report's policy table",
              file=sys.stderr)
        return EXIT_POLICY
    return EXIT_OK


def _cmd_stacks(args: argparse.Namespace) -> int:
    import stacks

    sys.stdout.write(json.dumps(list(stacks.KNOWN_STACKS)) + "\n" if args.json else "".join(f"{n}\n" for n in stacks.KNOWN_STACKS))
    return EXIT_OK


def _cmd_env(args: argparse.Namespace) -> int:
    from brickwall import stamp_cli

    return stamp_cli.run(args)


def _cmd_runners(args: argparse.Namespace) -> int:
    from brickwall import runners

    return runners.run(args)


def _cmd_reach(args: argparse.Namespace) -> int:
    from brickwall import reach

    return reach.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import stacks
    from brickwall.project import StackConfigError
    from components.spec import SpecError

    try:
        args = _parser().parse_args(argv)
        return {"spec": _cmd_spec, "plan": _cmd_plan, "export": _cmd_export, "diff": _cmd_diff, "check": _cmd_check,
                "report": _cmd_report, "env": _cmd_env, "stacks": _cmd_stacks,
                "runners": _cmd_runners, "reach": _cmd_reach}[args.command](args)
    except _Exit as exc:
        return exc.code
    except (UsageError, stacks.SpecFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INVALID_SPEC
    except StackConfigError as exc:
        print(f"error: invalid stack config: stacks/{exc}", file=sys.stderr)
        return EXIT_INVALID_SPEC
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error worth a traceback.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        # A path the user gave that cannot be read or written (report --out naming a file, plan --json into a
        # directory without write access): a usage error, with the path and the reason, never a traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
