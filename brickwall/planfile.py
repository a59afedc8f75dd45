"""The plan file: every recorded registration as stable, secret-free JSON.

Schema (documented in docs/architecture.md):
    {"project": str, "stack": str,
     "resources": [{"urn", "type", "name", "parent", "custom", "provider", "protect",
                    "retainOnDelete", "deletedWith", "ignoreChanges", "dependencies", "inputs"}],
     "outputs": {...}}
Resources are sorted by URN; secret values are written as "[secret]".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from brickwall.engine import SECRET_PLACEHOLDER, Recording, Registration, ResourceRef, Secret, Unknown

SCHEMA_VERSION = 1
UNKNOWN_PLACEHOLDER = "[unknown]"


def redact(value: Any, *, keep_secret_shape: bool = False) -> Any:
    """A recorded value as written to files: secrets become "[secret]" (with `keep_secret_shape`, every scalar
    inside the secret does, so a manifest keeps its structure), values only known at apply time "[unknown]",
    resource references their id, whole floats ints (the wire carries every number as a double), maps sorted."""
    if isinstance(value, Secret):
        return _secret_shape(value.value) if keep_secret_shape else SECRET_PLACEHOLDER
    if isinstance(value, Unknown):
        return UNKNOWN_PLACEHOLDER
    if isinstance(value, ResourceRef):
        return value.id or value.urn
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: redact(v, keep_secret_shape=keep_secret_shape) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [redact(v, keep_secret_shape=keep_secret_shape) for v in value]
    return value


def _secret_shape(value: Any) -> Any:
    if isinstance(value, Secret):
        return _secret_shape(value.value)
    if isinstance(value, dict):
        return {k: _secret_shape(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [_secret_shape(v) for v in value]
    return SECRET_PLACEHOLDER


def resource_entry(reg: Registration) -> dict[str, Any]:
    return {
        "urn": reg.urn,
        "type": reg.type,
        "name": reg.name,
        "parent": reg.parent,
        "custom": reg.custom,
        "provider": reg.provider,
        "protect": reg.protect,
        "retainOnDelete": reg.retain_on_delete,
        "deletedWith": reg.deleted_with,
        "ignoreChanges": sorted(reg.ignore_changes),
        "dependencies": sorted(reg.dependencies),
        # A secret keeps its shape (a Secret's data its keys, each value "[secret]"): never a value, but enough for
        # `export --plan` to write the same manifests as the live recording does.
        "inputs": redact(reg.inputs, keep_secret_shape=True),
    }


def to_plan(recording: Recording) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "project": recording.project,
        "stack": recording.stack,
        "resources": sorted((resource_entry(r) for r in recording.registrations), key=lambda e: e["urn"]),
        "outputs": redact(recording.stack_outputs),
    }


def to_recording(plan: dict[str, Any]) -> Recording:
    """A saved plan as the recording the exporter reads (secret values are placeholders already): `export --plan`."""
    regs = [Registration(urn=e["urn"], type=e["type"], name=e["name"], parent=e.get("parent", ""), custom=e.get("custom", True),
                         remote=False, provider=e.get("provider", ""), protect=e.get("protect", False),
                         retain_on_delete=e.get("retainOnDelete", False), deleted_with=e.get("deletedWith", ""),
                         ignore_changes=tuple(e.get("ignoreChanges", ())), dependencies=tuple(e.get("dependencies", ())),
                         inputs=e.get("inputs", {}))
            for e in plan.get("resources", [])]
    return Recording(project=str(plan.get("project", "")), stack=str(plan.get("stack", "")), registrations=regs,
                     stack_outputs=dict(plan.get("outputs", {})))


def dumps(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2, sort_keys=False) + "\n"


def write(plan: dict[str, Any], path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(dumps(plan))
