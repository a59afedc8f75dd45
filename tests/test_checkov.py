"""checkov on every stack's export: its Kubernetes checks on every exported object and its ARM checks on the template
fail on nothing but the documented skips in tests/checkov-skips.yaml, each (check, stack) with a reason, each still
triggered there, and each resting on a fact this file (or tests/test_data_sources.py) checks.

checkov runs from its own tool environment (tests/tool_env.py: a venv under .tools/checkov/ built from the pinned
tests/tools/checkov.txt, so its pins never fight the project's), as a subprocess with no
API key (no platform upload or policy download) and BC_SKIP_MAPPING=TRUE (no guideline look-up), and with its sockets
cut off besides: its banner's update check or anything else that would reach out fails at once instead, so a run
never depends on the network.

Two checkov runs cover everything, each over both frameworks: the standing stacks' exports side by side (with the
harness's weak pod), and the all-features variant on its own (it declares prod's resource names). checkov keys a
resource by its file and name, so stacks side by side do not mix: each stack's part of a run (its files' results) is
what a run of its own reports.
"""

from __future__ import annotations

import collections.abc
import json
import re
import shutil
import subprocess
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi_azure_native import containerservice
from pydantic import ValidationError

import stacks
from brickwall import export
from brickwall.engine import Recording
from components import collector
from components.planning import audit_network
from components.spec import EnvironmentSpec
from tests import tool_env
from tests.conftest import recording_of

SKIPS_FILE = Path(__file__).with_name("checkov-skips.yaml")
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
CHECKOV_VERSION = "3.3.30"
FRAMEWORKS = ("kubernetes", "arm")
# Exports scanned besides the stacks: prod with every optional feature on (conftest.all_features_env) -> its base
# stack, whose skips hold for it too; a skip listed under the variant's own name is for what only the variant has.
VARIANTS = {"all-features": "prod"}
SCANNED = (*stacks.KNOWN_STACKS, *VARIANTS)
# One checkov run per group: a variant declares its base stack's names, so it runs apart from the stacks.
GROUPS = {"stacks": stacks.KNOWN_STACKS, **{variant: (variant,) for variant in VARIANTS}}
HARNESS = "harness"  # the weak pod that proves the harness sees failures: in the stacks' run, a part of its own
WEAK_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "weak", "namespace": "default"},
            "spec": {"containers": [{"name": "weak", "image": "nginx:latest",
                                     "securityContext": {"privileged": True, "runAsUser": 0}}]}}

# checkov's own `main`, with every way out to the network closed first, under the collector thresholds the project's
# processes use (components/collector.py: checkov's runs allocate as a render does).
_LAUNCH = f"""
import gc, socket, sys
gc.set_threshold{collector.THRESHOLDS}
def _offline(*args, **kwargs):
    raise OSError("checkov runs offline in brickwall's tests")
socket.socket.connect = socket.socket.connect_ex = _offline
socket.create_connection = socket.getaddrinfo = _offline
import warnings
from checkov.main import Checkov
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=SyntaxWarning)
    sys.exit(Checkov().run())
"""


