"""`python -m brickwall runners [--stack NAME ...] [--json]`: which stacks CI must preview and update from a private network.

Derived from each stack's spec (`reach.private_workspace`: public network access Disabled, which the staging and
prod floors require), never from a list kept in the workflows. `--json` prints one compact line, a list of
`{"stack", "tier", "private"}` objects, that a workflow feeds to `strategy.matrix.include` and to `runs-on`
(`.github/workflows/preview.yml`, `ephemeral.yml`): a private stack's job runs on the labels in the repository
variable PRIVATE_RUNNER_LABELS, a public one on a GitHub-hosted runner.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(sub: Any) -> None:
    p = sub.add_parser("runners", help="per stack, whether CI needs a runner in a network that resolves its private "
                                       "workspace (from the spec); --json for a workflow matrix")
    p.add_argument("--stack", action="append", metavar="NAME", help="a stack (repeat; default dev, staging and prod)")
    p.add_argument("--spec", metavar="FILE", help="a spec file instead (its name is the stack's)")
    p.add_argument("--json", action="store_true", help="one line of JSON: [{stack, tier, private}, ...]")


def rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    import stacks
    from brickwall.cli import UsageError
    from brickwall.reach import private_workspace, why

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
    return [{"stack": spec.name, "tier": spec.tier.value, "private": private_workspace(spec), "why": why(spec)}
            for spec in specs]


def run(args: argparse.Namespace) -> int:
    from brickwall.cli import EXIT_OK

    found = rows(args)
    if args.json:
        print(json.dumps([{k: r[k] for k in ("stack", "tier", "private")} for r in found], separators=(",", ":")))
        return EXIT_OK
    table = [("STACK", "TIER", "RUNNER", "WHY")]
    table += [(r["stack"], r["tier"], "private" if r["private"] else "GitHub-hosted", r["why"]) for r in found]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK
