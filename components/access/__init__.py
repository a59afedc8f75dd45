"""WorkspaceAccessControl: hardened settings, IP access lists, identities, token rights, compute governance.

One module per concern (settings.py, identities.py, compute.py, governance.py); this component only wires them.
Every resource goes through the workspace's own Databricks provider (or, for account-level objects,
the account provider), is created only after the workspace and its private endpoints exist (the
workspace API answers a little after creation), and is deleted with the workspace, so `pulumi destroy`
never calls a workspace that is going away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from components.access.compute import cluster_policies, policy_definition
from components.access.governance import governance
from components.access.identities import identities, token_permissions, token_users
from components.access.settings import settings_and_lists
from components.spec.access import AccessSpec

__all__ = ["WorkspaceAccessArgs", "WorkspaceAccessControl", "policy_definition", "token_users"]


@dataclass(frozen=True)
class WorkspaceAccessArgs:
    environment: str
    cost_center: str
    access: AccessSpec
    provider: databricks.Provider
    # The account-level provider (accounts.azuredatabricks.net): account groups, workspace assignments.
    account_provider: databricks.Provider
    workspace: pulumi.Resource
    # The workspace's numeric id, for account-level assignments.
    workspace_id: pulumi.Input[str]
    # Created first: the workspace, its private endpoints (the API is reached through them).
    depends_on: Sequence[pulumi.Resource] = ()
    # Created before the account-level assignments: the workspace's metastore assignment (identity federation).
    account_depends_on: Sequence[pulumi.Resource] = ()


class WorkspaceAccessControl(pulumi.ComponentResource):
    def __init__(self, name: str, args: WorkspaceAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:databricks:WorkspaceAccessControl", name, {}, opts)
        access = args.access

        def kid(*extra: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, provider=args.provider, deleted_with=args.workspace,
                depends_on=[*args.depends_on, *extra],
            )

        token_groups, token_sps = token_users(access)
        settings = settings_and_lists(name, access, len(token_groups) + len(token_sps), kid)
        self.workspace_conf, self.ip_access_lists = settings.conf, settings.ip_access_lists
        ids = identities(name, access, args.provider, args.account_provider, args.workspace, args.workspace_id,
                         self, args.depends_on, kid, account_depends_on=args.account_depends_on)
        token_permissions(name, access, [*ids.all, settings.tokens], kid)
        self.cluster_policies = cluster_policies(name, args.environment, args.cost_center, access, ids.all, kid)

        def account_kid(*extra: pulumi.Resource, retain_on_delete: bool = False) -> pulumi.ResourceOptions:
            # Account-level objects about this workspace: after it exists, gone with it (a retained one stays).
            return pulumi.ResourceOptions(
                parent=self, provider=args.account_provider, depends_on=[*args.depends_on, *args.account_depends_on, *extra],
                retain_on_delete=retain_on_delete, deleted_with=None if retain_on_delete else args.workspace,
            )

        self.governance = governance(
            name, args.environment, args.cost_center, access.compute,
            {s.name: s.application_id for s in access.service_principals}, args.workspace_id, ids.all, kid, account_kid,
        )

        self.register_outputs({
            "clusterPolicyIds": {k: v.id for k, v in self.cluster_policies.items()},
            "personalComputePolicyId": self.governance.personal_compute.id,
            "sqlWarehouseIds": {k: v.id for k, v in self.governance.warehouses.items()},
        })