def run_checkov_frameworks(target: Path, frameworks: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """checkov's JSON report of each framework (that found files) on a directory (`-d`) or one file (`-f`), in one run."""
    env = {k: v for k, v in tool_env.environ().items() if not k.startswith(("BC_", "CKV_", "PRISMA_"))}
    env["BC_SKIP_MAPPING"] = "TRUE"
    where = "-d" if target.is_dir() else "-f"
    cmd = [str(tool_env.python("checkov")), "-c", _LAUNCH, where, str(target), "--framework", *frameworks, "-o", "json"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    # 0: nothing failed, 1: some check failed; anything else is checkov itself failing.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    found = json.loads(result.stdout)
    # One framework: one report; several: a list, one report per framework that found files.
    listed = found if isinstance(found, list) else [found]
    assert all(isinstance(report, dict) for report in listed), result.stdout[:500]
    return {report["check_type"]: report for report in listed}


def run_checkov(target: Path, framework: str) -> dict[str, Any]:
    """checkov's JSON report of `framework` on a directory (`-d`) or one file (`-f`)."""
    return run_checkov_frameworks(target, (framework,))[framework]


def part(report: dict[str, Any], folder: str) -> dict[str, Any]:
    """The part of a run's report on the files under `folder` (a top-level folder of the scanned directory): its
    results, and its summary but for the resource count (checkov counts a run's resources, not a file's)."""
    results = report.get("results") or {}
    mine = {kind: [c for c in results.get(kind, []) if c["file_path"].startswith(f"/{folder}/")]
            for kind in ("passed_checks", "failed_checks", "skipped_checks")}
    mine["parsing_errors"] = [p for p in results.get("parsing_errors", []) if f"/{folder}/" in p]
    summary = {"checkov_version": report["summary"]["checkov_version"], "passed": len(mine["passed_checks"]),
               "failed": len(mine["failed_checks"]), "skipped": len(mine["skipped_checks"]),
               "parsing_errors": len(mine["parsing_errors"])}
    return {"check_type": report["check_type"], "summary": summary, "results": mine}


def failures(report: dict[str, Any]) -> dict[str, set[str]]:
    """Failed check id -> the resources it failed on."""
    failed: dict[str, set[str]] = {}
    for check in (report.get("results") or {}).get("failed_checks", []):
        failed.setdefault(check["check_id"], set()).add(check["resource"])
    return failed


def unexplained(report: dict[str, Any], skips: dict[str, dict[str, str]], stack: str) -> list[str]:
    """Failed checks that no skip explains for `stack` (a variant: for it or for its base stack)."""
    allowed = {stack, VARIANTS.get(stack, stack)}
    return sorted(f"{c['check_id']} {c['check_name']!r} on {c['resource']} ({c['file_path']})"
                  for c in (report.get("results") or {}).get("failed_checks", [])
                  if not allowed & set(skips.get(c["check_id"], {})))


def load_skips() -> dict[str, dict[str, dict[str, str]]]:
    skips = yaml.safe_load(SKIPS_FILE.read_text())
    assert isinstance(skips, dict)
    return skips


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory, all_features_env: tuple[Recording, EnvironmentSpec]) -> dict[str, Path]:
    recordings = {**{stack: recording_of(stack) for stack in stacks.KNOWN_STACKS}, "all-features": all_features_env[0]}
    out = {}
    for name, recording in recordings.items():
        out[name] = tmp_path_factory.mktemp(f"{name}-export-checkov")
        export.write_export(recording, out[name])
    return out


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory, exports: dict[str, Path]) -> dict[str, dict[str, dict[str, Any]]]:
    """group -> framework -> checkov's report of one run over the group's ARM templates and Kubernetes objects (each
    stack's in a folder of its own; the stacks' run has the weak pod's too)."""
    found = {}
    for group, members in GROUPS.items():
        root = tmp_path_factory.mktemp(f"checkov-{group}")
        for stack in members:
            (root / stack).mkdir()
            shutil.copy(exports[stack] / export.AZURE_DIR / export.ARM_TEMPLATE, root / stack / export.ARM_TEMPLATE)
            if (exports[stack] / export.KUBERNETES_DIR).is_dir():
                shutil.copytree(exports[stack] / export.KUBERNETES_DIR, root / stack / export.KUBERNETES_DIR)
        if group == "stacks":
            (root / HARNESS).mkdir()
            (root / HARNESS / "pod.yaml").write_text(yaml.safe_dump(WEAK_POD))
        found[group] = run_checkov_frameworks(root, FRAMEWORKS)
    return found


