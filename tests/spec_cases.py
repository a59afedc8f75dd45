"""The harness of the invalid-spec tests (tests/test_invalid_*.py): valid bases, dotted-path edits, the Case record
and the checks every case goes through (model validation, the file loader, the real program).

Each case starts from a valid base (a stack's own spec dumped to JSON, or a minimal literal dict), changes a few
fields and lists the problems it must produce as (dotted path, reason fragment). The set of reported paths must
equal the expected set exactly, so a missing problem and a spurious extra one both fail.

A plain module (not collected): the test files import its helpers, never each other's tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pydantic import ValidationError

import stacks
from brickwall import project
from brickwall.engine import ProgramError
from components.spec import EnvironmentSpec, Problem
from components.spec.errors import problems_from

DELETE = object()

# IP access lists are on in every tier, so even a minimal spec names its break-glass and CI ranges.
LOCKOUT_SAFE = {"ip_access": {"break_glass": ["52.174.20.0/28"], "ci_egress": ["20.61.88.16/28"]}}
MIN_DEV: dict[str, Any] = {"name": "dev", "tier": "dev", "region": "westeurope", "network": {"address_space": "10.10.0.0/20"},
                           "access": LOCKOUT_SAFE}
MIN_PROD: dict[str, Any] = {
    "name": "prod",
    "tier": "prod",
    "region": "westeurope",
    "network": {"address_space": "10.30.0.0/19"},
    "private_link": {"transit": {"address_space": "10.130.0.0/24"}},
    "access": LOCKOUT_SAFE,
    # What prod cannot leave out: someone to alert and the tenant's AzureDatabricks application for its keys.
    "monitoring": {"alerts": {"emails": ["secops@example.com"]}},
    "encryption": {"databricks_app_object_id": "6a1e2f3b-9c8d-4e7f-8a6b-5c4d3e2f1a09"},
}


def base(name: str) -> dict[str, Any]:
    """A valid spec as plain data: a stack's own spec dumped to JSON, or a minimal literal."""
    if name == "min-dev":
        return copy.deepcopy(MIN_DEV)
    if name == "min-prod":
        return copy.deepcopy(MIN_PROD)
    return stacks.load(name).model_dump(mode="json")


def mutate(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply {"dotted.path": value} changes (DELETE removes the key); missing parents are created."""
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for part in parents:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return data


def edit(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Apply {"dotted.path": value} changes like `mutate`, where a numeric segment indexes a list; DELETE removes."""
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = data
        for part in parents:
            if isinstance(node, list):
                node = node[int(part)]
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        key: Any = int(last) if isinstance(node, list) else last
        if value is DELETE:
            del node[key]
        else:
            node[key] = value
    return data


@dataclass(frozen=True)
class Case:
    id: str
    base: str
    changes: dict[str, Any]
    expected: tuple[tuple[str, str], ...]  # (dotted path, reason fragment); several may share a path
    program: bool = False  # also run the real program on it (kept to a few: each run costs about a second)
    fmt: str = "yaml"

    def data(self) -> dict[str, Any]:
        return mutate(base(self.base), self.changes)


@dataclass(frozen=True)
class AccessCase(Case):
    """A case whose paths may index into lists ("access.groups.0.name"): its changes are applied with `edit`."""

    def data(self) -> dict[str, Any]:
        return edit(base(self.base), self.changes)


def case_params(cases: Iterable[Case]) -> list[Any]:
    """The cases as pytest parameters, each named by its id."""
    return [pytest.param(c, id=c.id) for c in cases]


def problems_of(data: dict[str, Any]) -> list[Problem]:
    """The problems model validation reports for `data` (which must be invalid)."""
    with pytest.raises(ValidationError) as info:
        EnvironmentSpec.model_validate(data)
    return problems_from(info.value)


def assert_reported(problems: list[Problem], expected: tuple[tuple[str, str], ...]) -> None:
    shown = "\n".join(f"  {p}" for p in problems)
    assert {p.dotted for p in problems} == {path for path, _ in expected}, f"reported:\n{shown}"
    for path, fragment in expected:
        assert any(p.dotted == path and fragment in p.reason for p in problems), (
            f"no problem at {path!r} mentioning {fragment!r}; reported:\n{shown}"
        )


def check_reported(case: Case) -> None:
    """Model validation reports exactly the case's problems, each at its path."""
    assert_reported(problems_of(case.data()), case.expected)


def write_case(case: Case, path: Path) -> Path:
    data = case.data()
    path.write_text(json.dumps(data, indent=2) if case.fmt == "json" else yaml.safe_dump(data))
    return path


def check_file_loader(case: Case, tmp_path: Path) -> None:
    """stacks.load_file (the CLI's and the program's path) reports the same problems as model_validate."""
    path = write_case(case, tmp_path / f"spec.{case.fmt}")
    with pytest.raises(stacks.SpecError) as info:
        stacks.load_file(path)
    assert_reported(info.value.problems, case.expected)
    rendered = info.value.render()
    assert str(path) in rendered
    for dotted, _ in case.expected:
        assert f"  - {dotted}: " in rendered


def check_program_registers_nothing(case: Case, tmp_path: Path, stack: str) -> None:
    """The real program stops with a RunError naming every problem, before registering anything."""
    path = write_case(case, tmp_path / f"spec.{case.fmt}")
    with pytest.raises(ProgramError) as info:
        project.run(stack, spec_file=path)
    exc = info.value
    assert isinstance(exc.original, pulumi.RunError)
    message = str(exc)
    assert "Traceback" not in message and "invalid environment spec" in message
    for dotted, fragment in case.expected:
        assert f"  - {dotted}: " in message, message
        assert fragment in message, message
    assert exc.registrations == []
