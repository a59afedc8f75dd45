"""Identities: Entra ID groups and service principals, and what they may do in the workspace."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator

from components.spec.base import StrictModel, entra_guid

_guid = entra_guid


def _display_name(v: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.@()-]{0,99}", v):
        raise ValueError("1-100 letters, digits, spaces and _ . @ ( ) -")
    if v.lower() in ("users", "admins", "account users"):
        raise ValueError(f"{v!r} is a built-in workspace group; the toolkit manages its entitlements itself")
    return v


class GroupSpec(StrictModel):
    """A workspace group tied to an Entra ID group: removing someone there removes them here."""

    name: str
    entra_object_id: str
    databricks_sql_access: bool = False
    # Unrestricted cluster creation: off, so people launch compute through cluster policies.
    allow_cluster_create: bool = False
    # Personal access tokens for the group's members.
    can_use_tokens: bool = False
    workspace_admin: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _display_name(v)))
    _oid = field_validator("entra_object_id")(classmethod(lambda cls, v: _guid(v)))


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
