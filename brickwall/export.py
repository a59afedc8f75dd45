"""Export a recording as the plain files other tools read: Kubernetes manifests, Helm values, an ARM template.

Scanners and validators (kubernetes-validate, network-config-analyzer, checkov) know nothing of Pulumi; this turns
what the program registered into their formats, offline:

- `kubernetes_manifests`: every Kubernetes object (typed `kubernetes:<group>/<version>:<Kind>` resources and
  `apiextensions.CustomResource`s, whose token is `kubernetes:<apiVersion>:<Kind>` too) as a manifest dict;
- `helm_releases`: Helm charts and releases, which are not objects but a chart plus values;
- `arm_resources`: the azure-native resources as an ARM deployment template (ARM types, API versions and body
  shaping from the Azure type catalog, components/planning/azure_types.py: the one place to extend when the program
  uses a new azure-native type);
- `write_export`: all of it as files, one object per file, byte-identical for the same recording.

Value conventions (the same as the plan file's): whole floats become ints (the wire carries every number as a
double); secrets are redacted as "[secret]" keeping the shape of the value (a Secret's `data` keeps its keys, each
value "[secret]"), so a secret value is never written; values only known at apply time become "[unknown]".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import yaml

from brickwall.engine import Recording, Registration, Secret
from brickwall.planfile import redact
from components.planning.azure_types import AzureType, Fixed, entry_of

ARM_SCHEMA: Final = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"

KUBERNETES_DIR: Final = "kubernetes"
HELM_DIR: Final = "helm-values"
AZURE_DIR: Final = "azure"
ARM_TEMPLATE: Final = "template.json"
CLUSTER_SCOPE_DIR: Final = "_cluster"

# Chart-like resources: a chart plus values, exported to helm-values/ rather than as manifests.
HELM_TYPES: Final = frozenset({
    "kubernetes:helm.sh/v4:Chart",  # remote component
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v3:Chart",  # the SDK-side v3 component
})

# Kinds without a namespace. A namespaced object registered without one goes to its provider's namespace (or
# "default"), which the exported manifest then names explicitly.
CLUSTER_SCOPED_KINDS: Final = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding", "ComponentStatus", "CSIDriver",
    "CSINode", "CustomResourceDefinition", "DeviceClass", "FlowSchema", "IngressClass", "IPAddress",
    "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "MutatingWebhookConfiguration", "Namespace", "Node",
    "PersistentVolume", "PriorityClass", "PriorityLevelConfiguration", "RuntimeClass", "ServiceCIDR", "StorageClass",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
    "VolumeAttachment", "VolumeAttributesClass",
    "ClusterIssuer",  # cert-manager.io
})

_MANIFEST_HEAD: Final = ("apiVersion", "kind", "metadata")


class ExportError(Exception):
    """The recording cannot be exported faithfully (an unmapped azure-native type, two objects on one path)."""


# --- values --------------------------------------------------------------------------------------------------


def clean(value: Any) -> Any:
    """Wire value -> file value: the plan file's conversion, with secrets keeping their shape (see planfile.redact)."""
    return redact(value, keep_secret_shape=True)


def _reveal(value: Any) -> Any:
    """Look through a secret wrapper (for structure only: names and namespaces, never written as values)."""
    return value.value if isinstance(value, Secret) else value


# --- Kubernetes ----------------------------------------------------------------------------------------------


def is_kubernetes_object(reg: Registration) -> bool:
    """A Kubernetes object the provider would apply: a custom `kubernetes:` resource with apiVersion and kind.

    Leaves out charts (see HELM_TYPES), components (yaml/kustomize v2 render in the provider, so nothing of them is
    recorded offline) and `*Patch` resources, which are partial objects applied over existing ones.
    """
    return (
        reg.custom
        and reg.type.startswith("kubernetes:")
        and reg.type not in HELM_TYPES
        and not reg.type.endswith("Patch")
        and "apiVersion" in reg.inputs
        and "kind" in reg.inputs
    )


def _provider_namespace(recording: Recording, reg: Registration) -> str:
    """The namespace a namespaced object without one lands in: its explicit provider's, else "default"."""
    if reg.provider:
        provider_urn = reg.provider.rsplit("::", 1)[0]
        try:
            namespace = _reveal(recording.by_urn(provider_urn).inputs.get("namespace"))
        except KeyError:
            namespace = None
        if isinstance(namespace, str) and namespace:
            return namespace
    return "default"


def manifest(recording: Recording, reg: Registration) -> dict[str, Any]:
    """The Kubernetes manifest of one object registration (see `kubernetes_manifests`)."""
    inputs = {k: v for k, v in reg.inputs.items() if not k.startswith("__")}  # "__"-keys are the provider's own
    kind = str(_reveal(inputs["kind"]))
    raw_metadata = inputs.get("metadata")
    metadata = dict(_reveal(raw_metadata) or {})
    if isinstance(raw_metadata, Secret):  # keep only the identity in clear, as the provider shows it anyway
        identity = {k: metadata[k] for k in ("name", "namespace") if k in metadata}
        metadata = {**redact(raw_metadata, keep_secret_shape=True), **identity}
    if "name" not in metadata:
        # The provider would auto-name it `<logical name>-<random suffix>`; stay stable, as the mocks do.
        metadata["name"] = reg.name
    if kind not in CLUSTER_SCOPED_KINDS and "namespace" not in metadata:
        metadata["namespace"] = _provider_namespace(recording, reg)
    body = clean({**inputs, "metadata": metadata})
    head = {key: body.pop(key) for key in _MANIFEST_HEAD}
    return {**head, **body}


