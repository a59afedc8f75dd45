"""Audit rules: diagnostic settings with every audit category on the Databricks workspace, AKS and Key Vault; Log
Analytics retention within the tier's floor; alerts wired to someone outside dev; the failed-authentication alert;
VNet flow logs on the workspace VNet in prod; and audit stores that take no public traffic: the flow-log storage
account (trusted services only), the SIEM Event Hub namespace (private endpoint and trusted services only) and, in
staging and prod, Log Analytics ingestion and query only through an Azure Monitor Private Link Scope. Every AKS
cluster runs Container Insights with managed-identity authentication and a data collection rule that writes
ContainerLogV2 (components/planning/container_insights.py).

The categories and retention floors come from the dependency-free `components.planning.diagnostics`, the private
paths (groups, zones, the trusted-services bypass, with their sources) from `components.planning.audit_network`: the
tables the components create from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import (
    PRIVATE_ENDPOINT,
    TIER_CONFIG,
    WORKSPACE,
    Say,
    arm_key,
    as_list,
    dig,
    endpoint_groups,
    is_serverless,
    of_type,
    resource_key,
    resource_rule,
    stack_rule,
    stack_tier,
    tier_of,
    workspace_key,
)
from components.planning.audit_network import AMPLS_GROUP, AMPLS_ZONES, EVENT_HUB_GROUP, TRUSTED_SERVICES_BYPASS
from components.planning.container_insights import ADDON, CONTAINER_LOG_STREAM
from components.planning.diagnostics import AKS, CATEGORIES, DATABRICKS, KEY_VAULT, MIN_LOG_RETENTION_DAYS

DIAGNOSTIC_SETTING = az.DIAGNOSTIC_SETTING.token
LOG_ANALYTICS = az.LOG_ANALYTICS_WORKSPACE.token
MANAGED_CLUSTER = az.MANAGED_CLUSTER.token
KEY_VAULT_TYPE = az.KEY_VAULT.token
SCHEDULED_QUERY_RULE = az.SCHEDULED_QUERY_RULE.token
ACTION_GROUP = az.ACTION_GROUP.token
FLOW_LOG = az.FLOW_LOG.token
VNET = az.VIRTUAL_NETWORK.token
STORAGE_ACCOUNT = az.STORAGE_ACCOUNT.token
EVENT_HUB_NAMESPACE = az.EVENT_HUB_NAMESPACE.token
EVENT_HUB_RULES = az.EVENT_HUB_NETWORK_RULE_SET.token
SCOPE = az.MONITOR_PRIVATE_LINK_SCOPE.token
SCOPED_RESOURCE = az.MONITOR_PRIVATE_LINK_SCOPED_RESOURCE.token
ZONE_GROUP = az.PRIVATE_DNS_ZONE_GROUP.token
DATA_COLLECTION_RULE = az.DATA_COLLECTION_RULE.token
DATA_COLLECTION_RULE_ASSOCIATION = az.DATA_COLLECTION_RULE_ASSOCIATION.token
# Category groups that include every audit category of a resource.
COVERING_GROUPS = frozenset({"allLogs", "audit"})
RECEIVER_KINDS = ("emailReceivers", "smsReceivers", "webhookReceivers", "azureAppPushReceivers", "voiceReceivers",
                  "itsmReceivers", "logicAppReceivers", "azureFunctionReceivers", "eventHubReceivers", "automationRunbookReceivers",
                  "incidentReceivers", "armRoleReceivers")
_SETTING_SUFFIX = re.compile(r"/providers/microsoft\.insights/diagnosticsettings/[^/]+$")


def _setting_target(setting: PolicyResource) -> str:
    """The ARM key of the resource a diagnostic setting reads: from its id (outputs) or its resourceUri (inputs)."""
    setting_id = arm_key(dig(setting.props, "id"))
    if setting_id and _SETTING_SUFFIX.search(setting_id):
        return _SETTING_SUFFIX.sub("", setting_id)
    return arm_key(dig(setting.props, "resourceUri"))


def _covered_categories(setting: PolicyResource) -> tuple[set[str], bool]:
    """(enabled categories, whether an enabled category group covers every audit category)."""
    categories, covered = set(), False
    for log in as_list(dig(setting.props, "logs")):
        if dig(log, "enabled") is not True:
            continue
        if dig(log, "category"):
            categories.add(str(dig(log, "category")))
        if str(dig(log, "categoryGroup", "")) in COVERING_GROUPS:
            covered = True
    return categories, covered


def _check_targets(args: StackValidationArgs, report: Say, targets: Iterable[tuple[PolicyResource, str]], kind: str,
                   label: str, name_input: str) -> None:
    settings = [s for s in of_type(args, DIAGNOSTIC_SETTING) if dig(s.props, "workspaceId")]
    wanted = CATEGORIES[kind]
    for target, key in targets:
        shown = dig(target.props, name_input) or target.name
        mine = [s for s in settings if _setting_target(s) == key
                or any(d.urn == target.urn for d in getattr(s, "dependencies", []) or [])]
        if not mine:
            report(f"{label} {shown!r} has no diagnostic setting sending its logs to Log Analytics", target.urn)
            continue
        enabled: set[str] = set()
        for setting in mine:
            categories, covered = _covered_categories(setting)
            if covered:
                enabled.update(wanted)
            enabled |= categories
        missing = [c for c in wanted if c not in enabled]
        if missing:
            report(f"{label} {shown!r} does not send these audit categories to Log Analytics: {', '.join(missing)}", target.urn)


def _check_databricks(args: StackValidationArgs, report: Say) -> None:
    targets = [(w, workspace_key(w)) for w in of_type(args, WORKSPACE) if not is_serverless(w.props)]
    _check_targets(args, report, targets, DATABRICKS, "Databricks workspace", "workspaceName")


DATABRICKS_DIAGNOSTICS = stack_rule(
    "audit-databricks-diagnostics",
    "Every (classic) Databricks workspace has a diagnostic setting to Log Analytics with every audit category "
    "(components/planning/diagnostics.py), or the allLogs/audit category group.",
    "Add a monitor.DiagnosticSetting with resourceUri the workspace id, workspaceId the Log Analytics workspace and "
    "every category of components/planning/diagnostics.CATEGORIES['databricks_workspace'] enabled (AuditDiagnostics).",
    _check_databricks,
)


def _check_aks(args: StackValidationArgs, report: Say) -> None:
    targets = [(c, resource_key(c, az.MANAGED_CLUSTER)) for c in of_type(args, MANAGED_CLUSTER)]
    _check_targets(args, report, targets, AKS, "AKS cluster", "resourceName")


AKS_DIAGNOSTICS = stack_rule(
    "audit-aks-diagnostics",
    "Every AKS cluster has a diagnostic setting to Log Analytics with the API server, audit (kube-audit-admin), "
    "controller, scheduler, autoscaler and guard categories.",
    "Add a monitor.DiagnosticSetting on the managed cluster with every category of "
    "components/planning/diagnostics.CATEGORIES['aks'] enabled (AuditDiagnostics).",
    _check_aks,
)


def _check_key_vault(args: StackValidationArgs, report: Say) -> None:
    targets = [(v, resource_key(v, az.KEY_VAULT)) for v in of_type(args, KEY_VAULT_TYPE)]
    _check_targets(args, report, targets, KEY_VAULT, "Key Vault", "vaultName")


KEY_VAULT_DIAGNOSTICS = stack_rule(
    "audit-key-vault-diagnostics",
    "Every Key Vault has a diagnostic setting to Log Analytics with AuditEvent (every key operation).",
    "Add a monitor.DiagnosticSetting on the vault with category AuditEvent (or category group audit) enabled.",
    _check_key_vault,
)


def _check_retention(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config(), args.props)
    floor = MIN_LOG_RETENTION_DAYS[tier]
    days = dig(args.props, "retentionInDays")
    if not isinstance(days, (int, float)) or days < floor:
        shown = "unset (30 days)" if days is None else f"{days} days"
        report(f"retentionInDays is {shown}: tier {tier} keeps audit logs at least {floor} days")


LOG_RETENTION = resource_rule(
    "audit-log-retention-within-tier-floor",
    "Log Analytics workspaces keep logs at least the tier's floor (components/planning/diagnostics.MIN_LOG_RETENTION_DAYS).",
    "Set retentionInDays (monitoring.log_retention_days) to at least the tier's floor.",
    [LOG_ANALYTICS],
    _check_retention,
    config_schema=TIER_CONFIG,
)


def _receivers(group: PolicyResource) -> int:
    return sum(len(as_list(dig(group.props, kind))) for kind in RECEIVER_KINDS)


def _wired_groups(rule: PolicyResource, groups: list[PolicyResource]) -> list[PolicyResource]:
    """The action groups of the stack a scheduled query rule invokes (by id, or by dependency while ids are unknown)."""
    refs = {arm_key(ref) for ref in as_list(dig(rule.props, "actions.actionGroups"))}
    deps = {d.urn for d in getattr(rule, "dependencies", []) or []}
    return [g for g in groups if resource_key(g, az.ACTION_GROUP) in refs
            or (refs and g.urn in deps)]


def _check_alerts_wired(args: StackValidationArgs, report: Say) -> None:
    rules = of_type(args, SCHEDULED_QUERY_RULE)
    groups = of_type(args, ACTION_GROUP)
    tier = stack_tier(args)
    for rule in rules:
        wired = [g for g in _wired_groups(rule, groups) if dig(g.props, "enabled", True) is not False and _receivers(g)]
        if not wired:
            report(f"alert rule {dig(rule.props, 'ruleName') or rule.name!r} notifies nobody: no enabled action group with a "
                   "receiver in actions.actionGroups", rule.urn)
    if tier != "dev" and not any(dig(r.props, "enabled", True) is not False for r in rules):
        anchor = (groups or of_type(args, LOG_ANALYTICS) or list(args.resources))[:1]
        report(f"tier {tier} has no enabled scheduled query rule: nothing wakes anyone up", *(r.urn for r in anchor))


ALERTS_WIRED = stack_rule(
    "audit-alerts-wired",
    "Every scheduled query rule invokes an enabled action group with at least one receiver; staging and prod have at "
    "least one enabled rule.",
    "Set monitoring.alerts.emails and keep monitoring.alerts.enabled; each rule's actions.actionGroups must name the "
    "environment's action group.",
    _check_alerts_wired,
    config_schema=TIER_CONFIG,
)


def _is_failed_auth(rule: PolicyResource) -> bool:
    for condition in as_list(dig(rule.props, "criteria.allOf")):
        query = str(dig(condition, "query", ""))
        if "DatabricksAccounts" in query and re.search(r"login", query, re.IGNORECASE) and "statusCode" in query:
            return True
    return False


def _check_failed_auth(args: StackValidationArgs, report: Say) -> None:
    rules = of_type(args, SCHEDULED_QUERY_RULE)
    workspaces = [w for w in of_type(args, WORKSPACE) if not is_serverless(w.props)]
    if not workspaces:
        return
    tier = stack_tier(args)
    if tier == "dev":
        return
    if not any(_is_failed_auth(r) and dig(r.props, "enabled", True) is not False for r in rules):
        report(f"tier {tier} has no enabled alert on failed sign-ins (a scheduled query rule over DatabricksAccounts login "
               "actions and their statusCode)", workspaces[0].urn)


FAILED_AUTH_ALERT = stack_rule(
    "audit-failed-auth-alert",
    "Outside dev, an enabled scheduled query rule alerts on failed Databricks sign-ins (DatabricksAccounts login actions "
    "answered 4xx).",
    "Keep monitoring.alerts.enabled; the failed_auth alert (components/planning/alerts.py) is created from it.",
    _check_failed_auth,
    config_schema=TIER_CONFIG,
)


def _workspace_vnets(args: StackValidationArgs) -> dict[str, PolicyResource]:
    """The VNets that host a workspace's subnets (VNet injection), by ARM key."""
    vnets = {resource_key(v, az.VIRTUAL_NETWORK): v for v in of_type(args, VNET)}
    wanted = {arm_key(dig(w.props, "parameters.customVirtualNetworkId.value")) for w in of_type(args, WORKSPACE)}
    return {k: v for k, v in vnets.items() if k in wanted}


