"""Identities: the account's Entra ID groups assigned to the workspace, service principals, and token rights.

Groups are account groups tied to Entra ID, never workspace-local ones: they are resolved in the account through the
account provider (automatic identity management by Entra object id, or the SCIM-provisioned group by display name,
its external id checked against the object id) and assigned to the workspace as USER, or ADMIN for the break-glass
group (account Workspace Assignment API, `databricks.MwsPermissionAssignment`: "USER adds the principal to the
workspace users group, ADMIN to the workspace admins group"; pulumi_databricks mws_permission_assignment.py). A
group assigned from the account appears in the workspace under its display name with the same id, so entitlements
(`databricks.Entitlements`, workspace provider: "use databricks.Entitlements to assign entitlements inside a
workspace to account-level groups", pulumi_databricks group.py) and permissions by group name keep working.
Workspace-local groups cannot be granted Unity Catalog privileges nor assigned to other workspaces
(https://learn.microsoft.com/azure/databricks/admin/users-groups/groups, "Group sources").

Service principals stay `databricks.ServicePrincipal` through the workspace provider: in an identity-federated
workspace the workspace SCIM API adds them to the account ("Workspace admins can add users, groups, and service
principals to the Azure Databricks account using workspace-level SCIM APIs",
https://learn.microsoft.com/azure/databricks/archive/workspace-level-scim), so they are account principals usable in
Unity Catalog grants, and deleting one through the workspace provider removes it from this workspace only
(terraform-provider-databricks docs/resources/service_principal.md: at the account level deletion deactivates it
account-wide). Creating them through the account provider instead would make every stack that names the same
application id (the deployer in dev, staging and prod) compete for one account object. SCIM provisioning does not
sync service principals at all (https://learn.microsoft.com/azure/databricks/admin/users-groups/manage-service-principals).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_databricks as databricks

from components.planning.naming import slug
from components.spec.access import AccessSpec
from components.spec.identity import GroupSpec, IdentitySync

Kid = Callable[..., pulumi.ResourceOptions]


def token_users(access: AccessSpec) -> tuple[list[str], list[str]]:
    """Groups and service-principal application ids granted personal access tokens."""
    groups = [g.name for g in access.groups if g.can_use_tokens]
    sps = [s.application_id for s in access.service_principals if s.authentication == "personal_access_token"]
    return groups, sps


def workspace_permission(group: GroupSpec) -> str:
    return "ADMIN" if group.workspace_admin else "USER"


class IdentityMismatch(pulumi.RunError):
    """The account's group is not the Entra group the spec names: stops the preview before any change, printed
    without a traceback (a RunError)."""


def checked_group_id(group: GroupSpec, sync: IdentitySync, found: Any) -> str:
    """The account group's id, once the directory's answer matches the spec's display name and Entra object id."""
    if sync == "automatic":
        ident, name, external = found.internal_id, found.display_name, found.external_group_id
        where = "automatic identity management resolved Entra object id"
    else:
        ident, name, external = found.id, found.display_name, found.external_id
        where = "the account's SCIM-provisioned group named"
    problems = []
    if (external or "").lower() != group.entra_object_id:
        problems.append(f"its external id is {external!r}, not the Entra object id {group.entra_object_id}"
                        + (" (is it provisioned by the Entra SCIM connector, or created by hand?)" if sync == "scim" else ""))
    if name != group.name:
        problems.append(f"its display name is {name!r}: set access.groups name to the Entra group's display name, "
                        "which is the name permissions address it by")
    if not ident:
        problems.append("the account returned no group id")
    if problems:
        subject = group.entra_object_id if sync == "automatic" else repr(group.name)
        raise IdentityMismatch(f"access.groups {group.name!r}: {where} {subject}, but " + "; ".join(problems))
    return str(ident)


