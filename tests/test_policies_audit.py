"""The audit rules of the policy pack (policies/brickwall_rules/audit.py): the stacks pass them, every insecure
mutation of prod's plan is caught with a message naming what is missing, and the tier comes from config or stack."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from brickwall import check, planfile
from brickwall.engine import Recording
from components.planning import diagnostics
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, drop, inputs, res

AUDIT_RULES = {"audit-databricks-diagnostics", "audit-aks-diagnostics", "audit-key-vault-diagnostics",
               "audit-log-retention-within-tier-floor", "audit-alerts-wired", "audit-failed-auth-alert", "audit-vnet-flow-logs-in-prod",
               "audit-flow-log-storage-trusted-only", "audit-siem-event-hub-private", "audit-log-analytics-private-link",
               "audit-aks-container-insights"}
FLOW_STORE, HUB, HUB_RULES = "prod-audit-flow-log-storage", "prod-audit-event-hub-namespace", "prod-audit-event-hub-network-rules"
LA_NAME, AMPLS_DNS = "prod-log-analytics", "prod-monitor-private-link-dns"


def logs(plan: Plan, name: str) -> list[dict[str, Any]]:
    return inputs(plan, name)["logs"]


def without_category(plan: Plan, name: str, category: str) -> None:
    inputs(plan, name)["logs"] = [entry for entry in logs(plan, name) if entry["category"] != category]


def disable_category(plan: Plan, name: str, category: str) -> None:
    next(entry for entry in logs(plan, name) if entry["category"] == category)["enabled"] = False


def of_type(plan: Plan, type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def drop_type(plan: Plan, type_: str) -> None:
    plan["resources"] = [r for r in plan["resources"] if r["type"] != type_]


def drop_zone_config(plan: Plan, zone: str) -> None:
    group = inputs(plan, AMPLS_DNS)
    group["privateDnsZoneConfigs"] = [c for c in group["privateDnsZoneConfigs"] if not c["privateDnsZoneId"].endswith("/" + zone)]


DCR, DCR_ASSOCIATION = "prod-aks-container-insights", "prod-aks-container-insights-association"


def oms_addon(plan: Plan) -> dict[str, Any]:
    return inputs(plan, "prod-aks-cluster")["addonProfiles"]["omsagent"]


def dcr_without_container_logs(plan: Plan) -> None:
    flow = inputs(plan, DCR)["dataFlows"][0]
    flow["streams"] = [s for s in flow["streams"] if s != "Microsoft-ContainerLogV2"]


def failed_auth_query(plan: Plan, query: str) -> None:
    inputs(plan, "prod-audit-alert-failed-auth")["criteria"]["allOf"][0]["query"] = query


MUTATIONS: Mutations = {
    # id: (expected policy, mutation, text the message must contain)
    # Container Insights writes ContainerLogV2 (the ingress alerts' table) only through an associated rule.
    "no-container-insights": ("audit-aks-container-insights", lambda p: oms_addon(p).update(enabled=False), "runs no Container Insights"),
    "container-insights-with-workspace-key": ("audit-aks-container-insights", lambda p: oms_addon(p)["config"].pop("useAADAuth"),
                                              "managed-identity authentication"),
    "no-dcr-association": ("audit-aks-container-insights", lambda p: drop(p, DCR_ASSOCIATION), "Microsoft-ContainerLogV2"),
    "no-dcr": ("audit-aks-container-insights", lambda p: drop(p, DCR), "Microsoft-ContainerLogV2"),
    "dcr-without-container-logs": ("audit-aks-container-insights", dcr_without_container_logs, "ContainerLogV2"),
    "dcr-flow-to-nowhere": ("audit-aks-container-insights",
                            lambda p: inputs(p, DCR)["dataFlows"][0].update(destinations=["elsewhere"]), "ContainerLogV2"),
    "no-workspace-setting": ("audit-databricks-diagnostics", lambda p: drop(p, "prod-diagnostics-workspace"),
                             "no diagnostic setting"),
    "workspace-setting-without-accounts": ("audit-databricks-diagnostics",
                                           lambda p: without_category(p, "prod-diagnostics-workspace", "accounts"), "accounts"),
    "workspace-secrets-disabled": ("audit-databricks-diagnostics",
                                   lambda p: disable_category(p, "prod-diagnostics-workspace", "secrets"), "secrets"),
    "workspace-setting-to-storage-only": ("audit-databricks-diagnostics",
                                          lambda p: inputs(p, "prod-diagnostics-workspace").pop("workspaceId"), "no diagnostic setting"),
    "workspace-setting-no-logs": ("audit-databricks-diagnostics", lambda p: inputs(p, "prod-diagnostics-workspace").update(logs=[]),
                                  "unityCatalog"),
    "no-aks-setting": ("audit-aks-diagnostics", lambda p: drop(p, "prod-diagnostics-aks"), "aks-bw-prod-weu"),
    "aks-without-audit": ("audit-aks-diagnostics", lambda p: without_category(p, "prod-diagnostics-aks", "kube-audit-admin"),
                          "kube-audit-admin"),
    "no-key-vault-setting": ("audit-key-vault-diagnostics", lambda p: drop(p, "prod-diagnostics-key-vault"), "Key Vault"),
    "key-vault-audit-disabled": ("audit-key-vault-diagnostics", lambda p: disable_category(p, "prod-diagnostics-key-vault", "AuditEvent"),
                                 "AuditEvent"),
    "retention-30": ("audit-log-retention-within-tier-floor", lambda p: inputs(p, "prod-log-analytics").update(retentionInDays=30),
                     "at least 365 days"),
    "retention-unset": ("audit-log-retention-within-tier-floor", lambda p: inputs(p, "prod-log-analytics").pop("retentionInDays"),
                        "unset"),
    "action-group-without-receivers": ("audit-alerts-wired", lambda p: inputs(p, "prod-audit-action-group").update(emailReceivers=[]),
                                       "notifies nobody"),
    "action-group-disabled": ("audit-alerts-wired", lambda p: inputs(p, "prod-audit-action-group").update(enabled=False),
                              "notifies nobody"),
    "rule-without-action": ("audit-alerts-wired", lambda p: inputs(p, "prod-audit-alert-denied-flows").update(actions={"actionGroups": []}),
                            "alert-bw-prod-weu-denied-flows"),
    "no-action-group": ("audit-alerts-wired", lambda p: drop(p, "prod-audit-action-group"), "notifies nobody"),
    "no-alert-rules": ("audit-alerts-wired", lambda p: drop_type(p, "azure-native:monitor:ScheduledQueryRule"), "nothing wakes anyone up"),
    "no-failed-auth-rule": ("audit-failed-auth-alert", lambda p: drop(p, "prod-audit-alert-failed-auth"), "failed sign-ins"),
    "failed-auth-rule-disabled": ("audit-failed-auth-alert", lambda p: inputs(p, "prod-audit-alert-failed-auth").update(enabled=False),
                                  "failed sign-ins"),
    "failed-auth-ignores-status": ("audit-failed-auth-alert", lambda p: failed_auth_query(p, "DatabricksAccounts | where ActionName == 'login'"),
                                   "statusCode"),
    "flow-log-disabled": ("audit-vnet-flow-logs-in-prod", lambda p: inputs(p, "prod-audit-flow-log").update(enabled=False),
                          "vnet-bw-prod-weu"),
    "flow-log-other-vnet": ("audit-vnet-flow-logs-in-prod", lambda p: inputs(p, "prod-audit-flow-log").update(
        targetResourceId="/subscriptions/x/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"), "no enabled VNet flow log"),
    "no-flow-log": ("audit-vnet-flow-logs-in-prod", lambda p: drop(p, "prod-audit-flow-log"), "no enabled VNet flow log"),
    # The audit stores take no public traffic.
    "flow-log-storage-allows-all": ("audit-flow-log-storage-trusted-only",
                                    lambda p: inputs(p, FLOW_STORE)["networkRuleSet"].update(defaultAction="Allow"), "takes public traffic"),
    "flow-log-storage-ip-rule": ("audit-flow-log-storage-trusted-only", lambda p: inputs(p, FLOW_STORE)["networkRuleSet"].update(
        ipRules=[{"iPAddressOrRange": "203.0.113.0/24", "action": "Allow"}]), "no IP or virtual-network rule"),
    # The fact behind keeping public network access Enabled: without the bypass, Network Watcher cannot write.
    "flow-log-storage-no-bypass": ("audit-flow-log-storage-trusted-only",
                                   lambda p: inputs(p, FLOW_STORE)["networkRuleSet"].update(bypass="None"), "Network Watcher"),
    "hub-public": ("audit-siem-event-hub-private", lambda p: inputs(p, HUB).update(publicNetworkAccess="Enabled"),
                   "takes public traffic"),
    "hub-public-unset": ("audit-siem-event-hub-private", lambda p: inputs(p, HUB).pop("publicNetworkAccess"), "unset means Enabled"),
    "hub-no-rule-set": ("audit-siem-event-hub-private", lambda p: drop(p, HUB_RULES), "no network rule set"),
    "hub-rules-allow": ("audit-siem-event-hub-private", lambda p: inputs(p, HUB_RULES).update(defaultAction="Allow"),
                        "lets public traffic in"),
    "hub-rules-ip-rule": ("audit-siem-event-hub-private", lambda p: inputs(p, HUB_RULES).update(
        ipRules=[{"ipMask": "203.0.113.7", "action": "Allow"}]), "lets public traffic in"),
    "hub-no-trusted-services": ("audit-siem-event-hub-private", lambda p: inputs(p, HUB_RULES).update(trustedServiceAccessEnabled=False),
                                "Log Analytics data export"),
    "hub-no-endpoint": ("audit-siem-event-hub-private", lambda p: drop(p, "prod-audit-event-hub-pe"), "no private endpoint"),
    "workspace-public-ingestion": ("audit-log-analytics-private-link",
                                   lambda p: inputs(p, LA_NAME).update(publicNetworkAccessForIngestion="Enabled"),
                                   "publicNetworkAccessForIngestion 'Enabled'"),
    "workspace-public-query-unset": ("audit-log-analytics-private-link", lambda p: inputs(p, LA_NAME).pop("publicNetworkAccessForQuery"),
                                     "unset means Enabled"),
    "workspace-not-scoped": ("audit-log-analytics-private-link", lambda p: drop(p, "prod-monitor-private-link-log-analytics"),
                             "in no Azure Monitor Private Link Scope"),
    "no-scope": ("audit-log-analytics-private-link", lambda p: drop(p, "prod-monitor-private-link-scope"),
                 "in no Azure Monitor Private Link Scope"),
    "no-ampls-endpoint": ("audit-log-analytics-private-link", lambda p: drop(p, "prod-monitor-private-link-pe"), "no private endpoint"),
    "ampls-missing-ods-zone": ("audit-log-analytics-private-link",
                               lambda p: drop_zone_config(p, "privatelink.ods.opinsights.azure.com"), "privatelink.ods.opinsights.azure.com"),
}


def test_the_audit_rules_are_in_the_pack() -> None:
    assert {p.name for p in POLICIES} >= AUDIT_RULES
    for policy in POLICIES:
        if policy.name in AUDIT_RULES:
            assert policy.enforcement_level is not None and policy.enforcement_level.value == "mandatory"
            assert policy.description and policy.remediation_steps


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_insecure_audit_mutation_is_caught(case: str, prod_plan: Plan) -> None:
    result = check_mutation(prod_plan, MUTATIONS, case)
    assert not result.ok


def test_prod_passes_every_audit_rule(prod_plan: Plan) -> None:
    result = check.check_plan(copy.deepcopy(prod_plan), POLICIES)
    assert not [v for v in result.violations if v.policy in AUDIT_RULES], check.render(result)
    assert not [s for s in result.skipped if s.policy in AUDIT_RULES]


def test_a_covering_category_group_satisfies_the_rule(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-diagnostics-workspace")["logs"] = [{"categoryGroup": "allLogs", "enabled": True}]
    inputs(plan, "prod-diagnostics-key-vault")["logs"] = [{"categoryGroup": "audit", "enabled": True}]
    result = check.check_plan(plan, POLICIES)
    assert not result.of("audit-databricks-diagnostics") and not result.of("audit-key-vault-diagnostics"), check.render(result)


def test_the_setting_is_matched_to_its_own_target(prod_plan: Plan) -> None:
    """A setting on the AKS cluster does not count for the workspace: the rule matches resourceUri, not just any setting."""
    plan = copy.deepcopy(prod_plan)
    workspace_setting = res(plan, "prod-diagnostics-workspace")
    workspace_setting["inputs"]["resourceUri"] = inputs(plan, "prod-diagnostics-aks")["resourceUri"]
    workspace_setting["dependencies"] = []
    assert check.check_plan(plan, POLICIES).of("audit-databricks-diagnostics")


def test_tier_from_stack_and_config(dev: Recording, staging: Recording) -> None:
    dev_plan, staging_plan = planfile.to_plan(dev), planfile.to_plan(staging)
    # dev: 30 days, no alerts, no flow logs; all fine for dev.
    assert not [v for v in check.check_plan(dev_plan, POLICIES).violations if v.policy in AUDIT_RULES]
    # Held to prod's rules, dev and staging fall short of prod's retention, alerts and flow logs.
    as_prod = check.check_plan(dev_plan, POLICIES, config={"tier": "prod"})
    assert as_prod.of("audit-log-retention-within-tier-floor") and as_prod.of("audit-alerts-wired")
    assert as_prod.of("audit-failed-auth-alert") and as_prod.of("audit-vnet-flow-logs-in-prod")
    staging_as_prod = check.check_plan(staging_plan, POLICIES, config={"tier": "prod"})
    assert [v.message for v in staging_as_prod.of("audit-log-retention-within-tier-floor")] == [
        "retentionInDays is 90 days: tier prod keeps audit logs at least 365 days"]
    assert not staging_as_prod.of("audit-vnet-flow-logs-in-prod")  # staging runs flow logs too
    assert not staging_as_prod.of("audit-alerts-wired")


def test_pack_and_spec_share_one_retention_table() -> None:
    import brickwall_rules.audit

    from components.spec.tiers import TIER_FLOORS

    assert brickwall_rules.audit.MIN_LOG_RETENTION_DAYS is diagnostics.MIN_LOG_RETENTION_DAYS
    assert brickwall_rules.audit.CATEGORIES is diagnostics.CATEGORIES
    floors = {next(iter(f.tiers)): f.reason for f in TIER_FLOORS if f.path == ("monitoring", "log_retention_days")}
    assert floors == {t: f"{t} keeps audit logs at least {d} days" for t, d in diagnostics.MIN_LOG_RETENTION_DAYS.items()}


def test_diagnostic_setting_targets_are_read_from_ids_under_the_real_engine(prod_plan: Plan) -> None:
    """Under the real engine stack policies see outputs, where a setting has an id but no resourceUri."""
    plan = copy.deepcopy(prod_plan)
    for setting in of_type(plan, "azure-native:monitor:DiagnosticSetting"):
        uri = setting["inputs"].pop("resourceUri")
        setting["inputs"]["id"] = f"{uri}/providers/Microsoft.Insights/diagnosticSettings/{diagnostics.SETTING_NAME}"
        setting["dependencies"] = []
    result = check.check_plan(plan, POLICIES)
    assert not [v for v in result.violations if v.policy in AUDIT_RULES], check.render(result)


def test_private_audit_rules_follow_the_tier(prod_plan: Plan) -> None:
    """dev's workspace may take public traffic; the same plan read as staging may not."""
    plan = copy.deepcopy(prod_plan)
    inputs(plan, LA_NAME).update(publicNetworkAccessForIngestion="Enabled", publicNetworkAccessForQuery="Enabled")
    as_dev = check.check_plan(plan, POLICIES, config={"tier": "dev"})
    assert not as_dev.of("audit-log-analytics-private-link"), check.render(as_dev)
    as_staging = check.check_plan(plan, POLICIES, config={"tier": "staging"})
    assert len(as_staging.of("audit-log-analytics-private-link")) == 2


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_dev_and_staging_pass_the_private_audit_rules(stack: str, dev: Recording, staging: Recording) -> None:
    plan = planfile.to_plan({"dev": dev, "staging": staging}[stack])
    result = check.check_plan(plan, POLICIES)
    private = {"audit-flow-log-storage-trusted-only", "audit-siem-event-hub-private", "audit-log-analytics-private-link"}
    assert not [v for v in result.violations if v.policy in private], check.render(result)
