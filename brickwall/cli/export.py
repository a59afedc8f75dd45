"""`python -m brickwall export`: Kubernetes manifests, Helm values and an ARM template for the scanners."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from brickwall import exits, export, planfile
from brickwall.cli.errors import InternalError
from brickwall.cli.loading import plan_or_source, record, saved_plan
from brickwall.cli.parsing import command, source

NAME = "export"


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "write Kubernetes manifests, Helm values and an ARM template for scanners",
                "python -m brickwall export --plan prod.json --output out/")
    source(p, saved=True)
    p.add_argument("--output", "--out", dest="out", metavar="DIR", required=True,
                   help="directory to write kubernetes/, helm-values/, azure/ under")


def run(args: argparse.Namespace) -> int:
    if args.plan:
        plan_or_source(args)
        recording = planfile.to_recording(saved_plan(args.plan))
        stack = recording.stack
    else:
        _, stack, recording = record(args)
    try:
        written = export.write_export(recording, args.out)
    except export.ExportError as exc:
        raise InternalError(f"cannot export stack {stack}: {exc}") from None
    out = Path(args.out)
    manifests = sum(1 for p in written if p.is_relative_to(out / export.KUBERNETES_DIR))
    charts = sum(1 for p in written if p.is_relative_to(out / export.HELM_DIR))
    arm = len(export.arm_resources(recording)["resources"])
    print(f"brickwall export: stack {stack} to {out}: {manifests} Kubernetes manifest(s), {charts} Helm values file(s), "
          f"ARM template with {arm} resource(s)")
    return exits.OK
