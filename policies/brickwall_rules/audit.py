"""Audit rules: diagnostic settings with every audit category on the Databricks workspace, AKS and Key Vault; Log
Analytics retention within the tier's floor; alerts wired to someone outside dev; the failed-authentication alert;
VNet flow logs on the workspace VNet in prod.

The categories and retention floors come from the dependency-free `components.planning.diagnostics`, the table the
component creates its settings from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

from brickwall_rules.base import (
    TIER_CONFIG,
    WORKSPACE,
    Say,
    arm_key,
    as_list,
    dig,
    is_serverless,
    of_type,
    resource_rule,
    stack_rule,
    tier_of,
    workspace_key,
)
from components.planning.diagnostics import AKS, CATEGORIES, DATABRICKS, KEY_VAULT, MIN_LOG_RETENTION_DAYS

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
LOG_ANALYTICS = "azure-native:operationalinsights:Workspace"
MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster"
KEY_VAULT_TYPE = "azure-native:keyvault:Vault"
SCHEDULED_QUERY_RULE = "azure-native:monitor:ScheduledQueryRule"
ACTION_GROUP = "azure-native:monitor:ActionGroup"
FLOW_LOG = "azure-native:network:FlowLog"
VNET = "azure-native:network:VirtualNetwork"
# Category groups that include every audit category of a resource.
COVERING_GROUPS = frozenset({"allLogs", "audit"})
RECEIVER_KINDS = ("emailReceivers", "smsReceivers", "webhookReceivers", "azureAppPushReceivers", "voiceReceivers",
                  "itsmReceivers", "logicAppReceivers", "azureFunctionReceivers", "eventHubReceivers", "automationRunbookReceivers",
                  "incidentReceivers", "armRoleReceivers")
_SETTING_SUFFIX = re.compile(r"/providers/microsoft\.insights/diagnosticsettings/[^/]+$")


def _resource_key(res: PolicyResource, provider_path: str, name_input: str) -> str:
    """A resource's ARM key: its id when known (outputs), else built from resource group and name (inputs)."""
    rg = dig(res.props, "resourceGroupName", "")
    name = dig(res.props, name_input) or dig(res.props, "name") or res.name
    return arm_key(dig(res.props, "id") or f"/resourceGroups/{rg}/providers/{provider_path}/{name}")


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
    targets = [(c, _resource_key(c, "Microsoft.ContainerService/managedClusters", "resourceName")) for c in of_type(args, MANAGED_CLUSTER)]
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
    targets = [(v, _resource_key(v, "Microsoft.KeyVault/vaults", "vaultName")) for v in of_type(args, KEY_VAULT_TYPE)]
    _check_targets(args, report, targets, KEY_VAULT, "Key Vault", "vaultName")


KEY_VAULT_DIAGNOSTICS = stack_rule(
    "audit-key-vault-diagnostics",
    "Every Key Vault has a diagnostic setting to Log Analytics with AuditEvent (every key operation).",
    "Add a monitor.DiagnosticSetting on the vault with category AuditEvent (or category group audit) enabled.",
    _check_key_vault,
)


def _check_retention(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config())
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
    return [g for g in groups if _resource_key(g, "Microsoft.Insights/actionGroups", "actionGroupName") in refs
            or (refs and g.urn in deps)]


def _check_alerts_wired(args: StackValidationArgs, report: Say) -> None:
    rules = of_type(args, SCHEDULED_QUERY_RULE)
    groups = of_type(args, ACTION_GROUP)
    tier = tier_of(rules[0].urn if rules else (args.resources[0].urn if args.resources else ""), args.get_config())
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
    tier = tier_of(workspaces[0].urn, args.get_config())
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
    vnets = {_resource_key(v, "Microsoft.Network/virtualNetworks", "virtualNetworkName"): v for v in of_type(args, VNET)}
    wanted = {arm_key(dig(w.props, "parameters.customVirtualNetworkId.value")) for w in of_type(args, WORKSPACE)}
    return {k: v for k, v in vnets.items() if k in wanted}


def _check_flow_logs(args: StackValidationArgs, report: Say) -> None:
    vnets = _workspace_vnets(args)
    if not vnets or tier_of(next(iter(vnets.values())).urn, args.get_config()) != "prod":
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


RULES: list[Policy] = [DATABRICKS_DIAGNOSTICS, AKS_DIAGNOSTICS, KEY_VAULT_DIAGNOSTICS, LOG_RETENTION, ALERTS_WIRED, FAILED_AUTH_ALERT,
                       FLOW_LOGS_IN_PROD]
