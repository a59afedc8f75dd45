"""Customer-managed keys: the Key Vault, its private endpoint, the key, and who may use the key.

`CustomerManagedKeys` comes before the workspace: the vault (RBAC only, purge protection, soft delete, no public
access, default deny), a private endpoint with its own privatelink.vaultcore.azure.net zone, an RSA key with a
rotation policy, and the AzureDatabricks application's grant on the key, which managed-services encryption needs
before the workspace uses the key. With an existing vault the key is created in it and nothing else is.

`WorkspaceKeyGrants` comes after the workspace: the identities Azure creates for it (the DBFS root storage
account's once encryption is prepared, the managed disks' encryption set's once disk encryption is on) get the
key. The workspace's private endpoints depend on these grants (components/environment.py), so one `pulumi up`
never runs a workspace encryption change and an endpoint change on the workspace at the same time: Azure puts the
workspace in "updating" for each, and the second fails.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import authorization, keyvault, network

from components._base import child, role_assignment
from components._private_endpoints import private_endpoint, private_zone
from components.planning.data_paths import KEY_VAULT
from components.planning.keys import (
    CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_OPERATIONS,
    VAULT_ZONE,
    key_rotation,
    key_version_of,
    parse_vault_id,
    role_assignment_name,
)
from components.planning.naming import NamePlan


@dataclass(frozen=True)
class CustomerManagedKeysArgs:
    location: str
    tags: Mapping[str, str]
    resource_group_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    # The vault's, the key's and the vault endpoint's names.
    names: NamePlan
    # A vault to create (names.key_vault) or an existing one (existing_vault_id, a validated Key Vault id).
    existing_vault_id: str | None
    sku: Literal["standard", "premium"]
    soft_delete_retention_days: int
    key_size: int
    hsm: bool
    rotation_days: int
    # The vault's private endpoint, in the workspace VNet's endpoint subnet, and the VNet its zone is linked to.
    vnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    # Object id of the AzureDatabricks application in this tenant; None when managed services keep Microsoft's key.
    databricks_app_object_id: str | None
    protect: bool
    # An existing vault in another subscription is reached through a provider for that subscription.
    vault_provider: pulumi.ProviderResource | None = None
    # Application security group id per endpoint class (components/planning/data_paths.py): the vault's endpoint joins
    # class `key-vault`'s, which the endpoint subnet's NSG admits no one to.
    endpoint_asg_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class CustomerManagedKeys(pulumi.ComponentResource):
    vault: keyvault.Vault | None
    key: keyvault.Key
    endpoint: network.PrivateEndpoint | None
    managed_services_grant: authorization.RoleAssignment | None
    vault_id: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    key_name: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key_version: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerManagedKeysArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:security:CustomerManagedKeys", name, {}, opts)
        self._name, self._args = name, args
        tags = dict(args.tags)
        self.vault, self.endpoint = None, None

        vault_name: pulumi.Input[str]
        vault_rg: pulumi.Input[str]
        if args.existing_vault_id is not None:
            # Someone else's vault: only the key is ours. Its network, RBAC mode and protection are theirs.
            ref = parse_vault_id(args.existing_vault_id)
            vault_name, vault_rg = ref.name, ref.resource_group_name
            self.vault_id = pulumi.Output.from_input(args.existing_vault_id)
            self.vault_uri = pulumi.Output.from_input(ref.uri)
        else:
            self.vault = keyvault.Vault(
                f"{name}-vault",
                vault_name=args.names.key_vault,
                resource_group_name=args.resource_group_name,
                location=args.location,
                properties=keyvault.VaultPropertiesArgs(
                    tenant_id=args.tenant_id,
                    sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName(args.sku)),
                    # Azure RBAC on the data plane: access policies (which any vault contributor can edit) are off.
                    enable_rbac_authorization=True,
                    enable_soft_delete=True,
                    soft_delete_retention_in_days=args.soft_delete_retention_days,
                    # A deleted key cannot be purged before its retention ends: no one can destroy the data it wraps.
                    enable_purge_protection=True,
                    public_network_access="Disabled",
                    # Nothing through the public endpoint; Azure Databricks, Storage and the disk encryption set
                    # reach the key as trusted services, clients through the private endpoint.
                    network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices"),
                    enabled_for_deployment=False,
                    enabled_for_disk_encryption=False,
                    enabled_for_template_deployment=False,
                ),
                tags=tags,
                opts=child(self, protect=args.protect),
            )
            vault_name, vault_rg = self.vault.name, args.resource_group_name
            self.vault_id = self.vault.id
            self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)
            self._private_endpoint(self.vault)

        rotation = key_rotation(args.rotation_days)
        # Created through ARM (the control plane), so it works with the vault's public access off.
        self.key = keyvault.Key(
            f"{name}-key",
            key_name=args.names.cmk_key,
            vault_name=vault_name,
            resource_group_name=vault_rg,
            properties=keyvault.KeyPropertiesArgs(
                kty="RSA-HSM" if args.hsm else "RSA",
                key_size=args.key_size,
                key_ops=list(KEY_OPERATIONS),
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time=rotation.expire_after),
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                            trigger=keyvault.TriggerArgs(time_after_create=rotation.rotate_after),
                        ),
                        keyvault.LifetimeActionArgs(
                            action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.NOTIFY),
                            trigger=keyvault.TriggerArgs(time_before_expiry=rotation.notify_before),
                        ),
                    ],
                ),
            ),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child(self, protect=args.protect), pulumi.ResourceOptions(provider=args.vault_provider)),
        )
        self.key_name = self.key.name
        self.key_id = self.key.id
        self.key_version = self.key.key_uri_with_version.apply(key_version_of)

        self.managed_services_grant = None
        if args.databricks_app_object_id is not None:
            # Managed services: Azure Databricks' control plane wraps with the key as its first-party application,
            # which must hold the key before the workspace names it.
            self.managed_services_grant = self.grant("managed-services", args.databricks_app_object_id)

        self.register_outputs({
            "vaultId": self.vault_id,
            "vaultUri": self.vault_uri,
            "keyName": self.key_name,
            "keyId": self.key_id,
            "keyVersion": self.key_version,
        })

    def grant(self, purpose: str, principal_id: pulumi.Input[str], *, parent: pulumi.Resource | None = None,
              prefix: str | None = None, depends_on: Sequence[pulumi.Resource] = ()) -> authorization.RoleAssignment:
        """"Key Vault Crypto Service Encryption User" for `principal_id` on this key only (not the whole vault)."""
        args = self._args
        vault = args.existing_vault_id or args.names.key_vault
        # An existing vault's key id is known up front, in the vault's own subscription.
        scope: pulumi.Input[str] = f"{args.existing_vault_id}/keys/{args.names.cmk_key}" if args.existing_vault_id else self.key_id
        return role_assignment(
            parent or self, f"{prefix or self._name}-{purpose}-grant",
            name=role_assignment_name(vault, args.names.cmk_key, purpose),
            scope=scope,
            role=CRYPTO_SERVICE_ENCRYPTION_USER,
            principal_id=principal_id,
            # Set, so a just-created managed identity is not looked up in Entra ID before it has replicated.
            principal_type="ServicePrincipal",
            description=f"brickwall: {purpose} encryption with {args.names.cmk_key}",
            depends_on=[self.key, *depends_on],
        )

    def _private_endpoint(self, vault: keyvault.Vault) -> None:
        args = self._args
        zone = private_zone(self, f"{self._name}-vault", zone_name=VAULT_ZONE, resource_group_name=args.resource_group_name,
                            links={"workspace-vnet": args.vnet_id}, tags=args.tags)
        self.endpoint = private_endpoint(
            self, f"{self._name}-vault", endpoint_name=args.names.key_vault_endpoint, resource_group_name=args.resource_group_name,
            location=args.location, subnet_id=args.endpoint_subnet_id, target_id=vault.id, group_id="vault", zone=zone,
            zone_config_name="vault", tags=args.tags, application_security_group_id=args.endpoint_asg_ids.get(KEY_VAULT),
        )


@dataclass(frozen=True)
class WorkspaceKeyGrantsArgs:
    keys: CustomerManagedKeys
    # The workspace's storage account identity (DBFS root encryption prepared) and disk encryption set identity
    # (managed-disk encryption on): outputs of the workspace, so these grants follow it.
    storage_principal_id: pulumi.Input[str] | None
    disk_principal_id: pulumi.Input[str] | None
    workspace: pulumi.Resource


class WorkspaceKeyGrants(pulumi.ComponentResource):
    grants: list[authorization.RoleAssignment]

    def __init__(self, name: str, args: WorkspaceKeyGrantsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:security:WorkspaceKeyGrants", name, {}, opts)
        self.grants = []
        if args.storage_principal_id is not None:
            self.grants.append(args.keys.grant("dbfs-root", args.storage_principal_id, parent=self, prefix=name,
                                              depends_on=[args.workspace]))
        if args.disk_principal_id is not None:
            self.grants.append(args.keys.grant("managed-disks", args.disk_principal_id, parent=self, prefix=name,
                                              depends_on=[args.workspace]))
        self.register_outputs({"grants": [g.id for g in self.grants]})
