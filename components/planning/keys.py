"""Customer-managed keys without Pulumi: the rotation policy, role ids, role-assignment names, vault ids.

Read by components/keys.py (which creates the resources) and by the tests.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from components.planning import roles
from components.planning.roles import BUILT_IN_ROLES

# Built-in role "Key Vault Crypto Service Encryption User": get, wrapKey and unwrapKey on keys, nothing else.
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/security#key-vault-crypto-service-encryption-user
CRYPTO_SERVICE_ENCRYPTION_USER = BUILT_IN_ROLES["Key Vault Crypto Service Encryption User"]
VAULT_ZONE = "privatelink.vaultcore.azure.net"
# The only operations a wrapping key needs: the services wrap and unwrap their own data-encryption keys with it.
KEY_OPERATIONS = ("wrapKey", "unwrapKey")
# Key Vault warns this long before a version expires (an Event Grid "KeyNearExpiry" event).
NOTIFY_BEFORE_EXPIRY_DAYS = 30
# Names role assignments deterministically (role assignment names are GUIDs).
_NAMESPACE = uuid.UUID("7d9b4c1e-2f3a-4e5b-8c6d-0a1b2c3d4e5f")


@dataclass(frozen=True)
class KeyRotation:
    """A key's rotation policy as ISO 8601 durations: a new version every `rotate_after`, each version expiring
    `expire_after` after its creation, a notification `notify_before` expiry."""

    rotate_after: str
    expire_after: str
    notify_before: str


def key_rotation(rotation_days: int) -> KeyRotation:
    """Rotate every `rotation_days`; a version stays valid for two rotation periods, so the version still in use
    by a service that pins versions (managed services, DBFS root) keeps working for a whole period after a
    rotation (Azure Databricks asks for at least 24 hours) until the next `pulumi up --refresh` moves it on."""
    return KeyRotation(
        rotate_after=f"P{rotation_days}D",
        expire_after=f"P{2 * rotation_days}D",
        notify_before=f"P{NOTIFY_BEFORE_EXPIRY_DAYS}D",
    )


subscription_of = roles.subscription_of


def role_definition_id(resource_id: str, role: str = CRYPTO_SERVICE_ENCRYPTION_USER) -> str:
    """The subscription-scoped id of a built-in role, in the subscription `resource_id` lives in."""
    return roles.role_definition_id(resource_id, role)


def role_assignment_name(*parts: str) -> str:
    """A stable GUID for the assignment named by `parts` (vault, key, purpose): the same on every run."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class VaultRef:
    subscription_id: str
    resource_group_name: str
    name: str

    @property
    def uri(self) -> str:
        """The data-plane URI of a vault in the Azure public cloud."""
        return f"https://{self.name}.vault.azure.net/"


def parse_vault_id(vault_id: str) -> VaultRef:
    """/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name> (letter case free)."""
    parts = vault_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if (len(parts) != 8 or lowered[0] != "subscriptions" or lowered[2] != "resourcegroups" or lowered[4] != "providers"
            or lowered[5] != "microsoft.keyvault" or lowered[6] != "vaults"):
        raise ValueError(f"not a Key Vault resource id: {vault_id!r}")
    return VaultRef(subscription_id=parts[1], resource_group_name=parts[3], name=parts[7])


def key_version_of(key_uri_with_version: str) -> str:
    """The version segment of https://<vault>.vault.azure.net/keys/<name>/<version>."""
    parts = key_uri_with_version.rstrip("/").split("/")
    if len(parts) < 6 or parts[-3] != "keys":
        raise ValueError(f"no key version in {key_uri_with_version!r}")
    return parts[-1]
