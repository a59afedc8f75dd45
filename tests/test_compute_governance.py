"""Every compute path governed: the recorded plan of each stack against its spec (access.compute).

Personal Compute (account setting DELEGATE, the built-in policy overridden with the baseline's locks, its permissions
set to named groups), SQL warehouses (declared, CAN_USE for named principals), serverless egress (an account network
policy bound to the workspace), legacy access and DBFS disabled, workspace admins restricted. Prod holds all of them.
"""

from __future__ import annotations

import json

import pytest

import stacks
from brickwall import render
from brickwall.engine import Recording
from components.planning.cluster_policies import (
    AZURE_INIT_SCRIPT_TYPES,
    PERSONAL_COMPUTE_FAMILY,
    PERSONAL_COMPUTE_NAME,
    grammar_problems,
)
from components.spec import EnvironmentSpec
from components.spec.rules import advisories
from components.spec.tiers import TIER_FLOORS

T = "databricks:index/"
POLICY = f"{T}clusterPolicy:ClusterPolicy"
PERMS = f"{T}permissions:Permissions"
ACCOUNT_SETTING = f"{T}accountSettingV2:AccountSettingV2"
WAREHOUSE = f"{T}sqlEndpoint:SqlEndpoint"
LEGACY_ACCESS = f"{T}disableLegacyAccessSetting:DisableLegacyAccessSetting"
LEGACY_DBFS = f"{T}disableLegacyDbfsSetting:DisableLegacyDbfsSetting"
RESTRICT_ADMINS = f"{T}restrictWorkspaceAdminsSetting:RestrictWorkspaceAdminsSetting"
NETWORK_POLICY = f"{T}accountNetworkPolicy:AccountNetworkPolicy"
NETWORK_OPTION = f"{T}workspaceNetworkOption:WorkspaceNetworkOption"


def test_personal_compute_is_delegated_overridden_and_granted_to_named_groups(rec: Recording, spec: EnvironmentSpec) -> None:
    pc = spec.access.compute.personal_compute
    settings = rec.of_type(ACCOUNT_SETTING)
    if pc.account_setting == "delegate":
        (setting,) = settings
        assert setting.inputs == {"name": "features.personalCompute.enabled", "personalCompute": {"value": "DELEGATE"}}
        # Account-level (the account provider), and left in place on destroy: deleting it turns Personal Compute ON.
        assert setting.provider.split("::")[-2].endswith("-databricks-account")
        assert setting.retain_on_delete is True
    else:
        assert settings == []

    (policy,) = [p for p in rec.of_type(POLICY) if p.inputs.get("policyFamilyId")]
    assert policy.inputs["name"] == PERSONAL_COMPUTE_NAME and policy.inputs["policyFamilyId"] == PERSONAL_COMPUTE_FAMILY
    assert "definition" not in policy.inputs
    overrides = json.loads(policy.inputs["policyFamilyDefinitionOverrides"])
    assert grammar_problems(overrides) == []
    assert overrides["cluster_type"] == {"type": "fixed", "value": "all-purpose"}
    assert overrides["data_security_mode"] == {"type": "fixed", "value": "SINGLE_USER"}
    assert overrides["autotermination_minutes"]["maxValue"] == pc.autotermination_max  # not the family's 72 hours
    assert overrides["node_type_id"]["values"] == list(pc.node_types)
    assert overrides["custom_tags.environment"]["value"] == spec.name
    assert overrides["enable_local_disk_encryption"] == {"type": "fixed", "value": True}
    for kind in AZURE_INIT_SCRIPT_TYPES:
        assert overrides[f"init_scripts.*.{kind}.destination"] == {"type": "forbidden"}
    for path in ("instance_pool_id", "driver_instance_pool_id", "ssh_public_keys.*", "docker_image.url"):
        assert overrides[path] == {"type": "forbidden"}
    assert ("cluster_log_conf.path" in overrides) is (pc.cluster_log_path is not None)
    # A single node has nothing to scale, and the family names its single user: both stay the family's.
    assert not {"num_workers", "autoscale.min_workers", "autoscale.max_workers", "single_user_name"} & set(overrides)

    use = [p for p in rec.of_type(PERMS) if p.inputs.get("clusterPolicyId") == f"mock-{policy.name}"]
    if pc.groups:
        (perm,) = use
        assert {(ac["groupName"], ac["permissionLevel"]) for ac in perm.inputs["accessControls"]} == {
            (g, "CAN_USE") for g in pc.groups}
    else:
        assert use == []


def test_sql_warehouses_are_declared_and_used_by_named_principals(rec: Recording, spec: EnvironmentSpec) -> None:
    declared = {w.name: w for w in spec.access.compute.sql_warehouses}
    warehouses = {r.inputs["name"]: r for r in rec.of_type(WAREHOUSE)}
    assert set(warehouses) == set(declared)
    sp_ids = {s.name: s.application_id for s in spec.access.service_principals}
    for name, reg in warehouses.items():
        wh = declared[name]
        assert reg.inputs["enableServerlessCompute"] is wh.serverless
        assert reg.inputs["warehouseType"] == ("PRO" if wh.serverless else "CLASSIC")
        assert reg.inputs["autoStopMins"] >= 10
        assert reg.inputs["minNumClusters"] <= reg.inputs["maxNumClusters"]
        (perm,) = [p for p in rec.of_type(PERMS) if p.inputs.get("sqlEndpointId") == f"mock-{reg.name}"]
        assert {(ac.get("groupName") or ac.get("servicePrincipalName"), ac["permissionLevel"]) for ac in perm.inputs["accessControls"]} == {
            *((g, "CAN_USE") for g in wh.groups), *((sp_ids[s], "CAN_USE") for s in wh.service_principals)}
    # Nobody gets to create warehouses of their own: that takes unrestricted cluster creation.
    for reg in rec.of_type(f"{T}group:Group") + rec.of_type(f"{T}servicePrincipal:ServicePrincipal"):
        assert reg.inputs.get("allowClusterCreate", False) is False


