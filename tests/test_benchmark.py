"""The benchmark script keeps working as the program grows (its figures are read by people, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"\d+\.\d+")


def _rows(block: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split()[1:] for line in block.splitlines()[2:] if line.strip()}


def test_benchmark_prints_plan_floor_ratio_targets_and_env_plan() -> None:
    out = subprocess.run([sys.executable, "scripts/benchmark.py", "--stack", "staging", "--base", "staging", "--repeat", "1", "--count", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr
    plan_block, env_block = out.stdout.strip().split("\n\n")
    rows = _rows(plan_block)
    assert set(rows) == {"plan", "floor", "ratio", "target", "verdict"}
    # Both runs register the same resources; the figures are positive numbers.
    assert rows["plan"][2] == rows["floor"][2] and int(rows["plan"][2]) > 20
    assert all(NUMBER.fullmatch(v) and float(v) > 0 for v in (*rows["plan"][:2], *rows["ratio"]))
    # The targets, and whether the figures meet them.
    assert rows["target"][:2] == ["1.15", "400.0"]
    ratio, plan_mib = float(rows["ratio"][0]), float(rows["plan"][1])
    assert rows["verdict"] == ["met" if ratio <= 1.15 else "over", "met" if plan_mib <= 400 else "over"]

    assert env_block.startswith("env plan --base staging --count 1 (one process) against 1 single renders")
    env = _rows(env_block)
    assert set(env) == {"env", "singles", "ratio"}
    assert all(NUMBER.fullmatch(v) and float(v) > 0 for row in env.values() for v in row)