def _check_flow_logs(args: StackValidationArgs, report: Say) -> None:
    vnets = _workspace_vnets(args)
    if not vnets or stack_tier(args) != "prod":
        return
    logged = {arm_key(dig(f.props, "targetResourceId")) for f in of_type(args, FLOW_LOG)
              if dig(f.props, "enabled") is True and dig(f.props, "storageId")}
    for key, vnet in vnets.items():
        if key not in logged:
            report(f"workspace VNet {dig(vnet.props, 'virtualNetworkName') or vnet.name!r} has no enabled VNet flow log", vnet.urn)


FLOW_LOGS_IN_PROD = stack_rule(
    "audit-vnet-flow-logs-in-prod",
    "In prod, the workspace VNet has an enabled VNet flow log (Network Watcher) with a storage account.",
    "Keep monitoring.flow_logs.enabled in prod: AuditLogging creates the flow log, its storage and traffic analytics.",
    _check_flow_logs,
    config_schema=TIER_CONFIG,
)


# --- audit stores without public traffic ---------------------------------------------------------------------


def _depends_on(res: PolicyResource, other: PolicyResource) -> bool:
    return any(d.urn == other.urn for d in getattr(res, "dependencies", []) or [])


def _is_off(value: object) -> bool:
    return str(value).lower() == "disabled"


