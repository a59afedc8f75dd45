"""One typed program per environment: each module's `build()` returns its EnvironmentSpec."""

from __future__ import annotations

import ast
import importlib
import json
import traceback
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from components.spec import EnvironmentSpec, Problem, SpecError
from components.spec.errors import problems_from

STACKS_DIR = Path(__file__).resolve().parent
# Modules here that are not environments.
_NOT_STACKS = frozenset({"__init__", "config"})


def discover(directory: Path = STACKS_DIR) -> tuple[str, ...]:
    """Every environment: a module stacks/<name>.py that defines `build()`. Adding an environment is adding one
    file (and, to deploy it, its stacks/Pulumi.<name>.yaml). Sorted by name."""
    found = []
    for path in sorted(directory.glob("*.py")):
        if path.stem in _NOT_STACKS or path.stem.startswith("_"):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        if any(isinstance(node, ast.FunctionDef) and node.name == "build" for node in tree.body):
            found.append(path.stem)
    return tuple(found)


KNOWN_STACKS = discover()


class UnknownStackError(Exception):
    def __init__(self, stack: str):
        self.stack = stack
        super().__init__(
            f"unknown stack {stack!r}: the stacks are {', '.join(KNOWN_STACKS)}. To add one, write stacks/{stack}.py "
            "with a build() that returns its EnvironmentSpec (copy stacks/dev.py), and stacks/Pulumi."
            f"{stack}.yaml to deploy it; or render a spec file with --spec FILE (config brickwall:specFile)"
        )


class SpecFileError(Exception):
    """The spec file cannot be read at all (missing, a directory, no permission): a usage error, not a bad spec."""


@cache
def _model_paths() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Where each spec model sits in EnvironmentSpec ("*" for an element of a tuple), by class name."""
    found: dict[str, list[tuple[str, ...]]] = {}

    def models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [(annotation, False)]
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (tuple, list):
            return [(m, True) for a in args if a is not Ellipsis for m, _ in models_in(a)]
        if origin in (typing.Union, types.UnionType):
            return [x for a in args for x in models_in(a)]
        return []

    def walk(model: type[BaseModel], path: tuple[str, ...], seen: frozenset[type[BaseModel]]) -> None:
        for name, info in model.model_fields.items():
            for sub, many in models_in(info.annotation):
                if sub in seen:
                    continue
                at = (*path, name, "*") if many else (*path, name)
                found.setdefault(sub.__name__, []).append(at)
                walk(sub, at, seen | {sub})

    walk(EnvironmentSpec, (), frozenset({EnvironmentSpec}))
    return {k: tuple(v) for k, v in found.items()}


def _stack_problems(stack: str, exc: ValidationError) -> list[Problem]:
    """Problems with the full field path in the spec, as a YAML spec's errors have, and the line of stacks/<stack>.py
    that built the model: a typed stack builds nested models one by one, so pydantic alone names only the model."""
    problems = problems_from(exc)
    paths = _model_paths().get(exc.title, ())
    prefix: tuple[str, ...] = paths[0] if len(paths) == 1 else ()
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == STACKS_DIR / f"{stack}.py"]
    where = f" (stacks/{stack}.py line {frames[-1].lineno}, {exc.title})" if frames and exc.title != "EnvironmentSpec" else ""
    if not prefix and len(paths) > 1:
        where += f"; {exc.title} is used at " + ", ".join(".".join(p) for p in paths)
    return [Problem((*prefix, *p.path), p.reason + where) for p in problems]


def load(stack: str) -> EnvironmentSpec:
    """The validated spec of a known stack; SpecError lists every problem."""
    if stack not in KNOWN_STACKS:
        raise UnknownStackError(stack)
    module = importlib.import_module(f"stacks.{stack}")
    try:
        spec: EnvironmentSpec = module.build()
    except ValidationError as exc:
        raise SpecError(f"stacks/{stack}.py", _stack_problems(stack, exc)) from None
    return spec


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML without silent duplicates: a key given twice is an error, not "the last one wins"."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"found the key {key!r} twice (first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _unique_json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice in one object")
        out[key] = value
    return out


def load_file(path: str | Path) -> EnvironmentSpec:
    """A spec from a JSON or YAML file, validated exactly like a stack's spec."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecFileError(f"cannot read the spec file {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), [Problem((), f"not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                                                 "save the spec as UTF-8")]) from None
    kind = "JSON" if path.suffix == ".json" else "YAML"
    try:
        data = (json.loads(text, object_pairs_hook=_unique_json_object) if kind == "JSON"
                else yaml.load(text, Loader=_UniqueKeyLoader))
    except (ValueError, yaml.YAMLError) as exc:
        raise SpecError(str(path), [Problem((), f"not valid {kind}: {exc}")]) from None
    if not isinstance(data, dict):
        raise SpecError(str(path), [Problem((), "the file must hold one mapping (the environment spec)")])
    try:
        return EnvironmentSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(str(path), problems_from(exc)) from None
