"""Workspace access control on the recorded registrations of dev, staging and prod."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import stacks
from brickwall import planfile, project
from brickwall.engine import UNKNOWN, Recording, Secret, account_group_id
from components.access.identities import token_users
from components.planning.cluster_policies import grammar_problems
from components.planning.workspace_settings import (
    ALL_KEYS,
    CONF_KEYS,
    GROUPS,
    IP_ACCESS_LISTS_KEY,
    MAY_BE_REFUSED,
    PROVIDER_KEYS,
    conf_groups,
    resource_suffix,
    workspace_conf,
)
from components.spec import EnvironmentSpec
from components.spec.tiers import PROD_STRICT_SETTINGS
from tests.docs import doc

D = "databricks:index/"
CONF, IPL, GROUP, SP = D + "workspaceConf:WorkspaceConf", D + "ipAccessList:IpAccessList", D + "group:Group", D + "servicePrincipal:ServicePrincipal"
PERMS, POLICY = D + "permissions:Permissions", D + "clusterPolicy:ClusterPolicy"
ENT, MEMBER = D + "entitlements:Entitlements", D + "groupMember:GroupMember"
ASSIGN = D + "mwsPermissionAssignment:MwsPermissionAssignment"
WS = "azure-native:databricks:Workspace"
ROOT = Path(__file__).resolve().parent.parent


def workspace(rec: Recording, spec: EnvironmentSpec):  # type: ignore[no-untyped-def]
    return next(w for w in rec.of_type(WS) if w.inputs["workspaceName"] == spec.names.workspace)


def test_one_databricks_provider_built_from_the_workspace(rec: Recording, spec: EnvironmentSpec) -> None:
    provider = rec.one("pulumi:providers:databricks", f"{spec.name}-databricks")
    ws = workspace(rec, spec)
    assert provider.inputs["host"] == f"https://{rec.stack_outputs['workspaceUrl']}"
    assert provider.inputs["azureWorkspaceResourceId"] == rec.stack_outputs["workspaceResourceId"]
    assert ws.urn in provider.dependencies
    # Credentials are never inline unless configured (and then secret: see the secret test).
    assert "azureClientSecret" not in provider.inputs and "token" not in provider.inputs


def test_one_account_provider_for_the_account_console(rec: Recording, spec: EnvironmentSpec) -> None:
    """Account groups and workspace assignments go through the account console's provider: its host and
    the account id from stack config (an offline placeholder here), never a workspace host."""
    from brickwall.project import PLAIN_CONFIG_PLACEHOLDER

    providers = rec.of_type("pulumi:providers:databricks")
    assert {p.name for p in providers} == {f"{spec.name}-databricks", f"{spec.name}-databricks-account"}
    account = rec.one("pulumi:providers:databricks", f"{spec.name}-databricks-account")
    assert account.inputs["host"] == "https://accounts.azuredatabricks.net"
    assert account.inputs["accountId"] == PLAIN_CONFIG_PLACEHOLDER
    assert "azureWorkspaceResourceId" not in account.inputs
    assert "azureClientSecret" not in account.inputs and "token" not in account.inputs


ACCOUNT_LEVEL = frozenset({
    "databricks:index/accountSettingV2:AccountSettingV2",
    "databricks:index/accountNetworkPolicy:AccountNetworkPolicy",
    "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption",
})


def test_every_databricks_resource_uses_it_is_deleted_with_the_workspace_and_waits_for_private_link(
        rec: Recording, spec: EnvironmentSpec) -> None:
    provider_urn = rec.one("pulumi:providers:databricks", f"{spec.name}-databricks").urn
    ws = workspace(rec, spec)
    # The workspace's own endpoints (PrivateLink); those of the Key Vault or the data sources are not on its path.
    endpoints = {pe.urn for pe in rec.of_type("azure-native:network:PrivateEndpoint") if "brickwall:network:PrivateLink$" in pe.urn}
    assert endpoints
    account_urn = rec.one("pulumi:providers:databricks", f"{spec.name}-databricks-account").urn
    resources = [r for r in rec.registrations if r.type.startswith("databricks:")]
    account_level = [r for r in resources if r.provider.startswith(account_urn + "::")]
    # Through the account console: the workspace assignments of the account's groups, and the serverless network
    # connectivity and metastore assignment (tests/test_serverless.py).
    serverless = {D + t for t in ("mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig",
                                  "mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule", "mwsNccBinding:MwsNccBinding",
                                  "metastoreAssignment:MetastoreAssignment")}
    # ... and the compute governance that lives in the account: the Personal Compute setting, the serverless network
    # policy and its workspace binding (tests/test_compute_governance.py).
    governance = {D + t for t in ("accountSettingV2:AccountSettingV2", "accountNetworkPolicy:AccountNetworkPolicy",
                                  "workspaceNetworkOption:WorkspaceNetworkOption")}
    assert {r.type for r in account_level} - serverless - governance == {ASSIGN}
    assert len([r for r in account_level if r.type == ASSIGN]) == len(spec.access.groups)
    resources = [r for r in resources if r not in account_level]
    assert len(resources) >= 8
    for reg in resources:
        if reg.type in ACCOUNT_LEVEL:
            # Account-level objects about this workspace go through the account provider.
            assert reg.provider.startswith(account_urn + "::"), reg.urn
        else:
            assert reg.provider.startswith(provider_urn + "::"), reg.urn
        # The account-wide Personal Compute setting outlives the stack (deleting it turns Personal Compute ON).
        assert reg.deleted_with == ("" if reg.retain_on_delete else ws.urn), reg.urn
        assert ws.urn in reg.dependencies, reg.urn
        assert endpoints <= set(reg.dependencies), f"{reg.urn} does not wait for the private endpoints"
    # The account API is not reached through the workspace's private endpoints. What binds to the workspace goes with
    # it; the NCC and its rules are the account's and outlive it (tests/test_serverless.py).
    bound = {ASSIGN, D + "mwsNccBinding:MwsNccBinding", D + "metastoreAssignment:MetastoreAssignment",
             D + "workspaceNetworkOption:WorkspaceNetworkOption"}
    for reg in account_level:
        if reg.type in bound:
            assert reg.deleted_with == ws.urn and ws.urn in reg.dependencies, reg.urn


def test_default_providers_are_disabled_in_every_stack(stack: str) -> None:
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    assert config["pulumi:disable-default-providers"] == ["*"]


def merged_conf(rec: Recording) -> dict[str, str]:
    """Every workspace-conf key the recording writes, across its groups (each key once: asserted below)."""
    out: dict[str, str] = {}
    for reg in rec.of_type(CONF):
        for key, value in reg.inputs["customConfig"].items():
            assert key not in out, f"{key} written twice"
            out[key] = value
    return out


def test_workspace_conf_is_the_planned_table_in_groups_by_concern(rec: Recording, spec: EnvironmentSpec) -> None:
    groups, sps = token_users(spec.access)
    planned = conf_groups(spec.access.settings, spec.access.ip_access.enabled, len(groups) + len(sps))
    confs = {r.name: r for r in rec.of_type(CONF)}
    assert set(confs) == {f"{spec.name}-access-{resource_suffix(g)}" for g in GROUPS}
    for group, keys in planned.items():
        assert keys, f"group {group} is empty"
        assert confs[f"{spec.name}-access-{resource_suffix(group)}"].inputs["customConfig"] == keys
    conf = merged_conf(rec)
    assert conf == workspace_conf(spec.access.settings, spec.access.ip_access.enabled, len(groups) + len(sps))
    assert {c.key for c in CONF_KEYS} | {IP_ACCESS_LISTS_KEY.key} == set(conf)
    assert conf["enableIpAccessLists"] == "true"
    assert conf["enableVerboseAuditLogs"] == "true"
    assert conf["enableDeprecatedGlobalInitScripts"] == "false"
    assert conf["maxTokenLifetimeDays"] == {"dev": "90", "staging": "60", "prod": "30"}[spec.name]
    # The IP switch keeps the pre-split name, and every other group writes after it (after its reset on migration).
    switch = confs[f"{spec.name}-access-conf"]
    assert switch.inputs["customConfig"] == {"enableIpAccessLists": "true"}
    for reg in confs.values():
        assert reg is switch or switch.urn in reg.dependencies, reg.name
    # The keys a newer workspace may refuse share no group with any other key.
    refusable = {c.group for c in ALL_KEYS if c.key in MAY_BE_REFUSED}
    assert all(c.key in MAY_BE_REFUSED for c in ALL_KEYS if c.group in refusable)
    # Token permissions wait for the token settings.
    tokens = confs[f"{spec.name}-access-conf-tokens"]
    assert all(tokens.urn in p.dependencies for p in rec.of_type(PERMS) if p.inputs.get("authorization") == "tokens")


def test_every_workspace_conf_key_has_its_documented_source() -> None:
    """Each key the program writes is a key Databricks' own provider knows (its exporter's key list, vendored with
    provenance in tests/databricks/), or cites the Azure Databricks page that documents it."""
    vendored = json.loads((ROOT / "tests" / "databricks" / "provider_workspace_conf_keys.json").read_text())
    assert vendored["source"] == PROVIDER_KEYS
    provider_keys = set(vendored["keys"])
    for conf in ALL_KEYS:
        if conf.source == PROVIDER_KEYS:
            assert conf.key in provider_keys, f"{conf.key} cites the provider's key list but is not in it"
        else:
            assert conf.key not in provider_keys, f"{conf.key} is in the provider's list: cite it"
            assert conf.source.startswith("https://learn.microsoft.com/azure/databricks/"), conf.key
    # A typo in a key (the API would answer "Invalid keys") is caught: the check is not vacuous.
    assert "enableIpAccessList" not in provider_keys and "enableIpAccessLists" in provider_keys


def test_prod_settings_are_strict(prod: Recording) -> None:
    import stacks

    conf = merged_conf(prod)
    by_field = {c.field: c.key for c in CONF_KEYS}
    for field, strict in PROD_STRICT_SETTINGS:
        assert conf[by_field[field]] == str(strict).lower(), field
    assert stacks.load("prod").access.settings.max_token_lifetime_days <= 90


def test_ip_access_lists_are_written_in_an_order_that_cannot_lock_out_the_deployer(
        rec: Recording, spec: EnvironmentSpec) -> None:
    ip = spec.access.ip_access
    lists = {r.inputs["label"]: r for r in rec.of_type(IPL)}
    allow = {label: r.inputs["ipAddresses"] for label, r in lists.items() if r.inputs["listType"] == "ALLOW"}
    block = {label: r.inputs["ipAddresses"] for label, r in lists.items() if r.inputs["listType"] == "BLOCK"}
    # Lockout protection: the operators' and the deployer's ranges are always allowed.
    assert allow["break-glass"] == list(ip.break_glass)
    assert allow["ci-egress"] == list(ip.ci_egress)
    assert allow == {label: list(cidrs) for label, cidrs in ip.allow_lists()}
    assert block == {lst.label: list(lst.cidrs) for lst in ip.block}
    switch = rec.one(CONF, f"{spec.name}-access-conf")
    first = lists["ci-egress"]
    # The deployer's list waits only for the switch; every other list, ALLOW or BLOCK, waits for the deployer's.
    assert switch.urn in first.dependencies
    assert not any(other.urn in first.dependencies for other in lists.values())
    for label, reg in lists.items():
        assert reg.inputs["enabled"] is True
        assert switch.urn in reg.dependencies  # switched on first: the API then refuses a list that blocks the caller
        if reg is not first:
            assert first.urn in reg.dependencies, f"{label} does not wait for the deployer's list"
    if spec.tier.value != "dev":
        assert all("0.0.0.0/0" not in cidrs for cidrs in allow.values())


def test_groups_follow_entra_id_and_cannot_create_unrestricted_clusters(rec: Recording, spec: EnvironmentSpec) -> None:
    """Account groups assigned to the workspace (tests/test_identity.py goes further); none is workspace-local."""
    assert rec.of_type(GROUP) == [] and rec.of_type(MEMBER) == []
    assigned = {r.inputs["principalId"]: r.inputs["permissions"] for r in rec.of_type(ASSIGN)}
    entitlements = {r.inputs.get("groupId"): r for r in rec.of_type(ENT)}
    for g in spec.access.groups:
        group_id = account_group_id(g.entra_object_id)
        assert assigned[group_id] == ["ADMIN" if g.workspace_admin else "USER"]
        i = entitlements[group_id].inputs
        assert i["workspaceAccess"] is True and i["databricksSqlAccess"] is g.databricks_sql_access
        assert i.get("allowClusterCreate", False) is False and i.get("allowInstancePoolCreate", False) is False
    users = entitlements["mock-group-users"]
    assert users.inputs["allowClusterCreate"] is False and users.inputs["allowInstancePoolCreate"] is False


def test_service_principals_and_token_rights(rec: Recording, spec: EnvironmentSpec) -> None:
    # The access spec's principals; ingress connectors' own principals (components/connector_identity.py) come apart.
    sps = {r.inputs["applicationId"]: r for r in rec.of_type(SP) if "WorkspaceAccessControl" in r.parent}
    assert set(sps) == {s.application_id for s in spec.access.service_principals}
    connector_sps = [r for r in rec.of_type(SP) if "ConnectorIdentities" in r.parent]
    assert len(connector_sps) == (len(spec.ingress.connectors) if spec.ingress.enabled else 0)
    assert len(connector_sps) + len(sps) == len(rec.of_type(SP))
    for reg in connector_sps:
        assert reg.inputs.get("allowClusterCreate", False) is False
        assert all(reg.inputs["applicationId"] != ac.get("servicePrincipalName")  # never a personal access token
                   for p in rec.of_type(PERMS) if p.inputs.get("authorization") == "tokens"
                   for ac in p.inputs["accessControls"])
    for reg in sps.values():
        assert reg.inputs.get("allowClusterCreate", False) is False
        # The deployer exists in the workspace before the first `pulumi up` (Azure makes the creator an admin): adopted.
        assert reg.inputs["force"] is True
    token_perms = [p for p in rec.of_type(PERMS) if p.inputs.get("authorization") == "tokens"]
    groups, apps = token_users(spec.access)
    if not groups and not apps:
        # Nobody may use personal access tokens: none are granted and the feature is off.
        assert token_perms == []
        assert merged_conf(rec)["enableTokensConfig"] == "false"
        return
    assert len(token_perms) == 1
    assert merged_conf(rec)["enableTokensConfig"] == "true"
    granted = {(ac.get("groupName") or ac.get("servicePrincipalName"), ac["permissionLevel"])
               for ac in token_perms[0].inputs["accessControls"]}
    assert granted == {(n, "CAN_USE") for n in [*groups, *apps]}
    if spec.tier.value == "prod":
        # No personal tokens for people in prod: only the one service principal that still needs a PAT.
        assert groups == [] and len(apps) == 1


def test_cluster_policies_lock_security_settings(rec: Recording, spec: EnvironmentSpec) -> None:
    # The toolkit's own policies (the built-in Personal Compute override is tests/test_compute_governance.py's).
    policies = {r.inputs["name"]: r for r in rec.of_type(POLICY) if "policyFamilyId" not in r.inputs}
    assert set(policies) == {p.name for p in spec.access.cluster_policies}
    perms = {p.inputs["clusterPolicyId"]: p for p in rec.of_type(PERMS) if "clusterPolicyId" in p.inputs}
    for policy in spec.access.cluster_policies:
        reg = policies[policy.name]
        definition = json.loads(reg.inputs["definition"])
        assert grammar_problems(definition) == []
        assert definition["data_security_mode"] == {"type": "fixed", "value": policy.data_security_mode}
        # Each policy serves one kind of compute, pinned.
        assert definition["cluster_type"] == {"type": "fixed", "value": policy.cluster_type}
        if policy.cluster_type == "all-purpose":
            auto = definition["autotermination_minutes"]
            assert auto["type"] == "range" and auto["maxValue"] == (policy.autotermination_max or 120)
        else:
            # Job clusters end with their run and take no autotermination_minutes: the policy never requires it.
            assert "autotermination_minutes" not in definition
            assert policy.groups == ()
            if policy.data_security_mode == "SINGLE_USER":
                # Each job cluster is dedicated to the service principal it runs as.
                app_ids = [s.application_id for s in spec.access.service_principals if s.name in policy.service_principals]
                expected = ({"type": "fixed", "value": app_ids[0]} if len(app_ids) == 1
                            else {"type": "allowlist", "values": app_ids})
                assert definition["single_user_name"] == expected
        assert definition["custom_tags.environment"]["value"] == spec.name
        assert definition["custom_tags.cost-center"]["value"] == spec.tags["cost-center"]
        assert definition["ssh_public_keys.*"]["type"] == "forbidden"
        assert definition["cluster_log_conf.path"]["value"] == policy.cluster_log_path
        if policy.init_scripts_allowed_prefix is None:
            assert definition["init_scripts.*.volumes.destination"]["type"] == "forbidden"
        else:
            assert definition["init_scripts.*.volumes.destination"]["type"] == "regex"
        assert definition["init_scripts.*.dbfs.destination"]["type"] == "forbidden"
        assert reg.inputs["maxClustersPerUser"] == policy.max_clusters_per_user
        use = perms[f"mock-{reg.name}"].inputs["accessControls"]
        sp_ids = {s.name: s.application_id for s in spec.access.service_principals}
        assert {(ac.get("groupName") or ac.get("servicePrincipalName"), ac["permissionLevel"]) for ac in use} == {
            *((g, "CAN_USE") for g in policy.groups), *((sp_ids[s], "CAN_USE") for s in policy.service_principals)}


def test_prod_encrypts_traffic_between_nodes_in_the_vnet_not_by_init_script(prod: Recording) -> None:
    """Azure VNet encryption on the workspace VNet encrypts node-to-node traffic; no policy pins the old init script."""
    vnets = {v.inputs["virtualNetworkName"]: v for v in prod.of_type("azure-native:network:VirtualNetwork")}
    workspace_vnet = vnets[stacks.load("prod").names.virtual_network]
    assert workspace_vnet.inputs["encryption"] == {"enabled": True, "enforcement": "AllowUnencrypted"}
    for reg in [r for r in prod.of_type(POLICY) if "policyFamilyId" not in r.inputs]:  # single-node Personal Compute
        definition = json.loads(reg.inputs["definition"])
        assert "init_scripts.0.volumes.destination" not in definition
        assert not any(key.startswith("spark_conf.") for key in definition)


def test_first_preview_with_an_unknown_workspace_url(prod_preview: Recording) -> None:
    rec = prod_preview
    provider = rec.one("pulumi:providers:databricks", "prod-databricks")
    account = rec.one("pulumi:providers:databricks", "prod-databricks-account")
    assert provider.inputs.get("host", UNKNOWN) is UNKNOWN
    assert rec.stack_outputs.get("workspaceUrl", UNKNOWN) is UNKNOWN
    # Every Databricks resource is still planned, through the workspace's provider or the account's.
    assert len([r for r in rec.registrations if r.type.startswith("databricks:")]) >= 10
    assert all(r.provider.startswith((provider.urn, account.urn))
               for r in rec.registrations if r.type.startswith("databricks:"))
    # The preview's plan file writes the unknowns as "[unknown]", and the policy check skips what it cannot know.
    text = planfile.dumps(planfile.to_plan(rec))
    assert '"host": "[unknown]"' in text
    from brickwall import check

    assert check.check_recording(rec).mandatory == []


@pytest.fixture(scope="module")
def dev_with_config() -> Recording:
    """One render of dev with three independent stack config values, each read by its own test below: the account id
    (as a GUID in capitals) and the provider's client id and secret."""
    return project.run("dev", extra_config={"brickwall:databricksAccountId": "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
                                            "brickwall:databricksClientId": "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60",
                                            "brickwall:databricksClientSecret": "s3cr3t-value-from-config"},
                       extra_secret_keys=["brickwall:databricksClientSecret"])


