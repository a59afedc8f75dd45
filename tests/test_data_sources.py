"""Data sources on the recorded registrations: the data lake, its private endpoints and DNS, the access connector's
least role, Azure SQL with Entra-only authentication, and protection per tier.

Besides the stacks (staging: lake; prod: lake and SQL; dev: neither), two variants run once per session:
- `dev_data`: dev with a lake and SQL. dev has no workspace-storage endpoints, so DataSources makes its own zones,
  and dev protects nothing.
- `existing_lake`: staging reaching an existing lake by id: only endpoints, the connector and its roles.
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import Any

import pulumi
import pytest
import yaml

import stacks
from brickwall import project
from brickwall.engine import Recording, Registration, record
from components.planning import data_sources as planning
from components.spec import EnvironmentSpec

T = "azure-native:"
SA, BLOB_SERVICE, CONTAINER = T + "storage:StorageAccount", T + "storage:BlobServiceProperties", T + "storage:BlobContainer"
SQL_SERVER, SQL_DB = T + "sql:Server", T + "sql:Database"
ROLE, CONNECTOR = T + "authorization:RoleAssignment", T + "databricks:AccessConnector"
PE, ZONE, LINK, ZONE_GROUP = (T + "network:PrivateEndpoint", T + "privatedns:PrivateZone", T + "privatedns:VirtualNetworkLink",
                              T + "network:PrivateDnsZoneGroup")
WS = T + "databricks:Workspace"
COMPONENT = "brickwall:data:DataSources"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
EXISTING_SUB = "11111111-2222-3333-4444-555555555555"
EXISTING_LAKE = f"/subscriptions/{EXISTING_SUB}/resourceGroups/rg-lake/providers/Microsoft.Storage/storageAccounts/corplake01"
CONTRIBUTOR, READER = "ba92f5b4-2d11-453d-a403-e96b0029c9fe", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
ADMIN_OID = "2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f801"


def _variant(tmp_path_factory: pytest.TempPathFactory, stack: str, edit: dict[str, Any]) -> tuple[Recording, EnvironmentSpec]:
    data = copy.deepcopy(stacks.load(stack).model_dump(mode="json"))
    data["data"] = edit
    path = tmp_path_factory.mktemp(f"{stack}-data") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return project.run(stack, spec_file=path), stacks.load_file(path)


@pytest.fixture(scope="session")
def dev_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    return _variant(tmp_path_factory, "dev", {
        "lake": {"enabled": True, "containers": ["bronze", "silver"], "databricks_role": "Storage Blob Data Reader",
                 "sku": "Standard_LRS", "soft_delete_days": 3},
        "sql": {"enabled": True, "entra_admin_group": "dev-sql-admins", "entra_admin_object_id": ADMIN_OID},
    })


@pytest.fixture(scope="session")
def existing_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    return _variant(tmp_path_factory, "staging", {"lake": {"enabled": True, "existing_storage_account_id": EXISTING_LAKE}})


def data_of(rec: Recording) -> list[Registration]:
    """Everything the DataSources component registered."""
    component = rec.one(COMPONENT)
    return [r for r in rec.registrations if r.parent == component.urn]


def own(rec: Recording, type_: str) -> list[Registration]:
    return [r for r in data_of(rec) if r.type == type_]


def arm(rg: str, rest: str) -> str:
    return f"{SUB}/resourceGroups/{rg}/providers/{rest}"


def lake_id(spec: EnvironmentSpec) -> str:
    return arm(spec.names.resource_group, f"Microsoft.Storage/storageAccounts/{spec.names.data_lake_storage_account}")


# --- which stacks have what ----------------------------------------------------------------------------------


def test_tiers_enable_what_their_specs_ask(dev: Recording, staging: Recording, prod: Recording) -> None:
    assert dev.of_type(COMPONENT) == [] and dev.of_type(SA) == [] and dev.of_type(SQL_SERVER) == []
    assert [r.inputs["accountName"] for r in own(staging, SA)] == [stacks.load("staging").names.data_lake_storage_account]
    assert own(staging, SQL_SERVER) == []
    assert [r.inputs["accountName"] for r in own(prod, SA)] == [stacks.load("prod").names.data_lake_storage_account]
    assert [r.inputs["serverName"] for r in own(prod, SQL_SERVER)] == [stacks.load("prod").names.sql_server]
    # The component hangs below the environment and uses the one explicit azure-native provider.
    env = prod.one("brickwall:environment:SecureDatabricksEnvironment")
    assert prod.one(COMPONENT).parent == env.urn
    provider = prod.one("pulumi:providers:azure-native", "prod-azure").urn
    assert all(r.provider.startswith(provider + "::") for r in data_of(prod) if r.type.startswith(T))


# --- the lake account ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_lake_account_is_private_entra_only_and_hardened(stack: str, staging: Recording, prod: Recording) -> None:
    rec, spec = {"staging": staging, "prod": prod}[stack], stacks.load(stack)
    account = rec.one(SA, f"{stack}-data-lake")
    i = account.inputs
    assert i["accountName"] == spec.names.data_lake_storage_account
    assert i["resourceGroupName"] == spec.names.resource_group
    assert (i["kind"], i["sku"], i["isHnsEnabled"]) == ("StorageV2", {"name": spec.data.lake.sku}, True)
    assert i["publicNetworkAccess"] == "Disabled"
    # Default deny with no bypass and no rules: the public endpoint admits nothing even if it were enabled.
    assert i["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "None", "ipRules": [], "virtualNetworkRules": []}
    assert "resourceAccessRules" not in i["networkRuleSet"]
    assert i["allowSharedKeyAccess"] is False and i["defaultToOAuthAuthentication"] is True
    assert i["minimumTlsVersion"] == "TLS1_2" and i["enableHttpsTrafficOnly"] is True
    assert i["allowBlobPublicAccess"] is False and i["allowCrossTenantReplication"] is False
    assert i["allowedCopyScope"] == "PrivateLink"
    assert i["isSftpEnabled"] is False and i["isLocalUserEnabled"] is False
    assert i["encryption"]["requireInfrastructureEncryption"] is True
    assert i["encryption"]["keySource"] == "Microsoft.Storage"
    assert i["encryption"]["services"]["blob"] == {"enabled": True, "keyType": "Account"}
    assert i["tags"]["data-lake"] == "true" and i["tags"]["environment"] == spec.name
    assert "customDomain" not in i and "sasPolicy" not in i


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_lake_soft_delete_without_versioning_and_private_containers(stack: str, staging: Recording, prod: Recording) -> None:
    rec, spec = {"staging": staging, "prod": prod}[stack], stacks.load(stack)
    service = rec.one(BLOB_SERVICE)
    days = spec.data.lake.soft_delete_days
    assert service.inputs["accountName"] == spec.names.data_lake_storage_account
    assert service.inputs["blobServicesName"] == "default"
    assert service.inputs["deleteRetentionPolicy"] == {"enabled": True, "days": days}
    assert service.inputs["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}
    # Versioning (and change feed, restore) do not exist for hierarchical-namespace accounts: never asked for.
    assert not {"isVersioningEnabled", "changeFeed", "restorePolicy"} & set(service.inputs)
    containers = own(rec, CONTAINER)
    assert sorted(c.inputs["containerName"] for c in containers) == sorted(spec.data.lake.containers)
    for c in containers:
        assert c.inputs["publicAccess"] == "None" and c.inputs["accountName"] == spec.names.data_lake_storage_account


# --- private endpoints and DNS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_lake_endpoints_in_the_workspace_vnet_reuse_the_workspace_storage_zones(stack: str, staging: Recording, prod: Recording) -> None:
    rec, spec = {"staging": staging, "prod": prod}[stack], stacks.load(stack)
    names = spec.names
    subnet = arm(names.resource_group, f"Microsoft.Network/virtualNetworks/{names.virtual_network}/subnets/{names.private_endpoint_subnet}")
    private_link = rec.one("brickwall:network:PrivateLink")
    for group, endpoint_name, zone_name in (("dfs", names.data_lake_dfs_endpoint, "privatelink.dfs.core.windows.net"),
                                            ("blob", names.data_lake_blob_endpoint, "privatelink.blob.core.windows.net")):
        pe = rec.one(PE, f"{stack}-data-lake-{group}-pe")
        assert pe.inputs["privateEndpointName"] == endpoint_name
        assert pe.inputs["subnet"] == {"id": subnet}
        [conn] = pe.inputs["privateLinkServiceConnections"]
        assert conn["groupIds"] == [group] and conn["privateLinkServiceId"] == lake_id(spec)
        zone_group = rec.one(ZONE_GROUP, f"{stack}-data-lake-{group}-dns")
        assert zone_group.inputs["privateEndpointName"] == endpoint_name
        # The zone is PrivateLink's, made for the workspace storage: the data sources make no second one.
        [zone] = [z for z in rec.of_type(ZONE) if z.inputs["privateZoneName"] == zone_name]
        assert zone.parent == private_link.urn
        assert [c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]] == [
            arm(names.resource_group, f"Microsoft.Network/privateDnsZones/{zone_name}")]
    assert [z for z in own(rec, ZONE) if z.inputs["privateZoneName"] != "privatelink.database.windows.net"] == []


def test_every_private_zone_name_is_unique_in_its_resource_group(
        rec: Recording, dev_data: tuple[Recording, EnvironmentSpec], existing_lake: tuple[Recording, EnvironmentSpec]) -> None:
    """Two zones of one name in one resource group are the same Azure resource: a second would collide."""
    for recording in (rec, dev_data[0], existing_lake[0]):
        zones = Counter((z.inputs["resourceGroupName"], z.inputs["privateZoneName"]) for z in recording.of_type(ZONE))
        assert [key for key, n in zones.items() if n > 1] == [], recording.stack


def test_without_workspace_storage_endpoints_the_data_sources_make_and_link_their_zones(
        dev_data: tuple[Recording, EnvironmentSpec]) -> None:
    rec, spec = dev_data
    assert not spec.private_link.workspace_storage
    vnet = arm(spec.names.resource_group, f"Microsoft.Network/virtualNetworks/{spec.names.virtual_network}")
    made = {z.inputs["privateZoneName"]: z for z in own(rec, ZONE)}
    assert set(made) == {"privatelink.dfs.core.windows.net", "privatelink.blob.core.windows.net", "privatelink.database.windows.net"}
    links = own(rec, LINK)
    assert sorted(link.inputs["privateZoneName"] for link in links) == sorted(made)
    for link in links:
        assert link.input("virtualNetwork.id") == vnet and link.inputs["registrationEnabled"] is False
    for group, zone_name in (("lake-dfs", "privatelink.dfs.core.windows.net"), ("lake-blob", "privatelink.blob.core.windows.net"),
                             ("sql", "privatelink.database.windows.net")):
        zone_group = rec.one(ZONE_GROUP, f"dev-data-{group}-dns")
        assert [c["privateDnsZoneId"] for c in zone_group.inputs["privateDnsZoneConfigs"]] == [
            arm(spec.names.resource_group, f"Microsoft.Network/privateDnsZones/{zone_name}")]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_data_endpoints_wait_for_nothing_on_the_workspace(stack: str, staging: Recording, prod: Recording) -> None:
    """They target the lake and SQL, not the workspace: no dependency on it, its endpoints or its key grants; and
    the workspace's own endpoint chain does not wait for them."""
    rec = {"staging": staging, "prod": prod}[stack]
    workspace_side = {r.urn for r in rec.registrations if r.type == WS}
    private_link = rec.one("brickwall:network:PrivateLink")
    workspace_side |= {r.urn for r in rec.registrations if r.parent == private_link.urn}
    workspace_side |= {r.urn for r in rec.registrations if r.type == ROLE and r not in data_of(rec)}
    data_endpoints = [r for r in data_of(rec) if r.type in (PE, ZONE_GROUP)]
    assert len(data_endpoints) == (6 if stack == "prod" else 4)
    zone_urns = {z.urn for z in rec.of_type(ZONE)}
    for reg in data_endpoints:
        assert set(reg.dependencies) & workspace_side <= zone_urns, (reg.name, set(reg.dependencies) & workspace_side)
    data_urns = {r.urn for r in data_of(rec)}
    for pe in (r for r in rec.of_type(PE) if r.parent == private_link.urn):
        assert not set(pe.dependencies) & data_urns, pe.name


