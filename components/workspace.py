"""SecureWorkspace: a premium, VNet-injected, no-public-IP Azure Databricks workspace."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import databricks

from components._base import child


@dataclass(frozen=True)
class SecureWorkspaceArgs:
    location: str
    tags: Mapping[str, str]
    workspace_name: str
    resource_group_name: pulumi.Input[str]
    resource_group_id: pulumi.Input[str]
    managed_resource_group_name: str
    vnet_id: pulumi.Input[str]
    host_subnet_name: pulumi.Input[str]
    container_subnet_name: pulumi.Input[str]
    public_network_access: Literal["Enabled", "Disabled"]
    required_nsg_rules: Literal["AllRules", "NoAzureDatabricksRules"]
    storage_account_name: str
    storage_account_sku: str
    default_storage_firewall: bool
    access_connector_name: str
    protect: bool
    # The delegated subnets (with their NSG associations) must exist before the workspace.
    depends_on: Sequence[pulumi.Resource] = ()


def managed_resource_group_id(resource_group_id: str, managed_name: str) -> str:
    """The managed RG sits in the workspace's subscription; derive its id from the workspace RG's id."""
    subscription = resource_group_id.split("/resourceGroups/")[0]
    return f"{subscription}/resourceGroups/{managed_name}"


class SecureWorkspace(pulumi.ComponentResource):
    workspace: databricks.Workspace
    workspace_id: pulumi.Output[str]
    workspace_url: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    storage_account_id: pulumi.Output[str]

    def __init__(self, name: str, args: SecureWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:databricks:SecureWorkspace", name, {}, opts)
        tags = dict(args.tags)
        managed_rg_id = pulumi.Output.from_input(args.resource_group_id).apply(
            lambda rg_id: managed_resource_group_id(rg_id, args.managed_resource_group_name)
        )

        access_connector = None
        if args.default_storage_firewall:
            # The workspace reaches its firewalled storage with this connector's managed identity.
            access_connector = databricks.AccessConnector(
                f"{name}-access-connector",
                connector_name=args.access_connector_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                identity=databricks.ManagedServiceIdentityArgs(type="SystemAssigned"),
                tags=tags,
                opts=child(self),
            )

        self.workspace = databricks.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=databricks.SkuArgs(name="premium"),
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
                storage_account_name=databricks.WorkspaceCustomStringParameterArgs(value=args.storage_account_name),
                storage_account_sku_name=databricks.WorkspaceCustomStringParameterArgs(value=args.storage_account_sku),
            ),
            default_storage_firewall="Enabled" if access_connector else "Disabled",
            access_connector=databricks.WorkspacePropertiesAccessConnectorArgs(
                id=access_connector.id, identity_type="SystemAssigned"
            ) if access_connector else None,
            tags=tags,
            opts=child(self, protect=args.protect, depends_on=args.depends_on),
        )

        self.workspace_id = self.workspace.workspace_id
        self.workspace_url = self.workspace.workspace_url
        self.resource_id = self.workspace.id
        self.storage_account_id = managed_rg_id.apply(
            lambda rg: f"{rg}/providers/Microsoft.Storage/storageAccounts/{args.storage_account_name}"
        )
        self.register_outputs(
            {"workspaceId": self.workspace_id, "workspaceUrl": self.workspace_url, "resourceId": self.resource_id}
        )