def _check_flow_log_storage(args: StackValidationArgs, report: Say) -> None:
    accounts = of_type(args, STORAGE_ACCOUNT)
    for flow in of_type(args, FLOW_LOG):
        target = arm_key(dig(flow.props, "storageId"))
        for account in accounts:
            key = resource_key(account, az.STORAGE_ACCOUNT)
            if key != target and not (not target and _depends_on(flow, account)):
                continue
            shown = dig(account.props, "accountName") or account.name
            rules = dig(account.props, "networkRuleSet") or {}
            closed = _is_off(dig(account.props, "publicNetworkAccess")) or (
                str(dig(rules, "defaultAction")).lower() == "deny"
                and not as_list(dig(rules, "ipRules")) and not as_list(dig(rules, "virtualNetworkRules")))
            if not closed:
                report(f"flow-log storage account {shown!r} takes public traffic: its firewall must deny by default with no IP "
                       "or virtual-network rule (only the trusted-services exception passes)", account.urn)
            bypass = {part.strip().lower() for part in str(dig(rules, "bypass", "")).split(",")}
            if TRUSTED_SERVICES_BYPASS.lower() not in bypass:
                report(f"flow-log storage account {shown!r} lacks the {TRUSTED_SERVICES_BYPASS} bypass: Network "
                       "Watcher, a trusted service, cannot write flow logs through its firewall", account.urn)


