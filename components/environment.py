"""SecureDatabricksEnvironment: the whole topology from one EnvironmentSpec.

The only place that creates providers. Everything below it is parented to it, so the explicit
azure-native provider reaches every resource without a default provider.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native
import pulumi_databricks as databricks
import pulumi_kubernetes as k8s
from pulumi_azure_native import operationalinsights

from components.access import WorkspaceAccessArgs, WorkspaceAccessControl
from components.aks import AksCluster, AksClusterArgs
from components.ingress import IngressSecrets, IngressTier, IngressTierArgs
from components.network import DatabricksNetwork, DatabricksNetworkArgs
from components.planning.addresses import SubnetPlan, parse_network
from components.planning.ingress import Connector, TierLayout, network_policies
from components.planning.nsg_rules import private_endpoint_subnet_rules, workspace_subnet_rules
from components.private_link import PrivateLink, PrivateLinkArgs, TransitSide
from components.spec import EnvironmentSpec
from components.spec.models import AKS, CONTAINER, ENDPOINTS, HOST
from components.transit import TransitNetwork, TransitNetworkArgs
from components.workspace import SecureWorkspace, SecureWorkspaceArgs


@dataclass(frozen=True)
class AzureSettings:
    """Provider settings from stack config; None leaves the provider's own discovery (CLI login, env vars)."""

    subscription_id: str | None = None
    tenant_id: str | None = None
    # The Databricks provider signs in as this Entra application when given (CI with a client secret);
    # otherwise it uses the Azure CLI login or workload identity federation from the environment.
    databricks_client_id: str | None = None
    databricks_client_secret: pulumi.Output[str] | None = None
    # An existing cluster's kubeconfig (a Pulumi secret), when the ingress tier does not create AKS.
    kubeconfig: pulumi.Output[str] | None = None


def transit_endpoint_cidr(address_space: str, prefix_length: int) -> str:
    """The transit VNet's endpoint subnet: the first block of the requested size."""
    return str(next(parse_network(address_space).subnets(new_prefix=prefix_length)))


def tier_layout(spec: EnvironmentSpec) -> TierLayout:
    """What the ingress tier's NetworkPolicies are built from (also read by the flow tests)."""
    ingress, plan = spec.ingress, spec.network.plan
    routes_open = any(not r.allow_cidrs for r in ingress.routes)
    clients = () if routes_open else tuple(sorted({c for r in ingress.routes for c in r.allow_cidrs}))
    api = str(plan[AKS]) if ingress.cluster == "aks" else ingress.api_server_cidr
    assert api is not None
    return TierLayout(
        ingress_namespace=ingress.namespace,
        apps_namespace=ingress.apps_namespace,
        connectors=tuple(Connector(c.name, c.port) for c in ingress.connectors),
        client_cidrs=clients,
        databricks_endpoint_cidr=str(plan[ENDPOINTS]),
        approved_egress_cidrs=ingress.approved_egress_cidrs,
        api_server_cidr=api,
        oauth2_proxy=ingress.oauth2_proxy is not None,
        acme=any(r.certificate_issuer == "acme" for r in ingress.routes),
        metrics_namespace=ingress.metrics_namespace,
    )