# --- the access connector and its least role -------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_connector_holds_the_specs_blob_data_role_on_each_container_only(stack: str, staging: Recording, prod: Recording) -> None:
    rec, spec = {"staging": staging, "prod": prod}[stack], stacks.load(stack)
    connector = rec.one(CONNECTOR, f"{stack}-data-lake-access-connector")
    assert connector.inputs["connectorName"] == spec.names.data_lake_access_connector
    assert connector.inputs["identity"] == {"type": "SystemAssigned"}
    roles = own(rec, ROLE)
    assert len(roles) == len(spec.data.lake.containers)
    role_id = planning.BLOB_DATA_ROLES[spec.data.lake.databricks_role]
    assert role_id == CONTRIBUTOR  # staging and prod write to the lake
    containers = {c.inputs["containerName"]: c for c in own(rec, CONTAINER)}
    for container in spec.data.lake.containers:
        role = rec.one(ROLE, f"{stack}-data-lake-{container}-role")
        assert role.inputs["scope"] == f"{lake_id(spec)}/blobServices/default/containers/{container}"
        assert role.inputs["roleDefinitionId"] == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
        assert role.inputs["principalType"] == "ServicePrincipal"
        # The connector's system-assigned identity (the mocks derive it from the connector's id).
        assert role.inputs["principalId"] and connector.urn in role.dependencies
        assert containers[container].urn in role.dependencies  # the scope exists before the assignment
        assert role.inputs["roleAssignmentName"] == planning.role_assignment_name(
            spec.names.data_lake_storage_account, container, spec.data.lake.databricks_role, spec.names.data_lake_access_connector)
    assert len({r.inputs["roleAssignmentName"] for r in roles}) == len(roles)
    assert len({r.inputs["principalId"] for r in roles}) == 1


