"""Data sources: the built-in roles the lake's access connector may hold, and how its role assignments are named.

Pure, no Pulumi. Role definition ids are Azure's fixed GUIDs for built-in roles, the same in every tenant
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage):

- Storage Blob Data Contributor `ba92f5b4-2d11-453d-a403-e96b0029c9fe`: read, write and delete blobs and containers.
- Storage Blob Data Reader `2a2b9908-6ea1-4ae2-8e65-a410df84e7d1`: read blobs and list containers.

Both are data-plane roles: neither can read the account keys, change the firewall or assign roles, which is what
Owner, Contributor and Storage Account Contributor can (the policy pack rejects those on a lake).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from types import MappingProxyType

from components.planning.roles import BUILT_IN_ROLES, subscription_of
from components.planning.roles import role_definition_id as _role_definition_id

BLOB_DATA_ROLES: Mapping[str, str] = MappingProxyType(
    {role: BUILT_IN_ROLES[role] for role in ("Storage Blob Data Contributor", "Storage Blob Data Reader")})

# The private DNS zone of each storage sub-resource an endpoint can target, and of Azure SQL's server endpoint
# (https://learn.microsoft.com/azure/private-link/private-endpoint-dns).
LAKE_ZONES: Mapping[str, str] = MappingProxyType({
    "dfs": "privatelink.dfs.core.windows.net",
    "blob": "privatelink.blob.core.windows.net",
})
SQL_GROUP = "sqlServer"
SQL_ZONE = "privatelink.database.windows.net"

# Stable namespace for role assignment names (uuid5), so a name never depends on an Azure-computed value.
_ASSIGNMENT_NAMESPACE = uuid.UUID("8d5b7c2e-4f1a-4c3b-9e6d-0a1b2c3d4e5f")


subscription_scope = subscription_of


def role_definition_id(arm_id: str, role: str) -> str:
    """The blob data role's definition id in the subscription that holds `arm_id` (only the two blob data roles)."""
    return _role_definition_id(arm_id, BLOB_DATA_ROLES[role])


def container_scope(account_id: str, container: str) -> str:
    """A blob container's ARM id: the narrowest scope a blob data role can be assigned at here."""
    return f"{account_id}/blobServices/default/containers/{container}"


def role_assignment_name(account: str, container: str, role: str, principal: str) -> str:
    """A deterministic GUID per (account, container, role, principal): re-running never duplicates an assignment,
    and changing the role gives a new name (role assignments cannot be updated in place)."""
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, "/".join((account.lower(), container, BLOB_DATA_ROLES[role], principal))))