def test_provider_credentials_from_config_stay_secret(dev_with_config: Recording) -> None:
    rec = dev_with_config
    providers = rec.of_type("pulumi:providers:databricks")
    assert sorted(p.name for p in providers) == ["dev-databricks", "dev-databricks-account"]
    for provider in providers:  # the workspace's and the account's
        assert isinstance(provider.inputs["azureClientSecret"], Secret)
        assert provider.inputs["azureClientId"] == "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60"
    text = planfile.dumps(planfile.to_plan(rec))
    assert "s3cr3t-value-from-config" not in text and '"azureClientSecret": "[secret]"' in text


def test_the_docs_document_every_workspace_setting_with_its_tier_defaults() -> None:
    import stacks
    from components.spec.tiers import TIER_DEFAULTS

    text = doc("access-control")
    prod = stacks.load("prod").access.settings
    for conf in CONF_KEYS:
        values = [str(TIER_DEFAULTS[t].get("access", {}).get("settings", {}).get(conf.field, getattr(prod, conf.field))).lower()
                  for t in ("dev", "staging", "prod")]
        row = f"| `{conf.key}` | `{conf.group}` | `{conf.field}` | {values[0]} | {values[1]} | {values[2]} | {conf.why} |"
        assert row in text, row
    for rule in ("break_glass", "ci_egress", "compute_plane_egress", "BLOCK wins", "INVALID_STATE", "Invalid keys",
                 "-conf-legacy-init-scripts", "`ci-egress` (the deployer's own range"):
        assert rule in text