def test_reader_role_when_the_spec_asks_for_it(dev_data: tuple[Recording, EnvironmentSpec]) -> None:
    rec, _ = dev_data
    assert {r.inputs["roleDefinitionId"].rsplit("/", 1)[1] for r in own(rec, ROLE)} == {READER}
    assert sorted(r.inputs["scope"].rsplit("/", 1)[1] for r in own(rec, ROLE)) == ["bronze", "silver"]


def test_the_pack_allows_exactly_the_roles_the_spec_offers() -> None:
    """The spec's role choice, the planner's GUID table and the policy pack's allowlist are one set."""
    import importlib
    import typing

    from brickwall import check
    from components.spec.data import DataLakeSpec

    check.load_policies()  # puts policies/ on sys.path, as the pack runs
    rules = importlib.import_module("brickwall_rules.data")

    offered = set(typing.get_args(DataLakeSpec.model_fields["databricks_role"].annotation))
    assert offered == set(planning.BLOB_DATA_ROLES)
    assert {v: k for k, v in rules.LAKE_ROLES.items()} == dict(planning.BLOB_DATA_ROLES)
    assert not set(rules.LAKE_ROLES) & set(rules.BROAD_ROLES)


# --- Azure SQL -------------------------------------------------------------------------------------------------


def test_sql_server_is_private_and_entra_only(prod: Recording) -> None:
    spec = stacks.load("prod")
    server = prod.one(SQL_SERVER)
    i = server.inputs
    assert i["serverName"] == spec.names.sql_server and i["version"] == "12.0"
    assert i["publicNetworkAccess"] == "Disabled" and i["minimalTlsVersion"] == "1.2"
    assert i["restrictOutboundNetworkAccess"] == "Enabled"
    assert i["administrators"] == {
        "administratorType": "ActiveDirectory", "azureADOnlyAuthentication": True, "login": spec.data.sql.entra_admin_group,
        "sid": spec.data.sql.entra_admin_object_id, "principalType": "Group",
    }  # no tenantId: the stack config gives none, so Azure takes the subscription's tenant
    database = prod.one(SQL_DB)
    assert database.inputs["serverName"] == spec.names.sql_server
    assert database.inputs["databaseName"] == spec.data.sql.database_name
    assert database.inputs["sku"] == {"name": spec.data.sql.sku}
    # Zone redundant in prod (a General Purpose SKU offers it; tiers.py floor, checkov CKV_AZURE_229).
    assert spec.data.sql.sku.startswith("GP_") and database.inputs["zoneRedundant"] is True
    pe = prod.one(PE, "prod-data-sql-pe")
    [conn] = pe.inputs["privateLinkServiceConnections"]
    assert conn["groupIds"] == ["sqlServer"]
    assert conn["privateLinkServiceId"] == arm(spec.names.resource_group, f"Microsoft.Sql/servers/{spec.names.sql_server}")
    assert pe.inputs["privateEndpointName"] == spec.names.sql_endpoint
    [zone] = [z for z in prod.of_type(ZONE) if z.inputs["privateZoneName"] == "privatelink.database.windows.net"]
    assert zone.inputs["resourceGroupName"] == spec.names.resource_group
    [link] = [lk for lk in prod.of_type(LINK) if lk.inputs["privateZoneName"] == "privatelink.database.windows.net"]
    assert link.input("virtualNetwork.id") == arm(spec.names.resource_group, f"Microsoft.Network/virtualNetworks/{spec.names.virtual_network}")


