"""AksCluster: a private AKS cluster for the ingress tier, in its own subnet of the workspace VNet.

Azure CNI with a network policy engine that enforces NetworkPolicies (never none), a private API
server (or authorized ranges), no local accounts, Entra ID RBAC, workload identity; automatic patch and node-image
upgrades, ephemeral OS disks encrypted at the host, and Key Vault secrets through the Secrets Store CSI driver with
rotation. Container Insights is onboarded the way Microsoft's managed-identity template does it: the monitoring addon
with `useAADAuth`, a data collection rule that writes ContainerLogV2 (what the ingress alerts read) associated with
the cluster and, behind an Azure Monitor Private Link Scope, a configuration endpoint in that scope
(components/planning/container_insights.py).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, containerservice, monitor

from components._base import child, role_assignment
from components.planning import container_insights as ci
from components.planning.kubeconfig import LoginMode, exec_kubeconfig
from components.planning.naming import NamePlan
from components.planning.workload_identity import CLUSTER_ADMIN_ROLE, NETWORK_CONTRIBUTOR_ROLE, role_assignment_name
from components.spec.ingress import AksSpec

# The addon key of the Azure Key Vault provider for the Secrets Store CSI driver.
SECRETS_PROVIDER_ADDON = "azureKeyvaultSecretsProvider"


@dataclass(frozen=True)
class AksClusterArgs:
    location: str
    tags: Mapping[str, str]
    # The cluster's, its subnet's and its Container Insights' names (aks_cluster, aks_subnet, aks_data_collection_*).
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    spec: AksSpec
    # Egress follows the VNet's: the NAT gateway, or the firewall's route table (user-defined routing).
    outbound_type: str
    # Container logs (the controller's JSON access logs among them) go to this Log Analytics workspace.
    log_analytics_workspace_id: pulumi.Input[str]
    tenant_id: str | None = None
    # The Azure Monitor Private Link Scope the workspace is scoped into (components/audit.py MonitorPrivateLink), when
    # the workspace refuses public ingestion: the agent's configuration endpoint joins it (planning/container_insights).
    monitor_private_link_scope_name: pulumi.Input[str] | None = None
    # The identity running `pulumi up` (authorization getClientConfig objectId): it holds AKS RBAC cluster-admin so
    # the program's Kubernetes provider may create the tier.
    deployer_object_id: pulumi.Input[str] | None = None
    # How that identity signs in to the API server through kubelogin (stack config `kubeloginMode`).
    kubelogin_mode: LoginMode = "azurecli"
    # What the cluster waits for: the Azure Monitor Private Link Scope (endpoint and DNS) where the workspace refuses public
    # ingestion (Microsoft: configure the private link before monitoring is enabled, MicrosoftDocs/azure-monitor-docs
    # articles/azure-monitor/containers/kubernetes-monitoring-private-link.md).
    # ... and, with firewall egress, what must exist before the nodes bootstrap (the firewall's rules, the hub peering).
    depends_on: Sequence[pulumi.Resource] = ()


# With a user pool, the system pool keeps only critical system pods (https://learn.microsoft.com/azure/aks/use-system-pools).
CRITICAL_ADDONS_ONLY = "CriticalAddonsOnly=true:NoSchedule"


class AksCluster(pulumi.ComponentResource):
    cluster: containerservice.ManagedCluster
    user_pool: containerservice.AgentPool | None
    # Container Insights: the data collection rule that writes ContainerLogV2 and its association with the cluster;
    # with a private link scope, the configuration endpoint, its association and its place in the scope.
    data_collection_rule: monitor.DataCollectionRule
    data_collection_rule_association: monitor.DataCollectionRuleAssociation
    data_collection_endpoint: monitor.DataCollectionEndpoint | None
    data_collection_endpoint_association: monitor.DataCollectionRuleAssociation | None
    data_collection_endpoint_scoped: monitor.PrivateLinkScopedResource | None
    kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:kubernetes:AksCluster", name, {}, opts)
        spec, names = args.spec, args.names
        self.cluster = containerservice.ManagedCluster(
            f"{name}-cluster",
            resource_name_=names.aks_cluster,
            resource_group_name=args.resource_group_name,
            location=args.location,
            dns_prefix=names.aks_cluster,
            kubernetes_version=spec.kubernetes_version,
            identity=containerservice.ManagedClusterIdentityArgs(type=containerservice.ResourceIdentityType.SYSTEM_ASSIGNED),
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard"),
            agent_pool_profiles=[containerservice.ManagedClusterAgentPoolProfileArgs(
                name="system", mode="System", count=spec.node_count, vm_size=spec.vm_size, max_pods=spec.max_pods,
                os_type="Linux", type="VirtualMachineScaleSets", vnet_subnet_id=args.subnet_id,
                enable_node_public_ip=False,
                # Node state stays on the host (AksSpec.os_disk_type), encrypted there too (encryption_at_host).
                os_disk_type=spec.os_disk_type, os_disk_size_gb=spec.os_disk_size_gb,
                enable_encryption_at_host=spec.encryption_at_host,
                node_taints=[CRITICAL_ADDONS_ONLY] if spec.user_pool is not None else None,
            )],
            # Patch releases of the pinned minor version, and a weekly patched node image (AksSpec).
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=spec.upgrade_channel, node_os_upgrade_channel=spec.node_os_upgrade_channel,
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin="azure", network_policy=spec.network_policy, load_balancer_sku="standard",
                outbound_type=args.outbound_type, service_cidr="172.16.0.0/16", dns_service_ip="172.16.0.10",
            ),
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=spec.private_api_server,
                authorized_ip_ranges=list(spec.authorized_ip_ranges) or None,
            ),
            # Only Entra ID identities, authorized by Azure RBAC: no shared admin certificate.
            disable_local_accounts=True,
            enable_rbac=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(managed=True, enable_azure_rbac=True,
                                                                      tenant_id=args.tenant_id),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            # Container Insights: every pod's stdout, the ingress access logs included, lands in Log Analytics, with
            # the agent signing in by managed identity; what it collects is the data collection rule below.
            addon_profiles={
                ci.ADDON: containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True, config={ci.WORKSPACE_KEY: args.log_analytics_workspace_id, **ci.ADDON_AUTH},
                ),
                # Key Vault secrets mounted through the Secrets Store CSI driver follow rotation in Key Vault; the
                # addon's config values are strings (https://learn.microsoft.com/azure/aks/csi-secrets-store-configuration-options).
                SECRETS_PROVIDER_ADDON: containerservice.ManagedClusterAddonProfileArgs(
                    enabled=True,
                    config={"enableSecretRotation": "true", "rotationPollInterval": spec.secret_rotation_poll_interval},
                ),
            },
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
            ),
            tags=dict(args.tags),
            opts=child(self, depends_on=args.depends_on),
        )
        self._container_insights(name, args)
        self.user_pool = None
        if spec.user_pool is not None:
            pool = spec.user_pool
            self.user_pool = containerservice.AgentPool(
                f"{name}-user-pool",
                agent_pool_name=pool.name,
                resource_name_=self.cluster.name,
                resource_group_name=args.resource_group_name,
                mode="User",
                orchestrator_version=spec.kubernetes_version,
                vm_size=pool.vm_size,
                # The autoscaler keeps the pool between its bounds; `count` is where it starts.
                enable_auto_scaling=True, min_count=pool.min_count, max_count=pool.max_count, count=pool.min_count,
                max_pods=pool.max_pods, os_type="Linux", type="VirtualMachineScaleSets", vnet_subnet_id=args.subnet_id,
                enable_node_public_ip=False,
                os_disk_type=spec.os_disk_type, os_disk_size_gb=spec.os_disk_size_gb,
                enable_encryption_at_host=spec.encryption_at_host,
                tags=dict(args.tags),
                opts=child(self),
            )
        self.oidc_issuer_url: pulumi.Output[str] = self.cluster.oidc_issuer_profile.apply(
            lambda p: (p.issuer_url if p is not None else None) or "")
        self.role_assignments = self._role_assignments(name, args)
        # The user kubeconfig in exec format (an Entra ID cluster's; `format` per the SDK docstring of
        # listManagedClusterUserCredentials), converted as `kubelogin convert-kubeconfig -l <mode>` would: the
        # provider signs in through Entra ID, never with a local account or a stored token.
        credentials = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=args.resource_group_name, resource_name=self.cluster.name, format="exec",
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.cluster]),
        )
        mode = args.kubelogin_mode
        self.kubeconfig = pulumi.Output.secret(credentials.kubeconfigs.apply(
            lambda configs: exec_kubeconfig(base64.b64decode(configs[0].value).decode(), mode)))
        self.register_outputs({"clusterId": self.cluster.id, "oidcIssuerUrl": self.oidc_issuer_url,
                               "userPoolId": self.user_pool.id if self.user_pool is not None else None,
                               "dataCollectionRuleId": self.data_collection_rule.id})

    def _container_insights(self, name: str, args: AksClusterArgs) -> None:
        """Microsoft's managed-identity onboarding of Container Insights (components/planning/container_insights.py
        has the template it follows): the DCR with the ContainerLogV2 stream, its association with the cluster and,
        behind a private link scope, the configuration endpoint in the scope."""
        tags, names = dict(args.tags), args.names
        # The workspace lives in the environment's region (AuditLogging), so the DCR does too.
        self.data_collection_rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            data_collection_rule_name=names.aks_data_collection_rule,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Linux",
            description="Container Insights of the ingress cluster: container logs (ContainerLogV2), inventory, "
                        "events and metrics to the environment's Log Analytics workspace.",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(extensions=[monitor.ExtensionDataSourceArgs(
                name=ci.EXTENSION_DATA_SOURCE, extension_name=ci.EXTENSION_NAME, streams=list(ci.STREAMS),
                extension_settings={"dataCollectionSettings": dict(ci.DATA_COLLECTION_SETTINGS)},
            )]),
            destinations=monitor.DataCollectionRuleDestinationsArgs(log_analytics=[monitor.LogAnalyticsDestinationArgs(
                name=ci.DESTINATION, workspace_resource_id=args.log_analytics_workspace_id,
            )]),
            data_flows=[monitor.DataFlowArgs(streams=list(ci.STREAMS), destinations=[ci.DESTINATION])],
            tags=tags,
            opts=child(self),
        )
        self.data_collection_rule_association = monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights-association",
            association_name=ci.DCR_ASSOCIATION,
            resource_uri=self.cluster.id,
            data_collection_rule_id=self.data_collection_rule.id,
            description="Association of data collection rule. Deleting this association will break the data "
                        "collection for this AKS Cluster.",
            opts=child(self),
        )
        self.data_collection_endpoint = self.data_collection_endpoint_association = None
        self.data_collection_endpoint_scoped = None
        if args.monitor_private_link_scope_name is None:
            return
        self.data_collection_endpoint = monitor.DataCollectionEndpoint(
            f"{name}-container-insights-config",
            data_collection_endpoint_name=names.aks_data_collection_endpoint,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="Linux",
            network_acls=monitor.DataCollectionEndpointNetworkAclsArgs(public_network_access="Disabled"),
            tags=tags,
            opts=child(self),
        )
        self.data_collection_endpoint_scoped = monitor.PrivateLinkScopedResource(
            f"{name}-container-insights-config-scoped",
            name=names.aks_data_collection_endpoint_scoped,
            scope_name=args.monitor_private_link_scope_name,
            resource_group_name=args.resource_group_name,
            linked_resource_id=self.data_collection_endpoint.id,
            opts=child(self),
        )
        self.data_collection_endpoint_association = monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights-config-association",
            association_name=ci.DCE_ASSOCIATION,
            resource_uri=self.cluster.id,
            data_collection_endpoint_id=self.data_collection_endpoint.id,
            description="Association of data collection rule endpoint. Deleting this association will break the "
                        "data collection endpoint for this AKS Cluster.",
            opts=child(self, depends_on=[self.data_collection_endpoint_scoped]),
        )

    def _role_assignments(self, name: str, args: AksClusterArgs) -> list[authorization.RoleAssignment]:
        """The cluster identity manages internal load balancers in its subnet (Network Contributor there:
        https://learn.microsoft.com/azure/aks/internal-lb, "Before you begin"; the system-assigned identity is the
        cluster identity, https://learn.microsoft.com/azure/aks/use-managed-identity); the admin group and the deploying
        identity hold AKS RBAC Cluster Admin on the cluster (Azure RBAC for Kubernetes authorization,
        https://learn.microsoft.com/azure/aks/manage-azure-rbac)."""
        cluster_name = args.names.aks_cluster
        out = [role_assignment(
            self, f"{name}-subnet-network-contributor",
            name=role_assignment_name(f"{cluster_name}/{args.names.aks_subnet}", NETWORK_CONTRIBUTOR_ROLE, "cluster-identity"),
            scope=args.subnet_id,
            role=NETWORK_CONTRIBUTOR_ROLE,
            principal_id=self.cluster.identity.apply(lambda i: (i.principal_id if i is not None else None) or ""),
            # Set, so the just-created identity is not looked up in Entra ID before it has replicated.
            principal_type="ServicePrincipal",
            description=f"{cluster_name}'s identity places internal load balancers in its subnet",
            depends_on=[self.cluster],
        )]
        admins: list[tuple[str, pulumi.Input[str], str]] = []
        if args.spec.admin_group_object_id is not None:
            admins.append(("admin-group", args.spec.admin_group_object_id, "Group"))
        if args.deployer_object_id is not None:
            admins.append(("deployer", args.deployer_object_id, "ServicePrincipal"))
        for key, principal, kind in admins:
            out.append(role_assignment(
                self, f"{name}-{key}-cluster-admin",
                name=pulumi.Output.from_input(principal).apply(lambda p: role_assignment_name(cluster_name, CLUSTER_ADMIN_ROLE, p)),
                scope=self.cluster.id,
                role=CLUSTER_ADMIN_ROLE,
                principal_id=principal,
                # The deployer may be a user (a laptop) or a service principal (CI): left for Azure to look up.
                principal_type=kind if kind == "Group" else None,
                description=f"AKS RBAC cluster-admin on {cluster_name} ({key})",
                depends_on=[self.cluster],
            ))
        return out