def kubernetes_manifests(recording: Recording) -> list[dict[str, Any]]:
    """Every Kubernetes object the program registered, as manifests, in registration order.

    Keys: apiVersion, kind, metadata first, then the object's other fields (spec, data, stringData, type, rules,
    ...) sorted, every nested map sorted by key (list order is kept: it matters to Kubernetes). metadata always has
    a name (the logical name if the program gave none) and, for namespaced kinds, a namespace.
    """
    return [manifest(recording, reg) for reg in recording.registrations if is_kubernetes_object(reg)]


def manifest_path(obj: dict[str, Any]) -> Path:
    """`<namespace or _cluster>/<kind>-<name>.yaml`, relative to the export's kubernetes/ directory."""
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace") or CLUSTER_SCOPE_DIR
    return Path(_file_part(str(namespace))) / f"{_file_part(str(obj['kind']).lower())}-{_file_part(str(metadata['name']))}.yaml"


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


# --- Helm ----------------------------------------------------------------------------------------------------


def helm_release(reg: Registration) -> dict[str, Any]:
    """Chart, version, repository, namespace and values of a chart-like registration (see HELM_TYPES)."""
    inputs = reg.inputs
    repo_opts = _reveal(inputs.get("repositoryOpts")) or {}
    fetch_opts = _reveal(inputs.get("fetchArgs") or inputs.get("fetchOpts")) or {}  # v3 Chart spells it this way
    entry = {
        "source": reg.type,
        "release": inputs.get("name", reg.name),
        "chart": inputs.get("chart"),
        "version": inputs.get("version"),
        "repo": repo_opts.get("repo") or fetch_opts.get("repo"),
        "namespace": inputs.get("namespace"),
        "values": inputs.get("values") or {},
    }
    cleaned: dict[str, Any] = clean(entry)
    return cleaned


def helm_releases(recording: Recording) -> dict[str, dict[str, Any]]:
    """Logical name -> `helm_release` for every Helm chart or release, in registration order."""
    found: dict[str, dict[str, Any]] = {}
    for reg in recording.registrations:
        if reg.type in HELM_TYPES:
            if reg.name in found:
                raise ExportError(f"two Helm charts are named {reg.name!r}; helm-values/{reg.name}.yaml would hold only one")
            found[reg.name] = helm_release(reg)
    return found


# --- Azure (ARM) ---------------------------------------------------------------------------------------------
#
# The template is the request body azure-native sends, so that scanners read what Azure receives: each type's ARM
# type, API version, name and body shaping come from its entry in the Azure type catalog
# (components/planning/azure_types.py, which cites how azure-native rebuilds the body). tests/test_arm_schemas.py
# holds every exported resource against Azure's own template schema for its type and API version, closed.


# Fields of a nested sub-resource that stay beside its `properties` (Azure's SubResource/`Resource` shape).
NESTED_ENVELOPE: Final = frozenset({"id", "name", "etag", "type"})
# Inputs that only address the resource (its id), never part of the body. azure-native also accepts the resource's
# own `name`/`id`/`type` as body inputs on some network types (they echo the id); they are not properties either.
_ARM_ADDRESS_INPUTS: Final = frozenset({"resourceGroupName", "name", "id", "type"})


def _steps(path: str) -> list[str]:
    return path.split(".")


def _each(value: Any, steps: list[str]) -> Iterator[dict[str, Any]]:
    """The objects at `steps` below `value` ("x[]" steps into every item of list x); missing parts yield nothing."""
    if not steps:
        if isinstance(value, dict):
            yield value
        return
    step, rest = steps[0], steps[1:]
    if not isinstance(value, dict):
        return
    if step.endswith("[]"):
        items = value.get(step[:-2])
        for item in items if isinstance(items, list) else []:
            yield from _each(item, rest)
    else:
        yield from _each(value.get(step), rest)


def _nest(obj: dict[str, Any]) -> None:
    """Move a flattened sub-resource's fields back under its own `properties`."""
    moved = {key: obj.pop(key) for key in [k for k in obj if k not in NESTED_ENVELOPE and k != "properties"]}
    if moved:
        obj["properties"] = {**(obj.get("properties") or {}), **moved}


def _rename(body: dict[str, Any], source: str, target: str) -> None:
    *source_parents, source_key = _steps(source)
    for parent in _each(body, source_parents):
        if source_key in parent:
            value = parent.pop(source_key)
            *target_parents, target_key = _steps(target)
            holder = body
            for step in target_parents:
                holder = holder.setdefault(step, {})
            holder[target_key] = value


