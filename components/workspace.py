"""SecureWorkspace: a premium, VNet-injected, no-public-IP Azure Databricks workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
from pulumi_azure_native import databricks

from components._base import child
from components.planning.naming import NamePlan
from components.spec.compliance import EnhancedSecuritySpec


@dataclass(frozen=True)
class SecureWorkspaceArgs:
    location: str
    tags: Mapping[str, str]
    # The workspace's, its managed resource group's, its storage account's and its access connector's names.
    names: NamePlan
    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    host_subnet_name: pulumi.Input[str]
    container_subnet_name: pulumi.Input[str]
    public_network_access: Literal["Enabled", "Disabled"]
    required_nsg_rules: Literal["AllRules", "NoAzureDatabricksRules"]
    storage_account_sku: str
    default_storage_firewall: bool
    protect: bool
    # The delegated subnets (with their NSG associations) must exist before the workspace, and so must the
    # managed-services key grant: the workspace cannot name a key its control plane may not use.
    depends_on: Sequence[pulumi.Resource] = ()
    encryption: WorkspaceEncryption | None = None
    enhanced_security: EnhancedSecuritySpec | None = None


@dataclass(frozen=True)
class WorkspaceKey:
    vault_uri: pulumi.Input[str]
    name: pulumi.Input[str]
    version: pulumi.Input[str]


@dataclass(frozen=True)
class WorkspaceEncryption:
    """Which of the workspace's data uses the customer-managed `key`.

    dbfs_root "prepare" creates the workspace's storage identity (prepareEncryption); "apply" also sets the key on
    the DBFS root, which Azure only accepts once that identity holds the key: a second deployment after "prepare"
    (docs/audit-data-keys.md "Customer-managed keys and locks"). Both keep prepareEncryption on: Azure cannot un-prepare.
    """

    key: WorkspaceKey
    managed_services: bool
    managed_disks: bool
    dbfs_root: Literal["off", "prepare", "apply"]
    # A second, platform-key encryption layer on the DBFS root storage account; fixed when the workspace is created.
    infrastructure_encryption: bool


def managed_resource_group_id(resource_group_id: str, managed_name: str) -> str:
    """The managed RG sits in the workspace's subscription; derive its id from the workspace RG's id."""
    subscription = resource_group_id.split("/resourceGroups/")[0]
    return f"{subscription}/resourceGroups/{managed_name}"


def encryption_parameters(enc: WorkspaceEncryption | None) -> dict[str, Any]:
    """The workspace's `parameters` entries for encryption (none without customer-managed keys)."""
    if enc is None:
        return {}
    params: dict[str, Any] = {}
    if enc.infrastructure_encryption:
        params["require_infrastructure_encryption"] = databricks.WorkspaceCustomBooleanParameterArgs(value=True)
    if enc.dbfs_root != "off":
        params["prepare_encryption"] = databricks.WorkspaceCustomBooleanParameterArgs(value=True)
    if enc.dbfs_root == "apply":
        params["encryption"] = databricks.WorkspaceEncryptionParameterArgs(value=databricks.EncryptionArgs(
            key_source="Microsoft.Keyvault", key_name=enc.key.name, key_version=enc.key.version,
            key_vault_uri=enc.key.vault_uri,
        ))
    return params


def encryption_entities(enc: WorkspaceEncryption | None) -> databricks.WorkspacePropertiesEncryptionArgs | None:
    """Managed services and managed disks under the key; the disks follow each new key version by themselves."""
    if enc is None or not (enc.managed_services or enc.managed_disks):
        return None
    key = enc.key
    return databricks.WorkspacePropertiesEncryptionArgs(entities=databricks.EncryptionEntitiesDefinitionArgs(
        managed_services=databricks.EncryptionV2Args(
            key_source="Microsoft.Keyvault",
            key_vault_properties=databricks.EncryptionV2KeyVaultPropertiesArgs(
                key_vault_uri=key.vault_uri, key_name=key.name, key_version=key.version),
        ) if enc.managed_services else None,
        managed_disk=databricks.ManagedDiskEncryptionArgs(
            key_source="Microsoft.Keyvault",
            key_vault_properties=databricks.ManagedDiskEncryptionKeyVaultPropertiesArgs(
                key_vault_uri=key.vault_uri, key_name=key.name, key_version=key.version),
            rotation_to_latest_key_version_enabled=True,
        ) if enc.managed_disks else None,
    ))


def _principal(identity: databricks.outputs.ManagedIdentityConfigurationResponse | None, what: str) -> str:
    if identity is None or not identity.principal_id:
        raise ValueError(f"Azure returned no {what} for the workspace, so its key cannot be granted")
    return identity.principal_id


