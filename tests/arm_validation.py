"""Strict validation of exported ARM resources against Azure's own template schemas.

The schemas are Azure's (tests/arm_schemas/, see its README for provenance). Published as they are, they leave
most objects open, so a misspelt, mis-cased or misplaced property passes; here every object schema that lists its
properties is closed (`additionalProperties: false`), so anything Azure's schema does not name is a violation.

A resource is validated against the `resourceDefinitions` entry (or the extension/subscription/tenant one) whose
`type` and `apiVersion` enums name it. Template-level keys that are not part of the resource body (`comments`,
`dependsOn`, `condition`, and the `scope` of an extension resource) are checked by the template's own schema, not
by the type's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

SCHEMA_ROOT = Path(__file__).parent / "arm_schemas" / "schemas"
BASE_URI = "https://schema.management.azure.com/schemas/"
DEFINITION_SECTIONS = (
    "resourceDefinitions",
    "extension_resourceDefinitions",
    "subscription_resourceDefinitions",
    "tenant_resourceDefinitions",
    "managementGroup_resourceDefinitions",
)
# Template-level keys of a resource, validated by deploymentTemplate.json rather than the type's schema.
TEMPLATE_KEYS = frozenset({"comments", "dependsOn", "condition", "copy", "scope"})


def _variants(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The inline object variants of a discriminated union (a base with `properties` and a `oneOf` of variants)."""
    branches = node.get("oneOf")
    if isinstance(node.get("properties"), dict) and isinstance(branches, list) \
            and all(isinstance(b, dict) and isinstance(b.get("properties"), dict) for b in branches):
        return branches
    return None


def close(node: Any) -> Any:
    """Every object schema that lists `properties` and says nothing of others rejects others.

    A discriminated union (the base's common properties beside a `oneOf` of variants, as in firewall policy rules)
    closes each variant over its own properties and the base's; the base itself stays open to its variants'.
    """
    if isinstance(node, dict):
        variants = _variants(node)
        if variants is not None:
            merged = [{**b, "properties": {**node["properties"], **b["properties"]}} for b in variants]
            return {**{key: close(value) for key, value in node.items() if key != "oneOf"}, "oneOf": close(merged)}
        closed = {key: close(value) for key, value in node.items()}
        if isinstance(node.get("properties"), dict) and "additionalProperties" not in node and "allOf" not in node:
            closed["additionalProperties"] = False
        return closed
    if isinstance(node, list):
        return [close(item) for item in node]
    return node


@dataclass(frozen=True)
class Definition:
    uri: str  # the schema file's $id-style URI
    pointer: str  # "#/resourceDefinitions/<name>"


# String lists whose REST API enum is open (`x-ms-enum` with `modelAsString: true`) but that the ARM template schema
# generator wrote as a closed enum: (schema file, definition, property). Data collection rule streams: the REST spec
# lists five "known" streams as KnownDataFlowStreams / KnownExtensionDataSourceStreams, modelAsString true
# (Azure/azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2022-06-01/
# dataCollectionRules_API.json), and Microsoft's own Container Insights template sends Microsoft-ContainerLogV2 and
# the other Container Insights streams there at this API version (microsoft/Docker-Provider
# scripts/onboarding/aks/onboarding-using-msi-auth/existingClusterOnboarding.json). Each stays a list of strings.
OPEN_ENUMS: tuple[tuple[str, str, str], ...] = (
    ("2022-06-01/Microsoft.Insights.json", "DataFlow", "streams"),
    ("2022-06-01/Microsoft.Insights.json", "ExtensionDataSource", "streams"),
)


def _open_enum(doc: dict[str, Any], definition: str, prop: str) -> None:
    branches = doc["definitions"][definition]["properties"][prop]["oneOf"]
    arrays = [b for b in branches if b.get("type") == "array" and "enum" in b.get("items", {})]
    assert len(arrays) == 1, f"{definition}.{prop}: expected one array of an enum"
    arrays[0]["items"] = {"type": "string"}


@cache
def _documents() -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_ROOT.rglob("*.json")):
        uri = BASE_URI + path.relative_to(SCHEMA_ROOT).as_posix()
        docs[uri] = json.loads(path.read_text())
    for file, definition, prop in OPEN_ENUMS:
        _open_enum(docs[BASE_URI + file], definition, prop)
    return docs


@cache
def _registry() -> referencing.Registry:
    resources = [
        (uri, referencing.jsonschema.DRAFT4.create_resource(close(doc)))
        for uri, doc in _documents().items()
    ]
    return referencing.Registry().with_resources(resources)


