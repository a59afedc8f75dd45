"""`brickwall diff`: offline plan comparison, the force-new table, data-loss flags and the CLI exit codes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brickwall import cli, diff, exits, planfile
from brickwall.engine import Recording
from components.planning.azure_types import ENTRIES

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = "azure-native:databricks:Workspace"
CHECKED_TYPES = (
    WORKSPACE,
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "azure-native:network:PrivateEndpoint",
    "azure-native:containerservice:ManagedCluster",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Key",
    "azure-native:sql:Database",
    "azure-native:authorization:RoleAssignment",
    "azure-native:authorization:ManagementLockByScope",
    "azure-native:monitor:DiagnosticSetting",
)


def _resource(plan: dict[str, Any], rtype: str, name_part: str = "") -> dict[str, Any]:
    found = [r for r in plan["resources"] if r["type"] == rtype and name_part in r["name"]]
    assert found, (rtype, name_part)
    return found[0]


def _main_workspace(plan: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == WORKSPACE and "parameters" in r["inputs"])


def _mutated(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, list):
        return [*value, "changed"]
    if isinstance(value, dict):
        return {**value, "changed": True}
    return "changed"


def _mutate(inputs: dict[str, Any], path: str) -> None:
    """Change the value at `path` (creating it when absent: adding an input is a change too)."""
    segs = path.split(".")
    node: Any = inputs
    for i, seg in enumerate(segs[:-1]):
        nxt_is_index = segs[i + 1].isdigit()
        if isinstance(node, list):
            idx = int(seg)
            while len(node) <= idx:
                node.append({})
            node = node[idx]
        else:
            node = node.setdefault(seg, [] if nxt_is_index else {})
    last = segs[-1]
    if isinstance(node, list):
        idx = int(last)
        while len(node) <= idx:
            node.append(None)
        node[idx] = _mutated(node[idx])
    else:
        node[last] = _mutated(node.get(last)) if last in node else "added"


def _target(plan: dict[str, Any], rtype: str) -> dict[str, Any]:
    return _main_workspace(plan) if rtype == WORKSPACE else _resource(plan, rtype)


FORCE_NEW_CASES = [(t, p) for t in CHECKED_TYPES for p in diff.force_new_patterns(t)]
DATA_BEARING = sorted(e.token for e in ENTRIES if e.data_bearing)


def test_a_plan_compared_with_itself_has_no_changes(prod_plan: dict[str, Any]) -> None:
    result = diff.compare(prod_plan, copy.deepcopy(prod_plan))
    assert result.changes == [] and not result.flagged
    assert "nothing flagged" in diff.render_text(result)


@pytest.mark.parametrize(("rtype", "pattern"), FORCE_NEW_CASES, ids=[f"{t.split(':')[-1]}-{p}" for t, p in FORCE_NEW_CASES])
def test_force_new_change_is_flagged_replace(prod_plan: dict[str, Any], rtype: str, pattern: str) -> None:
    new = copy.deepcopy(prod_plan)
    target = _target(new, rtype)
    concrete = pattern.replace("*", "0")
    _mutate(target["inputs"], concrete)
    result = diff.compare(prod_plan, new)
    [change] = [c for c in result.changes if c.urn == target["urn"]]
    assert change.action == "replace" and diff.REPLACE in change.flags, change
    assert any(p.startswith(concrete) or concrete.startswith(p) for p in change.replace_reasons), change.replace_reasons
    assert result.flagged
    assert concrete.split(".")[0] in diff.render_markdown(result)


def test_delegated_subnet_prefix_change_is_replacement_or_failure(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    host = _resource(new, "azure-native:network:Subnet", "network-host")
    host["inputs"]["addressPrefix"] = "10.30.0.0/22"
    endpoints = _resource(new, "azure-native:network:Subnet", "network-endpoints")
    endpoints["inputs"]["addressPrefix"] = "10.30.18.0/26"
    result = diff.compare(prod_plan, new)
    by_urn = {c.urn: c for c in result.changes}
    assert "replacement or failure" in by_urn[host["urn"]].replace_reasons["addressPrefix"]
    assert diff.IN_USE in by_urn[host["urn"]].flags and "delegated to Microsoft.Databricks/workspaces" in by_urn[host["urn"]].note
    # Not delegated, but it holds the private endpoints: Azure refuses to re-address it, and the diff says so.
    moved = by_urn[endpoints["urn"]]
    assert moved.action == "update" and moved.flags == [diff.IN_USE]
    assert "PrivateEndpoint" in moved.note and "pin the range in the spec" in moved.note
    assert moved.values["addressPrefix"] == ("10.30.18.0/27", "10.30.18.0/26")
    text = diff.render_text(result)
    assert 'IN USE: update azure-native:network:Subnet::prod-network-endpoints: addressPrefix: "10.30.18.0/27" -> "10.30.18.0/26"' in text
    assert "IN USE (Azure refuses to re-address a subnet in use)" in diff.render_markdown(result)
    # The same subnet with nothing in it resizes in place, unflagged.
    empty_old = copy.deepcopy(prod_plan)
    empty_old["resources"] = [r for r in empty_old["resources"] if r["type"] != "azure-native:network:PrivateEndpoint"
                              and "network-endpoints" not in json.dumps(r["inputs"])]
    empty_new = copy.deepcopy(empty_old)
    _resource(empty_new, "azure-native:network:Subnet", "network-endpoints")["inputs"]["addressPrefix"] = "10.30.18.0/26"
    [change] = diff.compare(empty_old, empty_new).changes
    assert change.action == "update" and not change.flags


def test_kubernetes_name_and_namespace_replace(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    dep = _resource(new, "kubernetes:apps/v1:Deployment")
    dep["inputs"]["metadata"]["namespace"] = "elsewhere"
    [change] = diff.compare(prod_plan, new).changes
    assert change.action == "replace" and "metadata.namespace" in change.replace_reasons


def _fake(rtype: str, name: str, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": f"urn:pulumi:prod::brickwall::{rtype}::{name}",
        "type": rtype,
        "name": name,
        "parent": None,
        "custom": True,
        "provider": "",
        "protect": False,
        "retainOnDelete": False,
        "deletedWith": None,
        "ignoreChanges": [],
        "dependencies": [],
        "inputs": {"location": "westeurope", **inputs},
    }


def _with_data_bearing(plan: dict[str, Any]) -> dict[str, Any]:
    """prod's plan: it creates every data-bearing type (the lake, the vault and key, SQL, Log Analytics, AKS)."""
    plan = copy.deepcopy(plan)
    missing = set(DATA_BEARING) - {r["type"] for r in plan["resources"]}
    assert not missing, missing
    return plan


