"""Serverless connectivity and inter-node encryption: the NCC bound to the workspace with one private endpoint rule per
storage target and sub-resource, the metastore assignment, all through the account provider; Azure VNet encryption on
prod's workspace VNet and the supported-size table it relies on."""

from __future__ import annotations

import re
from typing import Any

import pytest

import stacks
from brickwall.engine import Recording, Registration, record
from components.planning.environment import LAKE_TARGET, WORKSPACE_STORAGE_TARGET
from components.planning.naming import ncc_name
from components.planning.vnet_encryption import SUPPORTED_SERIES, series_of, supports_vnet_encryption, unsupported_sizes
from components.serverless import STORAGE_GROUP_IDS, ServerlessConnectivity, ServerlessConnectivityArgs, StorageTarget
from components.spec import EnvironmentSpec

NCC = "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig"
RULE = "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule"
BINDING = "databricks:index/mwsNccBinding:MwsNccBinding"
METASTORE = "databricks:index/metastoreAssignment:MetastoreAssignment"
VNET = "azure-native:network:VirtualNetwork"
ACCOUNT_TYPES = (NCC, RULE, BINDING, METASTORE)


@pytest.fixture(scope="module")
def prod_spec() -> EnvironmentSpec:
    return stacks.load("prod")


def account_provider(rec: Recording, spec: EnvironmentSpec) -> Registration:
    return rec.one("pulumi:providers:databricks", f"{spec.name}-databricks-account")


def workspace_vnet(rec: Recording, spec: EnvironmentSpec) -> Registration:
    (vnet,) = [v for v in rec.of_type(VNET) if v.inputs["virtualNetworkName"] == spec.names.virtual_network]
    return vnet


def test_prod_binds_an_ncc_of_its_region_to_the_workspace(prod: Recording, prod_spec: EnvironmentSpec) -> None:
    ncc = prod.one(NCC)
    assert ncc.inputs == {"name": ncc_name(prod_spec.naming.prefix, prod_spec.name), "region": prod_spec.region}
    workspace = prod.one("azure-native:databricks:Workspace", f"{prod_spec.name}-workspace-workspace")
    binding = prod.one(BINDING)
    # The binding names the NCC's own id (an account API output) and the workspace's numeric id, and waits for both.
    ncc_id = next(r.inputs["networkConnectivityConfigId"] for r in prod.of_type(RULE))
    assert re.fullmatch(r"[0-9a-f-]{36}", ncc_id)
    assert binding.inputs == {"networkConnectivityConfigId": ncc_id, "workspaceId": prod.stack_outputs["workspaceId"]}
    assert {ncc.urn, workspace.urn} <= set(binding.dependencies)


def test_one_rule_per_storage_target_and_sub_resource(prod: Recording, prod_spec: EnvironmentSpec) -> None:
    names = prod_spec.names
    lake = prod.one("azure-native:storage:StorageAccount", f"{prod_spec.name}-data-lake")
    workspace_storage = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{names.managed_resource_group}"
                         f"/providers/Microsoft.Storage/storageAccounts/{names.workspace_storage_account}")
    lake_id = (f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{names.resource_group}"
               f"/providers/Microsoft.Storage/storageAccounts/{lake.inputs['accountName']}")
    rules = prod.of_type(RULE)
    assert sorted((r.inputs["resourceId"], r.inputs["groupId"]) for r in rules) == sorted(
        (target, group) for target in (workspace_storage, lake_id) for group in STORAGE_GROUP_IDS)
    assert set(STORAGE_GROUP_IDS) == {"dfs", "blob"}
    ncc = prod.one(NCC)
    for rule in rules:
        assert ncc.urn in rule.dependencies
        assert "domainNames" not in rule.inputs  # group ids and domain names conflict (provider docs)
    # The lake rules wait for the lake they name.
    assert all(lake.urn in r.dependencies for r in rules if r.inputs["resourceId"] == lake_id)


