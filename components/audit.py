"""Audit: where the logs go and what wakes someone up.

`AuditLogging` (created right after the network): the Log Analytics workspace every log lands in, the action group
and scheduled query rules (components/planning/alerts.py), VNet flow logs with traffic analytics, and the optional
Event Hub export for an external SIEM. `MonitorPrivateLink` (after the private endpoints whose DNS zones it shares):
the Azure Monitor Private Link Scope that Log Analytics ingestion and query go through where the workspace refuses
public networks. `AuditDiagnostics` (created last, once every audited resource exists): one diagnostic setting per
audited resource, with the categories of components/planning/diagnostics.py.

None of the audit stores takes public traffic (components/planning/audit_network.py has the sources): the flow-log
storage account lets only trusted Azure services (Network Watcher) through a default-deny firewall, the Event Hub
namespace has public network access Disabled with the trusted-services exception Log Analytics data export needs and
a private endpoint for the SIEM, and in staging and prod the workspace accepts ingestion and queries only through the
scope's private endpoint (diagnostic settings are not affected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import eventhub, managedidentity, monitor, network, operationalinsights, privatedns, storage

from components._base import child, role_assignment
from components._private_endpoints import private_endpoint, private_zone
from components.planning import audit_network, diagnostics
from components.planning.alerts import AlertRule, iso_minutes
from components.planning.data_paths import MONITOR, SIEM
from components.planning.naming import NamePlan
from components.spec.audit import FlowLogSpec, MonitoringSpec, MonitorPrivateLinkSpec, SiemSpec

# Storage Blob Data Contributor: what the flow log's identity needs on its storage account
# (https://learn.microsoft.com/azure/network-watcher/vnet-flow-logs-managed-identity).


@dataclass(frozen=True)
class AuditLoggingArgs:
    location: str
    tags: Mapping[str, str]
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    # Log retention, the workspace's network flags and the alert emails (flow logs and the SIEM export: below).
    monitoring: MonitoringSpec
    # VNet flow logs and the SIEM export's Event Hub to set up; None: not this one (EnvironmentPlan.parts decides).
    flow_logs: FlowLogSpec | None
    siem: SiemSpec | None
    # Scheduled query rules, already filtered for this tier and topology (components/planning/alerts.alert_rules).
    rules: tuple[AlertRule, ...]
    # The workspace VNet, the flow log's target and the network whose DNS resolves the SIEM hub's endpoint.
    vnet_id: pulumi.Input[str]
    protect: bool
    # The workspace VNet's private-endpoint subnet: the SIEM hub's endpoint lives there.
    endpoint_subnet_id: pulumi.Input[str] | None = None
    # Application security group id per endpoint class (components/planning/data_paths.py): the SIEM endpoint joins
    # class `siem`'s.
    endpoint_asg_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
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
    event_hub_network_rules: eventhub.NamespaceNetworkRuleSet | None
    event_hub_endpoint: network.PrivateEndpoint | None
    data_export: operationalinsights.DataExport | None

    def __init__(self, name: str, args: AuditLoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:audit:AuditLogging", name, {}, opts)
        mon, names, tags = args.monitoring, args.names, dict(args.tags)
        aliases = [pulumi.Alias(parent=args.previous_parent)] if args.previous_parent is not None else None
        flags = audit_network.workspace_network_flags(public_ingestion=mon.private_link.public_ingestion,
                                                      public_query=mon.private_link.public_query)
        self.log_analytics = operationalinsights.Workspace(
            args.log_analytics_resource_name or f"{name}-log-analytics",
            workspace_name=names.log_analytics,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=mon.log_retention_days,
            # Ingestion and queries from networks not connected through an Azure Monitor Private Link Scope
            # (MonitorPrivateLink): Disabled in staging and prod. Diagnostic settings arrive regardless.
            public_network_access_for_ingestion=flags["publicNetworkAccessForIngestion"],
            public_network_access_for_query=flags["publicNetworkAccessForQuery"],
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
        if args.flow_logs is not None:
            self._flow_logs(name, args, args.flow_logs)

        self.event_hub_namespace = self.event_hub = self.data_export = None
        self.event_hub_network_rules = self.event_hub_endpoint = None
        if args.siem is not None:
            self._siem(name, args, args.siem)

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

    def _flow_logs(self, name: str, args: AuditLoggingArgs, spec: FlowLogSpec) -> None:
        names, tags = args.names, dict(args.tags)
        # Only the trusted Network Watcher service writes here, signing in with the flow log's managed identity: no
        # public blob access, no shared keys, TLS 1.2 over HTTPS. Flow logs write to a storage account behind a
        # firewall only with public network access "Enabled from selected networks" plus the trusted-services
        # exception (Network Watcher FAQ, components/planning/audit_network.py): the firewall denies by default
        # and has no IP or VNet rule, so the AzureServices bypass is the one way through the public endpoint.
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
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY, bypass=audit_network.TRUSTED_SERVICES_BYPASS,
                ip_rules=[], virtual_network_rules=[],
            ),
            tags=tags,
            opts=child(self, protect=args.protect),
        )
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-flow-log-identity",
            resource_name_=names.flow_log_identity,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=tags,
            opts=child(self),
        )
        grant = role_assignment(
            self, f"{name}-flow-log-storage-writer", scope=self.flow_log_storage.id, role="Storage Blob Data Contributor",
            principal_id=identity.principal_id, principal_type="ServicePrincipal",
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

    def _siem(self, name: str, args: AuditLoggingArgs, siem: SiemSpec) -> None:
        names, tags = args.names, dict(args.tags)
        # Local (SAS key) auth off: the SIEM reads with an Entra identity (Azure Event Hubs Data Receiver), and no
        # shared key exists to leak. No public traffic: public network access Disabled; the network rule set keeps
        # the trusted-services exception, the only way Log Analytics data export reaches a namespace behind its
        # firewall (components/planning/audit_network.py). Standard tier: private endpoints need more than Basic.
        self.event_hub_namespace = eventhub.Namespace(
            f"{name}-event-hub-namespace",
            namespace_name=names.event_hub_namespace,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=eventhub.SkuArgs(name="Standard", tier="Standard", capacity=1),
            minimum_tls_version="1.2",
            disable_local_auth=True,
            public_network_access="Disabled",
            tags=tags,
            opts=child(self),
        )
        self.event_hub_network_rules = eventhub.NamespaceNetworkRuleSet(
            f"{name}-event-hub-network-rules",
            namespace_name=self.event_hub_namespace.name,
            resource_group_name=args.resource_group_name,
            default_action="Deny",
            public_network_access="Disabled",
            trusted_service_access_enabled=True,
            ip_rules=[],
            virtual_network_rules=[],
            opts=child(self),
        )
        if siem.private_endpoint:
            assert args.endpoint_subnet_id is not None, "the SIEM hub's private endpoint needs the endpoint subnet"
            zone = private_zone(self, f"{name}-event-hub", zone_name=audit_network.EVENT_HUB_ZONE,
                                resource_group_name=args.resource_group_name, links={"workspace-vnet": args.vnet_id}, tags=tags)
            self.event_hub_endpoint = private_endpoint(
                self, f"{name}-event-hub", endpoint_name=names.event_hub_endpoint, resource_group_name=args.resource_group_name,
                location=args.location, subnet_id=args.endpoint_subnet_id, target_id=self.event_hub_namespace.id,
                group_id=audit_network.EVENT_HUB_GROUP, zone=zone, zone_config_name="privatelink-servicebus-windows-net",
                tags=tags, depends_on=[self.event_hub_network_rules],
                application_security_group_id=args.endpoint_asg_ids.get(SIEM),
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
            opts=child(self, depends_on=[self.event_hub_network_rules]),
        )


@dataclass(frozen=True)
class MonitorPrivateLinkArgs:
    location: str
    tags: Mapping[str, str]
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    monitoring: MonitorPrivateLinkSpec
    log_analytics_id: pulumi.Input[str]
    # The one network that resolves Azure Monitor through this scope: the workspace VNet (the AKS subnet included).
    vnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    # Application security group id per endpoint class (components/planning/data_paths.py): the endpoint joins
    # class `monitor`'s.
    endpoint_asg_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    # privatelink.blob.core.windows.net when another component already made it in this resource group (two zones
    # of one name in one resource group collide); else this component makes and links it.
    blob_zone: privatedns.PrivateZone | None = None


class MonitorPrivateLink(pulumi.ComponentResource):
    """The Azure Monitor Private Link Scope: the Log Analytics workspace scoped into it, one private endpoint (group
    `azuremonitor`) in the endpoint subnet and the five documented DNS zones, linked to the workspace VNet only (AMPLS
    DNS is shared by every network on the same DNS, so one scope serves it; components/planning/audit_network.py)."""

    scope: monitor.PrivateLinkScope
    scoped_workspace: monitor.PrivateLinkScopedResource
    endpoint: network.PrivateEndpoint
    zones: dict[str, privatedns.PrivateZone]

    def __init__(self, name: str, args: MonitorPrivateLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:audit:MonitorPrivateLink", name, {}, opts)
        spec, names, tags = args.monitoring, args.names, dict(args.tags)
        self.scope = monitor.PrivateLinkScope(
            f"{name}-scope",
            scope_name=names.monitor_private_link_scope,
            resource_group_name=args.resource_group_name,
            location=audit_network.AMPLS_LOCATION,
            access_mode_settings=monitor.AccessModeSettingsArgs(
                ingestion_access_mode=spec.ingestion_access_mode, query_access_mode=spec.query_access_mode, exclusions=[],
            ),
            tags=tags,
            opts=child(self),
        )
        self.scoped_workspace = monitor.PrivateLinkScopedResource(
            f"{name}-log-analytics",
            name=names.log_analytics_scoped,
            scope_name=self.scope.name,
            resource_group_name=args.resource_group_name,
            linked_resource_id=args.log_analytics_id,
            opts=child(self),
        )
        self.zones = {}
        for zone_name, _config in audit_network.AMPLS_ZONES:
            if zone_name == audit_network.AMPLS_BLOB_ZONE and args.blob_zone is not None:
                self.zones[zone_name] = args.blob_zone
                continue
            key = _config.removeprefix("privatelink-")
            self.zones[zone_name] = private_zone(self, f"{name}-{key}", zone_name=zone_name,
                                                 resource_group_name=args.resource_group_name,
                                                 links={"workspace-vnet": args.vnet_id}, tags=tags)
        (first_zone, first_config), *rest = audit_network.AMPLS_ZONES
        self.endpoint = private_endpoint(
            self, name, endpoint_name=names.monitor_endpoint, resource_group_name=args.resource_group_name,
            location=args.location, subnet_id=args.endpoint_subnet_id, target_id=self.scope.id,
            group_id=audit_network.AMPLS_GROUP, zone=self.zones[first_zone], zone_config_name=first_config, tags=tags,
            more_zones=[(config, self.zones[zone_name]) for zone_name, config in rest],
            # The workspace is scoped before the endpoint connects, so the endpoint's records cover it from the start.
            depends_on=[self.scoped_workspace],
            application_security_group_id=args.endpoint_asg_ids.get(MONITOR),
        )
        self.register_outputs({"scopeId": self.scope.id, "endpointId": self.endpoint.id})


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