def test_legacy_features_and_workspace_admins(rec: Recording, spec: EnvironmentSpec) -> None:
    compute = spec.access.compute
    access = [r.inputs for r in rec.of_type(LEGACY_ACCESS)]
    dbfs = [r.inputs for r in rec.of_type(LEGACY_DBFS)]
    admins = [r.inputs for r in rec.of_type(RESTRICT_ADMINS)]
    assert access == ([{"disableLegacyAccess": {"value": True}}] if compute.disable_legacy_access else [])
    assert dbfs == ([{"disableLegacyDbfs": {"value": True}}] if compute.disable_legacy_dbfs else [])
    assert admins == ([{"restrictWorkspaceAdmins": {"status": "RESTRICT_TOKENS_AND_JOB_RUN_AS"}}]
                      if compute.restrict_workspace_admins else [])
    if compute.disable_legacy_dbfs:
        # With the DBFS root closed, no policy may send cluster logs there.
        for reg in rec.of_type(POLICY):
            rules = json.loads(reg.inputs.get("definition") or reg.inputs["policyFamilyDefinitionOverrides"])
            if "cluster_log_conf.type" in rules:
                assert rules["cluster_log_conf.type"]["value"] == "VOLUMES", reg.name


def test_serverless_egress_is_bound_to_the_workspace(rec: Recording, spec: EnvironmentSpec) -> None:
    egress = spec.access.compute.serverless_egress
    policies, options = rec.of_type(NETWORK_POLICY), rec.of_type(NETWORK_OPTION)
    if egress.mode == "account_default":
        # Bound to the account's own default-policy explicitly.
        assert policies == []
        (option,) = options
        assert option.inputs["networkPolicyId"] == "default-policy"
        return
    (policy,), (option,) = policies, options
    access = policy.inputs["egress"]["networkAccess"]
    assert access["restrictionMode"] == ("RESTRICTED_ACCESS" if egress.mode == "restricted" else "FULL_ACCESS")
    assert access["policyEnforcement"] == {"enforcementMode": egress.enforcement}
    assert [d["destination"] for d in access.get("allowedInternetDestinations", [])] == list(egress.allowed_domains)
    # The binding names this workspace's numeric id and the policy's id, through the account provider, after the policy.
    assert set(option.inputs) == {"workspaceId", "networkPolicyId"}
    assert option.inputs["networkPolicyId"] == policy.inputs["networkPolicyId"]
    assert str(option.inputs["workspaceId"]).isdigit()  # the workspace's numeric id, from the workspace's outputs
    for reg in (policy, option):
        assert reg.provider.split("::")[-2].endswith("-databricks-account")
    assert policy.urn in option.dependencies


def test_prod_governs_every_compute_path(prod: Recording) -> None:
    spec = stacks.load("prod")
    compute = spec.access.compute
    assert compute.personal_compute.account_setting == "delegate" and compute.personal_compute.groups
    assert compute.serverless_egress.mode == "restricted" and compute.serverless_egress.enforcement == "ENFORCED"
    assert compute.disable_legacy_access and compute.disable_legacy_dbfs and compute.restrict_workspace_admins
    assert compute.sql_warehouses
    kinds = {json.loads(r.inputs["definition"])["cluster_type"]["value"] for r in prod.of_type(POLICY) if "definition" in r.inputs}
    assert kinds == {"all-purpose", "job"}
    # The spec cannot drop below any of it: each is a prod floor.
    floors = {f.path for f in TIER_FLOORS if "prod" in f.tiers}
    assert {("access", "compute", "personal_compute", "account_setting"), ("access", "compute", "serverless_egress", "mode"),
            ("access", "compute", "serverless_egress", "enforcement"), ("access", "compute", "disable_legacy_access"),
            ("access", "compute", "disable_legacy_dbfs"), ("access", "compute", "restrict_workspace_admins")} <= floors


def test_render_shows_the_governance_lines(prod_plan: dict) -> None:
    text = render.render(prod_plan)
    lines = [line for line in text.splitlines() if "features.personalCompute.enabled=DELEGATE" in line or "RESTRICTED_ACCESS ENFORCED" in line
             or "status=RESTRICT_TOKENS_AND_JOB_RUN_AS" in line or "family=personal-vm overrides" in line
             or "PRO serverless=True" in line or "warehouse " in line]
    assert len(lines) >= 6, text[-3000:]


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_advisory_only_when_personal_compute_names_nobody(stack: str) -> None:
    spec = stacks.load(stack)
    data = spec.model_dump(mode="json")
    assert not any("Personal Compute" in n for n in advisories(spec))
    data["access"]["compute"]["personal_compute"]["groups"] = []
    assert any("Personal Compute policy gets no permissions" in n for n in advisories(EnvironmentSpec.model_validate(data)))