class SecureWorkspace(pulumi.ComponentResource):
    workspace: databricks.Workspace
    workspace_id: pulumi.Output[str]
    workspace_url: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]
    # Principal ids of the identities Azure creates for encryption (None when that encryption is off).
    storage_principal_id: pulumi.Output[str] | None
    disk_principal_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: SecureWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:databricks:SecureWorkspace", name, {}, opts)
        tags = dict(args.tags)
        managed_rg_id = pulumi.Output.from_input(args.resource_group_id).apply(
            lambda rg_id: managed_resource_group_id(rg_id, args.names.managed_resource_group)
        )

        access_connector = None
        if args.default_storage_firewall:
            # The workspace reaches its firewalled storage with this connector's managed identity.
            access_connector = databricks.AccessConnector(
                f"{name}-access-connector",
                connector_name=args.names.access_connector,
                resource_group_name=args.resource_group_name,
                location=args.location,
                identity=databricks.ManagedServiceIdentityArgs(type="SystemAssigned"),
                tags=tags,
                opts=child(self),
            )

        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=args.names.workspace,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=databricks.SkuArgs(name="premium"),
            # Classic compute in the customer's VNet (and serverless beside it). Azure requires the mode on create
            # and never changes it (SDK docstring; `required` in the 2026-01-01 ARM schema).
            compute_mode="Hybrid",
            managed_resource_group_id=managed_rg_id,
            public_network_access=args.public_network_access,
            required_nsg_rules=args.required_nsg_rules,
            parameters=databricks.WorkspaceCustomParametersArgs(
                custom_virtual_network_id=databricks.WorkspaceCustomStringParameterArgs(value=args.vnet_id),
                # Databricks calls the host subnet "public" and the container subnet "private"
                # even when no node has a public IP.
                custom_public_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value=args.host_subnet_name),
                custom_private_subnet_name=databricks.WorkspaceCustomStringParameterArgs(value=args.container_subnet_name),
                enable_no_public_ip=databricks.WorkspaceNoPublicIPBooleanParameterArgs(value=True),
                storage_account_name=databricks.WorkspaceCustomStringParameterArgs(value=args.names.workspace_storage_account),
                storage_account_sku_name=databricks.WorkspaceCustomStringParameterArgs(value=args.storage_account_sku),
                **encryption_parameters(args.encryption),
            ),
            encryption=encryption_entities(args.encryption),
            default_storage_firewall="Enabled" if access_connector else "Disabled",
            access_connector=databricks.WorkspacePropertiesAccessConnectorArgs(
                id=access_connector.id, identity_type="SystemAssigned"
            ) if access_connector else None,
            enhanced_security_compliance=enhanced_security_compliance(args.enhanced_security),
            tags=tags,
            opts=child(self, protect=args.protect, depends_on=args.depends_on),
        )

        self.workspace_id = self.workspace.workspace_id
        self.workspace_url = self.workspace.workspace_url
        self.resource_id = self.workspace.id
        self.storage_account_id = managed_rg_id.apply(
            lambda rg: f"{rg}/providers/Microsoft.Storage/storageAccounts/{args.names.workspace_storage_account}"
        )
        enc = args.encryption
        self.storage_principal_id = self.workspace.storage_account_identity.apply(
            lambda identity: _principal(identity, "storageAccountIdentity (prepareEncryption)")
        ) if enc and enc.dbfs_root != "off" else None
        self.disk_principal_id = self.workspace.managed_disk_identity.apply(
            lambda identity: _principal(identity, "managedDiskIdentity (managed-disk encryption)")
        ) if enc and enc.managed_disks else None
        self.register_outputs(
            {"workspaceId": self.workspace_id, "workspaceUrl": self.workspace_url, "resourceId": self.resource_id}
        )


def enhanced_security_compliance(spec: EnhancedSecuritySpec | None) -> databricks.EnhancedSecurityComplianceDefinitionArgs | None:
    """The workspace's `enhancedSecurityCompliance` (ARM 2026-01-01): each feature Enabled or Disabled, the compliance
    standards with the profile. Left out while all are off, so a workspace without the add-on never names it."""
    if spec is None or not spec.any_enabled:
        return None

    def status(on: bool) -> str:
        return "Enabled" if on else "Disabled"

    return databricks.EnhancedSecurityComplianceDefinitionArgs(
        compliance_security_profile=databricks.ComplianceSecurityProfileDefinitionArgs(
            value=status(spec.compliance_security_profile),
            compliance_standards=list(spec.compliance_standards) or None,
        ),
        enhanced_security_monitoring=databricks.EnhancedSecurityMonitoringDefinitionArgs(
            value=status(spec.enhanced_security_monitoring)),
        automatic_cluster_update=databricks.AutomaticClusterUpdateDefinitionArgs(value=status(spec.automatic_cluster_update)),
    )
