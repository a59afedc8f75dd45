"""ServerlessConnectivity: the account-level resources that reach the workspace from the Databricks account.

- A network connectivity configuration (NCC) in the workspace's region, one private endpoint rule per storage target
  and sub-resource (`dfs` and `blob`: "to connect to workspace root storage (root DBFS), you need two endpoints, one
  for blob and one for dfs", pulumi_databricks MwsNccPrivateEndpointRule `group_id`), and the NCC's binding to the
  workspace (MwsNccBinding `workspace_id`; a workspace has one NCC, binding another replaces it).
  https://learn.microsoft.com/azure/databricks/security/network/serverless-network-security/serverless-private-link
- An optional Unity Catalog metastore assignment (MetastoreAssignment, `api = "account"`).

Every resource goes through the account provider (accounts.azuredatabricks.net): the NCC resources "can only be used
with an account-level provider" (their provider docs).

Approval is a step, not code. Each rule makes Databricks create a private endpoint that lands *pending* on the target
storage account, and takes effect only once the storage owner approves it (rule `connection_state` PENDING ->
ESTABLISHED; unapproved for 14 days it EXPIRES: terraform-provider-databricks docs/resources/
mws_ncc_private_endpoint_rule.md). Approving by code would need the connection's name on the storage account
(azure-native storage.PrivateEndpointConnection `private_endpoint_connection_name`), which Azure assigns when Databricks
creates the endpoint, after this program has planned; and approving is the storage owner's decision, which this
program should not take for them (an existing lake belongs to another team). The component exports what to approve
(`approvals`: target, sub-resource and the Azure private endpoint's name) and docs/audit-data-keys.md says how.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

# Storage sub-resources (private link group ids) serverless compute needs on an ADLS Gen2 account.
STORAGE_GROUP_IDS = ("dfs", "blob")


@dataclass(frozen=True)
class StorageTarget:
    key: str  # "workspace-storage", "lake": part of each rule's logical name
    resource_id: pulumi.Input[str]  # the storage account's ARM id (the workspace storage's is known once the workspace is)


@dataclass(frozen=True)
class ServerlessConnectivityArgs:
    account_provider: databricks.Provider
    workspace_id: pulumi.Input[str]  # the workspace's numeric id
    # The workspace: the binding and the metastore assignment go with it (deleting them after it fails: it is gone).
    # The NCC and its rules are the account's and outlive it, so they are deleted on their own.
    workspace: pulumi.Resource
    region: str
    # The NCC and its rules; None: no NCC (EnvironmentPlan.parts.serverless_connectivity decides: plan.ncc_name).
    ncc_name: str | None = None
    targets: Sequence[StorageTarget] = ()
    # An existing Unity Catalog metastore to assign; None: no assignment (EnvironmentPlan.parts.metastore decides).
    metastore_id: str | None = None
    depends_on: Sequence[pulumi.Resource] = ()


class ServerlessConnectivity(pulumi.ComponentResource):
    ncc: databricks.MwsNetworkConnectivityConfig | None
    rules: list[databricks.MwsNccPrivateEndpointRule]
    binding: databricks.MwsNccBinding | None
    metastore_assignment: databricks.MetastoreAssignment | None
    # One entry per rule: what the storage owner approves (target account id, sub-resource, private endpoint name).
    approvals: pulumi.Output[list[dict[str, str]]]

    def __init__(self, name: str, args: ServerlessConnectivityArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:serverless:ServerlessConnectivity", name, {}, opts)

        def account(*, with_workspace: bool = False) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=args.account_provider, depends_on=list(args.depends_on) or None,
                                          deleted_with=args.workspace if with_workspace else None)

        self.ncc, self.rules, self.binding, self.metastore_assignment = None, [], None, None
        if args.ncc_name is not None:
            self.ncc = databricks.MwsNetworkConnectivityConfig(
                f"{name}-ncc", name=args.ncc_name, region=args.region, opts=account())
            ncc_id = self.ncc.network_connectivity_config_id
            self.rules = [
                databricks.MwsNccPrivateEndpointRule(
                    f"{name}-{target.key}-{group}",
                    network_connectivity_config_id=ncc_id,
                    resource_id=target.resource_id,
                    group_id=group,
                    opts=account(),
                )
                for target in args.targets
                for group in STORAGE_GROUP_IDS
            ]
            self.binding = databricks.MwsNccBinding(
                f"{name}-ncc-binding", network_connectivity_config_id=ncc_id, workspace_id=args.workspace_id,
                opts=account(with_workspace=True))
        if args.metastore_id is not None:
            # api "account": the assignment is made through the account API, whatever the provider's host
            # (pulumi_databricks MetastoreAssignment `api`: "account" or "workspace").
            self.metastore_assignment = databricks.MetastoreAssignment(
                f"{name}-metastore", metastore_id=args.metastore_id, workspace_id=args.workspace_id, api="account",
                opts=account(with_workspace=True))

        self.approvals = pulumi.Output.all(*[
            pulumi.Output.all(rule.resource_id, rule.group_id, rule.endpoint_name, rule.connection_state)
            for rule in self.rules
        ]).apply(lambda rows: [
            {"storageAccountId": str(r[0]), "subResource": str(r[1]), "privateEndpointName": str(r[2] or ""),
             "connectionState": str(r[3] or "")}
            for r in rows
        ])
        self.register_outputs({
            "networkConnectivityConfigId": self.ncc.network_connectivity_config_id if self.ncc else None,
            "approvals": self.approvals,
        })