class SecureDatabricksEnvironment(pulumi.ComponentResource):
    workspace_url: pulumi.Output[str]
    workspace_resource_id: pulumi.Output[str]
    workspace_id: pulumi.Output[str]

    def __init__(self, name: str, spec: EnvironmentSpec, azure: AzureSettings,
                 ingress_secrets: IngressSecrets | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:environment:SecureDatabricksEnvironment", name, {}, opts)
        names, net, tags = spec.names, spec.network, spec.all_tags
        plan: SubnetPlan = net.plan
        protect = spec.protection.protect_data

        provider = azure_native.Provider(
            f"{name}-azure",
            location=spec.region,
            subscription_id=azure.subscription_id,
            tenant_id=azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        kids = pulumi.ResourceOptions(parent=self, providers={"azure-native": provider})

        workspace_rules = workspace_subnet_rules(spec.workspace.required_nsg_rules, net.egress.allow_internet_outbound)
        endpoint_rules = private_endpoint_subnet_rules((str(plan[HOST]), str(plan[CONTAINER])), str(plan[ENDPOINTS]))
        self.network = DatabricksNetwork(
            f"{name}-network",
            DatabricksNetworkArgs(
                location=spec.region,
                tags=tags,
                resource_group_name=names.resource_group,
                vnet_name=names.virtual_network,
                address_space=net.address_space,
                host_subnet_name=names.host_subnet,
                host_cidr=str(plan[HOST]),
                container_subnet_name=names.container_subnet,
                container_cidr=str(plan[CONTAINER]),
                endpoint_subnet_name=names.private_endpoint_subnet,
                endpoint_cidr=str(plan[ENDPOINTS]),
                nsg_name=names.network_security_group,
                workspace_rules=workspace_rules,
                endpoint_nsg_name=names.endpoint_network_security_group,
                endpoint_rules=endpoint_rules,
                egress_mode=net.egress.mode,
                nat_gateway_name=names.nat_gateway,
                nat_public_ip_name=names.nat_public_ip,
                nat_idle_timeout_minutes=net.egress.nat_idle_timeout_minutes,
                route_table_name=names.route_table,
                firewall_private_ip=net.egress.firewall_private_ip,
                aks_subnet_name=names.aks_subnet if self._creates_aks(spec) else None,
                aks_cidr=str(plan[AKS]) if self._creates_aks(spec) else None,
            ),
            opts=kids,
        )

        self.workspace = SecureWorkspace(
            f"{name}-workspace",
            SecureWorkspaceArgs(
                location=spec.region,
                tags=tags,
                workspace_name=names.workspace,
                resource_group_name=self.network.resource_group_name,
                resource_group_id=self.network.resource_group_id,
                managed_resource_group_name=names.managed_resource_group,
                vnet_id=self.network.vnet_id,
                host_subnet_name=self.network.host_subnet_name,
                container_subnet_name=self.network.container_subnet_name,
                public_network_access=spec.workspace.public_network_access,
                required_nsg_rules=spec.workspace.required_nsg_rules,
                storage_account_name=names.workspace_storage_account,
                storage_account_sku=spec.workspace.storage_account_sku,
                default_storage_firewall=spec.workspace.default_storage_firewall,
                access_connector_name=names.access_connector,
                protect=protect,
                depends_on=self.network.workspace_subnets,
            ),
            opts=kids,
        )

        pl = spec.private_link
        transit_side = None
        if pl.transit is not None and (pl.frontend or pl.browser_authentication != "none"):
            t = pl.transit
            self.transit = TransitNetwork(
                f"{name}-transit",
                TransitNetworkArgs(
                    location=spec.region,
                    tags=tags,
                    resource_group_name=names.transit_resource_group,
                    vnet_name=names.transit_virtual_network if t.address_space else None,
                    address_space=t.address_space,
                    endpoint_subnet_name=names.transit_private_endpoint_subnet if t.address_space else None,
                    endpoint_cidr=transit_endpoint_cidr(t.address_space, t.private_endpoint_prefix_length) if t.address_space else None,
                    existing_vnet_id=t.existing_vnet_id,
                    existing_subnet_id=t.existing_subnet_id,
                ),
                opts=kids,
            )
            transit_side = TransitSide(
                resource_group_name=self.transit.resource_group_name,
                vnet_id=self.transit.vnet_id,
                endpoint_subnet_id=self.transit.endpoint_subnet_id,
                extra_dns_link_vnet_ids=t.dns_link_vnet_ids,
            )

        self.private_link = PrivateLink(
            f"{name}-private-link",
            PrivateLinkArgs(
                location=spec.region,
                tags=tags,
                workspace_resource_id=self.workspace.resource_id,
                resource_group_name=self.network.resource_group_name,
                vnet_id=self.network.vnet_id,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                backend=pl.backend,
                backend_endpoint_name=names.backend_endpoint,
                storage_account_id=self.workspace.storage_account_id if pl.workspace_storage else None,
                dfs_endpoint_name=names.dfs_endpoint,
                blob_endpoint_name=names.blob_endpoint,
                transit=transit_side,
                frontend=pl.frontend,
                frontend_endpoint_name=names.frontend_endpoint,
                browser_authentication=pl.browser_authentication,
                webauth_endpoint_name=names.webauth_endpoint,
                webauth_workspace_name=names.webauth_workspace,
                protect=protect,
            ),
            opts=kids,
        )

        # One Databricks provider per workspace, built from the workspace itself: no ambient
        # credentials or host can point it at another workspace.
        self.databricks_provider = databricks.Provider(
            f"{name}-databricks",
            host=self.workspace.workspace_url.apply(lambda url: f"https://{url}"),
            azure_workspace_resource_id=self.workspace.resource_id,
            azure_tenant_id=azure.tenant_id,
            azure_client_id=azure.databricks_client_id,
            azure_client_secret=azure.databricks_client_secret,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.access = WorkspaceAccessControl(
            f"{name}-access",
            WorkspaceAccessArgs(
                environment=spec.name,
                cost_center=spec.tags.get("cost-center", ""),
                access=spec.access,
                provider=self.databricks_provider,
                workspace=self.workspace.workspace,
                after=[self.workspace.workspace, self.private_link],
            ),
            opts=pulumi.ResourceOptions(
                parent=self, providers={"databricks": self.databricks_provider}, deleted_with=self.workspace.workspace,
            ),
        )

        if spec.ingress.enabled:
            assert ingress_secrets is not None
            self._ingress(name, spec, azure, ingress_secrets, kids)

        self.workspace_url = self.workspace.workspace_url
        self.workspace_resource_id = self.workspace.resource_id
        self.workspace_id = self.workspace.workspace_id
        self.register_outputs({
            "workspaceUrl": self.workspace_url,
            "workspaceResourceId": self.workspace_resource_id,
            "workspaceId": self.workspace_id,
        })

    @staticmethod
    def _creates_aks(spec: EnvironmentSpec) -> bool:
        return spec.ingress.enabled and spec.ingress.cluster == "aks"

    def _ingress(self, name: str, spec: EnvironmentSpec, azure: AzureSettings, secrets: IngressSecrets,
                 kids: pulumi.ResourceOptions) -> None:
        cluster: pulumi.Resource | None = None
        if self._creates_aks(spec):
            self.log_analytics = operationalinsights.Workspace(
                f"{name}-log-analytics",
                workspace_name=spec.names.log_analytics,
                resource_group_name=self.network.resource_group_name,
                location=spec.region,
                sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
                retention_in_days=spec.monitoring.log_retention_days,
                tags=spec.all_tags,
                opts=pulumi.ResourceOptions.merge(kids, pulumi.ResourceOptions(
                    protect=spec.protection.protect_data, retain_on_delete=spec.protection.protect_data or None)),
            )
            assert self.network.aks_subnet_id is not None
            aks = AksCluster(
                f"{name}-aks",
                AksClusterArgs(
                    location=spec.region,
                    tags=spec.all_tags,
                    cluster_name=spec.names.aks_cluster,
                    resource_group_name=self.network.resource_group_name,
                    subnet_id=self.network.aks_subnet_id,
                    spec=spec.ingress.aks,
                    outbound_type="userAssignedNATGateway" if spec.network.egress.mode == "nat_gateway" else "userDefinedRouting",
                    log_analytics_workspace_id=self.log_analytics.id,
                    tenant_id=azure.tenant_id,
                ),
                opts=kids,
            )
            kubeconfig = aks.kubeconfig
            cluster = aks.cluster
        else:
            assert azure.kubeconfig is not None
            kubeconfig = azure.kubeconfig
        # Built only from this cluster's kubeconfig: the ambient one can never be used.
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ingress = IngressTier(
            f"{name}-ingress",
            IngressTierArgs(
                spec=spec.ingress,
                provider=self.kubernetes_provider,
                policies=network_policies(tier_layout(spec)),
                workspace_url=self.workspace.workspace_url,
                secrets=secrets,
                entra_tenant_id=azure.tenant_id,
                cluster=cluster,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.kubernetes_provider},
                                        deleted_with=cluster),
        )
