"""WorkspaceAccessControl: hardened settings, IP access lists, identities, token rights, cluster policies.

Every resource here goes through the workspace's own Databricks provider, is created only after
the workspace and its private endpoints exist (the workspace API answers a little after creation),
and is deleted with the workspace, so `pulumi destroy` never calls a workspace that is going away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from components.planning.cluster_policies import baseline_policy, definition_json
from components.planning.naming import slug
from components.planning.workspace_settings import workspace_conf
from components.spec.access import AccessSpec, ClusterPolicySpec


@dataclass(frozen=True)
class WorkspaceAccessArgs:
    environment: str
    cost_center: str
    access: AccessSpec
    provider: databricks.Provider
    workspace: pulumi.Resource
    # Created first: the workspace, its private endpoints (the API is reached through them).
    after: Sequence[pulumi.Resource] = ()


def token_users(access: AccessSpec) -> tuple[list[str], list[str]]:
    """Groups and service-principal application ids granted personal access tokens."""
    groups = [g.name for g in access.groups if g.can_use_tokens]
    sps = [s.application_id for s in access.service_principals if s.authentication == "personal_access_token"]
    return groups, sps


def policy_definition(environment: str, cost_center: str, policy: ClusterPolicySpec) -> str:
    return definition_json(baseline_policy(policy.baseline_options(environment, cost_center)))


class WorkspaceAccessControl(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkspaceAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:databricks:WorkspaceAccessControl", name, {}, opts)
        access = args.access
        self._provider = args.provider

        def kid(*extra: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, provider=args.provider, deleted_with=args.workspace,
                depends_on=[*args.after, *extra],
            )

        token_groups, token_sps = token_users(access)
        conf = databricks.WorkspaceConf(
            f"{name}-conf",
            custom_config=workspace_conf(access.settings, access.ip_access.enabled, len(token_groups) + len(token_sps)),
            opts=kid(),
        )

        # Lists come after the switch: the API then refuses any list that would block the caller's own
        # address (INVALID_STATE), a second guard behind the spec's lockout rules.
        ip = access.ip_access
        lists: list[pulumi.Resource] = []
        for label, cidrs in ip.allow_lists():
            lists.append(databricks.IpAccessList(
                f"{name}-allow-{slug(label)}", label=label, list_type="ALLOW",
                ip_addresses=list(cidrs), enabled=True, opts=kid(conf),
            ))
        for lst in ip.block:
            lists.append(databricks.IpAccessList(
                f"{name}-block-{slug(lst.label)}", label=lst.label, list_type="BLOCK",
                ip_addresses=list(lst.cidrs), enabled=True, opts=kid(conf),
            ))
        self.workspace_conf = conf
        self.ip_access_lists = lists

        # Ordinary users launch compute through cluster policies, never unrestricted.
        users = databricks.get_group_output(display_name="users", opts=pulumi.InvokeOutputOptions(
            provider=args.provider, parent=self, depends_on=list(args.after)))
        databricks.Entitlements(
            f"{name}-users-entitlements", group_id=users.id, workspace_access=True,
            allow_cluster_create=False, allow_instance_pool_create=False, opts=kid(),
        )

        groups: dict[str, databricks.Group] = {}
        admins = None
        for group in access.groups:
            groups[group.name] = databricks.Group(
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
                        provider=args.provider, parent=self, depends_on=list(args.after)))
                databricks.GroupMember(
                    f"{name}-admins-{slug(group.name)}", group_id=admins.id, member_id=groups[group.name].id, opts=kid(),
                )

        principals: dict[str, databricks.ServicePrincipal] = {}
        for sp in access.service_principals:
            principals[sp.name] = databricks.ServicePrincipal(
                f"{name}-sp-{slug(sp.name)}",
                application_id=sp.application_id,
                display_name=sp.name,
                workspace_access=True,
                databricks_sql_access=sp.databricks_sql_access,
                allow_cluster_create=sp.allow_cluster_create,
                allow_instance_pool_create=False,
                opts=kid(),
            )

        identities = [*groups.values(), *principals.values()]
        if token_groups or token_sps:
            # Only the named principals may create and use personal access tokens.
            databricks.Permissions(
                f"{name}-token-usage",
                authorization="tokens",
                access_controls=[
                    *(databricks.PermissionsAccessControlArgs(group_name=g, permission_level="CAN_USE") for g in token_groups),
                    *(databricks.PermissionsAccessControlArgs(service_principal_name=a, permission_level="CAN_USE") for a in token_sps),
                ],
                opts=kid(*identities, conf),
            )

        self.cluster_policies: dict[str, databricks.ClusterPolicy] = {}
        for policy in access.cluster_policies:
            resource = databricks.ClusterPolicy(
                f"{name}-policy-{slug(policy.name)}",
                name=policy.name,
                definition=policy_definition(args.environment, args.cost_center, policy),
                max_clusters_per_user=policy.max_clusters_per_user,
                description=f"brickwall baseline for {args.environment}: security settings locked at cluster launch",
                opts=kid(),
            )
            sp_ids = {s.name: s.application_id for s in access.service_principals}
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
            self.cluster_policies[policy.name] = resource

        self.register_outputs({"clusterPolicyIds": {k: v.id for k, v in self.cluster_policies.items()}})
