"""ConnectorIdentities: one identity per ingress connector, with no secret anywhere.

Per connector: a user-assigned managed identity; a federated identity credential that lets exactly the connector's
Kubernetes service account sign in as it (AKS workload identity: issuer = the cluster's OIDC issuer, subject
`system:serviceaccount:<apps namespace>:<connector>`, audience `api://AzureADTokenExchange`;
https://learn.microsoft.com/azure/aks/workload-identity-overview); and a Databricks service principal in the
workspace whose application id is the identity's client id, so the connector's Databricks calls are made as its own
principal (Azure managed identities are added to a workspace as service principals by their client id:
https://learn.microsoft.com/azure/databricks/dev-tools/auth/azure-mi, "Set up and use Azure managed identities
authentication for Azure Databricks automation").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks
from pulumi_azure_native import managedidentity

from components._base import child
from components.planning.workload_identity import TOKEN_EXCHANGE_AUDIENCE, identity_name, service_account_subject
from components.spec.ingress import ConnectorSpec


@dataclass(frozen=True)
class ConnectorIdentitiesArgs:
    location: str
    tags: Mapping[str, str]
    resource_group_name: pulumi.Input[str]
    # Names the identities (the AKS cluster's name, or the environment's for an existing cluster).
    name_prefix: str
    apps_namespace: str
    connectors: Sequence[ConnectorSpec]
    # The cluster's OIDC issuer URL (the created cluster's output, or ingress.oidc_issuer_url).
    oidc_issuer_url: pulumi.Input[str]
    databricks_provider: databricks.Provider
    workspace: pulumi.Resource
    # What the workspace API needs first (the workspace and its private endpoints).
    databricks_depends_on: Sequence[pulumi.Resource] = ()


class ConnectorIdentities(pulumi.ComponentResource):
    identities: dict[str, managedidentity.UserAssignedIdentity]
    credentials: dict[str, managedidentity.FederatedIdentityCredential]
    service_principals: dict[str, databricks.ServicePrincipal]
    client_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ConnectorIdentitiesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:identity:ConnectorIdentities", name, {}, opts)
        self.identities, self.credentials, self.service_principals, self.client_ids = {}, {}, {}, {}
        for c in args.connectors:
            identity = managedidentity.UserAssignedIdentity(
                f"{name}-{c.name}",
                resource_name_=identity_name(args.name_prefix, c.name),
                resource_group_name=args.resource_group_name,
                location=args.location,
                tags=dict(args.tags),
                opts=child(self),
            )
            self.credentials[c.name] = managedidentity.FederatedIdentityCredential(
                f"{name}-{c.name}-federation",
                federated_identity_credential_resource_name=f"aks-{c.name}",
                resource_name_=identity.name,
                resource_group_name=args.resource_group_name,
                issuer=args.oidc_issuer_url,
                subject=service_account_subject(args.apps_namespace, c.name),
                audiences=[TOKEN_EXCHANGE_AUDIENCE],
                opts=child(self, depends_on=[identity]),
            )
            assert c.identity is not None  # the spec rejects a connector without one
            self.service_principals[c.name] = databricks.ServicePrincipal(
                f"{name}-{c.name}-sp",
                application_id=identity.client_id,
                display_name=f"connector {c.name}",
                workspace_access=True,
                databricks_sql_access=c.identity.databricks_sql_access,
                allow_cluster_create=False,
                allow_instance_pool_create=False,
                opts=pulumi.ResourceOptions(parent=self, provider=args.databricks_provider, deleted_with=args.workspace,
                                            depends_on=[*args.databricks_depends_on, identity]),
            )
            self.identities[c.name] = identity
            self.client_ids[c.name] = identity.client_id
        self.register_outputs({"clientIds": self.client_ids})
