"""One typed program per environment: each module's `build()` returns its EnvironmentSpec."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from components.spec import EnvironmentSpec, Problem, SpecError
from components.spec.errors import problems_from

KNOWN_STACKS = ("dev", "staging", "prod")


class UnknownStackError(Exception):
    def __init__(self, stack: str):
        self.stack = stack
        super().__init__(
            f"unknown stack {stack!r}: known stacks are {', '.join(KNOWN_STACKS)} "
            "(or render a spec file with --spec FILE / config brickwall:specFile)"
        )


def load(stack: str) -> EnvironmentSpec:
    """The validated spec of a known stack; SpecError lists every problem."""
    if stack not in KNOWN_STACKS:
        raise UnknownStackError(stack)
    module = importlib.import_module(f"stacks.{stack}")
    try:
        spec: EnvironmentSpec = module.build()
    except ValidationError as exc:
        raise SpecError(f"stacks/{stack}.py", problems_from(exc)) from None
    return spec


def load_file(path: str | Path) -> EnvironmentSpec:
    """A spec from a JSON or YAML file, validated exactly like a stack's spec."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(str(path), [Problem((), f"cannot read the file: {exc.strerror}")]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(str(path), [Problem((), f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}")]) from None
    if not isinstance(data, dict):
        raise SpecError(str(path), [Problem((), "the file must hold one mapping (the environment spec)")])
    try:
        return EnvironmentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(str(path), problems_from(exc)) from None
