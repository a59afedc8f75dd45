"""The policy pack (policies/brickwall_rules) driven offline by brickwall.check: clean stacks pass, insecure mutations fail."""

from __future__ import annotations

import ast
import copy
import importlib
import json
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pulumi_policy import EnforcementLevel, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from brickwall import check, cli, exits, planfile
from brickwall.engine import Recording
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, drop, inputs, res, writes_refused

ROOT = Path(__file__).resolve().parent.parent


def conf(plan: Plan, key: str, value: str) -> None:
    """Set a workspace-conf key in the group (WorkspaceConf resource) that holds it."""
    from components.planning.workspace_settings import ALL_KEYS, resource_suffix

    group = next(c.group for c in ALL_KEYS if c.key == key)
    inputs(plan, f"prod-access-{resource_suffix(group)}")["customConfig"][key] = value


def policy_def(plan: Plan, edit: Callable[[dict[str, Any]], None], policy: str = "brickwall-baseline") -> None:
    entry = inputs(plan, f"prod-access-policy-{policy}")
    definition = json.loads(entry["definition"])
    edit(definition)
    entry["definition"] = json.dumps(definition)


def personal_compute_def(plan: Plan, edit: Callable[[dict[str, Any]], None]) -> None:
    entry = inputs(plan, "prod-access-personal-compute")
    overrides = json.loads(entry["policyFamilyDefinitionOverrides"])
    edit(overrides)
    entry["policyFamilyDefinitionOverrides"] = json.dumps(overrides)


def _to_addresses(plan: Plan, rule: str) -> None:
    i = inputs(plan, f"prod-network-pe-nsg-{rule}")
    i.pop("destinationApplicationSecurityGroups")
    i["destinationAddressPrefix"] = "10.30.18.0/27"


def _to_asg(plan: Plan, rule: str, endpoint_class: str) -> None:
    asg = next(r["inputs"]["applicationSecurityGroupName"] for r in plan["resources"] if r["name"] == f"prod-network-asg-{endpoint_class}")
    i = inputs(plan, f"prod-network-pe-nsg-{rule}")
    i["destinationApplicationSecurityGroups"] = [{"id": g["id"].rsplit("/", 1)[0] + "/" + asg} for g in i["destinationApplicationSecurityGroups"]]


def _drop_monitoring(plan: Plan) -> None:
    """The metrics namespace and every NetworkPolicy in it."""
    for r in list(plan["resources"]):
        if r["name"].startswith("prod-ingress-netpol-monitoring-") or r["name"] == "prod-ingress-ns-monitoring":
            drop(plan, r["name"])


def open_rule(plan: Plan, port: str) -> None:
    rule = inputs(plan, "prod-network-nsg-allow-entra-id-outbound")
    rule.update(direction="Inbound", sourceAddressPrefix="Internet", destinationPortRange=port)


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_stacks_pass_every_mandatory_rule(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    recording = {"dev": dev, "staging": staging, "prod": prod}[name]
    result = check.check_recording(recording, POLICIES)
    assert result.mandatory == [], check.render(result)
    assert result.violations == [], check.render(result)
    assert not [s for s in result.skipped if "preview" in s.reason]


def test_every_policy_has_metadata() -> None:
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names)) >= 20
    for policy in POLICIES:
        assert policy.description and policy.remediation_steps and policy.enforcement_level is not None, policy.name


