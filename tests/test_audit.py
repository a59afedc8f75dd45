"""Audit: the planners (diagnostic categories, alert rules) and every setting the recorded registrations of dev,
staging and prod carry (Log Analytics, diagnostic settings, alerts and their action group, VNet flow logs, the SIEM
export)."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import stacks
from brickwall import planfile, project
from brickwall.engine import Recording, Registration, record
from components.planning import diagnostics
from components.planning.alerts import LOGIN_ACTIONS, alert_rules, iso_minutes
from components.spec import EnvironmentSpec
from components.spec.audit import ALERT_WINDOWS_MINUTES, AlertSpec, AlertsSpec

T = "azure-native:"
LA, DIAG = T + "operationalinsights:Workspace", T + "monitor:DiagnosticSetting"
RULE, GROUP = T + "monitor:ScheduledQueryRule", T + "monitor:ActionGroup"
FLOW, STORAGE, EH_NS, EH, EXPORT = (T + "network:FlowLog", T + "storage:StorageAccount", T + "eventhub:Namespace", T + "eventhub:EventHub",
                                    T + "operationalinsights:DataExport")
IDENTITY, ROLE = T + "managedidentity:UserAssignedIdentity", T + "authorization:RoleAssignment"
EH_RULES = T + "eventhub:NamespaceNetworkRuleSet"
SCOPE, SCOPED = T + "monitor:PrivateLinkScope", T + "monitor:PrivateLinkScopedResource"
PE, ZONE, LINK, ZONE_GROUP = (T + "network:PrivateEndpoint", T + "privatedns:PrivateZone", T + "privatedns:VirtualNetworkLink",
                              T + "network:PrivateDnsZoneGroup")
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
ALL_KEYS = ("failed_auth", "ip_access_denied", "unexpected_country", "human_token_creation", "denied_flows", "ingress_errors", "ingress_volume")


def rec_of(name: str, dev: Recording, staging: Recording, prod: Recording) -> Recording:
    return {"dev": dev, "staging": staging, "prod": prod}[name]


# --- planners ------------------------------------------------------------------------------------------------


def test_databricks_categories_are_the_documented_set_with_their_tables() -> None:
    cats = diagnostics.categories(diagnostics.DATABRICKS)
    # The categories the issue names, and the rest of the documented list.
    assert {"accounts", "clusters", "jobs", "notebook", "secrets", "sqlPermissions", "workspace", "ssh", "unityCatalog", "dbfs",
            "instancePools", "databrickssql", "genie", "globalInitScripts", "iamRole", "webTerminal", "clusterLibraries",
            "RemoteHistoryService", "capsule8Dataplane", "clamAVScan"} <= set(cats)
    assert len(cats) == len(set(cats)) == 30
    assert all(diagnostics.DATABRICKS_TABLES[c].startswith("Databricks") for c in cats)
    assert diagnostics.DATABRICKS_TABLES["accounts"] == "DatabricksAccounts"
    assert diagnostics.DATABRICKS_TABLES["sqlanalytics"] == "DatabricksSQL"


def test_other_targets_and_unknown_kind() -> None:
    assert "kube-audit-admin" in diagnostics.categories(diagnostics.AKS) and "kube-audit" not in diagnostics.categories(diagnostics.AKS)
    assert diagnostics.categories(diagnostics.KEY_VAULT) == ("AuditEvent",)
    assert set(diagnostics.categories(diagnostics.STORAGE_BLOB)) == {"StorageRead", "StorageWrite", "StorageDelete"}
    with pytest.raises(ValueError, match="unknown diagnostic target kind 'sql'"):
        diagnostics.categories("sql")


def test_export_tables() -> None:
    assert diagnostics.export_tables((), flow_logs=False, container_logs=False) == ()
    tables = diagnostics.export_tables((diagnostics.DATABRICKS, diagnostics.KEY_VAULT), flow_logs=True, container_logs=True)
    assert tables == tuple(sorted(tables)) and len(set(tables)) == len(tables)
    assert {"DatabricksAccounts", "AZKVAuditLogs", "NTANetAnalytics", "ContainerLogV2"} <= set(tables)
    assert "AKSAuditAdmin" not in tables


def test_iso_minutes() -> None:
    assert [iso_minutes(m) for m in (5, 15, 45, 60, 120, 1440, 2880)] == ["PT5M", "PT15M", "PT45M", "PT1H", "PT2H", "P1D", "P2D"]


def _rules(alerts: AlertsSpec, tier: str = "prod", ingress: str | None = "ingress", flow_logs: bool = True) -> dict[str, object]:
    return {r.key: r for r in alert_rules(alerts, tier=tier, ingress_namespace=ingress, flow_logs=flow_logs)}


def test_every_rule_queries_its_table() -> None:
    rules = alert_rules(AlertsSpec(emails=("a@b.io",), allowed_countries=("Netherlands", "Cote d'Ivoire")),
                        tier="prod", ingress_namespace="edge", flow_logs=True)
    by = {r.key: r for r in rules}
    assert tuple(by) == ALL_KEYS
    assert by["failed_auth"].query.startswith("DatabricksAccounts") and "statusCode" in by["failed_auth"].query
    assert all(a in by["failed_auth"].query for a in LOGIN_ACTIONS) and "between (400 .. 499)" in by["failed_auth"].query
    assert '"IpAccessDenied"' in by["ip_access_denied"].query
    assert "geo_info_from_ip_address(SourceIPAddress).country" in by["unexpected_country"].query
    assert '!in~ ("Netherlands", "Cote d\'Ivoire")' in by["unexpected_country"].query
    assert "ipv4_is_private" in by["unexpected_country"].query
    assert '"generateDbToken"' in by["human_token_creation"].query and 'contains "@"' in by["human_token_creation"].query
    assert by["denied_flows"].query.startswith("NTANetAnalytics") and 'FlowStatus == "Denied"' in by["denied_flows"].query
    assert by["denied_flows"].measure == "DeniedFlows" and by["denied_flows"].time_aggregation == "Total"
    for key in ("ingress_errors", "ingress_volume"):
        assert by[key].query.startswith("ContainerLogV2") and 'PodNamespace == "edge"' in by[key].query
        assert "DownstreamStatus" in by[key].query and by[key].time_aggregation == "Count"
    assert "Status in (401, 403) or Status >= 500" in by["ingress_errors"].query
    assert "Status in (401, 403)" not in by["ingress_volume"].query
    for rule in rules:
        assert rule.tables and all(t in rule.query for t in rule.tables)


def test_rules_follow_tier_and_topology() -> None:
    alerts = AlertsSpec(emails=("a@b.io",))
    assert alert_rules(alerts.model_copy(update={"enabled": False}), tier="prod", ingress_namespace="i", flow_logs=True) == ()
    # No allowed countries: no origin rule. Not prod: no token rule. No AKS: no ingress rules. No flow logs: no flow rule.
    assert tuple(_rules(alerts, tier="staging", ingress=None, flow_logs=False)) == ("failed_auth", "ip_access_denied")
    assert "human_token_creation" in _rules(alerts, tier="prod") and "human_token_creation" not in _rules(alerts, tier="dev")
    assert "unexpected_country" in _rules(alerts.model_copy(update={"allowed_countries": ("Germany",)}))


alert_specs = st.builds(AlertSpec, threshold=st.integers(1, 10**6), window_minutes=st.sampled_from(ALERT_WINDOWS_MINUTES),
                        severity=st.integers(0, 4))


@given(failed=alert_specs, denied=alert_specs, errors=alert_specs, token=alert_specs)
def test_thresholds_windows_and_severities_come_from_the_spec(failed: AlertSpec, denied: AlertSpec, errors: AlertSpec,
                                                                token: AlertSpec) -> None:
    alerts = AlertsSpec(emails=("a@b.io",), failed_auth=failed, denied_flows=denied, ingress_errors=errors, human_token_creation=token)
    rules = alert_rules(alerts, tier="prod", ingress_namespace="ingress", flow_logs=True)
    by = {r.key: r for r in rules}
    for key, spec in (("failed_auth", failed), ("denied_flows", denied), ("ingress_errors", errors), ("human_token_creation", token)):
        rule = by[key]
        assert (rule.threshold, rule.window_minutes, rule.severity) == (spec.threshold, spec.window_minutes, spec.severity)
        # A rule runs at least once per window and never less often than every 15 minutes.
        assert rule.frequency_minutes <= rule.window_minutes and rule.frequency_minutes <= 15
        assert rule.window_minutes % rule.frequency_minutes == 0


# --- recordings: Log Analytics -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_log_analytics_always_exists_with_the_spec_retention(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec, spec = rec_of(name, dev, staging, prod), stacks.load(name)
    la = rec.one(LA)
    assert la.name == f"{name}-log-analytics"  # the logical name from before AuditLogging: no churn
    assert la.parent.endswith(f"brickwall:audit:AuditLogging::{name}-audit")
    assert la.inputs["workspaceName"] == spec.names.log_analytics
    assert la.inputs["retentionInDays"] == spec.monitoring.log_retention_days == {"dev": 30, "staging": 90, "prod": 365}[name]
    assert la.inputs["retentionInDays"] >= diagnostics.MIN_LOG_RETENTION_DAYS[name]
    assert la.inputs["sku"] == {"name": "PerGB2018"}
    assert (la.protect, la.retain_on_delete) == ((True, True) if name != "dev" else (False, False))


def test_aks_sends_container_logs_to_the_audit_workspace(prod: Recording) -> None:
    la = prod.one(LA)
    aks = prod.one(T + "containerservice:ManagedCluster")
    assert aks.inputs["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"] == la_id(la)


def la_id(la: Registration) -> str:
    return f"{SUB}/resourceGroups/{la.inputs['resourceGroupName']}/providers/Microsoft.OperationalInsights/workspaces/{la.inputs['workspaceName']}"


# --- recordings: diagnostic settings -------------------------------------------------------------------------

EXPECTED_TARGETS = {
    "dev": {"workspace"},
    "staging": {"workspace", "key-vault", "lake-blob"},
    "prod": {"workspace", "aks", "key-vault", "lake-blob", "sql-audit"},
}
KINDS = {"workspace": diagnostics.DATABRICKS, "aks": diagnostics.AKS, "key-vault": diagnostics.KEY_VAULT, "lake-blob": diagnostics.STORAGE_BLOB,
         "sql-audit": diagnostics.SQL_AUDIT}


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_diagnostic_settings_cover_every_audited_resource(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec, spec = rec_of(name, dev, staging, prod), stacks.load(name)
    settings = {r.name.removeprefix(f"{name}-diagnostics-"): r for r in rec.of_type(DIAG)}
    assert set(settings) == EXPECTED_TARGETS[name]
    workspace = rec.one(T + "databricks:Workspace", f"{name}-workspace-workspace")
    rg = spec.names.resource_group
    uris = {
        "workspace": f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{spec.names.workspace}",
        "aks": f"{SUB}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{spec.names.aks_cluster}",
        "key-vault": f"{SUB}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{spec.names.key_vault}",
        "lake-blob": f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{spec.names.data_lake_storage_account}"
                     "/blobServices/default",
        # SQL server auditing (to Azure Monitor) reaches Log Analytics through the master database's setting.
        "sql-audit": f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Sql/servers/{spec.names.sql_server}/databases/master",
    }
    for key, setting in settings.items():
        assert setting.inputs["resourceUri"] == uris[key], key
        assert setting.inputs["workspaceId"] == la_id(rec.one(LA))
        assert setting.inputs["name"] == diagnostics.SETTING_NAME
        # SQL audit events have no resource-specific table; they land in AzureDiagnostics.
        assert setting.inputs.get("logAnalyticsDestinationType") == (None if key == "sql-audit" else "Dedicated")
        logs = setting.inputs["logs"]
        assert [entry["category"] for entry in logs] == list(diagnostics.categories(KINDS[key]))
        assert all(entry["enabled"] is True and "categoryGroup" not in entry for entry in logs)
        assert setting.parent.endswith(f"brickwall:audit:AuditDiagnostics::{name}-diagnostics")
    assert workspace.urn in settings["workspace"].dependencies


def test_prod_workspace_sends_every_named_audit_category(prod: Recording) -> None:
    logs = prod.one(DIAG, "prod-diagnostics-workspace").inputs["logs"]
    categories = {entry["category"] for entry in logs}
    assert {"accounts", "clusters", "jobs", "notebook", "secrets", "sqlPermissions", "workspace", "ssh", "unityCatalog"} <= categories


# --- recordings: alerts --------------------------------------------------------------------------------------

EXPECTED_RULES = {
    "dev": (),
    "staging": ("failed_auth", "ip_access_denied", "denied_flows"),
    "prod": ALL_KEYS,
}


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_alert_rules_and_action_group(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec, spec = rec_of(name, dev, staging, prod), stacks.load(name)
    alerts = spec.monitoring.alerts
    rules = {r.name.removeprefix(f"{name}-audit-alert-").replace("-", "_"): r for r in rec.of_type(RULE)}
    assert set(rules) == set(EXPECTED_RULES[name])
    groups = rec.of_type(GROUP)
    if not rules:
        assert groups == [] and not alerts.enabled
        return
    group = rec.one(GROUP)
    assert group.inputs["actionGroupName"] == spec.names.action_group
    assert group.inputs["groupShortName"] == spec.names.action_group_short and len(spec.names.action_group_short) <= 12
    assert group.inputs["enabled"] is True and group.inputs["location"] == "Global"
    assert [(r["emailAddress"], r["useCommonAlertSchema"]) for r in group.inputs["emailReceivers"]] == [(e, True) for e in alerts.emails]
    group_id = f"{SUB}/resourceGroups/{spec.names.resource_group}/providers/Microsoft.Insights/actionGroups/{spec.names.action_group}"
    for key, rule in rules.items():
        spec_alert: AlertSpec = getattr(alerts, key)
        inputs = rule.inputs
        assert inputs["kind"] == "LogAlert" and inputs["enabled"] is True
        assert inputs["ruleName"] == f"{spec.names.alert_prefix}-{key.replace('_', '-')}"
        assert inputs["scopes"] == [la_id(rec.one(LA))]
        assert inputs["actions"] == {"actionGroups": [group_id]}
        assert inputs["severity"] == spec_alert.severity
        assert inputs["windowSize"] == iso_minutes(spec_alert.window_minutes)
        assert inputs["evaluationFrequency"] == iso_minutes(min(spec_alert.window_minutes, 15))
        (condition,) = inputs["criteria"]["allOf"]
        assert condition["threshold"] == spec_alert.threshold and condition["operator"] == "GreaterThanOrEqual"
        assert condition["failingPeriods"] == {"numberOfEvaluationPeriods": 1, "minFailingPeriodsToAlert": 1}
        assert condition["timeAggregation"] == ("Total" if key == "denied_flows" else "Count")
        assert condition["query"].strip() == condition["query"]


def test_prod_alert_queries(prod: Recording) -> None:
    spec = stacks.load("prod")
    query = {r.name.removeprefix("prod-audit-alert-"): r.inputs["criteria"]["allOf"][0]["query"] for r in prod.of_type(RULE)}
    assert "DatabricksAccounts" in query["failed-auth"] and "statusCode" in query["failed-auth"]
    assert '!in~ ("Netherlands", "Germany", "Ireland")' in query["unexpected-country"]
    assert f'PodNamespace == "{spec.ingress.namespace}"' in query["ingress-errors"]
    assert query["denied-flows"].startswith("NTANetAnalytics")


def test_staging_has_no_token_or_ingress_rules(staging: Recording) -> None:
    names = {r.name for r in staging.of_type(RULE)}
    assert not any("token" in n or "ingress" in n or "country" in n for n in names)


# --- recordings: flow logs and the SIEM export ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_vnet_flow_logs(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec, spec = rec_of(name, dev, staging, prod), stacks.load(name)
    flow_logs = rec.of_type(FLOW)
    if not spec.monitoring.flow_logs.enabled:
        assert name == "dev" and flow_logs == [] and not [r for r in rec.of_type(STORAGE) if "flow-log" in r.name]
        return
    fl = rec.one(FLOW)
    rg, fls = spec.names.resource_group, spec.monitoring.flow_logs
    assert fl.inputs["flowLogName"] == spec.names.flow_log
    assert fl.inputs["resourceGroupName"] == fls.network_watcher_resource_group == "NetworkWatcherRG"
    assert fl.inputs["networkWatcherName"] == f"NetworkWatcher_{spec.region}"
    assert fl.inputs["targetResourceId"] == f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{spec.names.virtual_network}"
    account_id = f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{spec.names.flow_log_storage_account}"
    assert fl.inputs["storageId"] == account_id
    assert fl.inputs["enabled"] is True
    assert fl.inputs["format"] == {"type": "JSON", "version": 2}
    assert fl.inputs["retentionPolicy"] == {"enabled": True, "days": fls.retention_days}
    analytics = fl.inputs["flowAnalyticsConfiguration"]["networkWatcherFlowAnalyticsConfiguration"]
    assert analytics["enabled"] is True and analytics["trafficAnalyticsInterval"] == fls.traffic_analytics_interval_minutes
    assert analytics["workspaceResourceId"] == la_id(rec.one(LA)) and analytics["workspaceRegion"] == spec.region
    # The flow log writes with its own identity, granted Storage Blob Data Contributor on the account only.
    (identity,) = [r for r in rec.of_type(IDENTITY) if r.inputs["resourceName"] == f"id-{spec.names.flow_log}"]
    identity_id = f"{SUB}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{identity.inputs['resourceName']}"
    assert fl.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    grant = rec.one(ROLE, f"{name}-audit-flow-log-storage-writer")
    assert grant.inputs["scope"] == account_id and grant.inputs["principalType"] == "ServicePrincipal"
    assert grant.inputs["roleDefinitionId"] == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    assert grant.urn in fl.dependencies
    account = rec.one(STORAGE, f"{name}-audit-flow-log-storage")
    assert account.inputs["accountName"] == spec.names.flow_log_storage_account
    assert account.inputs["minimumTlsVersion"] == "TLS1_2" and account.inputs["enableHttpsTrafficOnly"] is True
    assert account.inputs["allowBlobPublicAccess"] is False and account.inputs["allowSharedKeyAccess"] is False
    # No public traffic but the trusted Network Watcher: default deny, no IP or VNet rule, the AzureServices bypass,
    # and public network access left "Enabled" (from selected networks), the one state in which the Network Watcher
    # FAQ says flow logs write to an account behind a firewall (components/planning/audit_network.py).
    assert account.inputs["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [],
                                                "virtualNetworkRules": []}
    assert account.inputs["publicNetworkAccess"] == "Enabled"
    assert account.protect is spec.protection.protect_data


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_siem_export_in_prod_only(name: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec, spec = rec_of(name, dev, staging, prod), stacks.load(name)
    if name != "prod":
        assert not spec.monitoring.siem.event_hub
        assert rec.of_type(EH_NS) == rec.of_type(EH) == rec.of_type(EXPORT) == []
        return
    ns, hub, export = rec.one(EH_NS), rec.one(EH), rec.one(EXPORT)
    assert ns.inputs["namespaceName"] == spec.names.event_hub_namespace
    assert ns.inputs["minimumTlsVersion"] == "1.2" and ns.inputs["disableLocalAuth"] is True
    # No public traffic: public network access Disabled, and the rule set keeps only the trusted-services exception
    # that Log Analytics data export needs to write to it.
    assert ns.inputs["publicNetworkAccess"] == "Disabled"
    rules = rec.one(EH_RULES)
    assert rules.parent == ns.parent and rules.inputs["namespaceName"] == spec.names.event_hub_namespace
    assert {k: rules.inputs[k] for k in ("defaultAction", "publicNetworkAccess", "trustedServiceAccessEnabled", "ipRules",
                                         "virtualNetworkRules")} == {
        "defaultAction": "Deny", "publicNetworkAccess": "Disabled", "trustedServiceAccessEnabled": True, "ipRules": [],
        "virtualNetworkRules": []}
    assert hub.inputs["eventHubName"] == spec.names.event_hub
    assert hub.inputs["partitionCount"] == spec.monitoring.siem.partition_count
    assert hub.inputs["messageRetentionInDays"] == spec.monitoring.siem.message_retention_days
    rg = spec.names.resource_group
    assert export.inputs["resourceId"] == f"{SUB}/resourceGroups/{rg}/providers/Microsoft.EventHub/namespaces/{spec.names.event_hub_namespace}"
    assert export.inputs["eventHubName"] == spec.names.event_hub and export.inputs["enable"] is True
    assert export.inputs["workspaceName"] == spec.names.log_analytics
    assert rules.urn in export.dependencies
    # The SIEM reads through a private endpoint on the namespace in the workspace VNet's endpoint subnet.
    ns_id = export.inputs["resourceId"]
    pe = rec.one(PE, "prod-audit-event-hub-pe")
    assert pe.inputs["privateEndpointName"] == spec.names.event_hub_endpoint
    assert pe.inputs["subnet"] == {"id": endpoint_subnet_id(spec)}
    (connection,) = pe.inputs["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == ns_id and connection["groupIds"] == ["namespace"]
    zone = rec.one(ZONE, "prod-audit-event-hub-zone")
    assert zone.inputs["privateZoneName"] == "privatelink.servicebus.windows.net"
    assert zone_links(rec, zone) == [vnet_id(spec)]
    group = rec.one(ZONE_GROUP, "prod-audit-event-hub-dns")
    assert [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]] == [zone_id(spec, "privatelink.servicebus.windows.net")]
    tables = export.inputs["tableNames"]
    assert tables == list(diagnostics.export_tables(
        (diagnostics.DATABRICKS, diagnostics.AKS, diagnostics.KEY_VAULT, diagnostics.STORAGE_BLOB, diagnostics.SQL_AUDIT),
        flow_logs=True, container_logs=True))
    assert {"DatabricksAccounts", "DatabricksSecrets", "AKSAuditAdmin", "AZKVAuditLogs", "StorageBlobLogs", "NTANetAnalytics",
            "ContainerLogV2"} <= set(tables)


def test_dev_keeps_audit_but_nothing_the_tier_turns_off(dev: Recording) -> None:
    assert dev.of_type(DIAG) and dev.one(LA)
    for type_ in (RULE, GROUP, FLOW, EH_NS, EH, EXPORT, IDENTITY):
        assert dev.of_type(type_) == [], type_


def test_plan_file_holds_no_secret_values_from_audit(prod: Recording) -> None:
    """Nothing audit creates carries a secret input, and the plan file shows none: no SAS keys, no storage keys."""
    plan = planfile.to_plan(prod)
    audit = [r for r in plan["resources"] if "brickwall:audit:" in r["urn"]]
    assert len(audit) >= 20
    text = json.dumps(audit)
    assert "[secret]" not in text
    for word in ("primaryKey", "secondaryKey", "connectionString", "sharedAccessKey", "SharedAccessSignature"):
        assert word not in text


# --- private audit data paths: the Azure Monitor Private Link Scope ----------------------------------------------


def vnet_id(spec: EnvironmentSpec) -> str:
    return f"{SUB}/resourceGroups/{spec.names.resource_group}/providers/Microsoft.Network/virtualNetworks/{spec.names.virtual_network}"


def endpoint_subnet_id(spec: EnvironmentSpec) -> str:
    return f"{vnet_id(spec)}/subnets/{spec.names.private_endpoint_subnet}"


def zone_id(spec: EnvironmentSpec, zone: str) -> str:
    return f"{SUB}/resourceGroups/{spec.names.resource_group}/providers/Microsoft.Network/privateDnsZones/{zone}"


def zone_links(rec: Recording, zone: Registration) -> list[str]:
    """The VNets a private zone (by its registration) is linked to."""
    name = zone.inputs["privateZoneName"]
    return sorted(link.inputs["virtualNetwork"]["id"] for link in rec.of_type(LINK)
                  if link.inputs["privateZoneName"] == name and link.parent == zone.parent
                  and link.name.startswith(zone.name.removesuffix("-zone")))


AMPLS_ZONES = ("privatelink.monitor.azure.com", "privatelink.oms.opinsights.azure.com", "privatelink.ods.opinsights.azure.com",
               "privatelink.agentsvc.azure-automation.net", "privatelink.blob.core.windows.net")


@pytest.mark.parametrize("name", ["staging", "prod"])
def test_log_analytics_goes_through_an_azure_monitor_private_link_scope(name: str, staging: Recording, prod: Recording) -> None:
    rec, spec = {"staging": staging, "prod": prod}[name], stacks.load(name)
    pl, rg = spec.monitoring.private_link, spec.names.resource_group
    assert pl.enabled and not pl.public_ingestion and not pl.public_query
    la = rec.one(LA)
    assert la.inputs["publicNetworkAccessForIngestion"] == la.inputs["publicNetworkAccessForQuery"] == "Disabled"
    scope = rec.one(SCOPE)
    assert scope.inputs["scopeName"] == spec.names.monitor_private_link_scope and scope.inputs["location"] == "global"
    assert scope.inputs["accessModeSettings"] == {"ingestionAccessMode": "PrivateOnly", "queryAccessMode": "PrivateOnly",
                                                  "exclusions": []}
    scope_id = f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Insights/privateLinkScopes/{spec.names.monitor_private_link_scope}"
    scoped = rec.one(SCOPED, f"{name}-monitor-private-link-log-analytics")
    assert scoped.inputs["scopeName"] == spec.names.monitor_private_link_scope and scoped.inputs["linkedResourceId"] == la_id(la)
    pe = rec.one(PE, f"{name}-monitor-private-link-pe")
    assert pe.inputs["privateEndpointName"] == spec.names.monitor_endpoint
    assert pe.inputs["subnet"] == {"id": endpoint_subnet_id(spec)}
    (connection,) = pe.inputs["privateLinkServiceConnections"]
    assert connection["privateLinkServiceId"] == scope_id and connection["groupIds"] == ["azuremonitor"]
    assert scoped.urn in pe.dependencies
    # The endpoint writes its records into the five documented zones, each linked to the workspace VNet (the AKS
    # subnet's network) and no other: AMPLS DNS is shared per network.
    group = rec.one(ZONE_GROUP, f"{name}-monitor-private-link-dns")
    configs = group.inputs["privateDnsZoneConfigs"]
    assert [c["privateDnsZoneId"] for c in configs] == [zone_id(spec, z) for z in AMPLS_ZONES]
    assert [c["name"] for c in configs] == [z.replace(".", "-") for z in AMPLS_ZONES]
    zones = {z.inputs["privateZoneName"]: z for z in rec.of_type(ZONE)
             if z.inputs["resourceGroupName"] == rg and z.inputs["privateZoneName"] in AMPLS_ZONES}
    assert set(zones) == set(AMPLS_ZONES)
    for zone in zones.values():
        assert zone_links(rec, zone) == [vnet_id(spec)], zone.name
    # One zone of a name per resource group: the blob zone is the one PrivateLink made for the workspace storage.
    assert [z.name for z in rec.of_type(ZONE) if z.inputs["privateZoneName"] == "privatelink.blob.core.windows.net"
            and z.inputs["resourceGroupName"] == rg] == [f"{name}-private-link-blob-zone"]


def test_dev_workspace_stays_public_without_a_scope(dev: Recording) -> None:
    spec = stacks.load("dev")
    assert not spec.monitoring.private_link.enabled
    la = dev.one(LA)
    assert la.inputs["publicNetworkAccessForIngestion"] == la.inputs["publicNetworkAccessForQuery"] == "Enabled"
    assert dev.of_type(SCOPE) == dev.of_type(SCOPED) == []
    assert not [p for p in dev.of_type(PE) if "monitor" in p.name]


def test_scope_made_without_another_blob_zone_creates_its_own() -> None:
    """MonitorPrivateLink on its own under the mock runtime, given no blob zone (the environment gives none when neither
    workspace-storage endpoints nor a lake made privatelink.blob.core.windows.net in the resource group): it makes
    that zone too and links it to the workspace VNet; given one, it reuses it (the staging and prod recordings above)."""
    from components.audit import MonitorPrivateLink, MonitorPrivateLinkArgs
    from components.planning.naming import plan_names
    from components.spec.audit import MonitorPrivateLinkSpec

    rg = "rg-bw-t-weu"
    vnet = f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/vnet-bw-t-weu"

    def program() -> None:
        MonitorPrivateLink("t-monitor-private-link", MonitorPrivateLinkArgs(
            location="westeurope", tags={}, names=plan_names("bw", "t", "westeurope"), resource_group_name=rg,
            monitoring=MonitorPrivateLinkSpec(enabled=True),
            log_analytics_id=f"{SUB}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/log-bw-t",
            vnet_id=vnet, endpoint_subnet_id=f"{vnet}/subnets/snet-bw-t-weu-pe"))

    rec = record(program, project="brickwall", stack="t")
    blob = [z for z in rec.of_type(ZONE) if z.inputs["privateZoneName"] == "privatelink.blob.core.windows.net"]
    assert [z.name for z in blob] == ["t-monitor-private-link-blob-core-windows-net-zone"]
    assert zone_links(rec, blob[0]) == [vnet]
    assert sorted(z.inputs["privateZoneName"] for z in rec.of_type(ZONE)) == sorted(AMPLS_ZONES)
    group = rec.one(ZONE_GROUP, "t-monitor-private-link-dns")
    assert [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]] == [
        f"{SUB}/resourceGroups/{rg}/providers/Microsoft.Network/privateDnsZones/{z}" for z in AMPLS_ZONES]


def test_container_insights_reaches_the_scope_endpoint_and_nothing_new_opens(prod: Recording) -> None:
    """The AKS agent sends to Log Analytics through the scope's endpoint: its subnet is in the VNet the five zones are
    linked to, and the endpoint subnet's NSG (the table the component creates) admits the AKS subnet on 443 to the
    scope's endpoint (class `monitor`), not to the SIEM endpoint. A peered network cannot reach either (the SIEM hub's
    AMQP 5671-5672, HTTPS 443 or Kafka 9093), so a SIEM outside the workspace VNet needs its own way in (docs/audit-data-keys.md)."""
    from components.planning.reachability import flow
    from components.spec.models import AKS, ENDPOINTS

    spec = stacks.load("prod")
    plan = spec.network.plan
    (aks_subnet,) = [r for r in prod.of_type(T + "network:Subnet") if r.inputs["subnetName"] == spec.names.aks_subnet]
    assert aks_subnet.inputs["addressPrefix"] == str(plan[AKS])
    assert aks_subnet.inputs["virtualNetworkName"] == spec.names.virtual_network  # the VNet every scope zone is linked to
    inputs = spec.plan.network_inputs(("10.200.0.0/16",))
    nics = {nic.name: nic for nic in inputs.endpoint_nics}
    assert nics["monitor"].endpoint_class == "monitor" and nics["event-hub"].endpoint_class == "siem"
    assert nics["monitor"].subnet == str(plan[ENDPOINTS])
    assert flow(inputs, str(plan[AKS]), nics["monitor"], "443").access == "Allow"
    assert flow(inputs, str(plan[AKS]), nics["event-hub"], "443").access == "Deny"
    for port in ("443", "5671", "5672", "9093"):
        for nic in ("monitor", "event-hub"):
            assert flow(inputs, "10.200.0.0/16", nics[nic], port).access == "Deny", (nic, port)
    # The NSG the endpoint subnet gets is the planner's table: the audit endpoints added no rule to it.
    created = sorted(r.inputs["securityRuleName"] for r in prod.of_type(T + "network:SecurityRule")
                     if r.inputs["networkSecurityGroupName"] == spec.names.endpoint_network_security_group)
    assert created == sorted(r.name for r in inputs.endpoint_rules())


def test_aks_enables_monitoring_after_the_scope_is_in_place(prod: Recording) -> None:
    """Microsoft has the private link configured before Container Insights is enabled on the cluster
    (kubernetes-monitoring-private-link.md): the cluster waits for the scope's endpoint and its DNS records."""
    cluster = prod.one(T + "containerservice:ManagedCluster")
    assert cluster.inputs["addonProfiles"]["omsagent"]["enabled"] is True
    for name in ("prod-monitor-private-link-pe", "prod-monitor-private-link-dns", "prod-monitor-private-link-log-analytics"):
        assert prod.one(PE if name.endswith("-pe") else (ZONE_GROUP if name.endswith("-dns") else SCOPED), name).urn in cluster.dependencies


