"""The benchmark script keeps working as the program grows (its figures are read by people, not asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_benchmark_prints_plan_floor_and_ratio() -> None:
    out = subprocess.run([sys.executable, "scripts/benchmark.py", "--stack", "dev", "--repeat", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    rows = {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()[2:] if line.strip()}
    assert set(rows) == {"plan", "floor", "ratio"}
    # Both runs register the same resources; the figures are positive numbers.
    assert rows["plan"][2] == rows["floor"][2] and int(rows["plan"][2]) > 20
    assert all(re.fullmatch(r"\d+\.\d+", v) and float(v) > 0 for v in (*rows["plan"][:2], *rows["ratio"]))