def test_sql_admin_tenant_comes_from_the_azure_settings() -> None:
    from components.data_sources import DataSources, DataSourcesArgs
    from components.planning.naming import plan_names
    from components.spec.data import SqlDatabaseSpec

    tenant = "5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10"

    def program() -> None:
        DataSources("t", DataSourcesArgs(
            location="westeurope", tags={}, names=plan_names("bw", "t", "westeurope"), resource_group_name="rg",
            vnet_id=arm("rg", "Microsoft.Network/virtualNetworks/v"),
            endpoint_subnet_id=arm("rg", "Microsoft.Network/virtualNetworks/v/subnets/s"), lake=None,
            sql=SqlDatabaseSpec(enabled=True, entra_admin_group="g", entra_admin_object_id=ADMIN_OID),
            zones={}, protect=False, tenant_id=tenant))

    rec = record(program, project="brickwall", stack="t")
    assert rec.one(SQL_SERVER).input("administrators.tenantId") == tenant


def test_no_sql_login_or_password_anywhere(prod: Recording, dev_data: tuple[Recording, EnvironmentSpec]) -> None:
    for recording in (prod, dev_data[0]):
        for reg in data_of(recording):
            flat = repr(reg.inputs).lower()
            assert "password" not in flat and "administratorlogin" not in flat, reg.name
        for reg in recording.of_type(SQL_SERVER):
            assert not {"administratorLogin", "administratorLoginPassword"} & set(reg.inputs)