def test_every_account_level_resource_goes_through_the_account_provider(prod: Recording, prod_spec: EnvironmentSpec) -> None:
    account = account_provider(prod, prod_spec)
    component = prod.one("brickwall:serverless:ServerlessConnectivity")
    resources = [r for r in prod.registrations if r.type in ACCOUNT_TYPES]
    assert {r.type for r in resources} == set(ACCOUNT_TYPES)
    for reg in resources:
        assert reg.provider.startswith(account.urn + "::"), reg.urn
        assert reg.parent == component.urn, reg.urn
    # The binding and the assignment go with the workspace; the NCC and its rules are the account's and outlive it.
    workspace = prod.one("azure-native:databricks:Workspace", f"{prod_spec.name}-workspace-workspace")
    for reg in resources:
        assert reg.deleted_with == (workspace.urn if reg.type in (BINDING, METASTORE) else ""), reg.urn


def test_metastore_is_assigned_by_id_through_the_account_api(prod: Recording, prod_spec: EnvironmentSpec) -> None:
    assignment = prod.one(METASTORE)
    assert assignment.inputs == {"metastoreId": prod_spec.unity_catalog.metastore_id, "workspaceId": prod.stack_outputs["workspaceId"],
                                 "api": "account"}


def test_pending_endpoints_are_a_stack_output_naming_what_to_approve(prod: Recording) -> None:
    approvals = prod.stack_outputs["serverlessEndpointApprovals"]
    rules = prod.of_type(RULE)
    assert sorted((a["storageAccountId"], a["subResource"]) for a in approvals) == sorted(
        (r.inputs["resourceId"], r.inputs["groupId"]) for r in rules)
    for approval in approvals:
        assert approval["connectionState"] == "PENDING"
        assert approval["privateEndpointName"].startswith("databricks-")


def test_dev_has_no_ncc_no_metastore_and_no_vnet_encryption(dev: Recording) -> None:
    spec = stacks.load("dev")
    assert not any(r.type in ACCOUNT_TYPES for r in dev.registrations)
    assert "serverlessEndpointApprovals" not in dev.stack_outputs
    assert "encryption" not in workspace_vnet(dev, spec).inputs


def test_prod_vnet_is_encrypted_and_its_policies_admit_only_supported_sizes(prod: Recording, prod_spec: EnvironmentSpec) -> None:
    assert workspace_vnet(prod, prod_spec).inputs["encryption"] == {"enabled": True, "enforcement": "AllowUnencrypted"}
    for policy in prod_spec.access.cluster_policies:
        assert unsupported_sizes(policy.node_types) == []
    # The transit VNet holds only private endpoints and the jump host: no cluster traffic to encrypt there.
    transit = [v for v in prod.of_type(VNET) if v.inputs["virtualNetworkName"] != prod_spec.names.virtual_network]
    assert transit and all("encryption" not in v.inputs for v in transit)


def _spec(stack: str, ncc: dict[str, Any]) -> EnvironmentSpec:
    data = stacks.load(stack).model_dump(mode="json")
    data["serverless"] = {"network_connectivity": ncc}
    return EnvironmentSpec.model_validate(data)


def test_the_plan_names_the_ncc_and_its_storage_targets() -> None:
    """The environment plan decides the NCC's name and targets (components/spec/plan.py); the environment wires them."""
    assert (stacks.load("prod").plan.serverless_targets, stacks.load("dev").plan.serverless_targets) == (
        (WORKSPACE_STORAGE_TARGET, LAKE_TARGET), ())
    # dev has no lake: the NCC reaches the workspace storage only, whatever `lake` says.
    assert not stacks.load("dev").plan.parts.lake
    assert _spec("dev", {"enabled": True, "lake": True}).plan.serverless_targets == (WORKSPACE_STORAGE_TARGET,)
    without_lake = _spec("prod", {"enabled": True, "lake": False, "name": "prod_ncc-1"}).plan
    assert (without_lake.ncc_name, without_lake.serverless_targets) == ("prod_ncc-1", (WORKSPACE_STORAGE_TARGET,))
    assert _spec("prod", {"enabled": True, "workspace_storage": False}).plan.serverless_targets == (LAKE_TARGET,)
    assert _spec("prod", {"enabled": False}).plan.serverless_targets == ()