def test_the_program_warns_when_ip_lists_guard_a_private_workspace(staging: Recording, dev: Recording) -> None:
    assert any(level == "warning" and "IP access lists only see public traffic" in msg for level, msg in staging.diagnostics)
    assert not any("IP access lists" in msg for _, msg in dev.diagnostics)


def test_an_account_id_that_is_not_a_guid_stops_the_program_before_any_resource(dev_with_config: Recording) -> None:
    from brickwall.engine import ProgramError

    with pytest.raises(ProgramError) as caught:
        project.run("dev", extra_config={"brickwall:databricksAccountId": "my-account"})
    assert "databricksAccountId: 'my-account' is not a Databricks account id (a GUID" in str(caught.value)
    assert not [r for r in caught.value.registrations if r.custom]
    rec = dev_with_config
    assert rec.one("pulumi:providers:databricks", "dev-databricks-account").inputs["accountId"] == \
        "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"


def test_access_control_waits_for_the_metastore_assignment(prod: Recording) -> None:
    """Identity federation and disabling legacy access need the workspace on its Unity Catalog metastore: with a
    metastore in the spec, every access-control resource is created after the assignment."""
    [assignment] = prod.of_type(D + "metastoreAssignment:MetastoreAssignment")
    access = [r for r in prod.registrations if r.custom and "WorkspaceAccessControl" in r.parent]
    assert {D + "mwsPermissionAssignment:MwsPermissionAssignment", D + "disableLegacyAccessSetting:DisableLegacyAccessSetting"} \
        <= {r.type for r in access}
    for reg in access:
        assert assignment.urn in reg.dependencies, reg.urn
