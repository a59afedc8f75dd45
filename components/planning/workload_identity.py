"""Who the ingress tier is, to Entra ID and to Kubernetes: AKS workload identity for connectors and the AKS role
assignments. Pure and dependency-free (the policy pack reads the same labels); the Entra ID kubeconfig is in
kubeconfig.py.

Workload identity (https://learn.microsoft.com/azure/aks/workload-identity-overview): a user-assigned managed identity
trusts the cluster's OIDC issuer for one service account through a federated identity credential (subject
`system:serviceaccount:<namespace>:<name>`, audience `api://AzureADTokenExchange`); the service account names the
identity's client id in the annotation `azure.workload.identity/client-id`, and a pod labelled
`azure.workload.identity/use: "true"` gets a projected service account token and AZURE_CLIENT_ID, AZURE_TENANT_ID,
AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST from the webhook, which the Azure Identity libraries exchange at
Entra ID (login.microsoftonline.com) for an access token. No client secret, no personal access token.
"""

from __future__ import annotations

import uuid

from components.planning.roles import BUILT_IN_ROLES

# https://learn.microsoft.com/azure/aks/workload-identity-overview ("Service account labels and annotations",
# "Pod labels"); the audience is the one the webhook projects and Entra ID expects for the exchange.
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# Where connectors exchange the projected token: Entra ID's token endpoint (AZURE_AUTHORITY_HOST in the public cloud).
ENTRA_LOGIN_HOST = "login.microsoftonline.com"
# The Azure Databricks first-party application: the resource (scope `<id>/.default`) of Entra ID tokens that
# Databricks accepts from a managed identity registered as its service principal
# (https://learn.microsoft.com/azure/databricks/dev-tools/auth/azure-mi, "Get a Microsoft Entra ID access token";
# https://learn.microsoft.com/azure/databricks/dev-tools/user-aad-token).
AZURE_DATABRICKS_RESOURCE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"

CLUSTER_ADMIN_ROLE = "Azure Kubernetes Service RBAC Cluster Admin"
NETWORK_CONTRIBUTOR_ROLE = "Network Contributor"

_NAMESPACE = uuid.UUID("6c0f1f9e-2a41-4d55-9a7e-1f1f6b1d2c30")


def service_account_subject(namespace: str, service_account: str) -> str:
    """The `sub` claim of a projected service account token, which the federated credential must match exactly."""
    return f"system:serviceaccount:{namespace}:{service_account}"


def identity_name(cluster_name: str, connector: str) -> str:
    """A connector's user-assigned managed identity: 3-128 characters, letters, digits, - and _ ."""
    return f"id-{cluster_name}-{connector}"[:128]


def role_assignment_name(scope_name: str, role: str, principal: str) -> str:
    """A stable role assignment name (a GUID) from what the assignment is: scope, role and principal (or its purpose)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join((scope_name.lower(), BUILT_IN_ROLES[role], principal.lower()))))