@cache
def definitions() -> dict[tuple[str, str], Definition]:
    """(ARM type, API version) -> where its schema is, for every vendored resource definition."""
    found: dict[tuple[str, str], Definition] = {}
    for uri, doc in _documents().items():
        for section in DEFINITION_SECTIONS:
            for name, schema in (doc.get(section) or {}).items():
                props = schema.get("properties") or {}
                types = (props.get("type") or {}).get("enum") or []
                versions = (props.get("apiVersion") or {}).get("enum") or []
                for arm_type in types:
                    for version in versions:
                        found[(arm_type, version)] = Definition(uri, f"#/{section}/{name}")
    return found


# The only VM extension schema at 2024-11-01 is the hand-written handler catalogue (Microsoft.Compute.Extensions.json:
# an anyOf of known publishers, whose generic entry lists just publisher/type/typeHandlerVersion/settings). The
# properties Azure's REST API takes are the generated VirtualMachineExtensionProperties of the same API version.
PROPERTIES_OVERRIDES = {
    ("Microsoft.Compute/virtualMachines/extensions", "2024-11-01"):
        BASE_URI + "2024-11-01/Microsoft.Compute.json#/definitions/VirtualMachineExtensionProperties",
}


@cache
def _validator(arm_type: str, api_version: str) -> jsonschema.protocols.Validator:
    definition = definitions().get((arm_type, api_version))
    if definition is None:
        raise KeyError(f"no vendored ARM schema for {arm_type}@{api_version}; vendor it under tests/arm_schemas")
    schema: dict[str, Any] = {"$ref": definition.uri + definition.pointer}
    override = PROPERTIES_OVERRIDES.get((arm_type, api_version))
    if override is not None:
        _, section, name = definition.pointer.split("/")
        resolved = copy.deepcopy(_registry().contents(definition.uri)[section][name])
        resolved["properties"]["properties"] = {"$ref": override}
        schema = {**resolved, "id": definition.uri}
    return jsonschema.Draft4Validator(schema, registry=_registry())


def name_violations(resource: dict[str, Any]) -> list[str]:
    """A child type declared at the top of a template is named with one segment per level of its type."""
    levels = len(str(resource["type"]).split("/")) - 1
    segments = str(resource.get("name", "")).split("/")
    if len(segments) != levels or not all(segments):
        return [f"{resource['type']} {resource.get('name')} name: needs {levels} segment(s), one per level of the type"]
    return []


def _leaf_errors(error: jsonschema.ValidationError) -> Iterator[jsonschema.ValidationError]:
    """The errors that explain a failed oneOf/anyOf: those of the branch that came closest (not the expression)."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        by_branch: dict[int, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0] if sub.schema_path else 0, []).append(sub)
        # The branch that is an object/array schema, not the ARM expression string, explains the failure; prefer
        # the one whose errors went deepest into the value.
        branches = [errs for errs in by_branch.values() if not all(e.validator == "type" and e.validator_value == "string" for e in errs)]
        best = max(branches or list(by_branch.values()), key=lambda errs: max(len(e.absolute_path) for e in errs))
        for sub in best:
            yield from _leaf_errors(sub)
        return
    yield error


def _schema_errors(validator: jsonschema.protocols.Validator, body: dict[str, Any]) -> list[tuple[str, str]]:
    found = []
    for error in validator.iter_errors(copy.deepcopy(body)):
        for leaf in _leaf_errors(error):
            found.append(("/".join(str(part) for part in leaf.absolute_path) or "(resource)", leaf.message))
    return found


def violations(resource: dict[str, Any]) -> list[str]:
    """Every way one exported ARM resource breaks its type's closed schema, as "type name path: message"."""
    body = {key: value for key, value in resource.items() if key not in TEMPLATE_KEYS}
    try:
        validator = _validator(str(resource.get("type")), str(resource.get("apiVersion")))
    except KeyError as missing:
        return [f"{resource.get('name')}: {missing.args[0]}"]
    errors = _schema_errors(validator, body)
    if any(path == "name" for path, _ in errors):
        # The schemas write some name rules for the whole top-level name ("^.*/default$") and most for the last
        # segment, the name inside the parent: a name may satisfy either.
        inner = _schema_errors(validator, {**body, "name": str(body.get("name", "")).split("/")[-1]})
        if not any(path == "name" for path, _ in inner):
            errors = [(path, message) for path, message in errors if path != "name"]
    found = {f"{resource['type']} {resource.get('name')} {path}: {message}" for path, message in errors}
    return name_violations(resource) + sorted(found)


def template_violations(template: dict[str, Any]) -> list[str]:
    """`violations` of every resource of an exported template."""
    return [problem for resource in template["resources"] for problem in violations(resource)]
