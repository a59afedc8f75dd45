"""prod: private end to end, egress through the hub firewall, a dedicated web-auth workspace,
strict workspace settings, Azure VNet encryption between cluster nodes, serverless compute reaching the lake and the
workspace storage through private endpoints, and the region's Unity Catalog metastore."""

from components.spec import (
    EgressSpec,
    EnvironmentSpec,
    NamingSpec,
    NetworkSpec,
    PrivateLinkSpec,
    SubnetLayout,
    Tier,
    TransitNetworkSpec,
)
from components.spec.access import (
    AccessSpec,
    ClusterPolicySpec,
    GroupSpec,
    IpAccessSpec,
    IpList,
    ServicePrincipalSpec,
)
from components.spec.audit import AlertsSpec, MonitoringSpec, SiemSpec
from components.spec.compute import ComputeGovernanceSpec, PersonalComputeSpec, SqlWarehouseSpec
from components.spec.data import DataLakeSpec, DataSpec, SqlDatabaseSpec
from components.spec.encryption import EncryptionSpec
from components.spec.firewall import HubSpec
from components.spec.ingress import (
    AksSpec,
    ConnectorIdentitySpec,
    ConnectorSpec,
    IngressSpec,
    OAuth2ProxySpec,
    RouteSpec,
)
from components.spec.models import VnetEncryptionSpec
from components.spec.serverless import NetworkConnectivitySpec, ServerlessSpec, UnityCatalogSpec

