"""DataSources: the ADLS Gen2 data lake and an optional Azure SQL database, reached only through private endpoints.

The lake (created, or an existing account by id) is reached from the workspace VNet's endpoint subnet through
`dfs` and `blob` private endpoints with DNS zone groups; Databricks authenticates to it with an access connector's
managed identity that holds one blob data role on each named container, nothing wider. A created lake has public
network access Disabled, a default-deny firewall with no bypass, shared keys off (Entra ID only), TLS 1.2,
infrastructure encryption, no cross-tenant replication and soft delete for blobs and containers.

Why no trusted-service bypass and no resource-instance rule for the access connector: both are exceptions of the
public endpoint's firewall, and with public network access Disabled the public endpoint refuses everything, so
neither would be evaluated. Classic compute reads the lake through the private endpoints below; the connector's
identity only signs the requests. (Serverless compute needs a private endpoint rule in a Databricks network
connectivity configuration, which the lake owner approves; see docs/audit-data-keys.md.)

The `privatelink.dfs/blob.core.windows.net` zones are the ones PrivateLink made for the workspace storage when it
did (two zones of one name in one resource group collide), else this component makes and links them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import authorization, databricks, network, privatedns, sql, storage

from components._base import child, role_assignment
from components._private_endpoints import private_endpoint, private_zone
from components.planning.data_paths import LAKE, SQL
from components.planning.data_sources import (
    BLOB_DATA_ROLES,
    LAKE_ZONES,
    SQL_GROUP,
    SQL_ZONE,
    container_scope,
    role_assignment_name,
)
from components.planning.naming import NamePlan
from components.spec.data import DataLakeSpec, SqlDatabaseSpec


@dataclass(frozen=True)
class DataSourcesArgs:
    location: str
    tags: Mapping[str, str]
    # The lake's (data_lake_*) and the SQL server's (sql_server, sql_endpoint) names.
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    # The lake and the SQL database to set up; None: not this one (EnvironmentPlan.parts decides).
    lake: DataLakeSpec | None
    sql: SqlDatabaseSpec | None
    # Private DNS zones that already exist in `resource_group_name`, linked to `vnet_id`, by endpoint group
    # ("dfs", "blob"): reused instead of created.
    zones: Mapping[str, privatedns.PrivateZone]
    # protect + retainOnDelete on the data-bearing resources (lake account, SQL server and database).
    protect: bool
    # The Entra tenant of the SQL admin group; None lets Azure take the subscription's tenant.
    tenant_id: str | None = None
    # Who Microsoft Defender for SQL mails its threat alerts to (besides the server's admins).
    alert_emails: tuple[str, ...] = ()
    # Application security group id per endpoint class ("lake", "sql"), which the endpoint subnet's NSG rules name.
    endpoint_asg_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


def _scope_of(account_id: pulumi.Output[str], container: str) -> pulumi.Output[str]:
    return account_id.apply(lambda account: container_scope(account, container))


class DataSources(pulumi.ComponentResource):
    lake_id: pulumi.Output[str] | None
    # The lake account when this stack creates it; None for an existing lake (only its endpoints and roles are ours).
    lake: storage.StorageAccount | None
    owns_lake: bool
    access_connector: databricks.AccessConnector | None
    containers: dict[str, storage.BlobContainer]
    role_assignments: dict[str, authorization.RoleAssignment]
    sql_server: sql.Server | None
    sql_database: sql.Database | None
    endpoints: dict[str, network.PrivateEndpoint]
    zones: dict[str, privatedns.PrivateZone]

    def __init__(self, name: str, args: DataSourcesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:data:DataSources", name, {}, opts)
        self._name, self._args = name, args
        self.lake_id, self.lake, self.owns_lake, self.access_connector = None, None, False, None
        self.containers, self.role_assignments, self.endpoints = {}, {}, {}
        self.zones = dict(args.zones)
        self.sql_server = self.sql_database = None

        if args.lake is not None:
            self._lake(args.lake)
        if args.sql is not None:
            self._sql(args.sql)

        self.register_outputs({
            "lakeId": self.lake_id,
            "ownsLake": self.owns_lake,
            "accessConnectorId": self.access_connector.id if self.access_connector else None,
            "sqlServerId": self.sql_server.id if self.sql_server else None,
            "endpoints": {k: pe.id for k, pe in self.endpoints.items()},
        })

    # --- the lake ----------------------------------------------------------------------------------------------

    def _lake(self, spec: DataLakeSpec) -> None:
        args, names = self._args, self._args.names
        tags = dict(args.tags)
        if spec.existing_storage_account_id is None:
            self.lake = self._storage_account(spec, tags)
            self.owns_lake = True
            lake_id: pulumi.Output[str] = self.lake.id
            account_key = names.data_lake_storage_account
        else:
            lake_id = pulumi.Output.from_input(spec.existing_storage_account_id)
            account_key = spec.existing_storage_account_id
        self.lake_id = lake_id

        for group, endpoint_name in (("dfs", names.data_lake_dfs_endpoint), ("blob", names.data_lake_blob_endpoint)):
            zone = self.zones.get(group) or self._zone(group, LAKE_ZONES[group])
            self._endpoint(f"lake-{group}", endpoint_name, lake_id, group, zone, LAKE)

        self.access_connector = databricks.AccessConnector(
            f"{self._name}-lake-access-connector",
            connector_name=names.data_lake_access_connector,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=databricks.ManagedServiceIdentityArgs(type="SystemAssigned"),
            tags=tags,
            opts=child(self),
        )
        principal_id = self.access_connector.identity.apply(lambda i: i.principal_id if i else None)
        for container in spec.containers:
            after = [self.containers[container]] if container in self.containers else []
            self.role_assignments[container] = role_assignment(
                self, f"{self._name}-lake-{container}-role",
                name=role_assignment_name(account_key, container, spec.databricks_role, names.data_lake_access_connector),
                scope=_scope_of(lake_id, container),
                # Only the two blob data roles (BLOB_DATA_ROLES).
                role=BLOB_DATA_ROLES[spec.databricks_role],
                principal_id=principal_id,
                principal_type="ServicePrincipal",
                description=f"Databricks ({names.data_lake_access_connector}) on container {container}: {spec.databricks_role}",
                depends_on=after,
            )

    def _storage_account(self, spec: DataLakeSpec, tags: dict[str, str]) -> storage.StorageAccount:
        args, names = self._args, self._args.names
        account = storage.StorageAccount(
            f"{self._name}-lake",
            account_name=names.data_lake_storage_account,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=spec.sku),
            is_hns_enabled=True,
            access_tier=storage.AccessTier.HOT,
            # Entra ID only: no account keys, no account SAS, and the portal signs in with Entra ID too.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_cross_tenant_replication=False,
            # Copies into the lake only from accounts reachable over private link from the same VNet.
            allowed_copy_scope="PrivateLink",
            is_sftp_enabled=False,
            is_local_user_enabled=False,
            public_network_access="Disabled",
            # Moot while public access is Disabled; kept strict in case it is ever turned on.
            network_rule_set=storage.NetworkRuleSetArgs(default_action=storage.DefaultAction.DENY, bypass="None", ip_rules=[],
                                                      virtual_network_rules=[]),
            encryption=storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                require_infrastructure_encryption=True,
                services=storage.EncryptionServicesArgs(
                    blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                    file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                ),
            ),
            tags={**tags, "data-lake": "true"},
            opts=child(self, protect=args.protect),
        )
        # Soft delete for files and containers. Blob versioning is not available on accounts with a hierarchical
        # namespace (https://learn.microsoft.com/azure/storage/blobs/soft-delete-vs-versioning-options).
        storage.BlobServiceProperties(
            f"{self._name}-lake-blob-service",
            account_name=account.name,
            resource_group_name=args.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=spec.soft_delete_days),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=spec.soft_delete_days),
            opts=child(self),
        )
        for container in spec.containers:
            self.containers[container] = storage.BlobContainer(
                f"{self._name}-lake-{container}",
                container_name=container,
                account_name=account.name,
                resource_group_name=args.resource_group_name,
                public_access=storage.PublicAccess.NONE,
                opts=child(self),
            )
        return account

    # --- Azure SQL -------------------------------------------------------------------------------------------

    def _sql(self, spec: SqlDatabaseSpec) -> None:
        args, names = self._args, self._args.names
        assert spec.entra_admin_group is not None and spec.entra_admin_object_id is not None  # the spec guarantees it
        tags = dict(args.tags)
        self.sql_server = sql.Server(
            f"{self._name}-sql-server",
            server_name=names.sql_server,
            resource_group_name=args.resource_group_name,
            location=args.location,
            version="12.0",
            # No SQL login or password at all: an Entra group administers the server and only Entra ID signs in.
            administrators=sql.ServerExternalAdministratorArgs(
                administrator_type="ActiveDirectory",
                azure_ad_only_authentication=True,
                login=spec.entra_admin_group,
                sid=spec.entra_admin_object_id,
                principal_type="Group",
                tenant_id=args.tenant_id,
            ),
            public_network_access="Disabled",
            minimal_tls_version="1.2",
            # Outbound firewall rules with none defined: the server cannot send data anywhere of its own accord.
            restrict_outbound_network_access="Enabled",
            tags=tags,
            opts=child(self, protect=args.protect),
        )
        self.sql_database = sql.Database(
            f"{self._name}-sql-database",
            database_name=spec.database_name,
            server_name=self.sql_server.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=sql.SkuArgs(name=spec.sku),
            # Replicas across the region's availability zones (SqlDatabaseSpec.zone_redundant, required in prod).
            zone_redundant=spec.zone_redundant,
            tags=tags,
            opts=child(self, protect=args.protect),
        )
        # Auditing to Azure Monitor: events reach Log Analytics through a diagnostic setting on the master database
        # (category SQLSecurityAuditEvents), which the audit work adds beside its other diagnostic settings.
        sql.ServerBlobAuditingPolicy(
            f"{self._name}-sql-auditing",
            blob_auditing_policy_name="default",
            server_name=self.sql_server.name,
            resource_group_name=args.resource_group_name,
            state=sql.BlobAuditingPolicyState.ENABLED,
            is_azure_monitor_target_enabled=True,
            opts=child(self),
        )
        # Microsoft Defender for SQL threat detection on every database of the server, all alert types on.
        sql.ServerSecurityAlertPolicy(
            f"{self._name}-sql-threat-detection",
            security_alert_policy_name="Default",
            server_name=self.sql_server.name,
            resource_group_name=args.resource_group_name,
            state=sql.SecurityAlertsPolicyState.ENABLED,
            disabled_alerts=[],
            email_account_admins=True,
            email_addresses=list(args.alert_emails),
            opts=child(self),
        )
        zone = self.zones.get("sql") or self._zone("sql", SQL_ZONE)
        self._endpoint("sql", names.sql_endpoint, self.sql_server.id, SQL_GROUP, zone, SQL)

    # --- private endpoints and DNS ---------------------------------------------------------------------------

    def _zone(self, key: str, zone_name: str) -> privatedns.PrivateZone:
        args = self._args
        zone = private_zone(self, f"{self._name}-{key}", zone_name=zone_name, resource_group_name=args.resource_group_name,
                            links={"workspace-vnet": args.vnet_id}, tags=args.tags)
        self.zones[key] = zone
        return zone

    def _endpoint(self, key: str, endpoint_name: str, target_id: pulumi.Input[str], group_id: str,
                  zone: privatedns.PrivateZone, endpoint_class: str) -> network.PrivateEndpoint:
        """An endpoint on a data source: it waits for its target and subnet only, never for the workspace."""
        args = self._args
        pe = private_endpoint(
            self, f"{self._name}-{key}", endpoint_name=endpoint_name, resource_group_name=args.resource_group_name,
            location=args.location, subnet_id=args.endpoint_subnet_id, target_id=target_id, group_id=group_id, zone=zone,
            zone_config_name=group_id.lower(), tags=args.tags,
            application_security_group_id=args.endpoint_asg_ids.get(endpoint_class),
        )
        self.endpoints[key] = pe
        return pe
