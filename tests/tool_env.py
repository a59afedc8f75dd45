"""Each scanner and linter the tests run lives in a tool environment of its own: a venv under `.tools/<tool>/`
(git-ignored), built from the exact pins in `tests/tools/<tool>.txt`, so no tool's pins have to resolve with the
project's or another tool's (checkov caps networkx<2.7 and packaging<24; network-config-analyzer pins networkx 3.2.1
and PyYAML 6.0.2; pulumi needs packaging>=26).

`python(tool)` returns the Python of that venv, building it first when it is missing or its stamp no longer matches
the requirements file (by uv, pinned in requirements-dev.txt, from the index uv is configured for: PyPI unless
UV_INDEX_URL or uv.toml say otherwise; `--no-deps`: the file pins every dependency, and `uv pip check` proves it).
A half-built venv is never used: the stamp is written last (the venv is built in place, as its console scripts name
their own interpreter's path), under a file lock, so concurrent test processes (pytest-xdist workers) build it once
and wait for each other. `build_stale()` builds every stale environment in parallel: the test session starts it in
the background (tests/conftest.py), so a fresh clone pays for the builds while the stacks render.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS_DIR = Path(__file__).with_name("tools")
TOOLS_DIR = ROOT / ".tools"
STAMP = "brickwall-requirements.sha256"


def environ(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment to run a tool's Python in: the caller's less PYTHONPATH and PYTHONHOME, which would put the
    project's packages (or another interpreter's) in front of the tool's own."""
    return {k: v for k, v in (os.environ if base is None else base).items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def tools() -> list[str]:
    """Every tool with a requirements file."""
    return sorted(path.stem for path in REQUIREMENTS_DIR.glob("*.txt"))


def requirements(tool: str) -> Path:
    path = REQUIREMENTS_DIR / f"{tool}.txt"
    if not path.is_file():
        raise ValueError(f"no tool environment {tool!r}: {path} does not exist")
    return path


def home(tool: str) -> Path:
    return TOOLS_DIR / tool


def pins(tool: str) -> list[str]:
    """The requirement lines of a tool's file (comments and blank lines left out)."""
    lines = (line.strip() for line in requirements(tool).read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _digest(tool: str) -> str:
    return hashlib.sha256(requirements(tool).read_bytes()).hexdigest()


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _fresh(tool: str) -> bool:
    stamp = home(tool) / STAMP
    return stamp.is_file() and stamp.read_text().strip() == _digest(tool) and _python(home(tool)).is_file()


def python(tool: str) -> Path:
    """The Python of a venv holding exactly tests/tools/<tool>.txt, built if missing or stale."""
    if _fresh(tool):
        return _python(home(tool))
    TOOLS_DIR.mkdir(exist_ok=True)
    with open(TOOLS_DIR / f"{tool}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be venv it: wait, then look again
        if not _fresh(tool):
            _build(tool)
    return _python(home(tool))


def _uv() -> Path:
    """uv's binary beside the project venv's Python (the uv package's own find_uv_bin trips over interpreters whose
    sysconfig has no EXE, as pyenv's builds)."""
    path = Path(sys.executable).parent / "uv"
    if not path.is_file():
        raise FileNotFoundError(f"uv is not installed beside {sys.executable}: pip install -r requirements-dev.txt")
    return path


def _build(tool: str) -> None:
    venv = home(tool)
    shutil.rmtree(venv, ignore_errors=True)
    # The base interpreter, not the project venv's: the tool venv inherits nothing from it. No pip of its own
    # (ensurepip costs seconds per tool): uv installs into it and checks it (`uv pip ... --python`); it installs
    # checkov's hundred pins in about a second where pip took half a minute.
    base = getattr(sys, "_base_executable", sys.executable)
    uv = [str(_uv()), "pip"]
    target = ["--python", str(_python(venv))]
    for cmd in ([base, "-m", "venv", "--without-pip", str(venv)],
                [*uv, "install", "--quiet", "--no-deps", *target, "-r", str(requirements(tool))],
                [*uv, "check", "--quiet", *target]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, env=environ())
        if done.returncode != 0:
            raise RuntimeError(f"building the {tool} tool environment failed: {' '.join(cmd)}\n"
                               f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    (venv / STAMP).write_text(_digest(tool) + "\n")  # last: only now is the environment whole


def build_stale() -> list[str]:
    """Build every tool environment that is missing or stale, in parallel; the tools built."""
    stale = [tool for tool in tools() if not _fresh(tool)]
    if stale:
        with ThreadPoolExecutor(max_workers=len(stale)) as pool:
            list(pool.map(python, stale))
    return stale


def executable(tool: str, name: str) -> Path:
    """A console script (or binary) the tool's venv installed, e.g. executable("actionlint", "actionlint")."""
    path = python(tool).parent / name
    if not path.is_file():
        raise FileNotFoundError(f"{name} is not in the {tool} tool environment ({path.parent})")
    return path
