"""Command line: `python -m brickwall plan|export|spec|diff|check|report|env|runners|reach|audit ...`.

Exit codes are one table, `brickwall.exits` (documented in the README): 0 ok, 1 invalid input (the spec or the
stack config, every problem listed) or a MANDATORY policy failed (`check`, `report`), 2 usage (the command line,
an unknown stack, a file that cannot be read or written), 3 flagged (`diff`, the `env` idempotency gate), 4 internal
error (a bug: its traceback is printed), 5 the Pulumi operation failed (`env`), 6 unreachable (`reach`, `audit`),
7 findings and 8 unreadable (`audit`). `main` is
the one place that turns errors into codes; a user error never prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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


def output_options(p: argparse.ArgumentParser, formats: Sequence[str], default: str, legacy_json: bool = True) -> None:
    """The one way every command asks for a format and a destination: --format F, --output FILE ('-': stdout).
    `--json` stays as a hidden alias of `--format json` for scripts written before."""
    p.add_argument("--format", choices=tuple(formats), default=default, help=f"output format (default {default})")
    p.add_argument("--output", metavar="FILE", default="-", help="write the output here instead of stdout ('-')")
    if "json" in formats and legacy_json:
        p.add_argument("--json", dest="format", action="store_const", const="json", help=argparse.SUPPRESS)


def emit(args: argparse.Namespace, text: str) -> None:
    """Write a command's output where --output says (stdout for '-')."""
    if getattr(args, "output", "-") in ("-", None):
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)


def progress(message: str) -> None:
    """A progress line for long commands, on a terminal only (CI logs and pipes stay clean)."""
    if sys.stderr.isatty():
        print(f"\r{message}\033[K", end="", file=sys.stderr, flush=True)