# --- protection per tier ---------------------------------------------------------------------------------------


def test_data_bearing_resources_are_protected_per_tier(
        staging: Recording, prod: Recording, dev_data: tuple[Recording, EnvironmentSpec]) -> None:
    data_bearing = {SA, SQL_SERVER, SQL_DB}
    for rec, protected in ((staging, True), (prod, True), (dev_data[0], False)):
        regs = data_of(rec)
        bearing = [r for r in regs if r.type in data_bearing]
        assert bearing and all(r.protect is protected and r.retain_on_delete is protected for r in bearing), rec.stack
        # Nothing else the data sources make blocks a replacement (endpoints, roles, containers, zones).
        assert not [r.name for r in regs if r.type not in data_bearing and r.protect], rec.stack
    assert {r.type for r in data_of(prod) if r.protect} == data_bearing
    assert {r.type for r in data_of(staging) if r.protect} == {SA}


# --- an existing lake ------------------------------------------------------------------------------------------


def test_existing_lake_gets_only_endpoints_and_roles(existing_lake: tuple[Recording, EnvironmentSpec]) -> None:
    rec, spec = existing_lake
    assert own(rec, SA) == [] and own(rec, CONTAINER) == [] and own(rec, BLOB_SERVICE) == []
    for group in ("dfs", "blob"):
        pe = rec.one(PE, f"staging-data-lake-{group}-pe")
        [conn] = pe.inputs["privateLinkServiceConnections"]
        assert conn["privateLinkServiceId"] == EXISTING_LAKE and conn["groupIds"] == [group]
        assert rec.one(ZONE_GROUP, f"staging-data-lake-{group}-dns")
    roles = own(rec, ROLE)
    assert sorted(r.inputs["scope"] for r in roles) == sorted(
        f"{EXISTING_LAKE}/blobServices/default/containers/{c}" for c in spec.data.lake.containers)
    # Built-in role definitions are addressed in the lake's own subscription.
    assert {r.inputs["roleDefinitionId"] for r in roles} == {
        f"/subscriptions/{EXISTING_SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"}
    assert not [r for r in data_of(rec) if r.protect]  # nothing data-bearing is ours
    # Staging locks what it created, never the lake it was only given.
    locked = [r.inputs["scope"] for r in rec.of_type("azure-native:authorization:ManagementLockByScope")]
    assert locked and EXISTING_LAKE not in locked


