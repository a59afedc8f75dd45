"""Benchmark the offline plan of an environment against the floor of bare mocks, and `env plan` against single renders.

    .venv/bin/python scripts/benchmark.py [--stack prod] [--repeat 3] [--base staging] [--count 20]

Each measurement runs in a fresh process so import costs and peak memory are comparable:
- plan:   the offline engine end to end (record every registration, build the plan file, render the tree);
- floor:  the same program registering the same resources through the same SDK classes under the stock MockMonitor
          with the same mocks (the program needs the outputs they compute), nothing recorded, planned or rendered;
- env plan: `python -m brickwall env plan --base BASE --count N` (N stamps rendered in one process, collisions
          proved), once;
- single: one render of BASE (`plan --stack BASE`'s work: record, plan file, tree), the median of the runs, times N.
Plan and floor runs alternate (side by side). Prints wall time and peak RSS (median of the runs), the plan/floor
ratio against its target (at most 1.15), the plan's peak RSS against its target (at most 400 MiB), and
`env plan --count N` against N single renders.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_PLAN = """
import json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from brickwall import planfile, project, render
plan = planfile.to_plan(project.run({stack!r}))
text = render.render(plan)
wall = time.perf_counter() - t0
print(json.dumps({{"wall": wall, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "resources": len(plan["resources"])}}))
"""

_FLOOR = """
import json, resource, runpy, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
import pulumi
from pulumi.runtime import mocks
from brickwall import project
from brickwall.engine import BrickwallMocks

# The same config the engine gives the program (stack file plus offline placeholders for secrets).
config, secret_keys = project.stack_config({stack!r})
extra, extra_secrets = project.offline_placeholders({stack!r}, None, config)
pulumi.runtime.set_all_config({{**config, **extra}}, [*secret_keys, *extra_secrets])

# The engine's mocks (the program needs the outputs they compute: workspace URL, kubeconfig, group ids, the offline
# Entra tenant's groups), but the stock monitor: nothing is recorded, converted, planned or rendered.
def Bare():
    return BrickwallMocks(directory=project.entra_directory({stack!r}, None))

class Counting(mocks.MockMonitor):
    count = 0
    def RegisterResource(self, request):
        Counting.count += 1
        return super().RegisterResource(request)

monitor = Counting(Bare())
pulumi.runtime.set_mocks(Bare(), project="brickwall", stack={stack!r}, monitor=monitor)
pulumi.runtime.test(lambda: runpy.run_path({entry!r}, run_name="__pulumi_main__"))()
wall = time.perf_counter() - t0
print(json.dumps({{"wall": wall, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                   "resources": Counting.count - 1}}))
"""


# `env plan` through the CLI's own entry point (its table goes to /dev/null: only the time counts here).
_ENV_PLAN = """
import contextlib, json, os, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from brickwall import cli
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    code = cli.main(["env", "plan", "--base", {stack!r}, "--count", str({count}), "--owner", "benchmark"])
wall = time.perf_counter() - t0
if code != 0:
    sys.exit(f"env plan exited {{code}}")
print(json.dumps({{"wall": wall, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "resources": {count}}}))
"""

# The targets (#16): the offline plan at most 15 % over the SDK floor, at most 400 MiB at its peak.
TARGET_RATIO = 1.15
TARGET_RSS_MIB = 400


def measure(template: str, stack: str, count: int = 0) -> dict[str, float]:
    code = template.format(root=str(ROOT), stack=stack, entry=str(ROOT / "__main__.py"), count=count)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    return {m: statistics.median(r[m] for r in runs) for m in ("wall", "rss_kib", "resources")}


def _verdict(value: float, target: float) -> str:
    return "met" if value <= target else "over"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base", default="staging", help="the base stack of `env plan` (default staging)")
    parser.add_argument("--count", type=int, default=20, help="environments `env plan` stamps (default 20)")
    args = parser.parse_args()

    # Side by side: plan and floor runs alternate, so a change in the machine's load falls on both alike.
    runs: dict[str, list[dict[str, float]]] = {"plan": [], "floor": []}
    for _ in range(args.repeat):
        runs["plan"].append(measure(_PLAN, args.stack))
        runs["floor"].append(measure(_FLOOR, args.stack))
    med = {name: _median(found) for name, found in runs.items()}
    ratio = med["plan"]["wall"] / med["floor"]["wall"]
    plan_mib = med["plan"]["rss_kib"] / 1024

    print(f"brickwall offline plan benchmark: stack {args.stack}, median of {args.repeat} fresh processes")
    print(f"{'':8} {'wall s':>8} {'peak RSS MiB':>13} {'registrations':>14}")
    for name in ("plan", "floor"):
        m = med[name]
        print(f"{name:8} {m['wall']:8.2f} {m['rss_kib'] / 1024:13.1f} {int(m['resources']):14d}")
    print(f"ratio    {ratio:8.2f} {med['plan']['rss_kib'] / med['floor']['rss_kib']:13.2f}")
    print(f"target   {TARGET_RATIO:8.2f} {TARGET_RSS_MIB:13.1f}   plan/floor wall at most, plan peak RSS at most")
    print(f"verdict  {_verdict(ratio, TARGET_RATIO):>8} {_verdict(plan_mib, TARGET_RSS_MIB):>13}")

    # A single render of the base is the plan run above when the base is the benchmarked stack: not measured twice.
    single = med["plan"] if args.base == args.stack else _median([measure(_PLAN, args.base) for _ in range(args.repeat)])
    env = measure(_ENV_PLAN, args.base, args.count)
    print()
    print(f"env plan --base {args.base} --count {args.count} (one process) against {args.count} single renders of "
          f"{args.base} (median of {args.repeat} fresh processes, times {args.count})")
    print(f"{'':8} {'wall s':>8} {'peak RSS MiB':>13} {'per env s':>14}")
    print(f"{'env':8} {env['wall']:8.2f} {env['rss_kib'] / 1024:13.1f} {env['wall'] / args.count:14.2f}")
    print(f"{'singles':8} {single['wall'] * args.count:8.2f} {single['rss_kib'] / 1024:13.1f} {single['wall']:14.2f}")
    print(f"{'ratio':8} {env['wall'] / (single['wall'] * args.count):8.2f} {env['rss_kib'] / single['rss_kib']:13.2f}")


if __name__ == "__main__":
    main()