def _command(sub: Any, name: str, summary: str, example: str, description: str = "") -> argparse.ArgumentParser:
    return sub.add_parser(name, help=summary, description=(description or summary) + ".",
                          epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def _parser() -> argparse.ArgumentParser:
    from brickwall import __version__

    parser = _Parser(prog="python -m brickwall", description="Offline engine for the brickwall Pulumi program. "
                     "Exit codes: brickwall/exits.py (README, 'Exit codes').")
    parser.add_argument("--version", action="version", version=f"brickwall {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def source(p: argparse.ArgumentParser, saved: bool = False) -> None:
        p.add_argument("--stack", help="stack name (`python -m brickwall stacks` lists them); with --spec, the stack "
                                       "to render it under")
        p.add_argument("--spec", metavar="FILE", help="render this JSON or YAML spec file instead of the stack's own")
        if saved:
            p.add_argument("--plan", metavar="FILE", help="use this saved plan file (plan --format json) instead of "
                                                          "running the program again")

    plan = _command(sub, "plan", "run the program offline and print the resource tree (or the plan file)",
                    "python -m brickwall plan --stack prod --format json --output prod.json")
    source(plan, saved=True)
    output_options(plan, ("text", "json"), "text", legacy_json=False)
    plan.add_argument("--save", metavar="FILE", help="print the tree and also write the plan file (JSON) here")
    # Hidden: `plan --json FILE` from before --save (CI renders a base branch with its own, possibly older, code).
    plan.add_argument("--json", dest="save", metavar="FILE", help=argparse.SUPPRESS)

    export = _command(sub, "export", "write Kubernetes manifests, Helm values and an ARM template for scanners",
                      "python -m brickwall export --plan prod.json --output out/")
    source(export, saved=True)
    export.add_argument("--output", "--out", dest="out", metavar="DIR", required=True,
                        help="directory to write kubernetes/, helm-values/, azure/ under")

    spec = _command(sub, "spec", "print the validated spec, or (--schema) the JSON Schema of every spec",
                    "python -m brickwall spec --stack dev --format yaml")
    source(spec)
    output_options(spec, ("json", "yaml"), "json")
    spec.add_argument("--schema", action="store_true",
                      help="print the JSON Schema of the spec (from the pydantic models) for editors: "
                           "python -m brickwall spec --schema --output brickwall.schema.json")

    diff = _command(sub, "diff", "compare two plan files (or a stack now against a saved plan); exit 3 when "
                                 "anything is replaced, loses data, deletes a protected resource or moves a subnet in use",
                    "python -m brickwall diff base.json head.json --format markdown")
    diff.add_argument("plans", nargs="*", metavar="PLAN", help="OLD.json NEW.json (plan files: plan --format json)")
    source(diff)
    diff.add_argument("--against", metavar="FILE", help="with --stack: the saved plan file to compare the stack with")
    output_options(diff, ("text", "markdown", "json"), "text")

    check = _command(sub, "check", "run the policy pack (policies/) offline; exit 1 when a MANDATORY policy fails",
                     "python -m brickwall check --plan prod.json --format json")
    source(check, saved=True)
    output_options(check, ("text", "json"), "text")

    report = _command(sub, "report", "write a Markdown review report (summary, policies, topology diagram) to "
                                     "DIR/report.md; exit 1 when a MANDATORY policy fails (the report is written anyway)",
                      "python -m brickwall report --plan prod.json --output report/")
    source(report, saved=True)
    report.add_argument("--output", "--out", dest="out", metavar="DIR", required=True,
                        help="directory to write report.md (and topology.svg) to")

    names = _command(sub, "stacks", "list the environments (stacks/<name>.py with a build()), one per line",
                     "python -m brickwall stacks --format json")
    output_options(names, ("text", "json"), "text")

    from brickwall import audit, reach, runners, stamp_cli

    stamp_cli.add_parser(sub)
    runners.add_parser(sub)
    reach.add_parser(sub)
    audit.add_parser(sub)
    # The commands defined in their own modules get the same description and example as the ones above.
    examples = {"env": "python -m brickwall env plan --base staging --count 20",
                "runners": "python -m brickwall runners --json",
                "reach": "python -m brickwall reach --stack prod",
                "audit": "python -m brickwall audit --stack prod --format markdown --output audit.md"}
    for name, example in examples.items():
        command = sub.choices[name]
        command.description = command.description or next(a.help for a in sub._choices_actions if a.dest == name)
        command.epilog = f"example:\n  {example}"
        command.formatter_class = argparse.RawDescriptionHelpFormatter
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
        emit(args, json.dumps(spec_schema(), indent=2) + "\n")
        return EXIT_OK
    spec = _load_spec(args)
    data = spec.model_dump(mode="json")
    if args.format == "yaml":
        import yaml

        emit(args, yaml.safe_dump(data, sort_keys=False))
    else:
        emit(args, json.dumps(data, indent=2) + "\n")
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
        progress(f"brickwall: rendering {stack} offline ...")
        return spec, stack, project.run(stack, spec_file=args.spec)
    except ProgramError as exc:
        if isinstance(exc.original, pulumi.RunError):
            print(f"error: {exc}", file=sys.stderr)
            raise _Exit(EXIT_INVALID_SPEC) from None
        traceback.print_exception(exc.original, file=sys.stderr)
        print(f"internal error: the program failed ({exc}); please report it with the traceback above", file=sys.stderr)
        raise _Exit(EXIT_INTERNAL) from None
    finally:
        progress("")


def _saved_plan(path: str) -> dict[str, Any]:
    from brickwall import diff

    try:
        return diff.load(path)
    except diff.PlanFileError as exc:
        raise UsageError(str(exc)) from None


def _cmd_plan(args: argparse.Namespace) -> int:
    from brickwall import planfile, project, render
    from components.spec.rules import advisories

    if args.plan:
        if args.stack or args.spec:
            raise UsageError("give either --plan FILE, or --stack NAME / --spec FILE")
        plan = _saved_plan(args.plan)
        emit(args, json.dumps(plan, indent=2, sort_keys=True) + "\n" if args.format == "json" else render.render(plan))
        return EXIT_OK

    spec, stack, recording = _record(args)
    plan = planfile.to_plan(recording)
    if args.save:
        planfile.write(plan, args.save)
    if args.format == "json":
        emit(args, planfile.dumps(plan))
        return EXIT_OK
    lines = [f"brickwall plan: stack {stack}, tier {spec.tier.value}, {spec.region} (offline: mock runtime, nothing sent to Azure)"]
    lines += [f"note: {note}" for note in advisories(spec)]
    config, _ = project.stack_config(stack)
    placeholders, _ = project.offline_placeholders(stack, args.spec, config)
    if placeholders:
        lines.append(f"note: offline placeholders stand in for stack config not on this machine: {', '.join(sorted(placeholders))}")
    _warn_plaintext_secrets(stack)
    text = "\n".join(lines) + "\n\n" + render.render(plan)
    if args.save:
        text += f"plan file written to {args.save}\n"
    emit(args, text)
    return EXIT_OK


def _warn_plaintext_secrets(stack: str) -> None:
    from brickwall import project

    for key in project.plaintext_secrets(stack):
        bare = key.split(":", 1)[-1]
        print(f"warning: stacks/Pulumi.{stack}.yaml holds {key} in plain text: it is a credential; remove it and run "
              f"`pulumi config set --secret {bare} ... --stack {stack}` (it is then stored encrypted)", file=sys.stderr)


def _cmd_export(args: argparse.Namespace) -> int:
    from brickwall import export

    if args.plan:
        from brickwall import planfile

        if args.stack or args.spec:
            raise UsageError("give either --plan FILE, or --stack NAME / --spec FILE")
        recording = planfile.to_recording(_saved_plan(args.plan))
        stack = recording.stack
    else:
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
    if args.format == "json":
        emit(args, json.dumps(result.to_json(), indent=2) + "\n")
    elif args.format == "markdown":
        emit(args, diff.render_markdown(result))
    else:
        emit(args, diff.render_text(result))
    return EXIT_FLAGGED if result.flagged else EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    """Exit 0 when every MANDATORY policy passes (advisories are printed), 1 (EXIT_POLICY) otherwise."""
    from brickwall import check

    if args.plan:
        if args.stack or args.spec:
            raise UsageError("give either --plan FILE, or --stack NAME / --spec FILE")
        result = check.check_plan(_saved_plan(args.plan))
    else:
        _, _, recording = _record(args)
        result = check.check_recording(recording)
    emit(args, json.dumps(result.to_json(), indent=2) + "\n" if args.format == "json" else check.render(result))
    return EXIT_OK if result.ok else EXIT_POLICY


def _cmd_report(args: argparse.Namespace) -> int:
    from brickwall import check, planfile, report
    from components.spec.rules import advisories

    if args.plan:
        import stacks

        plan = _saved_plan(args.plan)
        stack = args.stack or str(plan.get("stack", ""))
        # The report's reachability matrix reads the spec: the stack's own, or the --spec file the plan came from.
        if args.spec:
            spec = _load_spec(args)
        elif stack in stacks.KNOWN_STACKS:
            spec = stacks.load(stack)
        else:
            raise UsageError(f"the plan is of stack {stack!r}, not one of {', '.join(stacks.KNOWN_STACKS)}: "
                             "give the spec it was rendered from with --spec FILE")
    else:
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

    emit(args, json.dumps(list(stacks.KNOWN_STACKS)) + "\n" if args.format == "json" else "".join(f"{n}\n" for n in stacks.KNOWN_STACKS))
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


def _cmd_audit(args: argparse.Namespace) -> int:
    from brickwall import audit

    return audit.run(args)


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
                "runners": _cmd_runners, "reach": _cmd_reach, "audit": _cmd_audit}[args.command](args)
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
