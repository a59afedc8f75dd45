"""Offline plan diff: what changes between two plan files, and what of it replaces or loses data.

`compare(old, new)` takes two plan dicts (the plan file schema in `brickwall.planfile`) and returns a `PlanDiff`:
per URN added / deleted / changed, with the changed input paths (dotted, list indices as numbers) and the changed
resource options. A change is flagged

- REPLACE when a changed path forces replacement of the resource (`force_new_patterns`: the Azure type catalog's
  `force_new` for azure-native types, `FORCE_NEW` for the others, plus the generic rules in `_generic_force_new`:
  location and name inputs of Azure resources, metadata.name/namespace of Kubernetes objects);
- DATA LOSS when a data-bearing resource (the catalog's `data_bearing`) would be replaced or deleted;
- PROTECTED when a protected resource would be deleted or replaced (the engine refuses: unprotect it first);
- IN USE when the address range of a subnet that holds a delegation, endpoints or NICs would change: Azure refuses to
  re-address a subnet in use (InUseSubnetCannotBeUpdated), so `pulumi up` would stop there.

Every changed value is shown old -> new (secrets stay "[secret]": a plan file never holds their values).

A changed parent changes the URN: Pulumi sees a delete and an add (unless an alias is set); the diff pairs them by
type and name and says so. Secret values are written as "[secret]" in plan files and cannot be compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.planning import azure_types as az
from components.planning.azure_types import entry_of

# --- Force-new table -------------------------------------------------------------------------------------------
# Resource type -> {path pattern: reason}, for the Databricks and Kubernetes types; an azure-native type's table is its
# entry's `force_new` in the Azure type catalog (components/planning/azure_types.py). Patterns are dotted wire paths;
# "*" matches one segment (a list index or a key); a pattern matches a changed path when either is a prefix of the
# other (a changed `networkProfile` matches `networkProfile.podCidr`, a changed `subnet.id` matches `subnet`).

FORCE_NEW: dict[str, dict[str, str]] = {
    # Databricks (pulumi-databricks is bridged from terraform-provider-databricks: its ForceNew fields replace).
    "databricks:index/servicePrincipal:ServicePrincipal": {"applicationId": "the Entra application is fixed at creation"},
    # databricks_permissions: the object id field (cluster_policy_id, authorization, ...) is ForceNew, one object per resource.
    "databricks:index/permissions:Permissions": {
        "clusterPolicyId": "permissions are bound to one object (ForceNew in terraform-provider-databricks)",
        "authorization": "permissions are bound to one object (ForceNew in terraform-provider-databricks)",
        "sqlEndpointId": "permissions are bound to one object (ForceNew in terraform-provider-databricks)",
    },
    # databricks_group_member and databricks_entitlements have no update of the principal they bind (ForceNew).
    "databricks:index/groupMember:GroupMember": {
        "groupId": "a membership binds one group (ForceNew)", "memberId": "a membership binds one member (ForceNew)",
    },
    # databricks_mws_permission_assignment has no Update: every field is ForceNew (mws/resource_mws_permission_assignment.go).
    "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment": {
        "workspaceId": "an assignment binds one workspace (ForceNew)", "principalId": "an assignment binds one principal (ForceNew)",
        "permissions": "the assignment has no update: a new permission replaces it (ForceNew)",
    },
    "databricks:index/entitlements:Entitlements": {
        "groupId": "entitlements bind one principal (ForceNew)",
        "servicePrincipalId": "entitlements bind one principal (ForceNew)",
        "userId": "entitlements bind one principal (ForceNew)",
    },
    # Kubernetes: pulumi-kubernetes' own `forceNew` table (pulumi/pulumi-kubernetes, package provider: metadata name and
    # namespace for every kind, then per kind), plus fields the API server rejects as immutable, which the provider can only replace.
    "kubernetes:helm.sh/v3:Release": {"name": "the release name is its identity", "namespace": "a release cannot move namespace"},
    "kubernetes:apps/v1:Deployment": {"spec.selector": "apps/v1 rejects a changed selector as immutable"},
    "kubernetes:apps/v1:StatefulSet": {
        # The API allows updates to replicas, template, updateStrategy, minReadySeconds and the PVC retention policy only.
        "spec.selector": "a StatefulSet's selector is immutable",
        "spec.serviceName": "a StatefulSet's serviceName is immutable",
        "spec.volumeClaimTemplates": "a StatefulSet's volumeClaimTemplates are immutable",
        "spec.podManagementPolicy": "a StatefulSet's podManagementPolicy is immutable",
    },
    "kubernetes:core/v1:Service": {
        "spec.clusterIP": "the cluster IP is immutable once allocated (pulumi-kubernetes force-new)",
        "spec.type": "pulumi-kubernetes replaces a Service whose type changes",
    },
    "kubernetes:core/v1:PersistentVolumeClaim": {"spec": "pulumi-kubernetes replaces a claim on any spec change"},
    "kubernetes:core/v1:Secret": {"type": "a Secret's type is immutable"},
    "kubernetes:core/v1:ConfigMap": {
        "data": "pulumi-kubernetes replaces ConfigMaps on data changes so workloads roll (unless enableConfigMapMutable)",
        "binaryData": "pulumi-kubernetes replaces ConfigMaps on data changes so workloads roll (unless enableConfigMapMutable)",
    },
    "kubernetes:core/v1:ResourceQuota": {"spec.scopes": "a quota's scopes are immutable"},
    "kubernetes:storage.k8s.io/v1:StorageClass": {
        "parameters": "a StorageClass's parameters are immutable", "provisioner": "a StorageClass's provisioner is immutable",
    },
    "kubernetes:batch/v1:Job": {"spec.selector": "a Job's selector is immutable", "spec.template": "a Job's pod template is immutable"},
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": {"roleRef": "roleRef is immutable: bind another role with a new binding"},
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": {"roleRef": "roleRef is immutable: bind another role with a new binding"},
}

# A changed address prefix on a subnet delegated to a service that uses it (a Databricks workspace): Azure refuses
# the update while the subnet is in use, so the change ends in a replacement or a failed update.
_DELEGATED_PREFIX_REASON = "delegated subnet in use: replacement or failure (Azure refuses to resize a subnet in use)"

DATA_LOSS, PROTECTED, REPLACE, UPDATE, ADD, DELETE = "DATA LOSS", "PROTECTED", "REPLACE", "update", "add", "delete"
IN_USE = "IN USE"
FLAGS = (DATA_LOSS, PROTECTED, REPLACE, IN_USE)
SUBNET = az.SUBNET.token
MISSING = "(unset)"
OPTIONS = ("protect", "retainOnDelete", "provider", "deletedWith", "ignoreChanges")


class PlanFileError(Exception):
    pass


@dataclass
class ResourceChange:
    urn: str
    type: str
    action: str  # add | delete | update | replace
    paths: list[str] = field(default_factory=list)  # changed input paths
    options: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # option -> (old, new)
    replace_reasons: dict[str, str] = field(default_factory=dict)  # path -> reason
    flags: list[str] = field(default_factory=list)  # subset of FLAGS
    note: str = ""
    values: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # path -> (old, new); MISSING when absent

    @property
    def primary(self) -> str | None:
        """The most severe flag (DATA LOSS, PROTECTED, REPLACE in that order): the table the change is listed in."""
        return next((f for f in FLAGS if f in self.flags), None)

    def _also(self) -> str:
        rest = [f for f in FLAGS if f in self.flags and f != self.primary]
        return f" (also {', '.join(rest)})" if rest else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "action": self.action,
            "paths": self.paths,
            "options": {k: {"old": o, "new": n} for k, (o, n) in self.options.items()},
            "replaceReasons": self.replace_reasons,
            "values": {p: {"old": o, "new": n} for p, (o, n) in self.values.items()},
            "flags": self.flags,
            "note": self.note,
        }


@dataclass
class PlanDiff:
    old_stack: str
    new_stack: str
    changes: list[ResourceChange]

    @property
    def flagged(self) -> bool:
        return any(c.flags for c in self.changes)

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def with_flag(self, flag: str) -> list[ResourceChange]:
        return [c for c in self.changes if flag in c.flags]

    def summary(self) -> str:
        parts = [f"{self.count(a)} to {a}" for a in ("add", "delete", "update", "replace")]
        flags = [f"{len(self.with_flag(f))} {f}" for f in FLAGS if self.with_flag(f)]
        return ", ".join(parts) + (f"; flagged: {', '.join(flags)}" if flags else "; nothing flagged")

    def to_json(self) -> dict[str, Any]:
        return {
            "oldStack": self.old_stack,
            "newStack": self.new_stack,
            "flagged": self.flagged,
            "summary": self.summary(),
            "changes": [c.to_json() for c in self.changes],
        }


# --- Comparing -----------------------------------------------------------------------------------------------------


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths (list indices as numbers) where `old` and `new` differ; a key present on one side only is a path."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in old or key not in new:
                out.append(path)
            else:
                out.extend(changed_paths(old[key], new[key], path))
        return out
    if isinstance(old, list) and isinstance(new, list):
        out = []
        for i in range(max(len(old), len(new))):
            path = f"{prefix}.{i}" if prefix else str(i)
            if i >= len(old) or i >= len(new):
                out.append(path)
            else:
                out.extend(changed_paths(old[i], new[i], path))
        return out
    return [] if old == new else [prefix]


def value_at(inputs: Any, path: str) -> Any:
    """The value at a dotted path of `changed_paths` (MISSING when a step is absent)."""
    cur = inputs
    for part in path.split(".") if path else []:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
    return cur


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _subnet_in_use(subnet: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """What holds the subnet in `plan`: its delegation, and every resource whose inputs name its ARM id (private
    endpoints, NICs, AKS pools, firewall and Bastion IP configurations)."""
    i = subnet.get("inputs", {})
    held = [f"delegated to {d.get('serviceName')}" for d in i.get("delegations") or [] if isinstance(d, dict)]
    vnet, name = i.get("virtualNetworkName"), i.get("subnetName") or subnet.get("name")
    if vnet and name:
        key = f"/virtualnetworks/{vnet}/subnets/{name}".lower()
        held += [f"{r['type'].rpartition(':')[2]} {r['name']}" for r in plan.get("resources", [])
                 if r["urn"] != subnet["urn"] and any(s.lower().endswith(key) or f"{key}/" in s.lower()
                                                      for s in _strings(r.get("inputs", {})))]
    return held


def _matches(pattern: str, path: str) -> bool:
    pat, segs = pattern.split("."), path.split(".")
    return all(p == "*" or p == s for p, s in zip(pat, segs, strict=False))


def _generic_force_new(rtype: str, path: str) -> str | None:
    top = path.split(".")[0]
    if rtype.startswith("azure-native:"):
        if top == "location":
            return az.LOCATION_CHANGE
        if top == "resourceGroupName":
            return az.RESOURCE_GROUP_CHANGE
        if top.endswith("Name") and "." not in path:
            return "a name input is part of the Azure resource id: a new resource is created"
    if rtype.startswith("kubernetes:") and path.split(".")[:2] in (["metadata", "name"], ["metadata", "namespace"], ["metadata"]):
        return "metadata.name/namespace identify a Kubernetes object: it is deleted and recreated"
    return None


def _conditional_force_new(rtype: str, path: str, old_inputs: dict[str, Any]) -> str | None:
    top = path.split(".")[0]
    if rtype == "azure-native:network:Subnet" and top in ("addressPrefix", "addressPrefixes") and old_inputs.get("delegations"):
        return _DELEGATED_PREFIX_REASON
    # An immutable Secret (`immutable: true`) rejects any data change: only a replacement applies it. (ConfigMap data
    # replaces in any case, see FORCE_NEW.)
    # Azure cannot undo prepareEncryption on a workspace (customer-managed keys for the DBFS root): the update fails.
    if rtype == "azure-native:databricks:Workspace" and path.startswith("parameters.prepareEncryption") \
            and (old_inputs.get("parameters") or {}).get("prepareEncryption", {}).get("value") is True:
        return "prepareEncryption cannot be undone on a workspace: replacement or failure"
    if rtype == "kubernetes:core/v1:Secret" and top in ("data", "stringData") and old_inputs.get("immutable") is True:
        return "immutable: true: its data cannot change, so it is replaced"
    return None


def force_new_patterns(rtype: str) -> Mapping[str, str]:
    """The force-new table of a type: an azure-native type's from the Azure type catalog, the others' from FORCE_NEW."""
    entry = entry_of(rtype)
    return entry.force_new if entry else FORCE_NEW.get(rtype, {})


def data_loss(rtype: str) -> str | None:
    """What is lost when a resource of `rtype` is deleted or replaced (the catalog's `data_bearing`), None if nothing."""
    entry = entry_of(rtype)
    return entry.data_bearing if entry else None


def force_new_reason(rtype: str, path: str, old_inputs: dict[str, Any] | None = None) -> str | None:
    """Why a change of `path` on a resource of `rtype` forces replacement, or None when it updates in place."""
    for pattern, reason in force_new_patterns(rtype).items():
        if _matches(pattern, path):
            return reason
    return _conditional_force_new(rtype, path, old_inputs or {}) or _generic_force_new(rtype, path)


def _deleted(res: dict[str, Any], note: str = "") -> ResourceChange:
    change = ResourceChange(res["urn"], res["type"], DELETE, note=note)
    if lost := data_loss(res["type"]):
        change.flags.append(DATA_LOSS)
        change.note = "; ".join(x for x in (note, lost) if x)
    if res.get("protect"):
        change.flags.append(PROTECTED)
    return change


def _resource_key(res: dict[str, Any]) -> tuple[str, str]:
    return res["type"], res["name"]


def compare(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    before = {r["urn"]: r for r in old.get("resources", [])}
    after = {r["urn"]: r for r in new.get("resources", [])}
    changes: list[ResourceChange] = []
    gone = [before[u] for u in sorted(set(before) - set(after))]
    came = [after[u] for u in sorted(set(after) - set(before))]
    # A changed parent changes the URN: pair a delete and an add of the same type and name.
    came_by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for res in came:
        came_by_key.setdefault(_resource_key(res), []).append(res)
    paired: set[str] = set()
    for res in gone:
        twins = [t for t in came_by_key.get(_resource_key(res), []) if t["urn"] not in paired]
        if twins and twins[0].get("parent") != res.get("parent"):
            twin = twins[0]
            paired.add(twin["urn"])
            note = (
                f"URN changed (parent {res.get('parent') or '(stack)'} -> {twin.get('parent') or '(stack)'}): "
                f"deleted and recreated as {twin['urn']} unless an alias is set"
            )
            change = _deleted(res, note)
            if res.get("custom", True):
                change.flags.append(REPLACE)
            changes.append(change)
            changes.append(ResourceChange(twin["urn"], twin["type"], ADD, note=f"URN changed: replaces {res['urn']}"))
        else:
            changes.append(_deleted(res))
    changes.extend(ResourceChange(r["urn"], r["type"], ADD) for r in came if r["urn"] not in paired)
    for urn in sorted(set(before) & set(after)):
        updated = _updated(before[urn], after[urn])
        if updated is not None:
            readdressed = updated.type == SUBNET and any(p.split(".")[0] in ("addressPrefix", "addressPrefixes")
                                                         for p in updated.paths)
            if readdressed and (held := _subnet_in_use(before[urn], old)):
                updated.flags.append(IN_USE)
                note = ("Azure refuses to change the address range of a subnet in use (" + ", ".join(held) +
                        "): empty it first, or pin the range in the spec (network.subnets.*_cidr)")
                updated.note = "; ".join(x for x in (updated.note, note) if x)
            changes.append(updated)
    changes.sort(key=lambda c: c.urn)
    return PlanDiff(str(old.get("stack", "")), str(new.get("stack", "")), changes)


def _updated(old: dict[str, Any], new: dict[str, Any]) -> ResourceChange | None:
    paths = changed_paths(old.get("inputs", {}), new.get("inputs", {}))
    options = {k: (old.get(k), new.get(k)) for k in OPTIONS if old.get(k) != new.get(k)}
    if not paths and not options:
        return None
    rtype = old["type"]
    values = {p: (value_at(old.get("inputs", {}), p), value_at(new.get("inputs", {}), p)) for p in paths}
    change = ResourceChange(old["urn"], rtype, UPDATE, paths=paths, options=options, values=values)
    if old.get("custom", True):
        for path in paths:
            reason = force_new_reason(rtype, path, old.get("inputs", {}))
            if reason:
                change.replace_reasons[path] = reason
    if change.replace_reasons:
        change.action = "replace"
        change.flags.append(REPLACE)
        if lost := data_loss(rtype):
            change.flags.insert(0, DATA_LOSS)
            change.note = lost
        if old.get("protect") and new.get("protect"):
            change.flags.append(PROTECTED)
    if "provider" in options:
        change.note = "; ".join(x for x in (change.note, "provider changed: the engine diffs the provider configurations and may replace") if x)
    return change


# --- Loading -------------------------------------------------------------------------------------------------------


def load(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise PlanFileError(f"cannot read plan file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanFileError(f"plan file {path} is not valid JSON: {exc}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("resources"), list)
        or not all(isinstance(r, dict) and {"urn", "type", "name"} <= set(r) for r in data["resources"])
    ):
        raise PlanFileError(f"{path} is not a brickwall plan file (no resources list with urn/type/name)")
    return data


# --- Rendering -----------------------------------------------------------------------------------------------------


def _short(urn: str) -> str:
    """type::name from a URN (the parent chain is in the full URN)."""
    head, _, name = urn.rpartition("::")
    return f"{head.rpartition('$')[2].rpartition('::')[2]}::{name}"


def _opts(change: ResourceChange) -> str:
    return ", ".join(f"{k}: {json.dumps(o)} -> {json.dumps(n)}" for k, (o, n) in change.options.items())


def _show(value: Any, limit: int = 60) -> str:
    text = value if value == MISSING else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _changed(change: ResourceChange, path: str) -> str:
    """`path: old -> new` (the path alone when the values are not known, as for a URN change)."""
    if path not in change.values:
        return path
    old, new = change.values[path]
    return f"{path}: {_show(old)} -> {_show(new)}"


def _detail(change: ResourceChange) -> str:
    if change.replace_reasons:
        rest = [p for p in change.paths if p not in change.replace_reasons]
        forced = "; ".join(f"{_changed(change, p)} ({r})" for p, r in change.replace_reasons.items())
        return forced + (f"; also changed: {', '.join(_changed(change, p) for p in rest)}" if rest else "") + change._also()
    if change.flags and not change.paths and change._also():
        return change._also().strip()
    parts = [", ".join(_changed(change, p) for p in change.paths)] if change.paths else []
    if change.options:
        parts.append(_opts(change))
    return "; ".join(parts)


def render_text(diff: PlanDiff) -> str:
    lines = [f"brickwall diff: {diff.old_stack or '?'} -> {diff.new_stack or '?'}: {diff.summary()}"]
    for flag in FLAGS:
        for c in (c for c in diff.changes if c.primary == flag):
            lines.append(f"{flag}: {c.action} {_short(c.urn)}: {_detail(c) or c.note}" + (f" [{c.note}]" if c.note and _detail(c) else ""))
    for c in diff.changes:
        if not c.flags:
            lines.append(f"{c.action}: {_short(c.urn)}" + (f": {_detail(c)}" if _detail(c) else "") + (f" [{c.note}]" if c.note else ""))
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(diff: PlanDiff) -> str:
    icon = ":warning:" if diff.flagged else ":white_check_mark:"
    out = [f"### brickwall plan diff: `{diff.old_stack or '?'}` -> `{diff.new_stack or '?'}`", "", f"{icon} {diff.summary()}", ""]
    titles = {DATA_LOSS: "DATA LOSS", PROTECTED: "PROTECTED (the engine refuses: unprotect first)", REPLACE: "REPLACE",
              IN_USE: "IN USE (Azure refuses to re-address a subnet in use)"}
    for flag in FLAGS:
        rows = [c for c in diff.changes if c.primary == flag]
        if not rows:
            continue
        out += [f"#### {titles[flag]}", "", "| action | resource | type | why |", "|---|---|---|---|"]
        for c in rows:
            why = _detail(c) or ""
            if c.note:
                why = f"{why}; {c.note}" if why else c.note
            out.append(f"| {c.action} | `{_md_cell(_short(c.urn))}` | `{c.type}` | {_md_cell(why)} |")
        out.append("")
    other = [c for c in diff.changes if not c.flags]
    if other:
        out += ["#### Other changes", "", "| action | resource | type | changed |", "|---|---|---|---|"]
        for c in other:
            detail = _detail(c) + (f"; {c.note}" if c.note else "")
            out.append(f"| {c.action} | `{_md_cell(_short(c.urn))}` | `{c.type}` | {_md_cell(detail.strip('; '))} |")
        out.append("")
    out.append("_Offline comparison of plan files; secret values are not compared._")
    return "\n".join(out) + "\n"
