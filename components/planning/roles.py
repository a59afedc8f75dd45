"""Azure built-in roles the toolkit assigns, and how their definition ids are spelled. Pure and dependency-free, so
the policy pack can read the same table.

Built-in role ids are the same GUID in every tenant (learn.microsoft.com/azure/role-based-access-control/built-in-roles);
a role definition id names one inside a subscription.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

BUILT_IN_ROLES: Mapping[str, str] = MappingProxyType({
    # Read, write and delete blobs and containers; no keys, no firewall, no role assignments.
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    # Read blobs and list containers.
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    # Get, wrap and unwrap with a key: what a service needs to encrypt with a customer-managed key.
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    # Sign in to a VM with Entra ID, without administrator rights.
    "Virtual Machine User Login": "fb879df8-f326-4884-b1cf-06f3ad86be52",
    # Manage networks (subnets, load balancers, public IPs): what the AKS cluster identity needs on its own subnet to
    # place internal load balancers there (https://learn.microsoft.com/azure/aks/internal-lb, "Before you begin";
    # https://learn.microsoft.com/azure/aks/configure-azure-cni: the cluster identity needs at least Network Contributor
    # on the subnet).
    "Network Contributor": "4d97b98b-1d4f-4787-a291-c67834d212e7",
    # Full access to every Kubernetes object of a cluster with Azure RBAC for Kubernetes authorization
    # (https://learn.microsoft.com/azure/aks/manage-azure-rbac; built-in-roles/containers).
    "Azure Kubernetes Service RBAC Cluster Admin": "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
})

_SUBSCRIPTION = re.compile(r"^(/subscriptions/[^/]+)(/|$)", re.I)


def subscription_of(arm_id: str) -> str:
    """`/subscriptions/<id>` of an ARM resource id."""
    match = _SUBSCRIPTION.match(arm_id)
    if not match:
        raise ValueError(f"not an ARM resource id: {arm_id!r}")
    return match.group(1)


def role_definition_id(arm_id: str, role: str) -> str:
    """The definition id of built-in role `role` (its name or GUID) in the subscription that holds `arm_id`."""
    guid = BUILT_IN_ROLES.get(role, role)
    if guid not in BUILT_IN_ROLES.values():
        raise ValueError(f"unknown built-in role {role!r}; known: {', '.join(BUILT_IN_ROLES)}")
    return f"{subscription_of(arm_id)}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
