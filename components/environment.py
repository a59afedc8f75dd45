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

from components.access import WorkspaceAccessArgs, WorkspaceAccessControl
from components.aks import AksCluster, AksClusterArgs
from components.audit import (
    AuditDiagnostics,
    AuditDiagnosticsArgs,
    AuditLogging,
    AuditLoggingArgs,
    DiagnosticTarget,
    MonitorPrivateLink,
    MonitorPrivateLinkArgs,
)
from components.bastion import EngineerAccess, EngineerAccessArgs
from components.connector_identity import ConnectorIdentities, ConnectorIdentitiesArgs
from components.data_sources import DataSources, DataSourcesArgs
from components.firewall import FirewallHub, FirewallHubArgs, HubPeering, HubPeeringArgs
from components.ingress import IngressSecrets, IngressTier, IngressTierArgs
from components.keys import CustomerManagedKeys, CustomerManagedKeysArgs, WorkspaceKeyGrants, WorkspaceKeyGrantsArgs
from components.locks import ResourceLocks, ResourceLocksArgs
from components.network import DatabricksNetwork, DatabricksNetworkArgs
from components.planning import diagnostics
from components.planning.alerts import alert_rules
from components.planning.environment import LAKE_TARGET, WORKSPACE_STORAGE_TARGET
from components.planning.firewall import ARM_FIREWALL_POLICY, ARM_VIRTUAL_NETWORK, RuleCollectionGroup, parse_arm_id
from components.planning.ingress import TierLayout, network_policies
from components.planning.keys import parse_vault_id
from components.planning.kubeconfig import LoginMode
from components.planning.nsg_rules import bastion_subnet_rules, jump_host_subnet_rules
from components.private_link import PrivateLink, PrivateLinkArgs, TransitSide
from components.serverless import ServerlessConnectivity, ServerlessConnectivityArgs, StorageTarget
from components.spec import EnvironmentSpec
from components.transit import TransitNetwork, TransitNetworkArgs
from components.workspace import SecureWorkspace, SecureWorkspaceArgs, WorkspaceEncryption, WorkspaceKey

DATABRICKS_ACCOUNT_HOST = "https://accounts.azuredatabricks.net"


@dataclass(frozen=True)
class AzureSettings:
    """Provider settings from stack config; None leaves the provider's own discovery (CLI login, env vars)."""

    subscription_id: str | None = None
    tenant_id: str | None = None
    # The Databricks provider signs in as this Entra application when given (CI with a client secret);
    # otherwise it uses the Azure CLI login or workload identity federation from the environment.
    databricks_client_id: str | None = None
    databricks_client_secret: pulumi.Output[str] | None = None
    # The Databricks account (stack config `databricksAccountId`), for account-level identities and settings.
    databricks_account_id: str | None = None
    # An existing cluster's kubeconfig (a Pulumi secret), when the ingress tier does not create AKS.
    kubeconfig: pulumi.Output[str] | None = None
    # How `pulumi up` signs in to a created AKS cluster through kubelogin (stack config `kubeloginMode`).
    kubelogin_mode: LoginMode = "azurecli"


def firewall_rules(spec: EnvironmentSpec) -> RuleCollectionGroup:
    """The rule collection group this environment puts into the hub firewall's policy (firewall egress only)."""
    rules = spec.plan.firewall_rules
    assert rules is not None, "firewall rules exist only for firewall egress"
    return rules