def test_component_attributes_tell_owned_from_existing() -> None:
    """What the locks and audit work reference: `lake_id` either way, `lake`/`owns_lake` only for a created lake."""
    import dataclasses

    from components.data_sources import DataSources, DataSourcesArgs
    from components.planning.naming import plan_names
    from components.spec.data import DataLakeSpec

    seen: dict[str, DataSources] = {}
    ids: dict[str, str] = {}

    def program() -> None:
        for key, lake in (("created", DataLakeSpec(enabled=True)),
                          ("existing", DataLakeSpec(enabled=True, existing_storage_account_id=EXISTING_LAKE))):
            names = dataclasses.replace(
                plan_names("bw", "t", "westeurope"), data_lake_storage_account=f"dl{key}",
                data_lake_access_connector=f"ac-{key}", data_lake_dfs_endpoint=f"pe-{key}-dfs",
                data_lake_blob_endpoint=f"pe-{key}-blob", sql_server=f"sql-{key}", sql_endpoint=f"pe-{key}-sql")
            seen[key] = DataSources(key, DataSourcesArgs(
                location="westeurope", tags={}, names=names, resource_group_name="rg", vnet_id=arm("rg", "Microsoft.Network/virtualNetworks/v"),
                endpoint_subnet_id=arm("rg", "Microsoft.Network/virtualNetworks/v/subnets/s"), lake=lake,
                sql=None, zones={}, protect=True))
            lake_id_output = seen[key].lake_id
            assert lake_id_output is not None
            lake_id_output.apply(lambda v, k=key: ids.setdefault(k, v))

    record(program, project="brickwall", stack="t")
    created, existing = seen["created"], seen["existing"]
    assert created.owns_lake and isinstance(created.lake, pulumi.CustomResource)
    assert not existing.owns_lake and existing.lake is None
    assert created.sql_server is None and created.sql_database is None
    assert set(created.endpoints) == {"lake-dfs", "lake-blob"} and set(created.containers) == {"raw", "curated"}
    assert existing.containers == {} and set(existing.role_assignments) == {"raw", "curated"}
    assert ids == {"existing": EXISTING_LAKE, "created": arm("rg", "Microsoft.Storage/storageAccounts/dlcreated")}


# --- planners --------------------------------------------------------------------------------------------------


def test_role_assignment_names_are_stable_guids_that_change_with_the_role() -> None:
    import uuid

    a = planning.role_assignment_name("DLx", "raw", "Storage Blob Data Contributor", "ac")
    assert a == planning.role_assignment_name("dlx", "raw", "Storage Blob Data Contributor", "ac")  # ARM names are case-blind
    assert uuid.UUID(a).version == 5
    assert a != planning.role_assignment_name("dlx", "raw", "Storage Blob Data Reader", "ac")
    assert a != planning.role_assignment_name("dlx", "curated", "Storage Blob Data Contributor", "ac")
    with pytest.raises(ValueError, match="not an ARM resource id"):
        planning.role_definition_id("storageAccounts/x", "Storage Blob Data Reader")



