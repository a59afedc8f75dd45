"""Identities: the workspace's groups and service principals, admins, and who may hold personal access tokens."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_databricks as databricks

from components.planning.naming import slug
from components.spec.access import AccessSpec

Kid = Callable[..., pulumi.ResourceOptions]


def token_users(access: AccessSpec) -> tuple[list[str], list[str]]:
    """Groups and service-principal application ids granted personal access tokens."""
    groups = [g.name for g in access.groups if g.can_use_tokens]
    sps = [s.application_id for s in access.service_principals if s.authentication == "personal_access_token"]
    return groups, sps


@dataclass
class Identities:
    groups: dict[str, pulumi.Resource] = field(default_factory=dict)
    service_principals: dict[str, databricks.ServicePrincipal] = field(default_factory=dict)

    @property
    def all(self) -> list[pulumi.Resource]:
        return [*self.groups.values(), *self.service_principals.values()]


def identities(name: str, access: AccessSpec, provider: databricks.Provider, parent: pulumi.Resource,
               after: Sequence[pulumi.Resource], kid: Kid) -> Identities:
    out = Identities()
    # Ordinary users launch compute through cluster policies, never unrestricted.
    users = databricks.get_group_output(display_name="users", opts=pulumi.InvokeOutputOptions(
        provider=provider, parent=parent, depends_on=list(after)))
    databricks.Entitlements(
        f"{name}-users-entitlements", group_id=users.id, workspace_access=True,
        allow_cluster_create=False, allow_instance_pool_create=False, opts=kid(),
    )

    admins = None
    for group in access.groups:
        out.groups[group.name] = databricks.Group(
            f"{name}-group-{slug(group.name)}",
            display_name=group.name,
            # The Entra ID object id: membership and removal follow Entra ID.
            external_id=group.entra_object_id,
            workspace_access=True,
            databricks_sql_access=group.databricks_sql_access,
            allow_cluster_create=group.allow_cluster_create,
            allow_instance_pool_create=False,
            opts=kid(),
        )
        if group.workspace_admin:
            if admins is None:
                admins = databricks.get_group_output(display_name="admins", opts=pulumi.InvokeOutputOptions(
                    provider=provider, parent=parent, depends_on=list(after)))
            databricks.GroupMember(
                f"{name}-admins-{slug(group.name)}", group_id=admins.id, member_id=out.groups[group.name].id, opts=kid(),
            )

    for sp in access.service_principals:
        out.service_principals[sp.name] = databricks.ServicePrincipal(
            f"{name}-sp-{slug(sp.name)}",
            application_id=sp.application_id,
            display_name=sp.name,
            workspace_access=True,
            databricks_sql_access=sp.databricks_sql_access,
            allow_cluster_create=sp.allow_cluster_create,
            allow_instance_pool_create=False,
            opts=kid(),
        )
    return out


def token_permissions(name: str, access: AccessSpec, depends: Sequence[pulumi.Resource], kid: Kid) -> None:
    token_groups, token_sps = token_users(access)
    if token_groups or token_sps:
        # Only the named principals may create and use personal access tokens.
        databricks.Permissions(
            f"{name}-token-usage",
            authorization="tokens",
            access_controls=[
                *(databricks.PermissionsAccessControlArgs(group_name=g, permission_level="CAN_USE") for g in token_groups),
                *(databricks.PermissionsAccessControlArgs(service_principal_name=a, permission_level="CAN_USE") for a in token_sps),
            ],
            opts=kid(*depends),
        )