FLOW_LOG_STORAGE_TRUSTED_ONLY = stack_rule(
    "audit-flow-log-storage-trusted-only",
    "The storage account a VNet flow log writes to takes no public traffic: default-deny firewall with no IP or VNet "
    "rule (or public network access Disabled), and the AzureServices bypass Network Watcher writes through.",
    "Set networkRuleSet = {defaultAction: 'Deny', bypass: 'AzureServices', ipRules: [], virtualNetworkRules: []} on the "
    "flow-log storage account (AuditLogging); Network Watcher's FAQ documents this as the way flow logs reach an "
    "account behind a firewall.",
    _check_flow_log_storage,
)


def _check_siem_hub(args: StackValidationArgs, report: Say) -> None:
    rule_sets = of_type(args, EVENT_HUB_RULES)
    endpoints = [(group.lower(), target) for pe in of_type(args, PRIVATE_ENDPOINT) for group, target in endpoint_groups(pe.props)]
    for ns in of_type(args, EVENT_HUB_NAMESPACE):
        shown = dig(ns.props, "namespaceName") or ns.name
        key = resource_key(ns, az.EVENT_HUB_NAMESPACE)
        if not _is_off(dig(ns.props, "publicNetworkAccess")):
            report(f"Event Hub namespace {shown!r} has publicNetworkAccess {dig(ns.props, 'publicNetworkAccess')!r} "
                   "(unset means Enabled): the SIEM export takes public traffic", ns.urn)
        mine = [r for r in rule_sets if str(dig(r.props, "namespaceName", "")).lower() == str(shown).lower()
                and str(dig(r.props, "resourceGroupName", "")).lower() == str(dig(ns.props, "resourceGroupName", "")).lower()]
        if not mine:
            report(f"Event Hub namespace {shown!r} has no network rule set: nothing denies public traffic by default and no "
                   "trusted-services exception lets Log Analytics data export in", ns.urn)
        for rules in mine:
            if str(dig(rules.props, "defaultAction")).lower() != "deny" or as_list(dig(rules.props, "ipRules")) \
                    or as_list(dig(rules.props, "virtualNetworkRules")) or not _is_off(dig(rules.props, "publicNetworkAccess")):
                report(f"the network rule set of Event Hub namespace {shown!r} lets public traffic in: it needs defaultAction "
                       "Deny, publicNetworkAccess Disabled and no IP or virtual-network rule", rules.urn)
            if dig(rules.props, "trustedServiceAccessEnabled") is not True:
                report(f"the network rule set of Event Hub namespace {shown!r} has trustedServiceAccessEnabled off: Log "
                       "Analytics data export, a trusted service, cannot write the SIEM export", rules.urn)
        if (EVENT_HUB_GROUP, key) not in endpoints:
            report(f"Event Hub namespace {shown!r} has no private endpoint (group {EVENT_HUB_GROUP!r}): the SIEM "
                   "has no way to read the export", ns.urn)


