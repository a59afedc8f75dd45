"""Benchmark the offline plan of an environment against the floor of bare mocks.

    .venv/bin/python scripts/benchmark.py [--stack prod] [--repeat 3]

Each measurement runs in a fresh process so import costs and peak memory are comparable:
- plan:  the offline engine end to end (record every registration, build the plan file, render the tree);
- floor: the same program registering the same resources under the stock MockMonitor with the same
         mocks (the program needs the outputs they compute), nothing recorded, planned or rendered.
Prints wall time and peak RSS (median of the runs) and the plan/floor ratio.
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


def measure(template: str, stack: str) -> dict[str, float]:
    code = template.format(root=str(ROOT), stack=stack, entry=str(ROOT / "__main__.py"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", default="prod")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    runs = {"plan": [measure(_PLAN, args.stack) for _ in range(args.repeat)],
            "floor": [measure(_FLOOR, args.stack) for _ in range(args.repeat)]}
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall", "rss_kib", "resources")} for k, v in runs.items()}

    print(f"brickwall offline plan benchmark: stack {args.stack}, median of {args.repeat} fresh processes")
    print(f"{'':8} {'wall s':>8} {'peak RSS MiB':>13} {'registrations':>14}")
    for name in ("plan", "floor"):
        m = med[name]
        print(f"{name:8} {m['wall']:8.2f} {m['rss_kib'] / 1024:13.1f} {int(m['resources']):14d}")
    print(f"ratio    {med['plan']['wall'] / med['floor']['wall']:8.2f} {med['plan']['rss_kib'] / med['floor']['rss_kib']:13.2f}")


if __name__ == "__main__":
    main()