@pytest.mark.parametrize("rtype", DATA_BEARING)
@pytest.mark.parametrize("how", ["delete", "replace"])
def test_data_bearing_delete_or_replace_is_data_loss(prod_plan: dict[str, Any], rtype: str, how: str) -> None:
    old = _with_data_bearing(prod_plan)
    new = copy.deepcopy(old)
    target = _main_workspace(new) if rtype == WORKSPACE else _resource(new, rtype)
    if how == "delete":
        new["resources"].remove(target)
    else:
        target["inputs"]["location"] = "northeurope"
    result = diff.compare(old, new)
    [change] = [c for c in result.changes if c.urn == target["urn"]]
    assert change.action == how and change.primary == diff.DATA_LOSS
    text = diff.render_markdown(result)
    assert text.index("#### ") == text.index("#### DATA LOSS")  # the first table


def test_deleting_a_protected_resource_is_flagged(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    webauth = next(r for r in new["resources"] if r["type"] == WORKSPACE and "parameters" not in r["inputs"])
    assert webauth["protect"]
    new["resources"].remove(webauth)
    [change] = diff.compare(prod_plan, new).changes
    assert diff.PROTECTED in change.flags and diff.DATA_LOSS in change.flags


def test_workspace_tag_change_is_a_plain_update(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    ws = _main_workspace(new)
    ws["inputs"]["tags"]["owner"] = "someone-else"
    result = diff.compare(prod_plan, new)
    [change] = result.changes
    assert change.action == "update" and change.paths == ["tags.owner"] and not change.flags
    assert not result.flagged and "Other changes" in diff.render_markdown(result)


def test_option_changes_are_reported(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    ws = _main_workspace(new)
    ws["protect"], ws["retainOnDelete"] = False, False
    [change] = diff.compare(prod_plan, new).changes
    assert change.options == {"protect": (True, False), "retainOnDelete": (True, False)} and not change.flags


def test_changed_parent_is_delete_plus_add(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    subnet = _resource(new, "azure-native:network:Subnet", "network-endpoints")
    old_urn = subnet["urn"]
    subnet["parent"] = "urn:pulumi:prod::brickwall::brickwall:network:Other::other"
    subnet["urn"] = "urn:pulumi:prod::brickwall::brickwall:network:Other$azure-native:network:Subnet::" + subnet["name"]
    result = diff.compare(prod_plan, new)
    by_urn = {c.urn: c for c in result.changes}
    assert by_urn[old_urn].action == "delete" and "URN changed" in by_urn[old_urn].note
    assert diff.REPLACE in by_urn[old_urn].flags
    assert by_urn[subnet["urn"]].action == "add" and old_urn in by_urn[subnet["urn"]].note


def test_changed_paths_uses_dotted_paths_and_list_indices() -> None:
    old = {"a": {"b": [1, {"c": 2}]}, "d": 1}
    new = {"a": {"b": [1, {"c": 3}, 4]}, "e": 1}
    assert diff.changed_paths(old, new) == ["a.b.1.c", "a.b.2", "d", "e"]


def test_unreadable_plan_files_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"resources": []}))
    assert cli.main(["diff", str(tmp_path / "missing.json"), str(good)]) == exits.USAGE
    assert "missing.json" in capsys.readouterr().err
    assert cli.main(["diff", str(good), str(bad)]) == exits.USAGE
    assert "bad.json" in capsys.readouterr().err
    assert cli.main(["diff", str(good)]) == exits.USAGE
    assert cli.main(["diff", str(good), str(good)]) == exits.OK


def test_cli_markdown_end_to_end(prod_plan: dict[str, Any], tmp_path: Path) -> None:
    new = copy.deepcopy(prod_plan)
    _main_workspace(new)["inputs"]["parameters"]["customVirtualNetworkId"]["value"] += "-other"
    old_file, new_file = tmp_path / "old.json", tmp_path / "new.json"
    planfile.write(prod_plan, old_file)
    planfile.write(new, new_file)
    run = subprocess.run(
        [sys.executable, "-m", "brickwall", "diff", str(old_file), str(new_file), "--format", "markdown"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == exits.FLAGGED, run.stderr
    assert "#### DATA LOSS" in run.stdout and "VirtualNetworkIdChangeNotAllowed" in run.stdout
    assert "| replace |" in run.stdout


def test_stack_against_its_own_saved_plan_exits_0(dev: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "dev.json"
    planfile.write(planfile.to_plan(dev), saved)
    assert cli.main(["diff", "--stack", "dev", "--against", str(saved), "--json"]) == exits.OK
    out = json.loads(capsys.readouterr().out)
    assert out["changes"] == [] and out["flagged"] is False


# Kubernetes and Databricks entries: each pattern, on a resource whose old inputs already hold the path, must replace.
ADDED_TYPES = sorted(t for t in diff.FORCE_NEW if t.startswith(("kubernetes:", "databricks:")))
ADDED_CASES = [(t, p) for t in ADDED_TYPES for p in diff.FORCE_NEW[t]]


def _k8s_or_dbx(rtype: str, inputs: dict[str, Any]) -> dict[str, Any]:
    res = _fake(rtype, "res-" + rtype.rsplit(":", 1)[-1].lower())
    res["inputs"] = inputs
    return res


@pytest.mark.parametrize(("rtype", "pattern"), ADDED_CASES, ids=[f"{t.split(':', 1)[-1]}-{p}" for t, p in ADDED_CASES])
def test_kubernetes_and_databricks_force_new_entries_replace(prod_plan: dict[str, Any], rtype: str, pattern: str) -> None:
    concrete = pattern.replace("*", "0")
    before: dict[str, Any] = {"metadata": {"name": "x", "namespace": "ns"}}
    _mutate(before, concrete)  # the path exists on the old side too
    old = copy.deepcopy(prod_plan)
    old["resources"].append(_k8s_or_dbx(rtype, before))
    new = copy.deepcopy(old)
    _mutate(new["resources"][-1]["inputs"], concrete)
    [change] = diff.compare(old, new).changes
    assert change.paths == [concrete] and change.action == "replace" and diff.REPLACE in change.flags, change
    assert change.replace_reasons[concrete] == diff.FORCE_NEW[rtype][pattern]


def test_added_entries_cover_the_kinds_the_brief_names() -> None:
    assert "spec.clusterIP" in diff.FORCE_NEW["kubernetes:core/v1:Service"]
    assert "spec" in diff.FORCE_NEW["kubernetes:core/v1:PersistentVolumeClaim"]
    assert "roleRef" in diff.FORCE_NEW["kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"]
    assert {"clusterPolicyId", "authorization"} <= set(diff.FORCE_NEW["databricks:index/permissions:Permissions"])


def test_workspace_no_public_ip_and_service_ports_update_in_place(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    _main_workspace(new)["inputs"]["parameters"]["enableNoPublicIp"]["value"] = False
    service = _resource(new, "kubernetes:core/v1:Service")
    service["inputs"]["spec"]["ports"][0]["port"] = 8443
    changes = diff.compare(prod_plan, new).changes
    assert {c.action for c in changes} == {"update"} and not any(c.flags for c in changes), changes
    assert sorted(p for c in changes for p in c.paths) == ["parameters.enableNoPublicIp.value", "spec.ports.0.port"]


def test_immutable_secret_data_change_replaces(prod_plan: dict[str, Any]) -> None:
    old = copy.deepcopy(prod_plan)
    old["resources"] += [_k8s_or_dbx("kubernetes:core/v1:Secret", {"immutable": True, "data": {"a": "1"}})]
    new = copy.deepcopy(old)
    new["resources"][-1]["inputs"]["data"]["a"] = "2"
    [change] = diff.compare(old, new).changes
    assert change.action == "replace" and "immutable: true" in change.replace_reasons["data.a"]


def test_mutable_secret_data_change_is_an_update(prod_plan: dict[str, Any]) -> None:
    old = copy.deepcopy(prod_plan)
    old["resources"] += [_k8s_or_dbx("kubernetes:core/v1:Secret", {"data": {"a": "1"}})]
    new = copy.deepcopy(old)
    new["resources"][-1]["inputs"]["data"]["a"] = "2"
    [change] = diff.compare(old, new).changes
    assert change.action == "update" and not change.flags


def test_undoing_prepare_encryption_is_flagged_and_preparing_is_not(prod_plan: dict[str, Any]) -> None:
    new = copy.deepcopy(prod_plan)
    ws = _main_workspace(new)
    assert ws["inputs"]["parameters"]["prepareEncryption"]["value"] is True
    ws["inputs"]["parameters"]["prepareEncryption"]["value"] = False
    [change] = [c for c in diff.compare(prod_plan, new).changes if c.urn == ws["urn"]]
    assert "cannot be undone" in change.replace_reasons["parameters.prepareEncryption.value"]
    # The other way (prepare a workspace that was not) is an in-place update.
    [back] = [c for c in diff.compare(new, prod_plan).changes if c.urn == ws["urn"]]
    assert back.action == "update" and not back.flags


def test_applying_the_dbfs_key_is_an_update(prod_plan: dict[str, Any]) -> None:
    """prepare -> apply adds the key to an existing workspace: an update, never a replacement."""
    old = copy.deepcopy(prod_plan)
    ws = _main_workspace(old)
    ws["inputs"]["parameters"].pop("encryption")
    [change] = [c for c in diff.compare(old, prod_plan).changes if c.urn == ws["urn"]]
    assert change.action == "update" and change.paths == ["parameters.encryption"] and not change.flags