SIEM_HUB_PRIVATE = stack_rule(
    "audit-siem-event-hub-private",
    "Every Event Hub namespace takes no public traffic (publicNetworkAccess Disabled, a default-deny rule set without "
    "IP or VNet rules), keeps the trusted-services exception Log Analytics data export writes through, and has a "
    "private endpoint (group 'namespace') for its readers.",
    "Keep AuditLogging's SIEM export: the namespace with publicNetworkAccess 'Disabled', a NamespaceNetworkRuleSet "
    "{defaultAction: 'Deny', publicNetworkAccess: 'Disabled', trustedServiceAccessEnabled: true} and the "
    "monitoring.siem.private_endpoint on privatelink.servicebus.windows.net.",
    _check_siem_hub,
)


def _zone_names(args: StackValidationArgs, pe: PolicyResource) -> set[str]:
    """The private DNS zones (by name) the zone groups of a private endpoint write into."""
    rg = str(dig(pe.props, "resourceGroupName", "")).lower()
    name = str(dig(pe.props, "privateEndpointName") or pe.name).lower()
    zones = set()
    for group in of_type(args, ZONE_GROUP):
        if str(dig(group.props, "resourceGroupName", "")).lower() == rg and str(dig(group.props, "privateEndpointName", "")).lower() == name:
            zones |= {arm_key(dig(c, "privateDnsZoneId")).rsplit("/", 1)[-1] for c in as_list(dig(group.props, "privateDnsZoneConfigs"))}
    return zones


def _check_log_analytics_private(args: StackValidationArgs, report: Say) -> None:
    workspaces = of_type(args, LOG_ANALYTICS)
    if not workspaces or stack_tier(args) == "dev":
        return
    wanted_zones = {zone for zone, _ in AMPLS_ZONES}
    # Scopes (by ARM key) that have an azuremonitor endpoint with every documented zone.
    served: set[str] = set()
    for pe in of_type(args, PRIVATE_ENDPOINT):
        for group, target in endpoint_groups(pe.props):
            if group.lower() == AMPLS_GROUP and wanted_zones <= _zone_names(args, pe):
                served.add(target)
    scopes = {resource_key(s, az.MONITOR_PRIVATE_LINK_SCOPE): s for s in of_type(args, SCOPE)}
    for ws in workspaces:
        shown = dig(ws.props, "workspaceName") or ws.name
        for flag in ("publicNetworkAccessForIngestion", "publicNetworkAccessForQuery"):
            if not _is_off(dig(ws.props, flag)):
                report(f"Log Analytics workspace {shown!r} has {flag} {dig(ws.props, flag)!r} (unset means Enabled): it "
                       "accepts public networks", ws.urn)
        key = resource_key(ws, az.LOG_ANALYTICS_WORKSPACE)
        linked = [r for r in of_type(args, SCOPED_RESOURCE)
                  if arm_key(dig(r.props, "linkedResourceId")) == key or (not dig(r.props, "linkedResourceId") and _depends_on(r, ws))]
        scope_keys = {arm_key(f"/resourceGroups/{dig(r.props, 'resourceGroupName', '')}/providers/Microsoft.Insights/"
                              f"privateLinkScopes/{dig(r.props, 'scopeName', '')}") for r in linked}
        scope_keys = {k for k in scope_keys if k in scopes}
        if not scope_keys:
            report(f"Log Analytics workspace {shown!r} is in no Azure Monitor Private Link Scope: with public networks "
                   "refused, nothing reaches it", ws.urn)
        elif not scope_keys & served:
            report(f"the Azure Monitor Private Link Scope of workspace {shown!r} has no private endpoint (group "
                   f"{AMPLS_GROUP!r}) writing into every documented zone ({', '.join(sorted(wanted_zones))})", ws.urn)


