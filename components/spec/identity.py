"""Identities: Entra ID groups and service principals, and what they may do in the workspace."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from components.spec.base import StrictModel, entra_guid

_guid = entra_guid

# How the account's groups come from Entra ID (access.identity_sync):
# - "automatic": automatic identity management (AIM). Databricks reads users, groups (nested too) and service
#   principals from Entra ID through Microsoft Graph; a group is resolved into the account by its Entra object id
#   (account IAM v2 "external groups": accounts/{account_id}/external-groups/{object id}; pulumi_databricks
#   get_account_iam_external_group_v2, which "provisions the group in the account if it does not already exist" and
#   errors if the account is not onboarded onto AIM). Needs a single Entra tenant.
#   https://learn.microsoft.com/azure/databricks/admin/users-groups/automatic-identity-management
# - "scim": the Azure Databricks SCIM provisioning connector (an Entra enterprise application) provisions the
#   groups assigned to it into the account; Entra's provisioning service maps a group's objectId to SCIM
#   `externalId` (https://learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups,
#   group attribute mapping). The toolkit looks the group up by display name and checks that external id.
#   https://learn.microsoft.com/azure/databricks/admin/users-groups/scim/aad
IdentitySync = Literal["automatic", "scim"]


def _display_name(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.@()-]{0,99}", v):
        raise ValueError("1-100 letters, digits, spaces and _ . @ ( ) -")
    if v.lower() in ("users", "admins", "account users"):
        raise ValueError(f"{v!r} is a built-in workspace group; the toolkit manages its entitlements itself")
    return v


class GroupSpec(StrictModel):
    """An Entra ID group, present in the Databricks account (access.identity_sync says how) and assigned to the
    workspace: removing someone there removes them here, and the group can be granted Unity Catalog privileges."""

    # The group's display name in Entra ID, which is its name in the account and in the workspace (permissions
    # name it); the deployment checks the account's group carries this name and this object id.
    name: str
    entra_object_id: str
    databricks_sql_access: bool = False
    # Unrestricted cluster creation: off, so people launch compute through cluster policies.
    allow_cluster_create: bool = False
    # Personal access tokens for the group's members.
    can_use_tokens: bool = False
    # Assigned to the workspace as ADMIN rather than USER. In prod only a break-glass group may be.
    workspace_admin: bool = False
    # Marks the admin group as break-glass: its membership is just-in-time (Entra PIM for Groups, eligible
    # assignments activated for hours, with approval), so nobody holds standing admin. Why, in a sentence.
    break_glass_reason: str | None = None

    _name = field_validator("name")(classmethod(lambda cls, v: _display_name(v)))
    _oid = field_validator("entra_object_id")(classmethod(lambda cls, v: _guid(v)))

    @field_validator("break_glass_reason")
    @classmethod
    def _reason(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = " ".join(v.split())
        if len(v) < 20:
            raise ValueError("say why this group administers the workspace and how its membership is granted "
                             "(at least 20 characters)")
        if len(v) > 500:
            raise ValueError("at most 500 characters")
        return v


class ServicePrincipalSpec(StrictModel):
    """An Entra ID application for automation. It signs in with Entra OAuth (client credentials or
    workload identity federation) by default; personal access tokens only when the spec says so."""

    name: str
    application_id: str
    authentication: Literal["entra_oauth", "personal_access_token"] = "entra_oauth"
    allow_cluster_create: bool = False
    databricks_sql_access: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _display_name(v)))
    _app = field_validator("application_id")(classmethod(lambda cls, v: _guid(v)))