@pytest.fixture(scope="module")
def reports(scans: dict[str, dict[str, dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(framework, stack) -> that stack's part of its run's report; a stack that exports no Kubernetes object has no
    Kubernetes report."""
    found = {}
    for group, members in GROUPS.items():
        for stack in [*members, *([HARNESS] if group == "stacks" else [])]:
            for framework, report in scans[group].items():
                mine = part(report, stack)
                if any(mine["results"][kind] for kind in ("passed_checks", "failed_checks", "skipped_checks")):
                    found[framework, stack] = mine
    return found


def kubernetes_resource_count(objects: list[Path]) -> int:
    """What checkov counts for these objects: each, and (checkov 3) each workload's pod template as a Pod of its own."""
    loaded = [yaml.safe_load(path.read_text()) for path in objects]
    return len(loaded) + len([o for o in loaded if (o.get("spec") or {}).get("template")])


def _template(exports: dict[str, Path], stack: str) -> list[dict[str, Any]]:
    resources = json.loads((exports[stack] / export.AZURE_DIR / export.ARM_TEMPLATE).read_text())["resources"]
    assert isinstance(resources, list)
    return resources


def _of_type(resources: list[dict[str, Any]], arm_type: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["type"] == arm_type]


# --- the tool and its harness ----------------------------------------------------------------------------------


def test_checkov_runs_from_its_own_pinned_environment() -> None:
    assert f"checkov=={CHECKOV_VERSION}" in tool_env.pins("checkov")
    python = tool_env.python("checkov")
    assert python.parent.parent == tool_env.home("checkov")
    out = subprocess.run([str(python), "-c", "from checkov.version import version; print(version)"],
                         capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == CHECKOV_VERSION


def test_every_skip_is_a_check_id_with_a_reason_per_stack() -> None:
    skips = load_skips()
    assert set(skips) == set(FRAMEWORKS)
    for framework, listed in skips.items():
        assert isinstance(listed, dict) and listed, framework
        for check_id, per_stack in listed.items():
            assert CHECK_ID.match(check_id), f"{framework}: {check_id!r} is not a checkov check id"
            assert isinstance(per_stack, dict) and per_stack, f"{framework}: {check_id} names no stack"
            for stack, reason in per_stack.items():
                assert stack in SCANNED, f"{framework}: {check_id}: unknown stack {stack!r}"
                assert isinstance(reason, str) and len(reason.split()) >= 20, f"{framework}: {check_id} in {stack} needs a reason"


def test_checkov_reports_a_weak_pod_spec(reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """The harness sees failures: a privileged, root pod on a `latest` image (scanned in the stacks' run, beside
    prod's objects) fails the checks prod passes."""
    report = reports["kubernetes", HARNESS]
    failed = failures(report)
    # Privileged, root, a `latest` image, no probes.
    for check_id in ("CKV_K8S_16", "CKV_K8S_40", "CKV_K8S_14", "CKV_K8S_8", "CKV_K8S_9"):
        assert failed.get(check_id) == {"Pod.default.weak"}, check_id
    assert unexplained(report, load_skips()["kubernetes"], "prod")


# --- every stack: scanned whole, failing only on documented skips, no stale skip ------------------------------


@pytest.mark.parametrize("stack", SCANNED)
def test_checkov_scans_the_arm_template(stack: str, reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    report = reports["arm", stack]
    assert report["check_type"] == "arm" and report["summary"]["checkov_version"] == CHECKOV_VERSION
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] >= 15
    assert {c["file_path"] for c in report["results"]["passed_checks"]} == {f"/{stack}/{export.ARM_TEMPLATE}"}


@pytest.mark.parametrize("group", GROUPS)
def test_each_run_counts_every_resource_of_its_stacks(group: str, exports: dict[str, Path],
                                                      scans: dict[str, dict[str, dict[str, Any]]]) -> None:
    """A run's resources are those of its stacks' files (checkov keys each by its file, so they add up): every ARM
    resource and every Kubernetes object (with the weak pod in the stacks' run), none lost to another stack's."""
    members = GROUPS[group]
    arm = scans[group]["arm"]["summary"]
    # checkov keys ARM resources by type and name (prod declares one private DNS zone name in two resource groups).
    assert arm["resource_count"] == sum(len({(r["type"], r["name"]) for r in _template(exports, stack)}) for stack in members)
    assert arm["parsing_errors"] == 0
    objects = [path for stack in members for path in sorted((exports[stack] / export.KUBERNETES_DIR).rglob("*.yaml"))]
    kubernetes = scans[group]["kubernetes"]["summary"]
    assert kubernetes["resource_count"] == kubernetes_resource_count(objects) + (1 if group == "stacks" else 0)
    assert kubernetes["parsing_errors"] == 0


def test_checkov_scans_every_exported_kubernetes_object(exports: dict[str, Path],
                                                        reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    for stack in SCANNED:
        objects = sorted((exports[stack] / export.KUBERNETES_DIR).rglob("*.yaml"))  # one object a file
        assert (("kubernetes", stack) in reports) is bool(objects), stack
    # Only prod runs the ingress tier.
    objects = sorted((exports["prod"] / export.KUBERNETES_DIR).rglob("*.yaml"))
    report = reports["kubernetes", "prod"]
    summary = report["summary"]
    assert len(objects) > 40
    # checkov 3 also scans each workload's pod template as a Pod of its own (counted in its run's resources, above).
    assert kubernetes_resource_count(objects) > len(objects)
    assert summary["parsing_errors"] == 0 and report["results"]["parsing_errors"] == []
    assert summary["passed"] > 200
    # Every workload was checked, not only the simple objects.
    checked = {c["resource"] for c in report["results"]["passed_checks"]}
    assert {"Deployment.databricks-apps.sql-gateway", "Deployment.ingress.oauth2-proxy"} <= checked


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_checks_fail_only_on_documented_skips(framework: str, reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    skips = load_skips()[framework]
    problems = {stack: unexplained(report, skips, stack) for (fw, stack), report in reports.items()
                if fw == framework and stack != HARNESS}
    assert {stack for fw, stack in reports if fw == framework} - {HARNESS} <= set(SCANNED)
    assert {stack: found for stack, found in problems.items() if found} == {}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_no_skip_is_stale(framework: str, reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    stale = [f"{check_id} in {stack}" for check_id, per_stack in load_skips()[framework].items() for stack in per_stack
             if check_id not in failures(reports.get((framework, stack), {}))]
    assert stale == []
    # A variant fails its base stack's skipped checks too; nothing is skipped for it that its base already explains.
    for variant, base_stack in VARIANTS.items():
        doubled = [c for c, per_stack in load_skips()[framework].items() if variant in per_stack and base_stack in per_stack]
        assert doubled == [], variant


# --- the facts behind the skips ---------------------------------------------------------------------------------


def test_images_are_pinned_by_tag(exports: dict[str, Path]) -> None:
    """CKV_K8S_43 (digest): every exported container names an explicit, non-latest tag."""
    images = []
    for path in (exports["prod"] / export.KUBERNETES_DIR).rglob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        spec = obj.get("spec") or {}
        pod = spec if obj["kind"] == "Pod" else (spec.get("template") or {}).get("spec") or {}
        images += [c["image"] for c in [*pod.get("containers", []), *pod.get("initContainers", [])]]
    assert len(images) >= 3
    for image in images:
        name, _, tag = image.rpartition("/")[2].partition(":")
        assert name and tag and tag != "latest" and "@" not in image, image


def test_aks_skip_premises(exports: dict[str, Path]) -> None:
    """CKV_AZURE_6 and CKV_AZURE_8: every cluster is private, lists no authorized ranges and has no dashboard add-on.
    CKV_AZURE_172: rotation is on, as the string "true" that the add-on's config (a map of strings) holds."""
    clusters = _of_type(_template(exports, "prod"), "Microsoft.ContainerService/managedClusters")
    assert clusters
    for cluster in clusters:
        properties = cluster["properties"]
        assert properties["apiServerAccessProfile"]["enablePrivateCluster"] is True, cluster["name"]
        assert not properties["apiServerAccessProfile"].get("authorizedIPRanges"), cluster["name"]
        major, minor = (int(part) for part in properties["kubernetesVersion"].split(".")[:2])
        assert (major, minor) >= (1, 19), cluster["name"]
        addons = properties["addonProfiles"]
        assert not (addons.get("kubeDashboard") or {}).get("enabled"), cluster["name"]
        secrets = addons["azureKeyvaultSecretsProvider"]
        assert secrets["enabled"] is True and secrets["config"]["enableSecretRotation"] == "true", cluster["name"]
    # The SDK types an add-on's config as string to string: a boolean there is not a request Azure takes.
    hints = typing.get_type_hints(containerservice.ManagedClusterAddonProfileArgs.__init__)
    mapping = next(a for a in typing.get_args(hints["config"]) if typing.get_origin(a) is collections.abc.Mapping)
    key, value = typing.get_args(mapping)
    assert key is str and str in typing.get_args(value) and bool not in typing.get_args(value)


def test_dev_keys_and_front_end_premises(exports: dict[str, Path]) -> None:
    """CKV2_AZURE_48 and CKV_AZURE_158 in dev: no customer-managed keys and a public front end are dev's tier
    defaults, which prod's floors reject; the back end still goes through its private endpoint."""
    dev = stacks.load("dev")
    assert dev.encryption.customer_managed_keys is False and dev.workspace.public_network_access == "Enabled"
    [workspace] = _of_type(_template(exports, "dev"), "Microsoft.Databricks/workspaces")
    assert workspace["properties"]["publicNetworkAccess"] == "Enabled"
    assert workspace["properties"]["requiredNsgRules"] == "NoAzureDatabricksRules"
    assert "encryption" not in workspace["properties"].get("parameters", {})
    endpoints = _of_type(_template(exports, "dev"), "Microsoft.Network/privateEndpoints")
    assert any("backend" in e["name"] for e in endpoints)
    data = stacks.load("prod").model_dump(mode="json")
    data["encryption"]["customer_managed_keys"] = False
    data["workspace"]["public_network_access"] = "Enabled"
    with pytest.raises(ValidationError) as caught:
        EnvironmentSpec.model_validate(data)
    paths = {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert {"encryption.customer_managed_keys", "workspace.public_network_access"} <= paths
    # The private tiers send publicNetworkAccess Disabled and pass CKV_AZURE_158.
    for stack in ("staging", "prod"):
        for ws in _of_type(_template(exports, stack), "Microsoft.Databricks/workspaces"):
            assert ws["properties"]["publicNetworkAccess"] == "Disabled", (stack, ws["name"])


def test_staging_dbfs_root_is_prepared(exports: dict[str, Path], staging: Recording) -> None:
    """CKV2_AZURE_48 in staging: the first of the two deployments, prepareEncryption on and the key not yet named."""
    assert stacks.load("staging").encryption.dbfs_root == "prepare"
    [workspace] = _of_type(_template(exports, "staging"), "Microsoft.Databricks/workspaces")
    parameters = workspace["properties"]["parameters"]
    assert parameters["prepareEncryption"]["value"] is True and "encryption" not in parameters
    assert any("dbfs" in r.name for r in staging.of_type("azure-native:authorization:RoleAssignment"))


def test_prod_dbfs_skip_is_the_serverless_webauth_workspace(exports: dict[str, Path],
                                                              reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """CKV2_AZURE_48 in prod fails only on serverless workspaces with no parameters (no DBFS root); prod's classic
    workspace passes with its key."""
    workspaces = {f"Microsoft.Databricks/workspaces.{w['name']}": w
                  for w in _of_type(_template(exports, "prod"), "Microsoft.Databricks/workspaces")}
    failed = failures(reports["arm", "prod"]).get("CKV2_AZURE_48", set())
    assert failed and failed < set(workspaces)
    for resource in failed:
        properties = workspaces[resource]["properties"]
        assert properties["computeMode"] == "Serverless" and "parameters" not in properties, resource
        assert "managedResourceGroupId" not in properties, resource
    assert stacks.load("prod").names.webauth_workspace in {w["name"] for w in (workspaces[r] for r in failed)}


def test_jump_host_extension_premise(exports: dict[str, Path], reports: dict[tuple[str, str], dict[str, Any]],
                                     all_features_env: tuple[Recording, EnvironmentSpec]) -> None:
    """CKV_AZURE_50 on the all-features variant fails only on the Bastion jump host, whose one extension is the Entra
    login extension (AADSSHLoginForLinux) that Entra-only SSH needs; no password, and no other extension."""
    names = all_features_env[1].names
    resources = _template(exports, "all-features")
    failed = failures(reports["arm", "all-features"]).get("CKV_AZURE_50", set())
    assert failed == {f"Microsoft.Compute/virtualMachines.{names.jump_host_vm}"}
    [vm] = _of_type(resources, "Microsoft.Compute/virtualMachines")
    assert vm["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"] is True
    extensions = _of_type(resources, "Microsoft.Compute/virtualMachines/extensions")
    assert [(e["name"], e["properties"]["publisher"], e["properties"]["type"]) for e in extensions] == [
        (f"{names.jump_host_vm}/AADSSHLoginForLinux", "Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux")]


def test_the_bastion_resources_are_scanned_and_fail_only_the_jump_host_extension(
        reports: dict[tuple[str, str], dict[str, Any]], all_features_env: tuple[Recording, EnvironmentSpec]) -> None:
    """checkov's ARM checks reach the Bastion tier of the all-features variant (the jump host and the NSGs: checkov has
    checks for those types) and fail nothing there (the host, its public IP and NSG, the jump host, its NIC and NSG)
    but CKV_AZURE_50 on the jump host (its premise above)."""
    names = all_features_env[1].names
    mine = (names.bastion_host, names.jump_host_vm, names.jump_host_nic, names.bastion_public_ip,
            names.bastion_network_security_group, names.jump_host_network_security_group)
    report = reports["arm", "all-features"]["results"]
    scanned = {c["resource"] for c in report["passed_checks"]}
    for name in (names.jump_host_vm, names.bastion_network_security_group, names.jump_host_network_security_group):
        assert any(r.endswith(f".{name}") for r in scanned), name
    failed = {(c["check_id"], c["resource"]) for c in report["failed_checks"] if any(n in c["resource"] for n in mine)}
    assert failed == {("CKV_AZURE_50", f"Microsoft.Compute/virtualMachines.{names.jump_host_vm}")}


def test_created_firewall_takes_threat_intel_from_its_policy(exports: dict[str, Path],
                                                            reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """CKV_AZURE_216 on the all-features variant fails only on the created hub's firewall, which is managed by its
    firewall policy (no classic rule collections) whose threat intelligence mode is Deny."""
    resources = _template(exports, "all-features")
    [firewall] = _of_type(resources, "Microsoft.Network/azureFirewalls")
    failed = failures(reports["arm", "all-features"]).get("CKV_AZURE_216", set())
    assert failed == {f"Microsoft.Network/azureFirewalls.{firewall['name']}"}
    props = firewall["properties"]
    assert not {"applicationRuleCollections", "networkRuleCollections", "natRuleCollections", "threatIntelMode"} & set(props)
    [policy] = _of_type(resources, "Microsoft.Network/firewallPolicies")
    assert props["firewallPolicy"]["id"].endswith(f"/Microsoft.Network/firewallPolicies/{policy['name']}")
    assert policy["properties"]["threatIntelMode"] == "Deny"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_flow_log_storage_premises(stack: str, exports: dict[str, Path],
                                   reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """CKV_AZURE_59 fails only on the flow-log account, which takes no public traffic but the trusted-services
    exception Network Watcher needs: default Deny, AzureServices bypass, no IP or VNet rule, no shared keys."""
    spec = stacks.load(stack)
    failed = failures(reports["arm", stack]).get("CKV_AZURE_59", set())
    assert failed == {f"Microsoft.Storage/storageAccounts.{spec.names.flow_log_storage_account}"}
    accounts = {a["name"]: a["properties"] for a in _of_type(_template(exports, stack), "Microsoft.Storage/storageAccounts")}
    props = accounts[spec.names.flow_log_storage_account]
    assert props["publicNetworkAccess"] == "Enabled"
    acls = props["networkAcls"]
    assert acls["defaultAction"] == "Deny" and acls["bypass"] == audit_network.TRUSTED_SERVICES_BYPASS == "AzureServices"
    assert not acls.get("ipRules") and not acls.get("virtualNetworkRules")
    assert props["allowSharedKeyAccess"] is False and props["allowBlobPublicAccess"] is False
    # Every other account has public network access Disabled.
    assert all(p["publicNetworkAccess"] == "Disabled" for name, p in accounts.items() if name != spec.names.flow_log_storage_account)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_lake_bypass_premises(stack: str, exports: dict[str, Path], reports: dict[tuple[str, str], dict[str, Any]]) -> None:
    """CKV_AZURE_36 fails only on data lakes whose public network access is Disabled (tests/test_data_sources.py
    checks the same on prod's recording)."""
    accounts = {f"Microsoft.Storage/storageAccounts.{a['name']}": a["properties"]
                for a in _of_type(_template(exports, stack), "Microsoft.Storage/storageAccounts")}
    failed = failures(reports["arm", stack]).get("CKV_AZURE_36", set())
    assert failed
    for resource in failed:
        props = accounts[resource]
        assert props["publicNetworkAccess"] == "Disabled" and props["isHnsEnabled"] is True, resource
        assert props["networkAcls"]["defaultAction"] == "Deny", resource