# --- Container Insights: the data collection rule that writes ContainerLogV2 ---------------------------------

DCR, DCRA, DCE = T + "monitor:DataCollectionRule", T + "monitor:DataCollectionRuleAssociation", T + "monitor:DataCollectionEndpoint"


@pytest.fixture(scope="module")
def dev_with_aks(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Dev (public workspace, no private link scope) running prod's ingress tier on its own AKS cluster."""
    data = stacks.load("dev").model_dump(mode="json")
    prod_data = stacks.load("prod").model_dump(mode="json")
    data["ingress"] = prod_data["ingress"]
    data["network"]["subnets"]["aks_prefix_length"] = prod_data["network"]["subnets"]["aks_prefix_length"]
    path = tmp_path_factory.mktemp("dev-aks") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    rec = project.run("dev", spec_file=path)
    assert not stacks.load_file(path).monitoring.private_link.enabled
    return rec


def cluster_id(rec: Recording) -> str:
    cluster = rec.one(T + "containerservice:ManagedCluster")
    return (f"{SUB}/resourceGroups/{cluster.inputs['resourceGroupName']}/providers/Microsoft.ContainerService/"
            f"managedClusters/{cluster.inputs['resourceName']}")


def test_container_insights_signs_in_with_managed_identity(prod: Recording) -> None:
    # Microsoft's onboarding template: the addon with the workspace and useAADAuth "true" (a string, as addon config is).
    cluster = prod.one(T + "containerservice:ManagedCluster")
    assert cluster.inputs["addonProfiles"]["omsagent"] == {
        "enabled": True, "config": {"logAnalyticsWorkspaceResourceID": la_id(prod.one(LA)), "useAADAuth": "true"}}


@pytest.mark.parametrize("variant", ["prod", "dev-with-aks"])
def test_the_data_collection_rule_writes_container_log_v2_to_the_audit_workspace(
        variant: str, prod: Recording, dev_with_aks: Recording) -> None:
    rec = prod if variant == "prod" else dev_with_aks
    cluster = rec.one(T + "containerservice:ManagedCluster")
    dcr = rec.one(DCR)
    i = dcr.inputs
    assert i["dataCollectionRuleName"] == f"MSCI-westeurope-{cluster.inputs['resourceName']}"
    assert (i["kind"], i["location"]) == ("Linux", cluster.inputs["location"])
    (source,) = i["dataSources"]["extensions"]
    assert (source["name"], source["extensionName"]) == ("ContainerInsightsExtension", "ContainerInsights")
    assert source["extensionSettings"]["dataCollectionSettings"]["enableContainerLogV2"] is True
    assert "Microsoft-ContainerLogV2" in source["streams"]
    # Not the legacy ContainerLog stream too: every line would be written twice.
    assert "Microsoft-ContainerLog" not in source["streams"]
    assert {"Microsoft-KubePodInventory", "Microsoft-KubeEvents", "Microsoft-InsightsMetrics", "Microsoft-Perf"} <= set(source["streams"])
    (destination,) = i["destinations"]["logAnalytics"]
    assert destination["workspaceResourceId"] == la_id(rec.one(LA))
    (data_flow,) = i["dataFlows"]
    assert data_flow == {"streams": source["streams"], "destinations": [destination["name"]]}
    # The cluster is associated with the rule: without the association the agent collects nothing.
    association = rec.one(DCRA, next(r.name for r in rec.of_type(DCRA) if r.inputs["associationName"] == "ContainerInsightsExtension"))
    assert association.inputs["resourceUri"] == cluster_id(rec)
    assert association.inputs["dataCollectionRuleId"] == (
        f"{SUB}/resourceGroups/{i['resourceGroupName']}/providers/Microsoft.Insights/dataCollectionRules/{i['dataCollectionRuleName']}")


def test_every_ingress_alert_reads_a_table_the_data_collection_rule_writes(prod: Recording) -> None:
    """The ingress alerts query ContainerLogV2 in the workspace the DCR sends Microsoft-ContainerLogV2 to."""
    flows = prod.one(DCR).inputs["dataFlows"]
    written = {stream.removeprefix("Microsoft-") for flow in flows for stream in flow["streams"]}
    ingress_rules = [r for r in prod.of_type(RULE) if "ContainerLogV2" in r.inputs["criteria"]["allOf"][0]["query"]]
    assert {r.name for r in ingress_rules} == {"prod-audit-alert-ingress-errors", "prod-audit-alert-ingress-volume"}
    for rule in ingress_rules:
        assert rule.inputs["scopes"] == [la_id(prod.one(LA))] == [prod.one(DCR).inputs["destinations"]["logAnalytics"][0]["workspaceResourceId"]]
    assert "ContainerLogV2" in written


def test_behind_the_private_link_scope_the_agent_is_configured_through_a_private_endpoint(prod: Recording) -> None:
    """With the workspace behind the AMPLS, Microsoft's template adds a configuration data collection endpoint with
    public access Disabled, scopes it into the AMPLS and associates it with the cluster (configurationAccessEndpoint)."""
    (dce,) = prod.of_type(DCE)
    name = dce.inputs["dataCollectionEndpointName"]
    assert name.startswith("MSCI-config-westeurope-") and len(name) <= 43 and not name.endswith("-")
    assert dce.inputs["networkAcls"] == {"publicNetworkAccess": "Disabled"}
    dce_id = f"{SUB}/resourceGroups/{dce.inputs['resourceGroupName']}/providers/Microsoft.Insights/dataCollectionEndpoints/{name}"
    scope = prod.one(SCOPE)
    scoped = {r.inputs["linkedResourceId"]: r for r in prod.of_type(SCOPED)}
    assert scoped[dce_id].inputs["scopeName"] == scope.inputs["scopeName"]
    (association,) = [r for r in prod.of_type(DCRA) if r.inputs["associationName"] == "configurationAccessEndpoint"]
    assert association.inputs["resourceUri"] == cluster_id(prod)
    assert association.inputs["dataCollectionEndpointId"] == dce_id
    assert "dataCollectionRuleId" not in association.inputs
    assert scoped[dce_id].urn in association.dependencies


def test_without_a_private_link_scope_there_is_no_configuration_endpoint(dev_with_aks: Recording) -> None:
    assert dev_with_aks.of_type(DCE) == []
    assert [r.inputs["associationName"] for r in dev_with_aks.of_type(DCRA)] == ["ContainerInsightsExtension"]


def test_data_collection_names_follow_microsofts_template() -> None:
    from components.planning import container_insights as ci
    long = "aks-" + "x" * 60
    assert ci.data_collection_rule_name("West Europe", "aks-bw-prod-weu") == "MSCI-westeurope-aks-bw-prod-weu"
    assert len(ci.data_collection_rule_name("westeurope", long)) == 64
    dce = ci.data_collection_endpoint_name("westeurope", "aks-bw-prod-weu-")
    assert dce == "MSCI-config-westeurope-aks-bw-prod-weu" and len(ci.data_collection_endpoint_name("westeurope", long)) == 43