SECURITY_SCRIPTS = "/Volumes/platform/security/init-scripts"
TENANT_ISSUER = "https://login.microsoftonline.com/5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10/v2.0"
CORPORATE = "10.200.0.0/16"
CONNECTORS_API = "2c1d0e9f-8a7b-4c6d-9e5f-1a2b3c4d5e6f"  # the connectors API's application (client) id
# The regional hub (connectivity subscription) whose Azure Firewall is prod's next hop to the Internet.
HUB_RG = "/subscriptions/3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a/resourceGroups/rg-connectivity-hub-weu"
HUB_RANGE = "10.0.0.0/22"  # on-premises clients over ExpressRoute
# The first-party AzureDatabricks application's object id in this tenant (it differs per tenant).
AZURE_DATABRICKS_APP = "6a1e2f3b-9c8d-4e7f-8a6b-5c4d3e2f1a09"
# The account's westeurope Unity Catalog metastore (one per region), assigned to the workspace.
METASTORE_ID = "7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c"


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="prod",
        tier=Tier.PROD,
        region="westeurope",
        naming=NamingSpec(prefix="bw", unique_suffix="p7k2"),
        tags={"cost-center": "data-platform", "owner": "platform-team", "data-classification": "confidential"},
        network=NetworkSpec(
            address_space="10.30.0.0/19",
            subnets=SubnetLayout(host_prefix_length=21, container_prefix_length=21, aks_prefix_length=23),
            # The connectivity team's hub in its own subscription: the workspace VNet is peered to it both ways and the
            # workspace's rule collection group goes into the hub firewall's policy.
            egress=EgressSpec(mode="firewall", firewall_private_ip="10.0.1.4", hub=HubSpec(
                vnet_id=f"{HUB_RG}/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu",
                address_space=(HUB_RANGE,),
                firewall_policy_id=f"{HUB_RG}/providers/Microsoft.Network/firewallPolicies/afwp-hub-weu",
            )),
            # Traffic between cluster nodes (and AKS nodes) encrypted by Azure; every policy's node types are supported sizes.
            vnet_encryption=VnetEncryptionSpec(enabled=True),
        ),
        private_link=PrivateLinkSpec(
            browser_authentication="dedicated_workspace",
            transit=TransitNetworkSpec(address_space="10.130.0.0/24"),
        ),
        access=AccessSpec(
            ip_access=IpAccessSpec(
                break_glass=("52.174.20.0/28",),
                ci_egress=("20.61.88.16/28",),
                block=(IpList(label="known-bad", cidrs=("45.155.205.0/24",)),),
            ),
            groups=(
                GroupSpec(name="data-engineers", entra_object_id="3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70"),
                GroupSpec(name="analysts", entra_object_id="c4d5e6f7-a8b9-4c0d-8e1f-2a3b4c5d6e70", databricks_sql_access=True),
                # No standing human admins: the deploying service principal administers the workspace; people only
                # through this group, whose membership Entra PIM for Groups grants just in time.
                GroupSpec(name="databricks-prod-break-glass", entra_object_id="6b1e9d4a-2c7f-4e3b-9a8d-5f0c1b2e3d47",
                          workspace_admin=True,
                          break_glass_reason="Emergency administration only: membership is eligible, never active, in Entra PIM for Groups; "
                                             "activated for at most 4 hours with approval and a change ticket"),
            ),
            service_principals=(
                ServicePrincipalSpec(name="ci-deployer", application_id="0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60"),
                ServicePrincipalSpec(name="etl-jobs", application_id="5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"),
                ServicePrincipalSpec(name="legacy-bi-connector", application_id="9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b10",
                                     authentication="personal_access_token"),
            ),
            cluster_policies=(
                ClusterPolicySpec(name="brickwall-baseline", groups=("data-engineers",),
                                  init_scripts_allowed_prefix=SECURITY_SCRIPTS,
                                  cluster_log_path="/Volumes/platform/audit/cluster-logs"),
                ClusterPolicySpec(name="brickwall-jobs", cluster_type="job", service_principals=("etl-jobs",),
                                  data_security_mode="SINGLE_USER", max_workers=16,
                                  init_scripts_allowed_prefix=SECURITY_SCRIPTS,
                                  cluster_log_path="/Volumes/platform/audit/cluster-logs"),
            ),
            # Every other compute path: Personal Compute for data engineers only (the account setting DELEGATE, the
            # baseline's locks over the family), one serverless SQL warehouse for analysts, serverless egress restricted
            # to Unity Catalog locations, legacy access and DBFS off, workspace admins restricted (all prod floors).
            compute=ComputeGovernanceSpec(
                personal_compute=PersonalComputeSpec(groups=("data-engineers",),
                                                     cluster_log_path="/Volumes/platform/audit/cluster-logs"),
                sql_warehouses=(SqlWarehouseSpec(name="analysts", groups=("analysts",), max_clusters=2),),
            ),
        ),
        monitoring=MonitoringSpec(
            log_retention_days=365,
            siem=SiemSpec(event_hub=True),
            alerts=AlertsSpec(emails=("secops@contoso.com", "data-platform-oncall@contoso.com"),
                              allowed_countries=("Netherlands", "Germany", "Ireland")),
        ),
        data=DataSpec(
            lake=DataLakeSpec(enabled=True, containers=("raw", "curated", "sandbox"), sku="Standard_GZRS"),
            sql=SqlDatabaseSpec(enabled=True, entra_admin_group="sql-admins",
                                entra_admin_object_id="2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f801"),
        ),
        # Serverless compute reaches the lake and the workspace storage through private endpoints the storage owners
        # approve (the stack output serverlessEndpointApprovals lists them).
        serverless=ServerlessSpec(network_connectivity=NetworkConnectivitySpec(enabled=True)),
        unity_catalog=UnityCatalogSpec(metastore_id=METASTORE_ID),
        # A steady-state prod: the first deployment ran with dbfs_root="prepare".
        encryption=EncryptionSpec(dbfs_root="apply", databricks_app_object_id=AZURE_DATABRICKS_APP),
        ingress=IngressSpec(
            enabled=True,
            cluster="aks",
            aks=AksSpec(node_count=3, admin_group_object_id="4c3d2e1f-0a9b-4c8d-8e7f-6a5b4c3d2e10"),
            load_balancer="internal",
            load_balancer_source_ranges=(CORPORATE, "10.130.0.0/24"),
            oauth2_proxy=OAuth2ProxySpec(
                issuer_url=TENANT_ISSUER,
                client_id="7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c20",
                allowed_groups=("3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70",),
                # The connectors' API registration: v2.0 access tokens carry its application id as `aud`.
                api_client_id=CONNECTORS_API,
                jwt_issuers=((TENANT_ISSUER, CONNECTORS_API),),
                # The partner's daemon calls the jobs route with app-only tokens (client credentials) holding this role.
                app_roles=("Jobs.Submit",),
            ),
            connectors=(
                ConnectorSpec(name="sql-gateway", image="brickwallacr.azurecr.io/sql-gateway:1.4.2", port=8443,
                              identity=ConnectorIdentitySpec(databricks_sql_access=True)),
                ConnectorSpec(name="jobs-api", image="brickwallacr.azurecr.io/jobs-api:2.0.1", port=8443,
                              upstream="mtls"),
            ),
            routes=(
                # SQL statements are submitted (POST) and polled (GET).
                RouteSpec(name="sql", host="sql.data.contoso.com", path="/", backend="sql-gateway", methods=("GET", "POST"),
                          allow_cidrs=(CORPORATE,)),
                # Read-only for the partner: jobs/list, jobs/get, runs/list and runs/get are GETs in Jobs API 2.1; no
                # run-now, runs/submit (POST) or DELETE reaches the connector.
                RouteSpec(name="jobs", host="jobs.data.contoso.com", path="/api/2.1/jobs", backend="jobs-api",
                          methods=("GET",), auth="app", allow_cidrs=("10.200.10.0/24",), client_mtls=True,
                          client_ca_secret="partner-client-ca"),
            ),
        ),
    )