LOG_ANALYTICS_PRIVATE_LINK = stack_rule(
    "audit-log-analytics-private-link",
    "Outside dev, every Log Analytics workspace refuses ingestion and queries from public networks and is scoped into "
    "an Azure Monitor Private Link Scope that has a private endpoint (group 'azuremonitor') with the five documented "
    "DNS zones.",
    "Keep monitoring.private_link enabled with public_ingestion and public_query off (the staging and prod floor): "
    "MonitorPrivateLink creates the scope, the scoped workspace, the endpoint and its zones.",
    _check_log_analytics_private,
    config_schema=TIER_CONFIG,
)


def _writes_container_logs(rule: PolicyResource) -> bool:
    """A data flow of the rule carries the ContainerLogV2 stream to one of its Log Analytics destinations."""
    destinations = {str(dig(d, "name")) for d in as_list(dig(rule.props, "destinations.logAnalytics"))}
    return any(CONTAINER_LOG_STREAM in {str(s) for s in as_list(dig(flow, "streams"))}
               and destinations & {str(d) for d in as_list(dig(flow, "destinations"))}
               for flow in as_list(dig(rule.props, "dataFlows")))


def _check_container_insights(args: StackValidationArgs, report: Say) -> None:
    rules = {resource_key(r, az.DATA_COLLECTION_RULE): r
             for r in of_type(args, DATA_COLLECTION_RULE)}
    associations = of_type(args, DATA_COLLECTION_RULE_ASSOCIATION)
    for cluster in of_type(args, MANAGED_CLUSTER):
        shown = dig(cluster.props, "resourceName") or cluster.name
        addon = dig(cluster.props, f"addonProfiles.{ADDON}")
        if not addon or dig(addon, "enabled") is not True:
            report(f"AKS cluster {shown!r} runs no Container Insights ({ADDON} addon): its container logs, the "
                   "ingress access log among them, never reach Log Analytics", cluster.urn)
            continue
        if str(dig(addon, "config.useAADAuth", "")).lower() != "true":
            report(f"AKS cluster {shown!r} runs Container Insights with the workspace key (useAADAuth not \"true\"): "
                   "data collection rules, and so ContainerLogV2, need managed-identity authentication", cluster.urn)
        key = resource_key(cluster, az.MANAGED_CLUSTER)
        mine = [a for a in associations if arm_key(dig(a.props, "resourceUri")) == key or _depends_on(a, cluster)]
        linked = [rule for rule_key, rule in rules.items()
                  if any(arm_key(dig(a.props, "dataCollectionRuleId")) == rule_key or _depends_on(a, rule) for a in mine)]
        if not any(_writes_container_logs(rule) for rule in linked):
            report(f"AKS cluster {shown!r} is associated with no data collection rule that sends "
                   f"{CONTAINER_LOG_STREAM} to Log Analytics: ContainerLogV2, the table the ingress alerts read, stays "
                   "empty", cluster.urn)


AKS_CONTAINER_INSIGHTS = stack_rule(
    "audit-aks-container-insights",
    "Every AKS cluster runs Container Insights with managed-identity authentication and is associated with a data "
    "collection rule whose data flow sends Microsoft-ContainerLogV2 to a Log Analytics destination.",
    "AksCluster onboards it: the omsagent addon with useAADAuth \"true\", the MSCI data collection rule and its "
    "ContainerInsightsExtension association (components/planning/container_insights.py).",
    _check_container_insights,
)


RULES: list[Policy] = [DATABRICKS_DIAGNOSTICS, AKS_DIAGNOSTICS, KEY_VAULT_DIAGNOSTICS, LOG_RETENTION, ALERTS_WIRED, FAILED_AUTH_ALERT,
                       FLOW_LOGS_IN_PROD, FLOW_LOG_STORAGE_TRUSTED_ONLY, SIEM_HUB_PRIVATE, LOG_ANALYTICS_PRIVATE_LINK,
                       AKS_CONTAINER_INSIGHTS]
