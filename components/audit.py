"""Audit: where the logs go and what wakes someone up.

`AuditLogging` (created right after the network): the Log Analytics workspace every log lands in, the action group
and scheduled query rules (components/planning/alerts.py), VNet flow logs with traffic analytics, and the optional
Event Hub export for an external SIEM. `AuditDiagnostics` (created last, once every audited resource exists): one
diagnostic setting per audited resource, with the categories of components/planning/diagnostics.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, eventhub, managedidentity, monitor, network, operationalinsights, storage

from components._base import child
from components.planning import diagnostics
from components.planning.alerts import AlertRule, iso_minutes
from components.planning.naming import NamePlan
from components.planning.roles import role_definition_id
from components.spec.audit import MonitoringSpec

# Storage Blob Data Contributor: what the flow log's identity needs on its storage account
# (https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-managed-identity).


@dataclass(frozen=True)
class AuditLoggingArgs:
    location: str
    tags: Mapping[str, str]
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    monitoring: MonitoringSpec
    # Scheduled query rules, already filtered for this tier and topology (components/planning/alerts.alert_rules).
    rules: tuple[AlertRule, ...]
    # The workspace VNet, the flow log's target.
    vnet_id: pulumi.Input[str]
    protect: bool
    # The tables the SIEM export carries (components/planning/diagnostics.export_tables).
    export_tables: tuple[str, ...] = ()
    # The Log Analytics workspace used to be the environment's own child: alias it so existing stacks keep it.
    log_analytics_resource_name: str | None = None
    previous_parent: pulumi.Resource | None = None


class AuditLogging(pulumi.ComponentResource):
    log_analytics: operationalinsights.Workspace
    log_analytics_id: pulumi.Output[str]
    action_group: monitor.ActionGroup | None
    alert_rules: dict[str, monitor.ScheduledQueryRule]
    flow_log: network.FlowLog | None
    flow_log_storage: storage.StorageAccount | None
    event_hub_namespace: eventhub.Namespace | None
    event_hub: eventhub.EventHub | None
    data_export: operationalinsights.DataExport | None

    def __init__(self, name: str, args: AuditLoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:audit:AuditLogging", name, {}, opts)
        mon, names, tags = args.monitoring, args.names, dict(args.tags)
        aliases = [pulumi.Alias(parent=args.previous_parent)] if args.previous_parent is not None else None
        self.log_analytics = operationalinsights.Workspace(
            args.log_analytics_resource_name or f"{name}-log-analytics",
            workspace_name=names.log_analytics,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=mon.log_retention_days,
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child(self, protect=args.protect), pulumi.ResourceOptions(aliases=aliases)),
        )
        self.log_analytics_id = self.log_analytics.id

        self.action_group = None
        self.alert_rules = {}
        if args.rules:
            self.action_group = monitor.ActionGroup(
                f"{name}-action-group",
                action_group_name=names.action_group,
                group_short_name=names.action_group_short,
                resource_group_name=args.resource_group_name,
                location="Global",
                enabled=True,
                email_receivers=[
                    monitor.MicrosoftCommonEmailReceiverArgs(name=f"email-{i}", email_address=email, use_common_alert_schema=True)
                    for i, email in enumerate(mon.alerts.emails)
                ],
                tags=tags,
                opts=child(self),
            )
            for rule in args.rules:
                self.alert_rules[rule.key] = self._alert(name, args, rule)

        self.flow_log = self.flow_log_storage = None
        if mon.flow_logs.enabled:
            self._flow_logs(name, args)

        self.event_hub_namespace = self.event_hub = self.data_export = None
        if mon.siem.event_hub:
            self._siem(name, args)

        self.register_outputs({"logAnalyticsId": self.log_analytics_id})

    def _alert(self, name: str, args: AuditLoggingArgs, rule: AlertRule) -> monitor.ScheduledQueryRule:
        assert self.action_group is not None
        key = rule.key.replace("_", "-")
        return monitor.ScheduledQueryRule(
            f"{name}-alert-{key}",
            rule_name=f"{args.names.alert_prefix}-{key}",
            display_name=rule.title,
            description=rule.description,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="LogAlert",
            enabled=True,
            severity=rule.severity,
            scopes=[self.log_analytics.id],
            evaluation_frequency=iso_minutes(rule.frequency_minutes),
            window_size=iso_minutes(rule.window_minutes),
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(all_of=[monitor.ConditionArgs(
                query=rule.query,
                time_aggregation=rule.time_aggregation,
                metric_measure_column=rule.measure,
                operator="GreaterThanOrEqual",
                threshold=rule.threshold,
                failing_periods=monitor.ConditionFailingPeriodsArgs(number_of_evaluation_periods=1, min_failing_periods_to_alert=1),
            )]),
            actions=monitor.ActionsArgs(action_groups=[self.action_group.id]),
            auto_mitigate=False,
            tags=dict(args.tags),
            opts=child(self),
        )

    def _flow_logs(self, name: str, args: AuditLoggingArgs) -> None:
        spec, names, tags = args.monitoring.flow_logs, args.names, dict(args.tags)
        # Only the trusted Network Watcher service writes here (AzureServices bypass), signing in with the flow
        # log's managed identity: no public blob access, no shared keys, TLS 1.2 over HTTPS.
        self.flow_log_storage = storage.StorageAccount(
            f"{name}-flow-log-storage",
            account_name=names.flow_log_storage_account,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name="Standard_GRS"),
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            public_network_access="Enabled",
            network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY, bypass="AzureServices"),
            tags=tags,
            opts=child(self, protect=args.protect),
        )
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-flow-log-identity",
            resource_name_=f"id-{names.flow_log}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=child(self),
        )
        grant = authorization.RoleAssignment(
            f"{name}-flow-log-storage-writer",
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=self.flow_log_storage.id.apply(lambda account_id: role_definition_id(account_id, "Storage Blob Data Contributor")),
            scope=self.flow_log_storage.id,
            opts=child(self),
        )
        watcher = spec.network_watcher_name or f"NetworkWatcher_{args.location}"
        self.flow_log = network.FlowLog(
            f"{name}-flow-log",
            flow_log_name=names.flow_log,
            network_watcher_name=watcher,
            resource_group_name=spec.network_watcher_resource_group,
            location=args.location,
            target_resource_id=args.vnet_id,
            storage_id=self.flow_log_storage.id,
            enabled=True,
            identity=network.ManagedServiceIdentityArgs(type=network.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[identity.id]),
            format=network.FlowLogFormatParametersArgs(type="JSON", version=2),
            retention_policy=network.RetentionPolicyParametersArgs(enabled=True, days=spec.retention_days),
            flow_analytics_configuration=network.TrafficAnalyticsPropertiesArgs(
                network_watcher_flow_analytics_configuration=network.TrafficAnalyticsConfigurationPropertiesArgs(
                    enabled=True,
                    traffic_analytics_interval=spec.traffic_analytics_interval_minutes,
                    workspace_id=self.log_analytics.customer_id,
                    workspace_region=args.location,
                    workspace_resource_id=self.log_analytics.id,
                ),
            ),
            tags=tags,
            opts=child(self, depends_on=[grant]),
        )

    def _siem(self, name: str, args: AuditLoggingArgs) -> None:
        siem, names = args.monitoring.siem, args.names
        # Local (SAS key) auth off: the SIEM reads with an Entra identity (Azure Event Hubs Data Receiver), and no
        # shared key exists to leak.
        self.event_hub_namespace = eventhub.Namespace(
            f"{name}-event-hub-namespace",
            namespace_name=names.event_hub_namespace,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=eventhub.SkuArgs(name="Standard", tier="Standard", capacity=1),
            minimum_tls_version="1.2",
            disable_local_auth=True,
            tags=dict(args.tags),
            opts=child(self),
        )
        self.event_hub = eventhub.EventHub(
            f"{name}-event-hub",
            event_hub_name=names.event_hub,
            namespace_name=self.event_hub_namespace.name,
            resource_group_name=args.resource_group_name,
            partition_count=siem.partition_count,
            message_retention_in_days=siem.message_retention_days,
            opts=child(self),
        )
        # Data export sends every new row of these tables to the hub as it arrives.
        self.data_export = operationalinsights.DataExport(
            f"{name}-siem-export",
            data_export_name="siem",
            workspace_name=self.log_analytics.name,
            resource_group_name=args.resource_group_name,
            table_names=list(args.export_tables),
            resource_id=self.event_hub_namespace.id,
            event_hub_name=self.event_hub.name,
            enable=True,
            opts=child(self),
        )


@dataclass(frozen=True)
class DiagnosticTarget:
    """One audited resource: its diagnostic setting sends every category of `kind` to Log Analytics."""

    key: str  # logical-name suffix: "workspace", "aks", "key-vault", "lake-blob"
    kind: str  # a components.planning.diagnostics target kind
    resource_uri: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class AuditDiagnosticsArgs:
    log_analytics_id: pulumi.Input[str]
    targets: tuple[DiagnosticTarget, ...]


class AuditDiagnostics(pulumi.ComponentResource):
    settings: dict[str, monitor.DiagnosticSetting]

    def __init__(self, name: str, args: AuditDiagnosticsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:audit:AuditDiagnostics", name, {}, opts)
        self.settings = {}
        for target in args.targets:
            self.settings[target.key] = monitor.DiagnosticSetting(
                f"{name}-{target.key}",
                name=diagnostics.SETTING_NAME,
                resource_uri=target.resource_uri,
                workspace_id=args.log_analytics_id,
                # Resource-specific tables (AKSAudit, AZKVAuditLogs, ...) rather than AzureDiagnostics, where the
                # resource has them (SQL audit events have none).
                log_analytics_destination_type=None if target.kind in diagnostics.SHARED_TABLE_KINDS else "Dedicated",
                logs=[monitor.DiagnosticsLogSettingsArgs(category=c, enabled=True) for c in diagnostics.categories(target.kind)],
                opts=child(self, depends_on=target.depends_on),
            )
        self.register_outputs({})