class SecureDatabricksEnvironment(pulumi.ComponentResource):
    workspace_url: pulumi.Output[str]
    workspace_resource_id: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    # Parts that exist only when the spec asks for them.
    keys: CustomerManagedKeys | None = None
    data: DataSources | None = None
    aks: AksCluster | None = None
    firewall_hub: FirewallHub | None = None
    hub_peering: HubPeering | None = None
    diagnostics: AuditDiagnostics | None = None
    monitor_private_link: MonitorPrivateLink | None = None
    locks: ResourceLocks | None = None
    serverless: ServerlessConnectivity | None = None

    def __init__(self, name: str, spec: EnvironmentSpec, azure: AzureSettings,
                 ingress_secrets: IngressSecrets | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:environment:SecureDatabricksEnvironment", name, {}, opts)
        names, net, tags = spec.names, spec.network, spec.all_tags
        plan = spec.plan
        parts = plan.parts
        protect = spec.protection.protect_data

        provider = azure_native.Provider(
            f"{name}-azure",
            location=spec.region,
            subscription_id=azure.subscription_id,
            tenant_id=azure.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        kids = pulumi.ResourceOptions(parent=self, providers={"azure-native": provider})

        if parts.firewall_egress:
            self.firewall_hub = self._firewall_hub(name, spec, azure, kids)
        self.network = DatabricksNetwork(
            f"{name}-network",
            DatabricksNetworkArgs(
                location=spec.region,
                tags=tags,
                resource_group_name=names.resource_group,
                names=names,
                address_space=net.address_space,
                host_cidr=plan.host_cidr,
                container_cidr=plan.container_cidr,
                endpoint_cidr=plan.endpoint_cidr,
                # One set of NSG tables and endpoint classes: the rows created here are the rows the reachability
                # matrix reads (plan.network).
                workspace_rules=plan.network.workspace_rules(),
                endpoint_rules=plan.network.endpoint_rules(),
                endpoint_asg_names=plan.endpoint_asg_names,
                egress_mode=net.egress.mode,
                nat_idle_timeout_minutes=net.egress.nat_idle_timeout_minutes,
                firewall_private_ip=self.firewall_hub.next_hop if self.firewall_hub else None,
                aks_cidr=plan.aks_cidr,
                # The same rows the reachability matrix evaluates (NetworkInputs.aks_rules).
                aks_rules=plan.network.aks_rules(),
                encryption_enforcement=net.vnet_encryption.enforcement if net.vnet_encryption.enabled else None,
            ),
            opts=kids,
        )

        if self.firewall_hub is not None:
            self.hub_peering = HubPeering(
                f"{name}-hub-peering",
                HubPeeringArgs(hub=self.firewall_hub, names=plan.hub_names, workspace_vnet_id=self.network.vnet_id,
                               workspace_vnet_name=self.network.vnet_name,
                               workspace_resource_group_name=self.network.resource_group_name,
                               depends_on=[self.network.last_subnet]),
                opts=kids,
            )

        self.audit = self._audit(name, spec, kids)
        self.log_analytics = self.audit.log_analytics
        self.keys = self._keys(name, spec, azure, provider, kids) if parts.customer_managed_keys else None
        self.workspace = SecureWorkspace(
            f"{name}-workspace",
            SecureWorkspaceArgs(
                location=spec.region,
                tags=tags,
                names=names,
                resource_group_name=self.network.resource_group_name,
                resource_group_id=self.network.resource_group_id,
                vnet_id=self.network.vnet_id,
                host_subnet_name=self.network.host_subnet_name,
                container_subnet_name=self.network.container_subnet_name,
                public_network_access=spec.workspace.public_network_access,
                required_nsg_rules=spec.workspace.required_nsg_rules,
                storage_account_sku=spec.workspace.storage_account_sku,
                default_storage_firewall=spec.workspace.default_storage_firewall,
                protect=protect,
                depends_on=[*self.network.workspace_subnets,
                            *([self.keys.managed_services_grant] if self.keys and self.keys.managed_services_grant else [])],
                encryption=self._workspace_encryption(spec),
                enhanced_security=spec.workspace.enhanced_security,
            ),
            opts=kids,
        )

        pl = spec.private_link
        transit_side = None
        self.engineer_access: EngineerAccess | None = None
        if parts.transit:
            t = pl.transit
            assert t is not None
            self.transit = TransitNetwork(
                f"{name}-transit",
                TransitNetworkArgs(
                    location=spec.region,
                    tags=tags,
                    resource_group_name=names.transit_resource_group,
                    names=names,
                    address_space=t.address_space,
                    endpoint_cidr=plan.transit_endpoint_cidr,
                    existing_vnet_id=t.existing_vnet_id,
                    existing_subnet_id=t.existing_subnet_id,
                ),
                opts=kids,
            )
            if parts.transit_endpoints:
                transit_side = TransitSide(
                    resource_group_name=self.transit.resource_group_name,
                    vnet_id=self.transit.vnet_id,
                    endpoint_subnet_id=self.transit.endpoint_subnet_id,
                    extra_dns_link_vnet_ids=t.dns_link_vnet_ids,
                )
            if parts.bastion:
                self.engineer_access = self._engineer_access(name, spec, kids)

        self.key_grants = WorkspaceKeyGrants(
            f"{name}-key-grants",
            WorkspaceKeyGrantsArgs(keys=self.keys, storage_principal_id=self.workspace.storage_principal_id,
                                   disk_principal_id=self.workspace.disk_principal_id, workspace=self.workspace.workspace),
            opts=kids,
        ) if self.keys else None
        self.private_link = PrivateLink(
            f"{name}-private-link",
            PrivateLinkArgs(
                location=spec.region,
                tags=tags,
                names=names,
                workspace_resource_id=self.workspace.resource_id,
                resource_group_name=self.network.resource_group_name,
                vnet_id=self.network.vnet_id,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                backend=pl.backend,
                storage_account_id=self.workspace.storage_account_id if pl.workspace_storage else None,
                transit=transit_side,
                frontend=pl.frontend,
                browser_authentication=pl.browser_authentication,
                protect=protect,
                depends_on=self.key_grants.grants if self.key_grants else (),
                endpoint_asg_ids=self.network.endpoint_asg_ids,
            ),
            opts=kids,
        )

        if parts.data_sources:
            self._data_sources(name, spec, azure, kids)
        if parts.monitor_private_link:
            self.monitor_private_link = self._monitor_private_link(name, spec, kids)

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
        # The account console's provider: account groups synced from Entra ID and their workspace assignments.
        # Azure's account host is accounts.azuredatabricks.net (Databricks provider docs, "Authentication":
        # account-level provider on Azure).
        self.databricks_account_provider = databricks.Provider(
            f"{name}-databricks-account",
            host=DATABRICKS_ACCOUNT_HOST,
            account_id=azure.databricks_account_id,
            azure_tenant_id=azure.tenant_id,
            azure_client_id=azure.databricks_client_id,
            azure_client_secret=azure.databricks_client_secret,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Before access control: the workspace's identities, legacy-access setting and grants need its Unity Catalog
        # metastore (identity federation and DisableLegacyAccess work on a workspace assigned to one), so they wait for
        # the assignment when the spec names a metastore.
        self.serverless = self._serverless(name, spec)
        metastore = [self.serverless.metastore_assignment] if self.serverless and self.serverless.metastore_assignment else []
        self.access = WorkspaceAccessControl(
            f"{name}-access",
            WorkspaceAccessArgs(
                environment=spec.name,
                cost_center=spec.tags.get("cost-center", ""),
                access=spec.access,
                provider=self.databricks_provider,
                account_provider=self.databricks_account_provider,
                workspace=self.workspace.workspace,
                workspace_id=self.workspace.workspace_id,
                depends_on=[self.workspace.workspace, self.private_link, *metastore],
                account_depends_on=metastore,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, providers={"databricks": self.databricks_provider}, deleted_with=self.workspace.workspace,
            ),
        )

        if parts.ingress:
            assert ingress_secrets is not None
            self._ingress(name, spec, azure, ingress_secrets, provider, kids)

        self.diagnostics = self._diagnostics(name, spec, kids) if parts.diagnostics else None

        if parts.locks:
            self._locks(name, spec, kids)

        self.workspace_url = self.workspace.workspace_url
        self.workspace_resource_id = self.workspace.resource_id
        self.workspace_id = self.workspace.workspace_id
        self.register_outputs({
            "workspaceUrl": self.workspace_url,
            "workspaceResourceId": self.workspace_resource_id,
            "workspaceId": self.workspace_id,
        })

    def _serverless(self, name: str, spec: EnvironmentSpec) -> ServerlessConnectivity | None:
        """Serverless compute's network connectivity configuration (rules to the workspace storage and the lake, bound
        to the workspace) and the Unity Catalog metastore assignment: account-level, after the workspace exists."""
        ncc, plan = spec.serverless.network_connectivity, spec.plan
        if not plan.parts.serverless:
            return None
        # The DBFS root account lives in the managed resource group; its id is known once the workspace's is.
        ids: dict[str, pulumi.Input[str]] = {WORKSPACE_STORAGE_TARGET: self.workspace.storage_account_id}
        if self.data is not None and self.data.lake_id is not None:
            ids[LAKE_TARGET] = self.data.lake_id  # the plan names the lake only where there is one (parts.lake)
        targets = [StorageTarget(key, ids[key]) for key in plan.serverless_targets]
        return ServerlessConnectivity(
            f"{name}-serverless",
            ServerlessConnectivityArgs(
                account_provider=self.databricks_account_provider,
                workspace_id=self.workspace.workspace_id,
                workspace=self.workspace.workspace,
                region=ncc.region or spec.region,
                ncc_name=plan.ncc_name,
                targets=tuple(targets),
                metastore_id=spec.unity_catalog.metastore_id if plan.parts.metastore else None,
                depends_on=[self.workspace.workspace],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _firewall_hub(self, name: str, spec: EnvironmentSpec, azure: AzureSettings, kids: pulumi.ResourceOptions) -> FirewallHub:
        """The hub the default route leads to. An existing hub's resources (its side of the peering, the rule collection
        group in its policy) are written through providers for the subscriptions its ids name."""
        hub = spec.network.egress.hub
        assert hub is not None  # rules._egress_mode: firewall egress names its hub
        providers: dict[str, azure_native.Provider] = {}

        def provider_for(subscription_id: str) -> azure_native.Provider:
            if subscription_id not in providers:
                providers[subscription_id] = azure_native.Provider(
                    f"{name}-azure-hub" + (f"-{len(providers)}" if providers else ""), location=spec.region,
                    subscription_id=subscription_id, tenant_id=azure.tenant_id, opts=pulumi.ResourceOptions(parent=self))
            return providers[subscription_id]

        vnet_provider = policy_provider = None
        if not hub.create:
            assert hub.vnet_id is not None and hub.firewall_policy_id is not None
            vnet_provider = provider_for(parse_arm_id(hub.vnet_id, ARM_VIRTUAL_NETWORK).subscription_id.lower())
            policy_provider = provider_for(parse_arm_id(hub.firewall_policy_id, ARM_FIREWALL_POLICY).subscription_id.lower())
        return FirewallHub(
            f"{name}-firewall-hub",
            FirewallHubArgs(location=spec.region, tags=spec.all_tags, names=spec.plan.hub_names, hub=hub,
                            rules=firewall_rules(spec), firewall_private_ip=spec.network.egress.firewall_private_ip,
                            firewall_subnet_cidr=spec.plan.hub_firewall_subnet_cidr,
                            vnet_provider=vnet_provider, policy_provider=policy_provider),
            opts=kids,
        )

    def _engineer_access(self, name: str, spec: EnvironmentSpec, kids: pulumi.ResourceOptions) -> EngineerAccess:
        """Azure Bastion and the jump host in the transit VNet the toolkit created (rules._bastion guarantees one)."""
        bastion, plan = spec.bastion, spec.plan
        assert self.transit.vnet_name is not None and self.transit.endpoint_subnet is not None
        bastion_cidr, jump_cidr = plan.bastion_cidr, plan.jump_host_cidr
        assert bastion_cidr is not None and jump_cidr is not None  # rules._bastion: a transit VNet the toolkit creates
        return EngineerAccess(
            f"{name}-engineer-access",
            EngineerAccessArgs(
                location=spec.region,
                tags=spec.all_tags,
                names=spec.names,
                spec=bastion,
                resource_group=self.transit.resource_group,
                vnet_name=self.transit.vnet_name,
                bastion_cidr=bastion_cidr,
                jump_host_cidr=jump_cidr,
                bastion_rules=bastion_subnet_rules(bastion_cidr),
                jump_host_rules=jump_host_subnet_rules(bastion_cidr, jump_cidr),
                depends_on=[self.transit.endpoint_subnet],
            ),
            opts=kids,
        )

    def _data_sources(self, name: str, spec: EnvironmentSpec, azure: AzureSettings, kids: pulumi.ResourceOptions) -> None:
        """The data lake and SQL database, in the workspace VNet's endpoint subnet; the storage zones PrivateLink
        made for the workspace storage are reused (one zone of a name per resource group)."""
        self.data = DataSources(
            f"{name}-data",
            DataSourcesArgs(
                location=spec.region,
                tags=spec.all_tags,
                names=spec.names,
                resource_group_name=self.network.resource_group_name,
                vnet_id=self.network.vnet_id,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                lake=spec.data.lake if spec.plan.parts.lake else None,
                sql=spec.data.sql if spec.plan.parts.sql else None,
                zones={k: z for k, z in self.private_link.zones.items() if k in ("dfs", "blob")},
                protect=spec.protection.protect_data,
                tenant_id=azure.tenant_id,
                alert_emails=spec.monitoring.alerts.emails,
                endpoint_asg_ids=self.network.endpoint_asg_ids,
            ),
            opts=kids,
        )

    def _keys(self, name: str, spec: EnvironmentSpec, azure: AzureSettings, provider: azure_native.Provider,
              kids: pulumi.ResourceOptions) -> CustomerManagedKeys:
        """The Key Vault and the customer-managed key, before the workspace that uses it."""
        enc, names = spec.encryption, spec.names
        vault = enc.key_vault
        assert vault is not None  # EncryptionSpec: customer-managed keys need a vault
        tenant_id: pulumi.Input[str] = azure.tenant_id or azure_native.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=self, provider=provider)).tenant_id
        vault_provider = None
        if vault.existing_id is not None:
            # The key is created in the existing vault's subscription, which need not be the workspace's.
            vault_provider = azure_native.Provider(
                f"{name}-azure-key-vault",
                location=spec.region,
                subscription_id=parse_vault_id(vault.existing_id).subscription_id,
                tenant_id=azure.tenant_id,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return CustomerManagedKeys(
            f"{name}-keys",
            CustomerManagedKeysArgs(
                location=spec.region,
                tags=spec.all_tags,
                resource_group_name=self.network.resource_group_name,
                tenant_id=tenant_id,
                names=names,
                existing_vault_id=vault.existing_id,
                sku=vault.sku,
                soft_delete_retention_days=vault.soft_delete_retention_days,
                key_size=enc.key_size,
                hsm=enc.hsm,
                rotation_days=enc.rotation_days,
                vnet_id=self.network.vnet_id,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                databricks_app_object_id=enc.databricks_app_object_id if enc.managed_services else None,
                protect=spec.protection.protect_data,
                vault_provider=vault_provider,
                endpoint_asg_ids=self.network.endpoint_asg_ids,
            ),
            opts=kids,
        )

    def _workspace_encryption(self, spec: EnvironmentSpec) -> WorkspaceEncryption | None:
        enc = spec.encryption
        if self.keys is None:
            return None
        return WorkspaceEncryption(
            key=WorkspaceKey(vault_uri=self.keys.vault_uri, name=self.keys.key_name, version=self.keys.key_version),
            managed_services=enc.managed_services,
            managed_disks=enc.managed_disks,
            dbfs_root=enc.dbfs_root,
            infrastructure_encryption=enc.infrastructure_encryption,
        )

    def _locks(self, name: str, spec: EnvironmentSpec, kids: pulumi.ResourceOptions) -> None:
        """CanNotDelete locks on the data-bearing resources this environment created (not on existing ones).

        The workspace storage account (DBFS root) lives in the Databricks-managed resource group, whose deny
        assignment lets only Azure Databricks write there, locks included: the workspace lock and `protect` are
        what guard it (docs/audit-data-keys.md "Customer-managed keys and locks")."""
        self.locks = ResourceLocks(
            f"{name}-locks",
            ResourceLocksArgs(
                lock_name=spec.names.lock,
                targets={
                    "workspace": self.workspace.resource_id,
                    # The dedicated browser-authentication workspace holds no data, but deleting it breaks SSO sign-in
                    # to every private workspace of the region that uses it: it hosts the region's browser_authentication
                    # endpoint (https://learn.microsoft.com/azure/databricks/security/network/classic/private-link-standard;
                    # databricks/terraform-databricks-examples examples/adb-with-private-link-standard/README.md).
                    "webauth-workspace": (self.private_link.webauth_workspace.id
                                          if self.private_link.webauth_workspace is not None else None),
                    "key-vault": self.keys.vault_id if self.keys is not None and self.keys.vault is not None else None,
                    "log-analytics": self.audit.log_analytics_id,
                    # Only a lake this environment created: an existing one is its owner's to lock.
                    "data-lake": self.data.lake.id if self.data is not None and self.data.owns_lake and self.data.lake else None,
                },
            ),
            opts=kids,
        )

    def _audit(self, name: str, spec: EnvironmentSpec, kids: pulumi.ResourceOptions) -> AuditLogging:
        """Log Analytics, alerts, VNet flow logs and the SIEM export: right after the network, since the AKS
        cluster and the flow log need the workspace."""
        mon, parts = spec.monitoring, spec.plan.parts
        ingress_logs = parts.aks
        rules = alert_rules(mon.alerts, tier=spec.tier.value, flow_logs=parts.flow_logs,
                            ingress_namespace=spec.ingress.namespace if ingress_logs else None)
        return AuditLogging(
            f"{name}-audit",
            AuditLoggingArgs(
                location=spec.region,
                tags=spec.all_tags,
                names=spec.names,
                resource_group_name=self.network.resource_group_name,
                monitoring=mon,
                flow_logs=mon.flow_logs if parts.flow_logs else None,
                siem=mon.siem if parts.siem else None,
                rules=rules,
                vnet_id=self.network.vnet_id,
                protect=spec.protection.protect_data,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                endpoint_asg_ids=self.network.endpoint_asg_ids,
                export_tables=diagnostics.export_tables(spec.plan.diagnostic_kinds, flow_logs=parts.flow_logs,
                                                        container_logs=ingress_logs),
                # Its logical name and former parent (this environment) from before AuditLogging existed.
                log_analytics_resource_name=f"{name}-log-analytics",
                previous_parent=self,
            ),
            opts=kids,
        )

    def _monitor_private_link(self, name: str, spec: EnvironmentSpec, kids: pulumi.ResourceOptions) -> MonitorPrivateLink:
        """The Azure Monitor Private Link Scope, after PrivateLink and DataSources: it shares the
        privatelink.blob.core.windows.net zone either of them made in this resource group."""
        blob_zone = self.private_link.zones.get("blob") or (self.data.zones.get("blob") if self.data is not None else None)
        return MonitorPrivateLink(
            f"{name}-monitor-private-link",
            MonitorPrivateLinkArgs(
                location=spec.region,
                tags=spec.all_tags,
                names=spec.names,
                resource_group_name=self.network.resource_group_name,
                monitoring=spec.monitoring.private_link,
                log_analytics_id=self.audit.log_analytics_id,
                vnet_id=self.network.vnet_id,
                endpoint_subnet_id=self.network.endpoint_subnet_id,
                endpoint_asg_ids=self.network.endpoint_asg_ids,
                blob_zone=blob_zone,
            ),
            opts=kids,
        )

    def _diagnostics(self, name: str, spec: EnvironmentSpec, kids: pulumi.ResourceOptions) -> AuditDiagnostics:
        """A diagnostic setting on every audited resource this environment created. Existing resources (a Key Vault
        or lake given by id) and the dedicated web-auth workspace (no users, data or compute) are not ours to set."""
        workspace = self.workspace.workspace
        targets = [DiagnosticTarget("workspace", diagnostics.DATABRICKS, workspace.id, depends_on=[workspace])]
        if self.aks is not None:
            targets.append(DiagnosticTarget("aks", diagnostics.AKS, self.aks.cluster.id, depends_on=[self.aks.cluster]))
        vault = self.keys.vault if self.keys is not None else None
        if vault is not None:
            targets.append(DiagnosticTarget("key-vault", diagnostics.KEY_VAULT, vault.id, depends_on=[vault]))
        lake = self.data.lake if self.data is not None else None
        if lake is not None:
            targets.append(DiagnosticTarget("lake-blob", diagnostics.STORAGE_BLOB,
                                            lake.id.apply(lambda account_id: f"{account_id}/blobServices/default"), depends_on=[lake]))
        if self.data is not None and self.data.sql_server is not None:
            server = self.data.sql_server
            targets.append(DiagnosticTarget("sql-audit", diagnostics.SQL_AUDIT,
                                            server.id.apply(lambda server_id: f"{server_id}/databases/master"), depends_on=[server]))
        assert tuple(t.kind for t in targets) == spec.plan.diagnostic_kinds, "diagnostic targets and the SIEM export disagree"
        return AuditDiagnostics(
            f"{name}-diagnostics",
            AuditDiagnosticsArgs(log_analytics_id=self.audit.log_analytics_id, targets=tuple(targets)),
            opts=kids,
        )

    def _egress_ready(self) -> list[pulumi.Resource]:
        if self.firewall_hub is None or self.hub_peering is None:
            return []
        return [self.firewall_hub.rule_collection_group, self.hub_peering.spoke_to_hub, self.hub_peering.hub_to_spoke,
                *([self.firewall_hub.firewall] if self.firewall_hub.firewall else [])]

    @staticmethod
    def _tier(spec: EnvironmentSpec) -> TierLayout:
        assert spec.plan.tier is not None  # the plan has a tier layout whenever the ingress tier is enabled
        return spec.plan.tier

    def _ingress(self, name: str, spec: EnvironmentSpec, azure: AzureSettings, secrets: IngressSecrets,
                 provider: azure_native.Provider, kids: pulumi.ResourceOptions) -> None:
        cluster: pulumi.Resource | None = None
        after_access: list[pulumi.Resource] = []
        if spec.plan.parts.aks:
            assert self.network.aks_subnet_id is not None
            # The identity running `pulumi up` gets AKS RBAC cluster-admin, so the Kubernetes provider below may act.
            deployer = azure_native.authorization.get_client_config_output(
                opts=pulumi.InvokeOutputOptions(parent=self, provider=provider))
            self.aks = aks = AksCluster(
                f"{name}-aks",
                AksClusterArgs(
                    location=spec.region,
                    tags=spec.all_tags,
                    names=spec.names,
                    resource_group_name=self.network.resource_group_name,
                    subnet_id=self.network.aks_subnet_id,
                    spec=spec.ingress.aks,
                    outbound_type="userDefinedRouting" if spec.plan.parts.firewall_egress else "userAssignedNATGateway",
                    log_analytics_workspace_id=self.audit.log_analytics_id,
                    tenant_id=azure.tenant_id,
                    # Container Insights' configuration endpoint joins the scope the workspace is in.
                    monitor_private_link_scope_name=(self.monitor_private_link.scope.name
                                                     if self.monitor_private_link is not None else None),
                    deployer_object_id=deployer.object_id,
                    kubelogin_mode=azure.kubelogin_mode,
                    # Behind the firewall, the nodes need its rules and the peering before they can bootstrap; with
                    # a private Log Analytics workspace, the monitoring private link comes first.
                    depends_on=[*self._egress_ready(),
                           *([self.monitor_private_link] if self.monitor_private_link is not None else [])],
                ),
                opts=kids,
            )
            kubeconfig = aks.kubeconfig
            cluster = aks.cluster
            issuer: pulumi.Input[str] = aks.oidc_issuer_url
            after_access = list(aks.role_assignments)
        else:
            assert azure.kubeconfig is not None and spec.ingress.oidc_issuer_url is not None
            kubeconfig = azure.kubeconfig
            issuer = spec.ingress.oidc_issuer_url
        # One identity per connector: workload identity in Azure, its own service principal in the workspace.
        self.connector_identities = ConnectorIdentities(
            f"{name}-connectors",
            ConnectorIdentitiesArgs(
                location=spec.region,
                tags=spec.all_tags,
                resource_group_name=self.network.resource_group_name,
                name_prefix=spec.names.aks_cluster if spec.plan.parts.aks else spec.name,
                apps_namespace=spec.ingress.apps_namespace,
                connectors=spec.ingress.connectors,
                oidc_issuer_url=issuer,
                databricks_provider=self.databricks_provider,
                workspace=self.workspace.workspace,
                databricks_depends_on=[self.workspace.workspace, self.private_link],
            ),
            opts=kids,
        )
        # Built only from this cluster's kubeconfig: the ambient one can never be used. It acts once the deploying
        # identity holds cluster-admin.
        self.kubernetes_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=kubeconfig, enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=after_access or None),
        )
        self.ingress = IngressTier(
            f"{name}-ingress",
            IngressTierArgs(
                spec=spec.ingress,
                provider=self.kubernetes_provider,
                policies=network_policies(self._tier(spec)),
                workspace_url=self.workspace.workspace_url,
                secrets=secrets,
                connector_client_ids=self.connector_identities.client_ids,
                entra_tenant_id=azure.tenant_id,
                cluster=cluster,
                creates_aks=spec.plan.parts.aks,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.kubernetes_provider},
                                        deleted_with=cluster),
        )