MUTATIONS: Mutations = {
    # id: (expected policy, mutation, text the message must contain)
    "nsg-ssh-open": ("nsg-no-internet-inbound", lambda p: open_rule(p, "22"), "22 (SSH)"),
    "nsg-rdp-open": ("nsg-no-internet-inbound", lambda p: open_rule(p, "3389"), "3389 (RDP)"),
    "nsg-any-port-star-source": ("nsg-no-internet-inbound", lambda p: inputs(p, "prod-network-pe-nsg-deny-all-inbound").update(access="Allow"),
                                 "8443-8451"),
    "nsg-prefixes-0000": ("nsg-no-internet-inbound", lambda p: inputs(p, "prod-network-pe-nsg-allow-workspace-to-backend").update(
        sourceAddressPrefixes=["10.30.0.0/21", "0.0.0.0/0"]), "443 (HTTPS)"),
    "nsg-inline-rules": ("nsg-no-inline-rules", lambda p: inputs(p, "prod-network-nsg").update(
        securityRules=[{"name": "ssh", "direction": "Inbound", "access": "Allow", "sourceAddressPrefix": "*", "destinationPortRange": "22"}]),
        "inline"),
    "vnet-inline-subnets": ("vnet-no-inline-subnets", lambda p: inputs(p, "prod-network-vnet").update(
        subnets=[{"name": "snet-x", "addressPrefix": "10.30.20.0/24"}]), "snet-x"),
    "aks-subnet-no-nsg": ("aks-subnet-closed-to-clusters", lambda p: inputs(p, "prod-network-aks").pop("networkSecurityGroup"), "snet-aks"),
    "aks-no-cluster-deny": ("aks-subnet-closed-to-clusters", lambda p: drop(p, "prod-network-aks-nsg-deny-databricks-clusters-outbound"),
                            "10.30.0.0/21"),
    "aks-deny-host-only": ("aks-subnet-closed-to-clusters", lambda p: inputs(p, "prod-network-aks-nsg-deny-databricks-clusters-outbound").update(
        destinationAddressPrefixes=None, destinationAddressPrefix="10.30.0.0/21"), "10.30.8.0/21"),
    "aks-allow-vnet-first": ("aks-subnet-closed-to-clusters", lambda p: inputs(p, "prod-network-aks-nsg-allow-aks-subnet-outbound").update(
        destinationAddressPrefix="VirtualNetwork", priority=150), "allow-aks-subnet-outbound"),
    "vnet-encryption-removed": ("network-vnet-encryption-in-prod", lambda p: inputs(p, "prod-network-vnet").pop("encryption"),
                                "does not have Azure Virtual Network encryption enabled"),
    "vnet-encryption-disabled": ("network-vnet-encryption-in-prod", lambda p: inputs(p, "prod-network-vnet").update(
        encryption={"enabled": False, "enforcement": "AllowUnencrypted"}), "vnet-bw-prod-weu"),
    "ncc-other-region": ("databricks-ncc-in-workspace-region", lambda p: inputs(p, "prod-serverless-ncc").update(region="northeurope"),
                         "'northeurope', not the workspace's region (westeurope)"),
    "delegated-subnet-no-nsg": ("delegated-subnet-has-nsg", lambda p: inputs(p, "prod-network-host").pop("networkSecurityGroup"), "snet-dbw-host"),
    "public-access-enabled": ("databricks-workspace-no-public-access",
                              lambda p: inputs(p, "prod-workspace-workspace").update(publicNetworkAccess="Enabled"), "Enabled"),
    "public-access-unset": ("databricks-workspace-no-public-access", lambda p: inputs(p, "prod-workspace-workspace").pop("publicNetworkAccess"),
                            "Enabled"),
    "no-public-ip-false": ("databricks-workspace-no-public-ip",
                           lambda p: inputs(p, "prod-workspace-workspace")["parameters"]["enableNoPublicIp"].update(value=False), "False"),
    "standard-sku": ("databricks-workspace-premium", lambda p: inputs(p, "prod-workspace-workspace")["sku"].update(name="standard"), "standard"),
    "unprotected-workspace": ("databricks-workspace-protected-in-prod", lambda p: res(p, "prod-workspace-workspace").update(protect=False),
                              "not protected"),
    "no-backend-endpoint": ("databricks-no-nsg-rules-needs-backend-endpoint", lambda p: drop(p, "prod-private-link-backend-pe"),
                            "databricks_ui_api"),
    "no-browser-auth": ("private-front-end-needs-browser-auth", lambda p: drop(p, "prod-private-link-webauth-pe"), "browser_authentication"),
    "no-dns-zone-group": ("private-endpoint-has-dns-zone-group", lambda p: drop(p, "prod-private-link-dfs-dns"), "pe-bw-prod-weu-dfs"),
    "no-vnet-link": ("private-dns-zone-linked-to-endpoint-vnets", lambda p: drop(p, "prod-private-link-frontend-dbx-transit-vnet-link"),
                     "vnet-bw-prod-weu-transit"),
    "ip-lists-disabled": ("databricks-ip-access-lists-enabled", lambda p: conf(p, "enableIpAccessLists", "false"), "not enforced"),
    "token-lifetime-365": ("databricks-token-lifetime-within-tier-limit", lambda p: conf(p, "maxTokenLifetimeDays", "365"), "365"),
    "token-lifetime-unset": ("databricks-token-lifetime-within-tier-limit",
                             lambda p: inputs(p, "prod-access-conf-tokens")["customConfig"].pop("maxTokenLifetimeDays"), "never expire"),
    "conf-group-dropped": ("databricks-workspace-conf-complete", lambda p: drop(p, "prod-access-conf-headers"),
                           "no workspace conf sets enable-X-Frame-Options, enable-X-Content-Type-Options, enable-X-XSS-Protection"),
    "conf-key-twice": ("databricks-workspace-conf-complete", lambda p: conf(p, "enableIpAccessLists", "true") or
                       inputs(p, "prod-access-conf-tokens")["customConfig"].update(enableIpAccessLists="true"),
                       "enableIpAccessLists is set by 2 workspace confs"),
    "ip-list-open": ("databricks-ip-access-list-not-open",
                     lambda p: inputs(p, "prod-access-allow-ci-egress").update(ipAddresses=["0.0.0.0/0"]), "0.0.0.0/0"),
    "policy-init-scripts-unlocked": ("databricks-cluster-policy-locks-security",
                                     lambda p: policy_def(p, lambda d: d.pop("init_scripts.*.dbfs.destination")), "dbfs"),
    "policy-security-mode-none": ("databricks-cluster-policy-locks-security",
                                  lambda p: policy_def(p, lambda d: d.update(data_security_mode={"type": "fixed", "value": "NONE"})),
                                  "data_security_mode"),
    "policy-autotermination-unlocked": ("databricks-cluster-policy-locks-security",
                                        lambda p: policy_def(p, lambda d: d.pop("autotermination_minutes")), "autotermination"),
    "databricks-default-provider": ("databricks-explicit-provider", lambda p: res(p, "prod-access-conf").update(provider=""), "default"),
    # Compute governance: every policy pins its kind, job policies require no autotermination, Personal Compute overridden.
    "policy-cluster-type-unpinned": ("databricks-cluster-policy-locks-security",
                                     lambda p: policy_def(p, lambda d: d.pop("cluster_type")), "cluster_type"),
    "job-policy-requires-autotermination": ("databricks-cluster-policy-locks-security", lambda p: policy_def(
        p, lambda d: d.update(autotermination_minutes={"type": "range", "minValue": 10, "maxValue": 60}), "brickwall-jobs"),
        "job clusters cannot carry"),
    "personal-compute-init-scripts-unlocked": ("databricks-cluster-policy-locks-security", lambda p: personal_compute_def(
        p, lambda d: d.pop("init_scripts.*.workspace.destination")), "workspace"),
    "warehouse-never-stops": ("databricks-sql-warehouse-auto-stops",
                              lambda p: inputs(p, "prod-access-warehouse-analysts").update(autoStopMins=0), "never stops"),
    "legacy-dbfs-left-on": ("databricks-compute-governed-in-prod", partial(drop, name="prod-access-disable-legacy-dbfs"), "DBFS"),
    "legacy-access-left-on": ("databricks-compute-governed-in-prod", lambda p: inputs(
        p, "prod-access-disable-legacy-access")["disableLegacyAccess"].update(value=False), "legacy access"),
    "workspace-admins-unrestricted": ("databricks-compute-governed-in-prod", lambda p: inputs(
        p, "prod-access-restrict-workspace-admins")["restrictWorkspaceAdmins"].update(status="ALLOW_ALL"), "admins"),
    "personal-compute-on-for-all": ("databricks-compute-governed-in-prod", lambda p: inputs(
        p, "prod-access-personal-compute-delegate")["personalCompute"].update(value="ON"), "every user"),
    "personal-compute-not-overridden": ("databricks-compute-governed-in-prod", partial(drop, name="prod-access-personal-compute"),
                                        "Personal Compute policy"),
    "serverless-egress-full-access": ("databricks-compute-governed-in-prod", lambda p: inputs(
        p, "prod-access-serverless-egress")["egress"]["networkAccess"].update(restrictionMode="FULL_ACCESS"), "serverless egress"),
    "serverless-egress-dry-run": ("databricks-compute-governed-in-prod", lambda p: inputs(
        p, "prod-access-serverless-egress")["egress"]["networkAccess"]["policyEnforcement"].update(enforcementMode="DRY_RUN"),
        "serverless egress"),
    "serverless-egress-unbound": ("databricks-compute-governed-in-prod", partial(drop, name="prod-access-serverless-egress-binding"),
                                  "serverless egress"),
    # Every namespace the tier creates or uses: its own three, the metrics namespace, and default.
    **{f"no-default-deny-{ns}": ("ingress-namespace-default-deny", partial(drop, name=f"prod-ingress-netpol-{ns}-default-deny"),
                                 f"namespace '{ns}'")
       for ns in ("ingress", "databricks-apps", "cert-manager", "monitoring", "default")},
    # The metrics namespace stays required with every policy of its own gone: the controller's policy names it.
    "no-monitoring-policies": ("ingress-namespace-default-deny", lambda p: _drop_monitoring(p), "namespace 'monitoring'"),
    "connector-without-workload-identity-label": ("ingress-connector-workload-identity", lambda p: inputs(
        p, "prod-ingress-app-sql-gateway")["spec"]["template"]["metadata"]["labels"].pop("azure.workload.identity/use"),
        "azure.workload.identity/use"),
    "connector-service-account-without-client-id": ("ingress-connector-workload-identity", lambda p: inputs(
        p, "prod-ingress-sa-jobs-api")["metadata"].pop("annotations"), "azure.workload.identity/client-id"),
    "connector-mounts-a-credential-secret": ("ingress-connector-workload-identity", lambda p: inputs(
        p, "prod-ingress-app-jobs-api")["spec"]["template"]["spec"]["volumes"].append(
        {"name": "databricks", "secret": {"secretName": "jobs-api-databricks"}}), "reads Secret 'jobs-api-databricks'"),
    "connector-token-from-env": ("ingress-connector-workload-identity", lambda p: inputs(
        p, "prod-ingress-app-sql-gateway")["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "DATABRICKS_TOKEN", "valueFrom": {"secretKeyRef": {"name": "pat", "key": "token"}}}), "env 'DATABRICKS_TOKEN'"),
    "default-deny-ingress-only": ("ingress-namespace-default-deny", lambda p: inputs(p, "prod-ingress-netpol-ingress-default-deny")["spec"].update(
        policyTypes=["Ingress"]), "Egress"),
    "tls-1-0": ("traefik-tls-min-version", lambda p: inputs(p, "prod-ingress-tls-default")["spec"].update(minVersion="VersionTLS10"),
                "VersionTLS10"),
    "route-wildcard-host": ("ingress-route-exact-host", lambda p: inputs(p, "prod-ingress-route-sql")["spec"]["routes"][0].update(
        match="Host(`*.data.contoso.com`) && PathPrefix(`/`)"), "wildcard"),
    "route-host-regexp": ("ingress-route-exact-host", lambda p: inputs(p, "prod-ingress-route-sql")["spec"]["routes"][0].update(
        match="HostRegexp(`.+`)"), "regular expression"),
    "route-without-methods": ("ingress-route-methods", lambda p: inputs(p, "prod-ingress-route-jobs")["spec"]["routes"][0].update(
        match="Host(`jobs.data.contoso.com`) && PathPrefix(`/api/2.1/jobs`)"), "any HTTP method"),
    "route-methods-or-bypass": ("ingress-route-methods", lambda p: inputs(p, "prod-ingress-route-sql")["spec"]["routes"][0].update(
        match="Host(`sql.data.contoso.com`) && Method(`GET`) || PathPrefix(`/`)"), "any HTTP method"),
    "route-405-rule-to-a-backend": ("ingress-route-methods", lambda p: inputs(p, "prod-ingress-route-sql")["spec"]["routes"][1].update(
        services=[{"name": "sql-gateway", "namespace": "databricks-apps", "port": 8443}]), "route 1"),
    "tls-options-conflict-on-a-host": ("traefik-tls-options-per-host", lambda p: inputs(p, "prod-ingress-route-sql")["spec"]["routes"][0].update(
        match="Host(`jobs.data.contoso.com`) && PathPrefix(`/`) && Method(`GET`)"), "jobs.data.contoso.com"),
    "route-no-tls": ("ingress-route-tls", lambda p: inputs(p, "prod-ingress-route-jobs")["spec"].pop("tls"), "TLS"),
    "route-no-allowlist": ("ingress-route-ip-allowlist-in-prod", lambda p: inputs(p, "prod-ingress-route-jobs")["spec"]["routes"][0].update(
        middlewares=[{"name": "security-headers", "namespace": "ingress"}]), "IPAllowList"),
    "plain-secret": ("kubernetes-secret-values-are-pulumi-secrets",
                     lambda p: inputs(p, "prod-ingress-oauth2-proxy-secret").update(stringData={"cookie-secret": "hunter2"}), "cookie-secret"),
    "aks-network-policy-none": ("aks-network-policy-enforced",
                               lambda p: inputs(p, "prod-aks-cluster")["networkProfile"].update(networkPolicy="none"), "none"),
    "aks-network-policy-unset": ("aks-network-policy-enforced", lambda p: inputs(p, "prod-aks-cluster")["networkProfile"].pop("networkPolicy"),
                                 "None"),
    "aks-upgrade-channel-none": ("aks-upgrades-and-node-hardening",
                                 lambda p: inputs(p, "prod-aks-cluster")["autoUpgradeProfile"].update(upgradeChannel="none"), "upgradeChannel"),
    "aks-no-upgrade-profile": ("aks-upgrades-and-node-hardening", lambda p: inputs(p, "prod-aks-cluster").pop("autoUpgradeProfile"),
                               "nodeOSUpgradeChannel"),
    "aks-node-os-unmanaged": ("aks-upgrades-and-node-hardening",
                              lambda p: inputs(p, "prod-aks-cluster")["autoUpgradeProfile"].update(nodeOSUpgradeChannel="Unmanaged"),
                              "'Unmanaged'"),
    "aks-managed-os-disk": ("aks-upgrades-and-node-hardening",
                            lambda p: inputs(p, "prod-aks-cluster")["agentPoolProfiles"][0].update(osDiskType="Managed"), "'Managed'"),
    "aks-no-encryption-at-host": ("aks-upgrades-and-node-hardening",
                                  lambda p: inputs(p, "prod-aks-cluster")["agentPoolProfiles"][0].pop("enableEncryptionAtHost"),
                                  "enableEncryptionAtHost"),
    "aks-no-secret-rotation": ("aks-upgrades-and-node-hardening",
                               lambda p: inputs(p, "prod-aks-cluster")["addonProfiles"]["azureKeyvaultSecretsProvider"]["config"].update(
                                   enableSecretRotation="false"), "enableSecretRotation"),
    "aks-no-secrets-provider": ("aks-upgrades-and-node-hardening",
                                lambda p: inputs(p, "prod-aks-cluster")["addonProfiles"].pop("azureKeyvaultSecretsProvider"),
                                "azureKeyvaultSecretsProvider"),
    # The private-endpoint subnet's NSG (components/planning/data_paths.py).
    "pe-connector-rule-to-subnet": ("private-endpoint-nsg-by-class", lambda p: _to_addresses(p, "allow-ingress-tier-to-backend"),
                                    "every endpoint in it"),
    "pe-connector-rule-to-lake": ("private-endpoint-nsg-by-class", lambda p: _to_asg(p, "allow-ingress-tier-to-backend", "lake"),
                                  "pe-bw-prod-weu-lake-dfs"),
    "pe-connector-rule-wider-ports": ("private-endpoint-nsg-by-class", lambda p: inputs(p, "prod-network-pe-nsg-allow-ingress-tier-to-backend")
                                      .update(destinationPortRange="443-8451"), "pe-bw-prod-weu-backend"),
    "pe-sql-rule-removed": ("private-endpoint-nsg-by-class", lambda p: drop(p, "prod-network-pe-nsg-allow-workspace-to-sql"), "1433-65535"),
    "pe-sql-rule-proxy-only": ("private-endpoint-nsg-by-class", lambda p: inputs(p, "prod-network-pe-nsg-allow-workspace-to-sql").update(
        destinationPortRange="1433"), "pe-bw-prod-weu-sql"),
    "pe-sql-rule-one-subnet": ("private-endpoint-nsg-by-class", lambda p: inputs(p, "prod-network-pe-nsg-allow-workspace-to-sql").update(
        sourceAddressPrefixes=["10.30.0.0/21"]), "10.30.8.0/21"),
    "pe-without-asg": ("private-endpoint-nsg-by-class", lambda p: inputs(p, "prod-data-lake-blob-pe").pop("applicationSecurityGroups"),
                       "joins no application security group"),
    "missing-tag": ("azure-required-tags", lambda p: inputs(p, "prod-network-vnet")["tags"].pop("managed-by"), "managed-by"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_insecure_mutation_is_caught(case: str, prod_plan: Plan) -> None:
    result = check_mutation(prod_plan, MUTATIONS, case)
    expected = MUTATIONS[case][0]
    level = next(p.enforcement_level for p in POLICIES if p.name == expected)
    assert result.ok is (level.value != "mandatory")


def test_unknown_values_skip_the_policy_like_the_analyzer(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-workspace-workspace")["publicNetworkAccess"] = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    result = check.check_plan(plan, POLICIES)
    assert not result.of("databricks-workspace-no-public-access")
    assert any(s.policy == "databricks-workspace-no-public-access" and "publicNetworkAccess" in s.reason for s in result.skipped)


def test_secret_rule_is_not_applicable_without_secret_markers(prod_plan: Plan) -> None:
    """The real analyzer strips secret markers, so the rule must not flag every Secret there."""
    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-ingress-oauth2-proxy-secret")["stringData"] = {"cookie-secret": "hunter2"}
    result = check.check_plan(plan, POLICIES, config={"secretMarkers": False})
    assert not result.of("kubernetes-secret-values-are-pulumi-secrets")


def test_tier_from_urn_lets_dev_open_its_front_end(dev: Recording) -> None:
    plan = planfile.to_plan(dev)
    assert not check.check_plan(plan, POLICIES).of("databricks-workspace-no-public-access")
    assert check.check_plan(plan, POLICIES, config={"tier": "prod"}).of("databricks-workspace-no-public-access")


def test_pack_main_only_imports_rules_and_builds_the_pack() -> None:
    """__main__ puts the repository root on sys.path (for components.planning.tier_limits) and builds the pack."""
    tree = ast.parse((ROOT / "policies" / "__main__.py").read_text())
    body = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert {n.module for n in imports if isinstance(n, ast.ImportFrom)} <= {"brickwall_rules", "pulumi_policy", "pathlib"}
    assert {a.name for n in imports if isinstance(n, ast.Import) for a in n.names} <= {"sys"}
    rest = [n for n in body if n not in imports]
    assert len(rest) == 2 and all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) for n in rest)
    assert "sys.path.insert" in ast.unparse(rest[0]) and "__file__" in ast.unparse(rest[0])
    call = rest[1].value
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "PolicyPack"
    assert isinstance(call.args[0], ast.Constant) and call.args[0].value == "brickwall-guardrails"
    assert any(k.arg == "policies" and isinstance(k.value, ast.Name) and k.value.id == "ALL" for k in call.keywords)
    assert "runtime: python" in (ROOT / "policies" / "PulumiPolicy.yaml").read_text()
    requirements = (ROOT / "policies" / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in requirements and "pulumi==3.272.0" in requirements


# The planning modules the rules may import: standard library only (and each other), checked below.
DEPENDENCY_FREE_PLANNERS = frozenset({"components.planning.tier_limits", "components.planning.diagnostics", "components.planning.roles",
                                      "components.planning.audit_network", "components.planning.container_insights",
                                      "components.planning.workload_identity"})


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module or "")
    return names


def _dependency_free(module: str, seen: set[str]) -> bool:
    """A components.planning module importing only the standard library and other dependency-free planning modules."""
    if module in seen:
        return True
    seen.add(module)
    path = ROOT / (module.replace(".", "/") + ".py")
    if not module.startswith("components.planning.") or not path.exists():
        return False
    return all(name.split(".")[0] in sys.stdlib_module_names or _dependency_free(name, seen) for name in _imports(path))


def test_rules_import_only_the_sdk_and_dependency_free_planning_modules() -> None:
    """The pack installs only policies/requirements.txt: every import of the rule modules must resolve there."""
    modules = sorted((ROOT / "policies" / "brickwall_rules").glob("*.py"))
    assert {m.stem for m in modules} >= {"__init__", "base", "network", "workspace", "private_link", "access", "ingress", "tagging"}
    for module in modules:
        for name in _imports(module):
            ok = name.split(".")[0] in sys.stdlib_module_names | {"brickwall_rules", "pulumi_policy"} or _dependency_free(name, set())
            assert ok, (module.name, name)
    for package in (ROOT / "components" / "__init__.py", ROOT / "components" / "planning" / "__init__.py"):
        assert _imports(package) <= {"__future__"}, package  # imported on the way to any planning module


def test_every_rule_module_contributes_and_tiered_rules_declare_the_tier_schema() -> None:
    import brickwall_rules

    by_module = {name: importlib.import_module(f"brickwall_rules.{name}").RULES for name in brickwall_rules.RULE_MODULES}
    assert all(by_module.values())
    assert [p.name for rules in by_module.values() for p in rules] == [p.name for p in POLICIES]
    assert set(brickwall_rules.TIERED) >= {
        "databricks-workspace-no-public-access", "databricks-workspace-protected-in-prod", "databricks-token-lifetime-within-tier-limit",
        "databricks-ip-access-list-not-open", "ingress-route-ip-allowlist-in-prod",
        "data-protected-in-prod",
    }
    for policy in POLICIES:
        if policy.name in brickwall_rules.TIERED:
            assert policy.config_schema is not None
            assert policy.config_schema.properties["tier"]["enum"] == ["dev", "staging", "prod"]


@pytest.mark.parametrize("tier", ["dev", "staging", "prod"])
def test_example_policy_config_files_set_the_tier_for_every_tiered_rule(tier: str) -> None:
    import brickwall_rules

    config = json.loads((ROOT / "policies" / f"config.{tier}.json").read_text())
    regenerate = ("regenerate: cd policies && python -c 'import json, brickwall_rules as r; "
                  f"print(json.dumps({{n: {{\"tier\": \"{tier}\"}} for n in r.TIERED}}, indent=2))' > config.{tier}.json")
    assert set(config) == set(brickwall_rules.TIERED), regenerate
    assert all(value == {"tier": tier} for value in config.values())


def test_spec_floors_and_the_pack_share_one_token_lifetime_table() -> None:
    import brickwall_rules.access

    from components.planning import tier_limits
    from components.spec.tiers import TIER_DEFAULTS, TIER_FLOORS

    assert brickwall_rules.access.MAX_TOKEN_LIFETIME_DAYS is tier_limits.MAX_TOKEN_LIFETIME_DAYS
    assert dict(tier_limits.MAX_TOKEN_LIFETIME_DAYS) == {"dev": 180, "staging": 90, "prod": 90}
    floors = {next(iter(f.tiers)): f.reason for f in TIER_FLOORS if f.path == ("access", "settings", "max_token_lifetime_days")}
    assert floors == {t: f"{t} caps personal access tokens at {d} days" for t, d in tier_limits.MAX_TOKEN_LIFETIME_DAYS.items()}
    # Every tier's default lifetime sits within its own cap (prod takes the model default, 30).
    for tier, cap in tier_limits.MAX_TOKEN_LIFETIME_DAYS.items():
        default = TIER_DEFAULTS[tier].get("access", {}).get("settings", {}).get("max_token_lifetime_days", 30)
        assert 1 <= default <= cap, tier
    # The pack rejects one day over each tier's cap and accepts the cap itself.
    for tier, cap in tier_limits.MAX_TOKEN_LIFETIME_DAYS.items():
        assert _token_messages(tier, cap + 1) == [f"maxTokenLifetimeDays is {cap + 1}: tier {tier} allows at most {cap} days"]
        assert _token_messages(tier, cap) == []


def _token_messages(tier: str, days: int) -> list[str]:
    """What the token-lifetime rule reports for a workspace conf of `days` in `tier`."""
    import brickwall_rules.access

    return brickwall_rules.access.token_lifetime_problems({"customConfig": {"maxTokenLifetimeDays": str(days)}}, tier)


def test_policy_config_tier_overrides_the_stack_name(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    conf(plan, "maxTokenLifetimeDays", "120")
    assert check.check_plan(plan, POLICIES).of("databricks-token-lifetime-within-tier-limit")
    assert not check.check_plan(plan, POLICIES, config={"tier": "dev"}).of("databricks-token-lifetime-within-tier-limit")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "brickwall", "check", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_cli_end_to_end(prod_plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` as a user runs it (one real process, on a saved plan: no render); the clean plan and the JSON output
    through the same entry point in-process (`check --stack` renders first, as the workflow test runs it over dev)."""
    clean = tmp_path / "clean.json"
    planfile.write(prod_plan, clean)
    assert cli.main(["check", "--plan", str(clean)]) == exits.OK
    assert "0 mandatory" in capsys.readouterr().out

    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-workspace-workspace")["publicNetworkAccess"] = "Enabled"
    path = tmp_path / "plan.json"
    planfile.write(plan, path)
    bad = _cli("--plan", str(path))
    assert bad.returncode == 1, bad.stdout + bad.stderr
    urn = res(plan, "prod-workspace-workspace")["urn"]
    assert "databricks-workspace-no-public-access" in bad.stdout and urn in bad.stdout
    assert "publicNetworkAccess is 'Enabled' in tier prod" in bad.stdout
    assert "remediation: Set publicNetworkAccess to 'Disabled'" in bad.stdout

    assert cli.main(["check", "--plan", str(path), "--json"]) == exits.INVALID  # a MANDATORY policy fails
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and {v["policy"] for v in data["violations"]} == {"databricks-workspace-no-public-access"}


ALL_FEATURES_MUTATIONS: Mutations = {
    "user-pool-managed-os-disk": ("aks-upgrades-and-node-hardening",
                                  lambda p: inputs(p, "prod-aks-user-pool").update(osDiskType="Managed"),
                                  "agent pool ingress: osDiskType is 'Managed'"),
    "user-pool-no-encryption-at-host": ("aks-upgrades-and-node-hardening",
                                        lambda p: inputs(p, "prod-aks-user-pool").pop("enableEncryptionAtHost"),
                                        "agent pool ingress: enableEncryptionAtHost is not true"),
}


@pytest.fixture(scope="module")
def all_features_plan(all_features_env: tuple[Recording, Any]) -> Plan:
    return planfile.to_plan(all_features_env[0])


def test_the_all_features_variant_passes_every_mandatory_rule(all_features_plan: Plan) -> None:
    result = check.check_plan(all_features_plan, POLICIES)
    assert not [v for v in result.violations if v.level == "mandatory"], check.render(result)


def test_no_rule_writes_to_the_props_it_is_given(dev: Recording, staging: Recording, prod: Recording,
                                                 all_features_plan: Plan) -> None:
    """Every policy sees the same deserialized inputs of a resource (brickwall/check.py): no rule may write to them.
    The clean plans here, every mutation in check_mutation; and a rule that writes is caught."""
    with writes_refused():
        for plan in (*(planfile.to_plan(r) for r in (dev, staging, prod)), all_features_plan):
            assert check.check_plan(plan, POLICIES).rules == len(POLICIES)

    def scribble(args: ResourceValidationArgs, report: ReportViolation) -> None:
        args.props["tags"] = {}  # type: ignore[index]

    writer = ResourceValidationPolicy("scribbler", "writes to its props", scribble, EnforcementLevel.ADVISORY)
    with writes_refused(), pytest.raises(AssertionError, match="a policy wrote 'tags'"):
        check.check_plan(planfile.to_plan(dev), [writer])


@pytest.mark.parametrize("case", sorted(ALL_FEATURES_MUTATIONS))
def test_a_weakened_user_pool_is_caught(case: str, all_features_plan: Plan) -> None:
    check_mutation(all_features_plan, ALL_FEATURES_MUTATIONS, case)
