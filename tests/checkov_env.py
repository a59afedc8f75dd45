"""checkov's own tool environment: a venv under `.tools/checkov/` (git-ignored), built from tests/tools/checkov.txt.

checkov pins its dependencies tightly (networkx<2.7, packaging<24, ...) and the project's other tools pin theirs
(network-config-analyzer: networkx 3.2.1; pulumi: packaging>=26), so checkov never shares the project venv. The
first test run that needs it builds the venv (offline from the package mirror, ~30 s); later runs reuse it as long
as the stamp in it matches the requirements file. A half-built venv is never used: it is built beside the final
path and renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).with_name("tools") / "checkov.txt"
HOME = ROOT / ".tools" / "checkov"
STAMP = "brickwall-requirements.sha256"


def _digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def checkov_python() -> Path:
    """The Python of a venv holding exactly tests/tools/checkov.txt, built if missing or stale."""
    stamp = HOME / STAMP
    if stamp.is_file() and stamp.read_text().strip() == _digest() and _python(HOME).is_file():
        return _python(HOME)
    building = HOME.with_name(f"checkov.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    # The base interpreter, not the project venv's: the tool venv inherits nothing from it.
    base = getattr(sys, "_base_executable", sys.executable)
    for cmd in ([base, "-m", "venv", str(building)],
                [str(_python(building)), "-m", "pip", "install", "-q", "--no-input", "-r", str(REQUIREMENTS)]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"building checkov's environment failed: {' '.join(cmd)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    (building / STAMP).write_text(_digest() + "\n")
    shutil.rmtree(HOME, ignore_errors=True)
    building.rename(HOME)
    return _python(HOME)


def installed_version(python: Path) -> str:
    out = subprocess.run([str(python), "-c", "from checkov.version import version; print(version)"],
                         capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.strip()