def account_group_id(group: GroupSpec, sync: IdentitySync, account_provider: databricks.Provider,
                     parent: pulumi.Resource) -> pulumi.Output[str]:
    """The id of the account group tied to `group`'s Entra group."""
    opts = pulumi.InvokeOutputOptions(provider=account_provider, parent=parent)
    found: pulumi.Output[Any]
    if sync == "automatic":
        # Resolves the Entra group by object id and provisions it in the account if needed (AIM only).
        # The account id is the provider's own (stack config databricksAccountId, required and checked as a GUID).
        name = account_provider.account_id.apply(lambda account: f"accounts/{account}/external-groups/{group.entra_object_id}")
        found = databricks.get_account_iam_external_group_v2_output(name=name, opts=opts)
    else:
        # At the account level the data source reads the group by display name, then its externalId
        # (terraform-provider-databricks scim/data_group.go: ReadByDisplayName, then "displayName,...,externalId").
        found = databricks.get_group_output(display_name=group.name, opts=opts)
    return found.apply(lambda f: checked_group_id(group, sync, f))


@dataclass
class Identities:
    assignments: dict[str, databricks.MwsPermissionAssignment] = field(default_factory=dict)
    entitlements: dict[str, databricks.Entitlements] = field(default_factory=dict)
    service_principals: dict[str, databricks.ServicePrincipal] = field(default_factory=dict)

    @property
    def all(self) -> list[pulumi.Resource]:
        """What a permission naming a group or service principal waits for."""
        return [*self.assignments.values(), *self.entitlements.values(), *self.service_principals.values()]


def identities(name: str, access: AccessSpec, provider: databricks.Provider, account_provider: databricks.Provider,
               workspace: pulumi.Resource, workspace_id: pulumi.Input[str], parent: pulumi.Resource,
               depends_on: Sequence[pulumi.Resource], kid: Kid, account_depends_on: Sequence[pulumi.Resource] = ()) -> Identities:
    out = Identities()
    # Ordinary users launch compute through cluster policies, never unrestricted.
    users = databricks.get_group_output(display_name="users", opts=pulumi.InvokeOutputOptions(
        provider=provider, parent=parent, depends_on=list(depends_on)))
    databricks.Entitlements(
        f"{name}-users-entitlements", group_id=users.id, workspace_access=True,
        allow_cluster_create=False, allow_instance_pool_create=False, opts=kid(),
    )

    for group in access.groups:
        key = slug(group.name)
        group_id = account_group_id(group, access.identity_sync, account_provider, parent)
        # Account API (accounts.azuredatabricks.net): the workspace must exist (its id), not its private endpoints.
        # Deleted with the workspace, whose assignments go with it. The resource has no update, so every field is
        # ForceNew (terraform-provider-databricks mws/resource_mws_permission_assignment.go has no Update;
        # common/resource.go then sets ForceNew on all): USER -> ADMIN replaces it, and the replacement addresses the
        # same (workspace, principal) pair, so it must be deleted first or the old one's delete would unassign the group.
        assignment = databricks.MwsPermissionAssignment(
            f"{name}-assign-{key}",
            workspace_id=workspace_id,
            principal_id=group_id,
            permissions=[workspace_permission(group)],
            opts=pulumi.ResourceOptions(parent=parent, provider=account_provider, deleted_with=workspace,
                                        depends_on=[workspace, *account_depends_on], delete_before_replace=True),
        )
        out.assignments[group.name] = assignment
        out.entitlements[group.name] = databricks.Entitlements(
            f"{name}-group-{key}-entitlements",
            group_id=group_id,
            workspace_access=True,
            databricks_sql_access=group.databricks_sql_access,
            allow_cluster_create=group.allow_cluster_create,
            allow_instance_pool_create=False,
            opts=kid(assignment),
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
            # The deploying principal (and, in an identity-federated workspace, any principal already in the account)
            # may exist in the workspace before the first `pulumi up`: Azure adds the workspace's creator as an admin.
            # `force` adopts it instead of failing with "Service principal with application ID X already exists"
            # (pulumi-databricks ServicePrincipal docs, `force`).
            force=True,
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
