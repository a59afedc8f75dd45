"""Compute governance: the cluster policies every cluster launches under, and who may use each."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_databricks as databricks

from components.planning.cluster_policies import baseline_policy, definition_json
from components.planning.naming import slug
from components.spec.access import AccessSpec, ClusterPolicySpec

Kid = Callable[..., pulumi.ResourceOptions]


def policy_definition(environment: str, cost_center: str, policy: ClusterPolicySpec,
                      service_principals: Mapping[str, str] | None = None) -> str:
    """The policy's JSON; `service_principals` maps the spec's service-principal names to application ids
    (a SINGLE_USER job policy pins single_user_name to them)."""
    ids = service_principals or {}
    return definition_json(baseline_policy(policy.baseline_options(
        environment, cost_center, tuple(ids[s] for s in policy.service_principals if s in ids))))


def cluster_policies(name: str, environment: str, cost_center: str, access: AccessSpec,
                     identities: Sequence[pulumi.Resource], kid: Kid) -> dict[str, databricks.ClusterPolicy]:
    out: dict[str, databricks.ClusterPolicy] = {}
    sp_ids = {s.name: s.application_id for s in access.service_principals}
    for policy in access.cluster_policies:
        resource = databricks.ClusterPolicy(
            f"{name}-policy-{slug(policy.name)}",
            name=policy.name,
            definition=policy_definition(environment, cost_center, policy, sp_ids),
            max_clusters_per_user=policy.max_clusters_per_user,
            description=f"brickwall baseline for {environment}: security settings locked at cluster launch",
            opts=kid(),
        )
        databricks.Permissions(
            f"{name}-policy-{slug(policy.name)}-use",
            cluster_policy_id=resource.id,
            access_controls=[
                *(databricks.PermissionsAccessControlArgs(group_name=g, permission_level="CAN_USE") for g in policy.groups),
                *(databricks.PermissionsAccessControlArgs(service_principal_name=sp_ids[s], permission_level="CAN_USE")
                  for s in policy.service_principals),
            ],
            opts=kid(*identities),
        )
        out[policy.name] = resource
    return out