def test_the_component_makes_one_rule_per_target_and_sub_resource_through_the_account_provider() -> None:
    """ServerlessConnectivity on its own under the mock runtime: an NCC with one target and no metastore."""
    import pulumi
    import pulumi_databricks as databricks

    storage = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/dbstorage"

    def program() -> None:
        account = databricks.Provider("account", host="https://accounts.azuredatabricks.net", account_id="a")
        workspace = pulumi.CustomResource("test:index:Workspace", "w")
        ServerlessConnectivity("s", ServerlessConnectivityArgs(
            account_provider=account, workspace_id="123", workspace=workspace, region="westeurope",
            ncc_name="s_ncc-1", targets=(StorageTarget(WORKSPACE_STORAGE_TARGET, storage),)))

    rec = record(program, project="brickwall", stack="t")
    assert rec.one(NCC).inputs == {"name": "s_ncc-1", "region": "westeurope"}
    rules = rec.of_type(RULE)
    assert sorted((r.name, r.inputs["groupId"], r.inputs["resourceId"]) for r in rules) == [
        (f"s-{WORKSPACE_STORAGE_TARGET}-{group}", group, storage) for group in sorted(STORAGE_GROUP_IDS)]
    assert rec.one(BINDING).inputs["workspaceId"] == "123"
    provider = rec.one("pulumi:providers:databricks", "account").urn
    assert all(r.provider.startswith(provider) for r in (rec.one(NCC), rec.one(BINDING), *rules))
    assert not rec.of_type(METASTORE)


# ---------- the supported-size table (components/planning/vnet_encryption.py) ----------

@pytest.mark.parametrize("size", ["Standard_D4ds_v5", "Standard_D8ds_v5", "Standard_E8ds_v5", "Standard_D16s_v5", "Standard_D4_v4",
                                  "Standard_D8as_v4", "Standard_D4lds_v5", "Standard_D8ads_v5", "Standard_D4ads_v6",
                                  "Standard_D4alds_v6", "Standard_D4s_v6", "Standard_E16as_v6", "Standard_E4-2ds_v5",
                                  "Standard_L8s_v3", "Standard_M64ms_v2", "Standard_M192idms_v2", "Standard_M48ds_1_v3",
                                  "Standard_F8als_v6", "Standard_F8ams_v6", "Standard_F8as_v6"])
def test_sizes_of_documented_series_are_supported(size: str) -> None:
    assert supports_vnet_encryption(size)


@pytest.mark.parametrize("size", ["Standard_DS3_v2", "Standard_D4s_v3", "Standard_E8s_v3", "Standard_F8s_v2", "Standard_D4ds_v6",
                                  "Standard_D4_v6", "Standard_NC6s_v3", "Standard_L8s_v2", "Standard_B2s", "Standard_D4pds_v5",
                                  "Standard_E4ds_v7", "d4ds_v5", "Standard_D4ds_v5 "])
def test_sizes_outside_the_documented_series_are_not(size: str) -> None:
    assert not supports_vnet_encryption(size)
    assert unsupported_sizes(["Standard_D4ds_v5", size]) == [size]


def test_each_row_matches_its_documented_series_names() -> None:
    """Every simple row ("Ddv5 and Ddsv5") holds exactly the feature letters its documented names spell."""
    for series in SUPPORTED_SERIES:
        if series.family == "M":
            continue  # the M rows cover memory tiers the names do not spell (Mv2 sizes are M<n>ms_v2 and M<n>s_v2)
        names = [n.strip() for n in series.documented.split(" and ")]
        features = {re.fullmatch(rf"{series.family}([a-zA-Z]*)v{series.generation}", n).group(1).lower()  # type: ignore[union-attr]
                    for n in names}
        assert features == set(series.features), series
        for feature in features:
            assert series_of(f"Standard_{series.family}8{feature}_v{series.generation}") == series


@pytest.mark.parametrize(("prefix", "environment"), [("bw", "prod"), ("abcdef", "abcdefghijkl"), ("p1", "a-b-c-d-e-f")])
def test_default_ncc_name_fits_databricks_rule(prefix: str, environment: str) -> None:
    """Any spec's default NCC name (prefix up to 6, environment up to 12 characters) matches ^[0-9a-zA-Z-_]{3,30}$."""
    assert re.fullmatch(r"[0-9a-zA-Z_-]{3,30}", ncc_name(prefix, environment))
