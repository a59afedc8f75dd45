"""Cross-field rules for inter-node encryption and serverless connectivity (registered in rules.RULES)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.planning.ingress import creates_aks
from components.planning.vnet_encryption import unsupported_reason, unsupported_sizes
from components.spec.errors import Problem

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec


def _vnet_encryption_sizes(spec: EnvironmentSpec) -> list[Problem]:
    """With VNet encryption on, every VM size that may join the workspace VNet is one Azure encrypts: each cluster
    policy's node types (its allowlist is the only way a cluster picks a size) and the AKS pools the toolkit puts in
    the VNet (behind the ingress's internal load balancer every VM must be a supported size, Azure's "Limitations").
    One problem per field, naming every unsupported size at once."""
    if not spec.network.vnet_encryption.enabled:
        return []
    problems = []
    for i, policy in enumerate(spec.access.cluster_policies):
        if bad := unsupported_sizes(policy.node_types):
            problems.append(Problem(("access", "cluster_policies", i, "node_types"), unsupported_reason(bad)))
    ingress = spec.ingress
    if creates_aks(ingress.enabled, ingress.cluster):
        if bad := unsupported_sizes([ingress.aks.vm_size]):
            problems.append(Problem(("ingress", "aks", "vm_size"), unsupported_reason(bad)))
        if ingress.aks.user_pool is not None and (bad := unsupported_sizes([ingress.aks.user_pool.vm_size])):
            problems.append(Problem(("ingress", "aks", "user_pool", "vm_size"), unsupported_reason(bad)))
    return problems


def _ncc_region(spec: EnvironmentSpec) -> list[Problem]:
    """An NCC binds only to workspaces of its own region (databricks_mws_ncc_binding: "The NCC and workspace must be in
    the same region")."""
    ncc = spec.serverless.network_connectivity
    if ncc.enabled and ncc.region is not None and ncc.region != spec.region:
        return [Problem(("serverless", "network_connectivity", "region"),
                        f"{ncc.region!r}: a network connectivity configuration serves only workspaces of its own region, "
                        f"and this workspace is in {spec.region!r}; leave region unset or give {spec.region!r}")]
    return []


def _ncc_targets(spec: EnvironmentSpec) -> list[Problem]:
    """An enabled NCC with nothing to reach would bind the workspace to an empty configuration."""
    ncc = spec.serverless.network_connectivity
    if ncc.enabled and not ncc.workspace_storage and not (ncc.lake and spec.data.lake.enabled):
        return [Problem(("serverless", "network_connectivity", "enabled"),
                        "no private endpoint rule to create: turn on workspace_storage, or lake with data.lake enabled")]
    return []


RULES = (_vnet_encryption_sizes, _ncc_region, _ncc_targets)