# --- SQL auditing and threat detection; the facts behind the checkov skips --------------------------------------


def test_sql_auditing_and_threat_detection(prod: Recording) -> None:
    spec = stacks.load("prod")
    auditing = prod.one(T + "sql:ServerBlobAuditingPolicy")
    assert auditing.inputs["serverName"] == spec.names.sql_server
    assert auditing.inputs["blobAuditingPolicyName"] == "default"
    assert auditing.inputs["state"] == "Enabled" and auditing.inputs["isAzureMonitorTargetEnabled"] is True
    assert "storageEndpoint" not in auditing.inputs and "storageAccountAccessKey" not in auditing.inputs
    alerts = prod.one(T + "sql:ServerSecurityAlertPolicy")
    assert alerts.inputs["state"] == "Enabled" and alerts.inputs["disabledAlerts"] == []
    assert alerts.inputs["emailAccountAdmins"] is True
    assert alerts.inputs["emailAddresses"] == list(spec.monitoring.alerts.emails)


def test_checkov_skip_premises_for_data_sources(prod: Recording) -> None:
    """CKV_AZURE_36: every storage account without the AzureServices bypass is a lake with public access Disabled.
    CKV_AZURE_23..27: auditing and threat detection are exported as flat server-level resources (Enabled, Azure
    Monitor target, no disabled alerts, mails to admins and receivers), and prod's Log Analytics keeps 90+ days."""
    from brickwall import export

    template = export.arm_resources(prod)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in template["resources"]:
        by_type.setdefault(resource["type"], []).append(resource)
    accounts = by_type["Microsoft.Storage/storageAccounts"]
    without_bypass = [a for a in accounts if (a["properties"].get("networkAcls") or {}).get("bypass") != "AzureServices"]
    assert without_bypass
    for account in without_bypass:
        props = account["properties"]
        assert props["publicNetworkAccess"] == "Disabled" and props["isHnsEnabled"] is True, account["name"]
        assert props["networkAcls"]["defaultAction"] == "Deny"
    servers = by_type["Microsoft.Sql/servers"]
    auditing = {a["name"].split("/")[0]: a["properties"] for a in by_type["Microsoft.Sql/servers/auditingSettings"]}
    alerts = {a["name"].split("/")[0]: a["properties"] for a in by_type["Microsoft.Sql/servers/securityAlertPolicies"]}
    for server in servers:
        name = server["name"]
        assert auditing[name]["state"] == "Enabled" and auditing[name]["isAzureMonitorTargetEnabled"] is True
        assert alerts[name]["state"] == "Enabled" and alerts[name]["disabledAlerts"] == []
        assert alerts[name]["emailAccountAdmins"] is True and alerts[name]["emailAddresses"]
    [log_analytics] = by_type["Microsoft.OperationalInsights/workspaces"]
    assert log_analytics["properties"]["retentionInDays"] >= 90


def test_dev_database_is_single_zone_and_lake_skus_follow_the_tier(
        prod: Recording, staging: Recording, dev_data: tuple[Recording, EnvironmentSpec]) -> None:
    """dev's tier default keeps its database in one zone and its lake zone-redundant only; staging's lake takes the
    strict default (geo-zone-redundant, checkov CKV_AZURE_206) like prod's."""
    rec, spec = dev_data
    assert spec.data.sql.zone_redundant is False and rec.one(SQL_DB).inputs["zoneRedundant"] is False
    assert stacks.load("dev").data.lake.sku == "Standard_ZRS"  # dev_data itself asks for LRS
    for recording in (staging, prod):
        [lake] = [a for a in recording.of_type(T + "storage:StorageAccount") if a.inputs.get("isHnsEnabled")]
        assert lake.inputs["sku"] == {"name": "Standard_GZRS"}, recording.stack
