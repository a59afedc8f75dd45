"""Serverless compute's private reach and the workspace's Unity Catalog metastore: account-level settings.

- `serverless.network_connectivity`: a network connectivity configuration (NCC) with private endpoint rules to the
  data lake and the workspace storage account (DBFS root), bound to the workspace, so serverless compute reaches them
  privately (https://learn.microsoft.com/azure/databricks/security/network/serverless-network-security/serverless-private-link).
  An NCC serves only workspaces of its own region (provider docs, `databricks_mws_network_connectivity_config`
  `region`; `databricks_mws_ncc_binding`: "The NCC and workspace must be in the same region"), so a region other
  than the environment's is rejected (components/spec/rules_serverless.py).
- `unity_catalog.metastore_id`: an existing metastore assigned to the workspace by id.
"""

from __future__ import annotations

import re

from pydantic import field_validator

from components.spec.base import StrictModel, is_guid

# databricks_mws_network_connectivity_config `name`: "alphanumeric characters, hyphens, and underscores ... between 3
# and 30 characters ... must match ^[0-9a-zA-Z-_]{3,30}$" (terraform-provider-databricks
# docs/resources/mws_network_connectivity_config.md).
NCC_NAME = re.compile(r"[0-9a-zA-Z_-]{3,30}")
# current_metastore() returns "<cloud>:<region>:<uuid>" (the global metastore id); the metastore id the account API
# takes is its <uuid> part (https://learn.microsoft.com/azure/databricks/sql/language-manual/functions/current_metastore).
_GLOBAL_METASTORE_ID = re.compile(r"[a-z]+:[a-z0-9]+:([0-9a-fA-F-]{36})")


class NetworkConnectivitySpec(StrictModel):
    enabled: bool = False
    # Default: "<prefix>-ncc-<environment>" (components/planning/naming.py ncc_name).
    name: str | None = None
    # Default: the environment's region, the only one the workspace can bind.
    region: str | None = None
    # Private endpoint rules (dfs and blob) to the workspace storage account, and to the data lake when data.lake is on.
    workspace_storage: bool = True
    lake: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        if v is not None and not NCC_NAME.fullmatch(v):
            raise ValueError(f"{v!r}: 3-30 letters, digits, hyphens and underscores (Databricks' rule for NCC names)")
        return v


class ServerlessSpec(StrictModel):
    network_connectivity: NetworkConnectivitySpec = NetworkConnectivitySpec()


class UnityCatalogSpec(StrictModel):
    # An existing metastore (account console > Catalog, or `databricks account metastores list`), assigned to this
    # workspace through the account provider. One metastore per region: it must be in the workspace's region.
    metastore_id: str | None = None

    @field_validator("metastore_id")
    @classmethod
    def _metastore_id(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if m := _GLOBAL_METASTORE_ID.fullmatch(v):
            raise ValueError(f"{v!r} is the global metastore id current_metastore() returns; give its UUID part {m.group(1)!r}")
        if not is_guid(v):
            raise ValueError(f"{v!r} is not a metastore id: a UUID like 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
        return v.lower()