def _arm_name(arm: AzureType, reg: Registration) -> str:
    *parents, own = arm.name_inputs
    names = [p.segment if isinstance(p, Fixed) else str(_reveal(reg.inputs.get(p, ""))) for p in parents]
    names.append(own.segment if isinstance(own, Fixed) else str(_reveal(reg.inputs.get(own)) or reg.name))
    return "/".join(names)


def arm_resource(reg: Registration) -> dict[str, Any]:
    """One azure-native registration as an ARM template resource (ExportError for a type not in the catalog)."""
    arm = entry_of(reg.type)
    if arm is None:
        raise ExportError(f"no ARM mapping for {reg.type} ({reg.urn}); add it to the Azure type catalog, "
                          "components/planning/azure_types.py")
    inputs: dict[str, Any] = clean({k: v for k, v in reg.inputs.items() if not k.startswith("__")})
    for path in sorted(arm.nested, key=lambda p: -len(_steps(p))):  # innermost first: nesting moves the outer ones
        for obj in _each(inputs, _steps(path)):
            _nest(obj)
    resource: dict[str, Any] = {"type": arm.arm_type, "apiVersion": arm.api_version, "name": _arm_name(arm, reg)}
    envelope = {key: inputs[key] for key in arm.envelope if key in inputs}
    identity = envelope.get("identity")
    if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
        # The SDK takes user-assigned identities as a set of ids; the API as a map from id to {} (IsStringSet).
        envelope["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
    resource.update(envelope)
    if arm.scope_input and arm.scope_input in inputs:
        resource["scope"] = inputs[arm.scope_input]
    skip = {*(n for n in arm.name_inputs if isinstance(n, str)), *_ARM_ADDRESS_INPUTS, *arm.envelope,
            *((arm.scope_input,) if arm.scope_input else ())}
    properties = {k: v for k, v in inputs.items() if k not in skip or k in arm.body_inputs}
    if arm.wrapped_properties and isinstance(properties.get("properties"), dict):
        properties = {**properties.pop("properties"), **properties}
    body = {**resource, "properties": properties}
    for source, target in arm.renames:
        _rename(body, source, target)
    if not arm.has_properties and not body["properties"]:
        del body["properties"]
    body["comments"] = reg.urn
    return body



def arm_resources(recording: Recording) -> dict[str, Any]:
    """The azure-native custom resources as an ARM deployment template, resources sorted by (type, name)."""
    resources = [arm_resource(r) for r in recording.registrations if r.custom and r.type.startswith("azure-native:")]
    resources.sort(key=lambda r: (r["type"], r["name"], r["comments"]))
    return {"$schema": ARM_SCHEMA, "contentVersion": "1.0.0.0", "resources": resources}


# --- files ---------------------------------------------------------------------------------------------------


def _yaml(doc: dict[str, Any], source: str) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1_000_000)
    return f"# brickwall export of {source}\n{body}"


def _write(path: Path, text: str, written: list[Path]) -> None:
    if path in written:
        raise ExportError(f"two exported objects map to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    written.append(path)


def _prune(root: Path, keep: Iterable[Path], patterns: Iterable[str]) -> None:
    """Remove files a previous export left in our own subdirectories (only the file kinds we write)."""
    kept = set(keep)
    for pattern in patterns:
        for stale in root.glob(pattern):
            if stale.is_file() and stale not in kept:
                stale.unlink()
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def write_export(recording: Recording, out_dir: str | Path) -> list[Path]:
    """Write the export under `out_dir` and return the written files, sorted.

    - kubernetes/<namespace or _cluster>/<kind>-<name>.yaml: one object a file;
    - helm-values/<logical name>.yaml: source, release, chart, version, repo, namespace and values of each chart;
    - azure/template.json: the ARM template.
    The three directories always exist (empty when there is nothing of that kind); files a previous export left
    there are removed, so the directory holds exactly this recording's export.
    """
    out = Path(out_dir)
    kube_dir, helm_dir, azure_dir = out / KUBERNETES_DIR, out / HELM_DIR, out / AZURE_DIR
    written: list[Path] = []
    sources = [r for r in recording.registrations if is_kubernetes_object(r)]
    for reg in sources:
        obj = manifest(recording, reg)
        _write(kube_dir / manifest_path(obj), _yaml(obj, reg.urn), written)
    urns = {r.name: r.urn for r in recording.registrations if r.type in HELM_TYPES}
    for name, release in helm_releases(recording).items():
        _write(helm_dir / f"{_file_part(name)}.yaml", _yaml(release, urns[name]), written)
    _write(azure_dir / ARM_TEMPLATE, json.dumps(arm_resources(recording), indent=2) + "\n", written)
    for folder in (kube_dir, helm_dir, azure_dir):
        folder.mkdir(parents=True, exist_ok=True)
    _prune(kube_dir, written, ["**/*.yaml"])
    _prune(helm_dir, written, ["*.yaml"])
    return sorted(written)
